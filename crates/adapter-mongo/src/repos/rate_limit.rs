//! `rateLimits`: one document per (key, window length, window start),
//! `_id` = `key|seconds|start`, counted with `$inc` + upsert; a TTL index on
//! `windowEnd` removes ended windows (all-time counters have none).

use async_trait::async_trait;
use domain::{RateLimiter, StoreError, Window, WindowCount};
use mongodb::bson::{Bson, doc};
use mongodb::options::ReturnDocument;
use time::OffsetDateTime;

use crate::MongoStore;
use crate::codec::*;
use crate::error::{is_duplicate, store};
use crate::indexes::names::RATE_LIMITS;

fn window_id(key: &str, window: Window, now: OffsetDateTime) -> (String, Option<OffsetDateTime>) {
    let bounds = window.bounds(now);
    let start = bounds.map_or(0, |(s, _)| s.unix_timestamp());
    (
        format!("{key}|{}|{start}", window.seconds()),
        bounds.map(|(_, end)| end),
    )
}

impl MongoStore {
    /// Adds `n` to the counter `id` of `key` (ending at `end`); its new count.
    async fn add(
        &self,
        id: &str,
        key: &str,
        end: Option<OffsetDateTime>,
        n: u64,
    ) -> Result<u64, StoreError> {
        let coll = self.coll(RATE_LIMITS);
        let by = i64::try_from(n).unwrap_or(i64::MAX);
        // An increment of an existing window is one atomic update. A window's
        // first hit inserts it; when first hits race, the losers' inserts hit
        // the `_id` index and they go back to incrementing. (No upsert: every
        // step is a plain single-document write, whose result is exact.)
        let mut attempts = 0;
        loop {
            attempts += 1;
            let updated = coll
                .find_one_and_update(doc! {"_id": id}, doc! {"$inc": {"count": by}})
                .return_document(ReturnDocument::After)
                .await
                .map_err(store("count a hit"))?;
            if let Some(d) = updated {
                return Fields::of(&d, "counter").u64("count");
            }
            let first = doc! {"_id": id, "key": key, "count": by, "windowEnd": opt_time(end)};
            match coll.insert_one(first).await {
                Ok(_) => return Ok(n),
                Err(e) if attempts < 5 && is_duplicate(&e) => continue,
                Err(e) => return Err(store("count a hit")(e)),
            }
        }
    }
}

#[async_trait]
impl RateLimiter for MongoStore {
    async fn hit(
        &self,
        key: &str,
        window: Window,
        now: OffsetDateTime,
    ) -> Result<WindowCount, StoreError> {
        let (id, end) = window_id(key, window, now);
        let count = self.add(&id, key, end, 1).await?;
        Ok(WindowCount {
            count,
            resets_at: end,
        })
    }

    async fn hit_many(
        &self,
        key: &str,
        windows: &[Window],
        now: OffsetDateTime,
    ) -> Result<Vec<WindowCount>, StoreError> {
        // Each window is its own document: distinct windows are counted
        // concurrently (one round trip's wait instead of one per window). A
        // window listed twice is counted in order, so its counts rise in order.
        let distinct = windows
            .iter()
            .enumerate()
            .all(|(i, w)| windows[..i].iter().all(|o| o.seconds() != w.seconds()));
        if distinct {
            return futures::future::try_join_all(windows.iter().map(|w| self.hit(key, *w, now)))
                .await;
        }
        domain::hit_in_turn(self, key, windows, now).await
    }

    async fn peek(
        &self,
        key: &str,
        window: Window,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let (id, _) = window_id(key, window, now);
        let found = self
            .coll(RATE_LIMITS)
            .find_one(doc! {"_id": id})
            .await
            .map_err(store("read a counter"))?;
        found
            .as_ref()
            .map(|d| Fields::of(d, "counter").u64("count"))
            .transpose()
            .map(|c| c.unwrap_or(0))
    }

    async fn add_batch(
        &self,
        additions: &[domain::Addition],
        windows: &[Window],
    ) -> Result<Vec<Vec<WindowCount>>, StoreError> {
        let (counters, slots) = domain::fold_additions(additions, windows);
        // One update per counter, at most 32 in flight.
        let mut values = Vec::with_capacity(counters.len());
        for chunk in counters.chunks(32) {
            values.extend(
                futures::future::try_join_all(chunk.iter().map(|c| {
                    let id = format!(
                        "{}|{}|{}",
                        c.key,
                        c.window_seconds,
                        c.window_start.unix_timestamp()
                    );
                    async move { self.add(&id, &c.key, c.window_end, c.n).await }
                }))
                .await?,
            );
        }
        Ok(domain::unfold_counts(&counters, &slots, &values))
    }

    async fn give_back(
        &self,
        key: &str,
        window: Window,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (id, _) = window_id(key, window, now);
        self.coll(RATE_LIMITS)
            .update_one(
                doc! {"_id": id, "count": {"$gt": 0_i64}},
                doc! {"$inc": {"count": -1_i64}},
            )
            .await
            .map(|_| ())
            .map_err(store("give back a hit"))
    }

    async fn forget(&self, key: &str) -> Result<(), StoreError> {
        self.coll(RATE_LIMITS)
            .delete_many(doc! {"key": key})
            .await
            .map(|_| ())
            .map_err(store("forget counters"))
    }

    async fn purge_expired(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError> {
        self.purge_batch(
            RATE_LIMITS,
            doc! {"windowEnd": {"$ne": Bson::Null, "$lte": time(now)}},
            limit,
        )
        .await
    }
}
