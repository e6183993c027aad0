//! `activityEvents`: one document per event, newest-first indexes per user
//! and overall.

use async_trait::async_trait;
use domain::*;
use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use time::OffsetDateTime;

use crate::MongoStore;
use crate::codec::*;
use crate::error::{corrupt, store};
use crate::indexes::names::ACTIVITY;

fn event_doc(e: &ActivityEvent) -> Result<Document, StoreError> {
    Ok(doc! {
        "_id": uuid(e.id.as_uuid()),
        "kind": e.kind.as_str(),
        "at": time(e.at),
        "userId": uuid(e.user_id.as_uuid()),
        "actorKind": e.actor.kind(),
        "actorId": opt_uuid(e.actor.user_id().map(|u| u.as_uuid())),
        "ip": opt_str(e.ip.as_deref()),
        "device": opt_str(e.device.as_ref().map(domain::Device::to_stored).as_deref()),
        "details": json(&serde_json::Value::Object(e.details.clone()))?,
    })
}

fn event(d: &Document) -> Result<ActivityEvent, StoreError> {
    let f = Fields::of(d, "activity event");
    let details = match f.json("details") {
        Some(serde_json::Value::Object(map)) => map,
        None => serde_json::Map::new(),
        Some(_) => return Err(corrupt("activity event", "details")),
    };
    let actor_id = f.opt_uuid("actorId")?.map(UserId::from_uuid);
    Ok(ActivityEvent {
        id: ActivityEventId::from_uuid(f.uuid("_id")?),
        kind: ActivityKind::parse(f.str("kind")?)
            .ok_or_else(|| corrupt("activity event", "kind"))?,
        at: f.time("at")?,
        user_id: UserId::from_uuid(f.uuid("userId")?),
        actor: Actor::from_stored(f.str("actorKind")?, actor_id)
            .ok_or_else(|| corrupt("activity event", "actorKind"))?,
        ip: f.opt_str("ip")?.map(str::to_owned),
        device: f.opt_str("device")?.map(domain::Device::from_stored),
        details,
    })
}

fn filter_doc(f: &ActivityFilter, page: &PageRequest) -> Document {
    let mut all: Vec<Document> = Vec::new();
    if let Some(user) = f.user_id {
        all.push(doc! {"userId": uuid(user.as_uuid())});
    }
    if let Some(actor) = f.actor_id {
        all.push(doc! {"actorId": uuid(actor.as_uuid())});
    }
    if let Some(kind) = f.kind {
        all.push(doc! {"kind": kind.as_str()});
    }
    if let Some(from) = f.from {
        all.push(doc! {"at": {"$gte": time(from)}});
    }
    if let Some(to) = f.to {
        all.push(doc! {"at": {"$lt": time(to)}});
    }
    if let Some(c) = page.cursor() {
        all.push(doc! {"$or": [
            {"at": {"$lt": time(c.at)}},
            {"at": time(c.at), "_id": {"$lt": uuid(c.id)}},
        ]});
    }
    if all.is_empty() {
        doc! {}
    } else {
        doc! {"$and": all}
    }
}

#[async_trait]
impl ActivityRepository for MongoStore {
    async fn append(&self, e: &ActivityEvent) -> Result<(), StoreError> {
        // An upsert that only inserts: a retried append leaves the first.
        self.coll(ACTIVITY)
            .update_one(
                doc! {"_id": uuid(e.id.as_uuid())},
                doc! {"$setOnInsert": event_doc(e)?},
            )
            .upsert(true)
            .await
            .map_err(store("append activity event"))?;
        Ok(())
    }

    async fn list(
        &self,
        f: &ActivityFilter,
        page: PageRequest,
    ) -> Result<Page<ActivityEvent>, StoreError> {
        let docs: Vec<Document> = self
            .coll(ACTIVITY)
            .find(filter_doc(f, &page))
            .sort(doc! {"at": -1, "_id": -1})
            .limit(overfetch(&page))
            .await
            .map_err(store("list activity events"))?
            .try_collect()
            .await
            .map_err(store("list activity events"))?;
        let items = docs.iter().map(event).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page))
    }

    async fn purge_before(&self, before: OffsetDateTime, limit: u32) -> Result<u64, StoreError> {
        // Ids are UUIDv7: in id order is oldest first.
        self.purge_batch(ACTIVITY, doc! {"at": {"$lt": time(before)}}, limit)
            .await
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let r = self
            .coll(ACTIVITY)
            .delete_many(doc! {"userId": uuid(user_id.as_uuid())})
            .await
            .map_err(store("delete a user's activity events"))?;
        Ok(r.deleted_count)
    }
}
