//! `notifications`: TTL index on `expiresAt`, and every read
//! filters on it too, since the TTL monitor runs only about once a minute.

use async_trait::async_trait;
use domain::*;
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use time::OffsetDateTime;

use crate::MongoStore;
use crate::codec::*;
use crate::error::{corrupt, store};
use crate::indexes::names::NOTIFICATIONS;

fn to_doc(n: &Notification) -> Result<Document, StoreError> {
    Ok(doc! {
        "_id": uuid(n.id.as_uuid()),
        "userId": uuid(n.user_id.as_uuid()),
        "contentSessionId": opt_uuid(n.content_session_id.map(|c| c.as_uuid())),
        "conversationId": opt_uuid(n.conversation_id.map(|c| c.as_uuid())),
        "messageId": opt_uuid(n.message_id.map(|m| m.as_uuid())),
        "associatedTaskId": opt_str(n.task_id.as_deref()),
        "type": &n.kind,
        "toastMessage": opt_str(n.toast_message.as_deref()),
        "associatedImage": opt_str(n.image.as_deref()),
        "urgency": n.urgency.as_str(),
        "persistent": n.persistent,
        "seen": n.seen_at.is_some(),
        "seenAt": opt_time(n.seen_at),
        "responseData": match &n.response_data {
            Some(v) => json(v)?,
            None => Bson::Null,
        },
        "createdAt": time(n.created_at),
        "expiresAt": opt_time(n.expires_at),
    })
}

fn from_doc(d: &Document) -> Result<Notification, StoreError> {
    let f = Fields::of(d, "notification");
    Ok(Notification {
        id: NotificationId::from_uuid(f.uuid("_id")?),
        user_id: UserId::from_uuid(f.uuid("userId")?),
        content_session_id: f
            .opt_uuid("contentSessionId")?
            .map(ContentSessionId::from_uuid),
        conversation_id: f.opt_uuid("conversationId")?.map(ConversationId::from_uuid),
        message_id: f.opt_uuid("messageId")?.map(MessageId::from_uuid),
        task_id: f.opt_str("associatedTaskId")?.map(str::to_owned),
        kind: f.str("type")?.to_owned(),
        toast_message: f.opt_str("toastMessage")?.map(str::to_owned),
        image: f.opt_str("associatedImage")?.map(str::to_owned),
        urgency: Urgency::parse(f.str("urgency")?)
            .ok_or_else(|| corrupt("notification", "urgency"))?,
        persistent: f.bool("persistent")?,
        seen_at: f.opt_time("seenAt")?,
        response_data: f.json("responseData"),
        created_at: f.time("createdAt")?,
        expires_at: f.opt_time("expiresAt")?,
    })
}

/// Unexpired at `now`: no expiry, or one still ahead.
fn live(mut filter: Document, now: OffsetDateTime) -> Document {
    filter.insert(
        "$or",
        vec![
            Bson::Document(doc! {"expiresAt": Bson::Null}),
            Bson::Document(doc! {"expiresAt": {"$gt": time(now)}}),
        ],
    );
    filter
}

fn own(user_id: UserId, id: NotificationId) -> Document {
    doc! {"_id": uuid(id.as_uuid()), "userId": uuid(user_id.as_uuid())}
}

#[async_trait]
impl NotificationRepository for MongoStore {
    async fn create(&self, n: &Notification) -> Result<(), StoreError> {
        self.coll(NOTIFICATIONS)
            .insert_one(to_doc(n)?)
            .await
            .map_err(store("insert notification"))?;
        Ok(())
    }

    async fn get(
        &self,
        user_id: UserId,
        id: NotificationId,
        now: OffsetDateTime,
    ) -> Result<Option<Notification>, StoreError> {
        self.coll(NOTIFICATIONS)
            .find_one(live(own(user_id, id), now))
            .await
            .map_err(store("get notification"))?
            .as_ref()
            .map(from_doc)
            .transpose()
    }

    async fn list(
        &self,
        user_id: UserId,
        unseen_only: bool,
        now: OffsetDateTime,
        page: PageRequest,
    ) -> Result<Page<Notification>, StoreError> {
        let mut filter = live(doc! {"userId": uuid(user_id.as_uuid())}, now);
        if unseen_only {
            filter.insert("seen", false);
        }
        let docs: Vec<Document> = self
            .coll(NOTIFICATIONS)
            .find(page_filter(filter, &page))
            .sort(newest_first())
            .limit(overfetch(&page))
            .await
            .map_err(store("list notifications"))?
            .try_collect()
            .await
            .map_err(store("list notifications"))?;
        let items = docs.iter().map(from_doc).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page))
    }

    async fn mark_seen(
        &self,
        user_id: UserId,
        id: NotificationId,
        at: OffsetDateTime,
    ) -> Result<(), WriteError> {
        let coll = self.coll(NOTIFICATIONS);
        let r = coll
            .update_one(
                {
                    let mut f = own(user_id, id);
                    f.insert("seen", false);
                    f
                },
                doc! {"$set": {"seen": true, "seenAt": time(at)}},
            )
            .await
            .map_err(store("mark notification seen"))?;
        if r.matched_count == 1 {
            return Ok(());
        }
        // Not unseen: already seen (keeps its first time) or not there at all.
        let exists = coll
            .count_documents(own(user_id, id))
            .await
            .map_err(store("find notification"))?;
        WriteError::found(exists)
    }

    async fn mark_all_seen(&self, user_id: UserId, at: OffsetDateTime) -> Result<u64, StoreError> {
        let r = self
            .coll(NOTIFICATIONS)
            .update_many(
                doc! {"userId": uuid(user_id.as_uuid()), "seen": false},
                doc! {"$set": {"seen": true, "seenAt": time(at)}},
            )
            .await
            .map_err(store("mark notifications seen"))?;
        Ok(r.modified_count)
    }

    async fn set_response(
        &self,
        user_id: UserId,
        id: NotificationId,
        data: &serde_json::Value,
    ) -> Result<(), WriteError> {
        let r = self
            .coll(NOTIFICATIONS)
            .update_one(
                own(user_id, id),
                doc! {"$set": {"responseData": json(data)?}},
            )
            .await
            .map_err(store("store notification response"))?;
        WriteError::found(r.matched_count)
    }

    async fn delete(&self, user_id: UserId, id: NotificationId) -> Result<(), WriteError> {
        let r = self
            .coll(NOTIFICATIONS)
            .delete_one(own(user_id, id))
            .await
            .map_err(store("delete notification"))?;
        WriteError::found(r.deleted_count)
    }

    async fn purge_expired(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError> {
        self.purge_batch(
            NOTIFICATIONS,
            doc! {"expiresAt": {"$lte": time(now)}},
            limit,
        )
        .await
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let r = self
            .coll(NOTIFICATIONS)
            .delete_many(doc! {"userId": uuid(user_id.as_uuid())})
            .await
            .map_err(store("delete notifications"))?;
        Ok(r.deleted_count)
    }
}
