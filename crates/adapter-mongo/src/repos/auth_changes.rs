//! `authChanges`: one document per change (`change`, `at`, and `expiresAt`
//! an hour later for the TTL index). Subscribers poll the `at` index twice
//! a second, re-reading the last few seconds for inserts that commit out of
//! time order, and remember what they delivered so that nothing repeats
//! within that window. Change streams would push instead, but they need a
//! replica set, and this adapter also serves standalone servers.
//!
//! `at` is the publishing process's clock: a publisher whose clock runs
//! more than the look-back behind the others' can have its changes missed
//! (the cached principals it should drop still expire with their TTL).

use std::collections::{HashMap, VecDeque};
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use domain::{AuthChange, AuthChangeFeed, AuthChangeSubscription, StoreError};
use futures::TryStreamExt;
use mongodb::Collection;
use mongodb::bson::{Document, doc};
use time::{Duration, OffsetDateTime};

use crate::MongoStore;
use crate::codec::*;
use crate::error::store;
use crate::indexes::names::AUTH_CHANGES;

/// How often a subscriber looks for new changes.
const POLL_EVERY: StdDuration = StdDuration::from_millis(500);
/// How far back each poll re-reads.
const LOOKBACK: Duration = Duration::seconds(5);
/// How long a change is kept.
const KEEP: Duration = Duration::hours(1);
/// Documents read per poll.
const POLL_BATCH: i64 = 500;

#[async_trait]
impl AuthChangeFeed for MongoStore {
    async fn publish(&self, change: AuthChange) -> Result<(), StoreError> {
        let now = OffsetDateTime::now_utc();
        self.coll(AUTH_CHANGES)
            .insert_one(doc! {
                "_id": uuid(uuid::Uuid::now_v7()),
                "change": change.encode(),
                "at": time(now),
                "expiresAt": time(now + KEEP),
            })
            .await
            .map(|_| ())
            .map_err(store("announce an auth change"))
    }

    async fn subscribe(&self) -> Result<Box<dyn AuthChangeSubscription>, StoreError> {
        let changes = self.coll(AUTH_CHANGES);
        let newest = changes
            .find_one(doc! {})
            .sort(doc! {"at": -1})
            .projection(doc! {"at": 1})
            .await
            .map_err(store("listen for auth changes"))?;
        let cursor = match &newest {
            Some(d) => Fields::of(d, "auth change").time("at")?,
            None => OffsetDateTime::UNIX_EPOCH,
        };
        let mut subscription = MongoChanges {
            changes,
            cursor,
            seen: HashMap::new(),
            queue: VecDeque::new(),
        };
        // What is already in the look-back window came before: remember it
        // as delivered.
        subscription.poll().await?;
        subscription.queue.clear();
        Ok(Box::new(subscription))
    }
}

struct MongoChanges {
    changes: Collection<Document>,
    /// The newest `at` read so far.
    cursor: OffsetDateTime,
    /// Ids delivered within the look-back window, with their `at`.
    seen: HashMap<uuid::Uuid, OffsetDateTime>,
    /// Read and not yet handed out, oldest first.
    queue: VecDeque<AuthChange>,
}

impl MongoChanges {
    /// Reads what arrived in the look-back window and queues what is new.
    async fn poll(&mut self) -> Result<(), StoreError> {
        let docs: Vec<Document> = self
            .changes
            .find(doc! {"at": {"$gt": time(self.cursor - LOOKBACK)}})
            .sort(doc! {"at": 1, "_id": 1})
            .limit(POLL_BATCH)
            .await
            .map_err(store("poll auth changes"))?
            .try_collect()
            .await
            .map_err(store("poll auth changes"))?;
        let full = docs.len() as i64 == POLL_BATCH;
        let mut fresh = 0;
        for d in &docs {
            let f = Fields::of(d, "auth change");
            let (id, at) = (f.uuid("_id")?, f.time("at")?);
            self.cursor = self.cursor.max(at);
            if self.seen.insert(id, at).is_none() {
                fresh += 1;
                self.queue.extend(AuthChange::decode(f.str("change")?));
            }
        }
        let horizon = self.cursor - LOOKBACK;
        self.seen.retain(|_, at| *at > horizon);
        if full && fresh == 0 {
            // More changes share the window than one read holds: jump past
            // them and report the gap.
            self.cursor += LOOKBACK;
            return Err(StoreError::msg(
                "auth change feed fell behind; changes may have been missed",
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl AuthChangeSubscription for MongoChanges {
    async fn next(&mut self) -> Result<AuthChange, StoreError> {
        loop {
            if let Some(change) = self.queue.pop_front() {
                return Ok(change);
            }
            self.poll().await?;
            if self.queue.is_empty() {
                tokio::time::sleep(POLL_EVERY).await;
            }
        }
    }
}
