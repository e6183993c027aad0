//! `uploadRequests` (`upload_request:{user_id}:{object_key}`): a
//! unique `objectKey`, and no TTL, because the sweep must see expired
//! requests to delete the objects they left.

use async_trait::async_trait;
use domain::*;
use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use time::OffsetDateTime;

use crate::MongoStore;
use crate::codec::*;
use crate::error::{corrupt, is_duplicate, store};
use crate::indexes::names::UPLOADS;

fn to_doc(r: &UploadRequest) -> Document {
    doc! {
        "_id": uuid(r.id.as_uuid()),
        "userId": uuid(r.user_id.as_uuid()),
        "objectKey": r.object_key.as_str(),
        "contentType": &r.content_type,
        "maxSize": int(r.max_size),
        "status": r.status.as_str(),
        "createdAt": time(r.created_at),
        "expiresAt": time(r.expires_at),
        "completedAt": opt_time(r.completed_at),
        "size": r.size.map_or(mongodb::bson::Bson::Null, int),
    }
}

fn from_doc(d: &Document) -> Result<UploadRequest, StoreError> {
    let f = Fields::of(d, "upload request");
    let bad = |k| corrupt("upload request", k);
    Ok(UploadRequest {
        id: UploadId::from_uuid(f.uuid("_id")?),
        user_id: UserId::from_uuid(f.uuid("userId")?),
        object_key: ObjectKey::parse(f.str("objectKey")?).map_err(|_| bad("objectKey"))?,
        content_type: f.str("contentType")?.to_owned(),
        max_size: f.u64("maxSize")?,
        status: UploadStatus::parse(f.str("status")?).ok_or_else(|| bad("status"))?,
        created_at: f.time("createdAt")?,
        expires_at: f.time("expiresAt")?,
        completed_at: f.opt_time("completedAt")?,
        size: if d
            .get("size")
            .is_some_and(|v| !matches!(v, mongodb::bson::Bson::Null))
        {
            Some(f.u64("size")?)
        } else {
            None
        },
    })
}

fn id_of(id: UploadId) -> Document {
    doc! {"_id": uuid(id.as_uuid())}
}

impl MongoStore {
    async fn uploads_where(
        &self,
        filter: Document,
        sort: Document,
        limit: i64,
    ) -> Result<Vec<UploadRequest>, StoreError> {
        let docs: Vec<Document> = self
            .coll(UPLOADS)
            .find(filter)
            .sort(sort)
            .limit(limit)
            .await
            .map_err(store("list upload requests"))?
            .try_collect()
            .await
            .map_err(store("list upload requests"))?;
        docs.iter().map(from_doc).collect()
    }
}

#[async_trait]
impl UploadRepository for MongoStore {
    async fn create(&self, r: &UploadRequest) -> Result<(), InsertError> {
        match self.coll(UPLOADS).insert_one(to_doc(r)).await {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate(&e) => Err(InsertError::Conflict),
            Err(e) => Err(InsertError::Store(store("insert upload request")(e))),
        }
    }

    async fn get(&self, id: UploadId) -> Result<Option<UploadRequest>, StoreError> {
        self.coll(UPLOADS)
            .find_one(id_of(id))
            .await
            .map_err(store("get upload request"))?
            .as_ref()
            .map(from_doc)
            .transpose()
    }

    async fn list_for_user(
        &self,
        user_id: UserId,
        page: PageRequest,
    ) -> Result<Page<UploadRequest>, StoreError> {
        let items = self
            .uploads_where(
                page_filter(doc! {"userId": uuid(user_id.as_uuid())}, &page),
                newest_first(),
                overfetch(&page),
            )
            .await?;
        Ok(Page::from_overfetch(items, page))
    }

    async fn complete(
        &self,
        id: UploadId,
        size: u64,
        at: OffsetDateTime,
    ) -> Result<bool, WriteError> {
        let coll = self.coll(UPLOADS);
        let mut pending = id_of(id);
        pending.insert("status", UploadStatus::Pending.as_str());
        let r = coll
            .update_one(
                pending,
                doc! {"$set": {
                    "status": UploadStatus::Completed.as_str(),
                    "size": int(size),
                    "completedAt": time(at),
                }},
            )
            .await
            .map_err(store("complete upload request"))?;
        if r.matched_count == 1 {
            return Ok(true);
        }
        let exists = coll
            .count_documents(id_of(id))
            .await
            .map_err(store("find upload request"))?;
        WriteError::found(exists)?;
        Ok(false)
    }

    async fn delete(&self, id: UploadId) -> Result<(), WriteError> {
        let r = self
            .coll(UPLOADS)
            .delete_one(id_of(id))
            .await
            .map_err(store("delete upload request"))?;
        WriteError::found(r.deleted_count)
    }

    async fn list_expired(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<UploadRequest>, StoreError> {
        self.uploads_where(
            doc! {"status": UploadStatus::Pending.as_str(), "expiresAt": {"$lte": time(now)}},
            doc! {"expiresAt": 1, "_id": 1},
            i64::from(limit),
        )
        .await
    }

    async fn references(&self, key: &ObjectKey) -> Result<bool, StoreError> {
        let n = self
            .coll(UPLOADS)
            .count_documents(doc! {"objectKey": key.as_str()})
            .limit(1)
            .await
            .map_err(store("find object key"))?;
        Ok(n > 0)
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let r = self
            .coll(UPLOADS)
            .delete_many(doc! {"userId": uuid(user_id.as_uuid())})
            .await
            .map_err(store("delete upload requests"))?;
        Ok(r.deleted_count)
    }
}
