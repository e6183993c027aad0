//! `mailQueue`: one document per message, `_id` = its id. A claim takes due
//! documents one `findOneAndUpdate` at a time (each atomic, so no document
//! goes to two claims), moving `dueAt` to the end of the claim.

use async_trait::async_trait;
use domain::*;
use mongodb::bson::{Document, doc};
use time::OffsetDateTime;

use crate::MongoStore;
use crate::codec::*;
use crate::error::store;
use crate::indexes::names::MAIL_QUEUE;

fn to_doc(m: &QueuedMail) -> Document {
    let fields = m.body.fields();
    doc! {
        "_id": uuid(m.id.as_uuid()),
        "kind": fields.kind.as_str(),
        "to": fields.to,
        "username": opt_str(fields.username.as_deref()),
        "token": opt_str(fields.token.as_deref()),
        "details": opt_str(fields.details.as_deref()),
        "attempts": i64::from(m.attempts),
        "dueAt": time(m.created_at),
        "createdAt": time(m.created_at),
        "expiresAt": time(m.expires_at),
    }
}

fn from_doc(d: &Document) -> Result<QueuedMail, StoreError> {
    let f = Fields::of(d, "queued mail");
    QueuedMail::from_stored(StoredMail {
        id: f.uuid("_id")?,
        kind: f.str("kind")?.to_owned(),
        to: f.str("to")?.to_owned(),
        username: f.opt_str("username")?.map(str::to_owned),
        token: f.opt_str("token")?.map(str::to_owned),
        details: f.opt_str("details")?.map(str::to_owned),
        attempts: f.i64("attempts")?,
        created_at: f.time("createdAt")?,
        expires_at: f.time("expiresAt")?,
    })
}

#[async_trait]
impl MailQueue for MongoStore {
    async fn enqueue(&self, message: &QueuedMail) -> Result<(), StoreError> {
        self.coll(MAIL_QUEUE)
            .insert_one(to_doc(message))
            .await
            .map(|_| ())
            .map_err(store("queue mail"))
    }

    async fn claim(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        let mut claimed = self
            .claim_due(MAIL_QUEUE, now, until, limit)
            .await?
            .iter()
            .map(from_doc)
            .collect::<Result<Vec<_>, _>>()?;
        claimed.sort_by_key(|m| (m.created_at, m.id));
        Ok(claimed)
    }

    async fn retry_at(&self, id: QueuedMailId, at: OffsetDateTime) -> Result<(), WriteError> {
        let done = self
            .coll(MAIL_QUEUE)
            .update_one(
                doc! {"_id": uuid(id.as_uuid())},
                doc! {"$set": {"dueAt": time(at)}},
            )
            .await
            .map_err(store("reschedule mail"))?;
        WriteError::found(done.matched_count)
    }

    async fn remove(&self, id: QueuedMailId) -> Result<(), StoreError> {
        self.coll(MAIL_QUEUE)
            .delete_one(doc! {"_id": uuid(id.as_uuid())})
            .await
            .map(|_| ())
            .map_err(store("remove mail"))
    }

    async fn count(&self) -> Result<u64, StoreError> {
        self.coll(MAIL_QUEUE)
            .count_documents(doc! {})
            .await
            .map_err(store("count queued mail"))
    }
}
