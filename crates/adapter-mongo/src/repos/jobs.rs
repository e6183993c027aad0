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
const POLL_BATCH: i64 = 500;

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
        let newest = self
            .coll(NOTIFICATIONS)
            .find_one(doc! {})
            .sort(doc! {"createdAt": -1})
            .projection(doc! {"createdAt": 1})
            .await
            .map_err(store("listen for notifications"))?;
        let since = match &newest {
            Some(d) => Fields::of(d, "notification").time("createdAt")?,
            None => OffsetDateTime::UNIX_EPOCH,
        };
        let mut poller = MongoPoller {
            notifications: self.coll(NOTIFICATIONS),
            window: PollWindow::new(since, LOOKBACK),
        };
        poller.look_back(false).await?;
        Ok(Box::new(poller))
    }
}

struct MongoPoller {
    notifications: Collection<Document>,
    window: PollWindow,
}

impl MongoPoller {
    /// Offers the documents `filter` finds in `sort` order, or only marks
    /// them seen unless `announce`; returns how many.
    async fn read(
        &mut self,
        filter: Document,
        sort: Document,
        announce: bool,
    ) -> Result<usize, StoreError> {
        let docs: Vec<Document> = self
            .notifications
            .find(filter)
            .sort(sort)
            .projection(doc! {"userId": 1, "createdAt": 1})
            .limit(POLL_BATCH)
            .await
            .map_err(store("poll notifications"))?
            .try_collect()
            .await
            .map_err(store("poll notifications"))?;
        for d in &docs {
            let f = Fields::of(d, "notification");
            let event = FeedEvent {
                user_id: UserId::from_uuid(f.uuid("userId")?),
                id: NotificationId::from_uuid(f.uuid("_id")?),
            };
            if announce {
                self.window.offer(event, f.time("createdAt")?);
            } else {
                self.window.skip(event.id, f.time("createdAt")?);
            }
        }
        Ok(docs.len())
    }

    /// New documents after the cursor, then the newest of the look-back
    /// window; returns how many new ones the first read found.
    async fn poll(&mut self) -> Result<usize, StoreError> {
        let (at, id) = self.window.cursor();
        let after = doc! {"$or": [
            {"createdAt": {"$gt": time(at)}},
            {"createdAt": time(at), "_id": {"$gt": uuid(id)}},
        ]};
        let fresh = self
            .read(after, doc! {"createdAt": 1, "_id": 1}, true)
            .await?;
        self.look_back(true).await?;
        self.window.prune();
        Ok(fresh)
    }

    /// The newest documents of the look-back window, announced or (at the
    /// start) only marked seen.
    async fn look_back(&mut self, announce: bool) -> Result<usize, StoreError> {
        let (at, _) = self.window.cursor();
        let window =
            doc! {"createdAt": {"$gt": time(self.window.lookback_from()), "$lte": time(at)}};
        self.read(window, doc! {"createdAt": -1}, announce).await
    }
}

#[async_trait]
impl FeedSubscription for MongoPoller {
    async fn next(&mut self) -> Result<FeedEvent, StoreError> {
        loop {
            if let Some(event) = self.window.pop() {
                return Ok(event);
            }
            let read = self.poll().await?;
            if self.window.should_pause(read, POLL_BATCH as usize) {
                tokio::time::sleep(POLL_EVERY).await;
            }
        }
    }
}
