//! Upload requests (`upload_request:{user_id}:{object_key}`, expired by an hourly sweep).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{InsertError, ObjectKey, Page, PageRequest, StoreError, UploadId, UserId, WriteError};

/// Where an upload request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadStatus {
    /// Waiting for the client to upload and complete.
    Pending,
    /// The object was checked and accepted.
    Completed,
}

impl UploadStatus {
    /// Every value, in the order above.
    pub const ALL: [Self; 2] = [Self::Pending, Self::Completed];

    /// Stable name for storage.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Completed => "completed",
        }
    }
    /// Parses [`UploadStatus::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "completed" => Some(Self::Completed),
            _ => None,
        }
    }
}

/// A pre-authorised upload of one object.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UploadRequest {
    /// Unique id, assigned at creation; it also orders items created in the same millisecond.
    pub id: UploadId,
    /// Who may upload.
    pub user_id: UserId,
    /// Where the object goes; unique across requests.
    pub object_key: ObjectKey,
    /// Declared content type.
    pub content_type: String,
    /// Largest accepted size in bytes.
    pub max_size: u64,
    /// Where it is in its life cycle; it changes only by compare-and-set.
    pub status: UploadStatus,
    /// When it was created; listings are newest first by this.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// A pending request expires at this instant (1 hour after creation).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// When it was completed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    /// Size of the accepted object.
    pub size: Option<u64>,
}

/// Stores upload requests.
#[portico_macros::port("uploads")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait UploadRepository: Send + Sync {
    /// Inserts a request. `Conflict` if a request for the same object key exists.
    /// The store MUST NOT expire it by itself: the sweep must see expired
    /// requests to delete the objects they left.
    async fn create(&self, request: &UploadRequest) -> Result<(), InsertError>;

    /// The request `id`, or `None`.
    async fn get(&self, id: UploadId) -> Result<Option<UploadRequest>, StoreError>;

    /// The user's requests newest first.
    async fn list_for_user(
        &self,
        user_id: UserId,
        page: PageRequest,
    ) -> Result<Page<UploadRequest>, StoreError>;

    /// Atomically moves a pending request to `Completed` with `size` and
    /// `completed_at = at`. Returns `Ok(false)` without change if it is not
    /// pending; `NotFound` for an unknown id. Of N concurrent calls exactly one gets `Ok(true)`.
    async fn complete(
        &self,
        id: UploadId,
        size: u64,
        at: OffsetDateTime,
    ) -> Result<bool, WriteError>;

    /// Deletes the request. `NotFound` for an unknown id.
    async fn delete(&self, id: UploadId) -> Result<(), WriteError>;

    /// Up to `limit` pending requests whose `expires_at` is at or before `now`, oldest expiry first.
    async fn list_expired(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<UploadRequest>, StoreError>;

    /// Whether any request (pending or completed) names `key`.
    async fn references(&self, key: &ObjectKey) -> Result<bool, StoreError>;

    /// Deletes every request of the user; returns how many.
    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError>;
}
