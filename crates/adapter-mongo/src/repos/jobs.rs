//! `jobLeases` (one document per lease, `_id` = name) and the notification
//! feed. The feed polls the `createdAt` index twice a second: change streams
//! would push instead, but they need a replica set, and this adapter also
//! serves standalone servers.

use std::time::Duration as StdDuration;

use async_trait::async_trait;
use domain::*;
use futures::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::{Document, doc};
use time::{Duration, OffsetDateTime};

use crate::MongoStore;
use crate::codec::*;
use crate::error::{is_duplicate, store};
use crate::indexes::names::{LEASES, NOTIFICATIONS};

/// How often a subscriber looks for new notifications.
const POLL_EVERY: StdDuration = StdDuration::from_millis(500);
/// How far back each poll re-reads, for inserts that commit out of time order.
const LOOKBACK: Duration = Duration::seconds(5);
/// Documents read per poll.
const POLL_BATCH: u32 = 500;

#[async_trait]
impl LeaseRepository for MongoStore {
    async fn try_acquire(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        // Matches a free-to-take lease, or none: then the upsert inserts, and
        // a lease held by someone else makes that insert a duplicate `_id`.
        let filter = doc! {
            "_id": name,
            "$or": [{"expiresAt": {"$lte": time(now)}}, {"holder": holder}],
        };
        let update = doc! {"$set": {"holder": holder, "expiresAt": time(now + ttl)}};
        match self
            .coll(LEASES)
            .update_one(filter, update)
            .upsert(true)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_duplicate(&e) => Ok(false),
            Err(e) => Err(store("take lease")(e)),
        }
    }

    async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        self.coll(LEASES)
            .delete_one(doc! {"_id": name, "holder": holder})
            .await
            .map(|_| ())
            .map_err(store("release lease"))
    }
}

#[async_trait]
impl NotificationFeed for MongoStore {
    async fn subscribe(&self) -> Result<Box<dyn FeedSubscription>, StoreError> {
        let source = MongoSource {
            notifications: self.coll(NOTIFICATIONS),
        };
        Ok(Box::new(Poller::start(source, LOOKBACK, POLL_BATCH).await?))
    }
}

/// The notifications collection, read the way a [`Poller`] needs.
struct MongoSource {
    notifications: Collection<Document>,
}

impl MongoSource {
    /// The documents `filter` finds in `sort` order, at most `batch`.
    async fn rows(
        &self,
        filter: Document,
        sort: Document,
        batch: u32,
    ) -> Result<Vec<PolledRow>, StoreError> {
        let docs: Vec<Document> = self
            .notifications
            .find(filter)
            .sort(sort)
            .projection(doc! {"userId": 1, "createdAt": 1})
            .limit(i64::from(batch))
            .await
            .map_err(store("poll notifications"))?
            .try_collect()
            .await
            .map_err(store("poll notifications"))?;
        docs.iter()
            .map(|d| {
                let f = Fields::of(d, "notification");
                let event = FeedEvent {
                    user_id: UserId::from_uuid(f.uuid("userId")?),
                    id: NotificationId::from_uuid(f.uuid("_id")?),
                };
                Ok((event, f.time("createdAt")?))
            })
            .collect()
    }
}

#[async_trait]
impl PollSource for MongoSource {
    async fn newest(&mut self) -> Result<OffsetDateTime, StoreError> {
        let newest = self
            .notifications
            .find_one(doc! {})
            .sort(doc! {"createdAt": -1})
            .projection(doc! {"createdAt": 1})
            .await
            .map_err(store("listen for notifications"))?;
        match &newest {
            Some(d) => Fields::of(d, "notification").time("createdAt"),
            None => Ok(OffsetDateTime::UNIX_EPOCH),
        }
    }

    async fn after(
        &mut self,
        (at, id): (OffsetDateTime, uuid::Uuid),
        batch: u32,
    ) -> Result<Vec<PolledRow>, StoreError> {
        let filter = doc! {"$or": [
            {"createdAt": {"$gt": time(at)}},
            {"createdAt": time(at), "_id": {"$gt": uuid(id)}},
        ]};
        self.rows(filter, doc! {"createdAt": 1, "_id": 1}, batch)
            .await
    }

    async fn between(
        &mut self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        batch: u32,
    ) -> Result<Vec<PolledRow>, StoreError> {
        let filter = doc! {"createdAt": {"$gt": time(from), "$lte": time(to)}};
        self.rows(filter, doc! {"createdAt": -1}, batch).await
    }

    async fn pause(&mut self) {
        tokio::time::sleep(POLL_EVERY).await;
    }
}
