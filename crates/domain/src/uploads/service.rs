//! Upload requests: pre-authorised uploads to object storage that expire after
//! an hour, are completed after a check of the stored object, and are swept
//! hourly together with objects no request references .

use time::{Duration, OffsetDateTime};

use super::errors::*;
use crate::{
    InsertError, ObjectKey, Page, PageRequest, StoreError, UploadId, UploadRequest, UploadStatus,
    UploadTarget, UserId, WriteError,
};
use crate::{Principal, Stores, System};

/// Limits on uploads.
#[derive(Debug, Clone)]
pub struct UploadPolicy {
    /// Largest upload in bytes.
    pub max_size: u64,
    /// Accepted content types: exact (`image/png`) or a family (`image/*`).
    pub allowed_content_types: Vec<String>,
    /// How long a pending request stays valid.
    pub request_ttl: Duration,
    /// How long a download URL stays valid.
    pub download_ttl: Duration,
    /// An object no request references is deleted by the sweep once it is
    /// older than this (so uploads in flight are not taken for dangling).
    pub dangling_grace: Duration,
}

impl Default for UploadPolicy {
    fn default() -> Self {
        Self {
            max_size: 25 * 1024 * 1024,
            allowed_content_types: vec![
                "image/*".into(),
                "audio/*".into(),
                "video/*".into(),
                "text/plain".into(),
                "application/pdf".into(),
                "application/json".into(),
            ],
            request_ttl: Duration::hours(1),
            download_ttl: Duration::minutes(15),
            dangling_grace: Duration::hours(1),
        }
    }
}

impl UploadPolicy {
    /// Whether `content_type` (parameters after `;` ignored) is accepted.
    pub fn allows(&self, content_type: &str) -> bool {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let Some((family, _)) = essence.split_once('/') else {
            return false;
        };
        self.allowed_content_types.iter().any(|allowed| {
            let allowed = allowed.to_ascii_lowercase();
            allowed == essence || allowed.strip_suffix("/*") == Some(family)
        })
    }
}

/// The right to the one PUT of an upload URL (see [`Uploads::claim_put`]).
#[derive(Debug)]
pub struct PutClaim {
    lease: String,
    holder: String,
}

/// What one sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Expired pending requests deleted.
    pub expired_requests: u64,
    /// Objects deleted because no request references them.
    pub dangling_objects: u64,
}

/// Upload use cases: prepare a signed upload, complete or cancel it, download, and the hourly sweep.
#[derive(Clone)]
pub struct Uploads {
    stores: Stores,
    system: System,
    policy: UploadPolicy,
}

impl Uploads {
    /// Builds the service.
    pub fn new(stores: Stores, system: System, policy: UploadPolicy) -> Self {
        Self {
            stores,
            system,
            policy,
        }
    }

    /// The object key a user's upload gets: `users/{user_id}/{name}`, where
    /// `name` is the client's key or a new id.
    fn key_for(
        &self,
        user_id: UserId,
        name: Option<&ObjectKey>,
    ) -> Result<ObjectKey, PrepareUploadError> {
        let name = name.map_or_else(
            || self.system.ids.new_id().simple().to_string(),
            |k| k.as_str().to_owned(),
        );
        ObjectKey::parse(&format!("users/{user_id}/{name}"))
            .map_err(|_| PrepareUploadError::KeyTaken)
    }

    /// Claims the one PUT an upload URL allows, before its bytes are
    /// written: refused when no request references `key` any more
    /// (cancelled or swept) or when the URL's PUT already succeeded or is
    /// under way (a lease per object key, atomic on every store, held until
    /// the URL expires at `expires_at`). After a failed write, give the
    /// claim back with [`Uploads::release_put`] so the client can try again.
    pub async fn claim_put(
        &self,
        key: &ObjectKey,
        expires_at: OffsetDateTime,
    ) -> Result<PutClaim, PutError> {
        if !self.stores.uploads.references(key).await? {
            return Err(PutError::NoLongerPending);
        }
        let now = self.system.now();
        let claim = PutClaim {
            lease: format!("upload-put:{}", key.as_str()),
            holder: self.system.ids.new_id().to_string(),
        };
        let ttl = (expires_at - now).max(Duration::seconds(1)) + Duration::minutes(1);
        if self
            .stores
            .leases
            .try_acquire(&claim.lease, &claim.holder, now, ttl)
            .await?
        {
            Ok(claim)
        } else {
            Err(PutError::AlreadyUploaded)
        }
    }

    /// Gives back a claim whose PUT failed.
    pub async fn release_put(&self, claim: PutClaim) -> Result<(), StoreError> {
        self.stores
            .leases
            .release(&claim.lease, &claim.holder)
            .await
    }

    /// Creates a pending request and a URL to upload to.
    pub async fn create(
        &self,
        by: &Principal,
        object_key: Option<ObjectKey>,
        content_type: &str,
        size: u64,
    ) -> Result<(UploadRequest, UploadTarget), PrepareUploadError> {
        let content_type =
            media_type(content_type).ok_or(PrepareUploadError::InvalidContentType)?;
        if size == 0 {
            return Err(PrepareUploadError::Empty);
        }
        if size > self.policy.max_size {
            return Err(PrepareUploadError::TooLarge {
                max: self.policy.max_size,
            });
        }
        if !self.policy.allows(&content_type) {
            return Err(PrepareUploadError::ContentTypeNotAllowed);
        }
        let now = self.system.now();
        let request = UploadRequest {
            id: UploadId::from_uuid(self.system.ids.new_id()),
            user_id: by.user_id(),
            object_key: self.key_for(by.user_id(), object_key.as_ref())?,
            content_type,
            max_size: size,
            status: UploadStatus::Pending,
            created_at: now,
            expires_at: now + self.policy.request_ttl,
            completed_at: None,
            size: None,
        };
        match self.stores.uploads.create(&request).await {
            Ok(()) => {}
            Err(InsertError::Conflict) => return Err(PrepareUploadError::KeyTaken),
            Err(InsertError::Store(e)) => return Err(PrepareUploadError::Unexpected(e)),
        }
        let target = self
            .system
            .objects
            .presign_put(
                &request.object_key,
                &request.content_type,
                request.max_size,
                request.expires_at,
            )
            .await?;
        Ok((request, target))
    }

    /// The request, if the caller may see it.
    pub async fn get(&self, by: &Principal, id: UploadId) -> Result<UploadRequest, UploadError> {
        self.stores
            .uploads
            .get(id)
            .await?
            .filter(|r| by.may_access(r.user_id))
            .ok_or(UploadError::NotFound)
    }

    /// The caller's requests, newest first.
    pub async fn list(
        &self,
        by: &Principal,
        page: PageRequest,
    ) -> Result<Page<UploadRequest>, StoreError> {
        self.stores.uploads.list_for_user(by.user_id(), page).await
    }

    /// Checks the uploaded object (exists, size within the declared size,
    /// same content type where the store records one) and completes the
    /// request. Completing a completed request returns it unchanged.
    pub async fn complete(
        &self,
        by: &Principal,
        id: UploadId,
    ) -> Result<UploadRequest, CompleteUploadError> {
        let mut request = self.get(by, id).await?;
        if request.status == UploadStatus::Completed {
            return Ok(request);
        }
        let now = self.system.now();
        if request.expires_at <= now {
            return Err(CompleteUploadError::Expired);
        }
        let meta = self
            .system
            .objects
            .head(&request.object_key)
            .await?
            .ok_or(CompleteUploadError::ObjectMissing)?;
        if meta.size > request.max_size {
            return Err(CompleteUploadError::SizeMismatch);
        }
        if let Some(stored) = &meta.content_type
            && !same_type(stored, &request.content_type)
        {
            return Err(CompleteUploadError::TypeMismatch);
        }
        match self.stores.uploads.complete(id, meta.size, now).await {
            Ok(_) => {}
            Err(WriteError::NotFound) => return Err(CompleteUploadError::NotFound),
            Err(WriteError::Store(e)) => return Err(CompleteUploadError::Unexpected(e)),
        }
        request.status = UploadStatus::Completed;
        request.completed_at = Some(now);
        request.size = Some(meta.size);
        let data = serde_json::json!({
            "upload_id": request.id,
            "user_id": request.user_id,
            "content_type": request.content_type,
            "size": meta.size,
        });
        crate::webhooks::publish(
            &self.stores,
            &self.system,
            crate::WebhookEventType::UploadCompleted,
            data,
        )
        .await?;
        Ok(request)
    }

    /// Cancels a request and deletes its object.
    pub async fn cancel(&self, by: &Principal, id: UploadId) -> Result<(), UploadError> {
        let request = self.get(by, id).await?;
        self.system.objects.delete(&request.object_key).await?;
        match self.stores.uploads.delete(id).await {
            Ok(()) | Err(WriteError::NotFound) => Ok(()),
            Err(WriteError::Store(e)) => Err(UploadError::Unexpected(e)),
        }
    }

    /// A time-limited URL to download a completed upload.
    pub async fn download_url(
        &self,
        by: &Principal,
        id: UploadId,
    ) -> Result<String, DownloadError> {
        let request = self.get(by, id).await?;
        if request.status != UploadStatus::Completed {
            return Err(DownloadError::NotCompleted);
        }
        let expires = self.system.now() + self.policy.download_ttl;
        Ok(self
            .system
            .objects
            .presign_get(&request.object_key, expires)
            .await?)
    }

    /// Deletes expired pending requests with their objects, then objects no
    /// request references that are older than the grace period.
    pub async fn sweep(&self) -> Result<SweepReport, StoreError> {
        let now = self.system.now();
        let mut report = SweepReport::default();
        loop {
            let batch = self.stores.uploads.list_expired(now, 100).await?;
            if batch.is_empty() {
                break;
            }
            for request in batch {
                self.system.objects.delete(&request.object_key).await?;
                match self.stores.uploads.delete(request.id).await {
                    Ok(()) => report.expired_requests += 1,
                    Err(WriteError::NotFound) => {}
                    Err(WriteError::Store(e)) => return Err(e),
                }
            }
        }
        report.dangling_objects = self.sweep_dangling(now).await?;
        Ok(report)
    }

    async fn sweep_dangling(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let mut deleted = 0;
        let mut after = None;
        loop {
            let objects = self.system.objects.list(after.clone(), 500).await?;
            let Some(last) = objects.last() else {
                return Ok(deleted);
            };
            after = Some(last.key.clone());
            for object in objects {
                if object.last_modified + self.policy.dangling_grace > now {
                    continue;
                }
                if !self.stores.uploads.references(&object.key).await? {
                    self.system.objects.delete(&object.key).await?;
                    deleted += 1;
                }
            }
        }
    }
}

/// `raw` as a lower-case media type `type/subtype`, or `None` when it is
/// not one: each part 1–127 characters of RFC 6838's restricted names
/// (letters, digits and `! # $ & - ^ _ . +`, starting with a letter or
/// digit). Parameters, spaces and control characters are refused, so the
/// value is safe to echo in a `Content-Type` header.
pub fn media_type(raw: &str) -> Option<String> {
    let name = |part: &str| {
        (1..=127).contains(&part.len())
            && part.starts_with(|c: char| c.is_ascii_alphanumeric())
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    let (kind, subtype) = raw.split_once('/')?;
    (name(kind) && name(subtype)).then(|| raw.to_ascii_lowercase())
}

fn same_type(a: &str, b: &str) -> bool {
    let essence = |s: &str| {
        s.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    };
    essence(a) == essence(b)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
