//! `RateLimiter`: fixed-window counters.

use async_trait::async_trait;
use domain::*;
use time::OffsetDateTime;

use super::MemoryStore;
use super::state::{Counter, CounterKey, State};

/// The counter of `key` for the window of `window` containing `at`, and
/// when that window ends.
fn counter_key(
    key: &str,
    window: Window,
    at: OffsetDateTime,
) -> (CounterKey, Option<OffsetDateTime>) {
    let bounds = window.bounds(at);
    let start = bounds.map_or(0, |(start, _)| start.unix_timestamp());
    (
        (key.to_owned(), window.seconds(), start),
        bounds.map(|(_, end)| end),
    )
}

/// Adds `n` to a counter and returns its new value.
fn add(state: &mut State, key: &str, window: Window, at: OffsetDateTime, n: u64) -> WindowCount {
    let (id, ends_at) = counter_key(key, window, at);
    let counter = state
        .counters
        .entry(id)
        .or_insert(Counter { count: 0, ends_at });
    counter.count = counter.count.saturating_add(n);
    WindowCount {
        count: counter.count,
        resets_at: ends_at,
    }
}

#[async_trait]
impl RateLimiter for MemoryStore {
    async fn hit(
        &self,
        key: &str,
        window: Window,
        now: OffsetDateTime,
    ) -> Result<WindowCount, StoreError> {
        Ok(add(&mut self.state(), key, window, now, 1))
    }

    async fn hit_many(
        &self,
        key: &str,
        windows: &[Window],
        now: OffsetDateTime,
    ) -> Result<Vec<WindowCount>, StoreError> {
        let mut state = self.state();
        Ok(windows
            .iter()
            .map(|window| add(&mut state, key, *window, now, 1))
            .collect())
    }

    async fn peek(
        &self,
        key: &str,
        window: Window,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let (id, _) = counter_key(key, window, now);
        Ok(self.state().counters.get(&id).map_or(0, |c| c.count))
    }

    async fn give_back(
        &self,
        key: &str,
        window: Window,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (id, _) = counter_key(key, window, now);
        if let Some(counter) = self.state().counters.get_mut(&id) {
            counter.count = counter.count.saturating_sub(1);
        }
        Ok(())
    }

    async fn add_batch(
        &self,
        additions: &[Addition],
        windows: &[Window],
    ) -> Result<Vec<Vec<WindowCount>>, StoreError> {
        let (counters, slots) = fold_additions(additions, windows);
        let mut state = self.state();
        let values: Vec<u64> = counters
            .iter()
            .map(|c| {
                let counter = state
                    .counters
                    .entry((
                        c.key.clone(),
                        c.window_seconds,
                        c.window_start.unix_timestamp(),
                    ))
                    .or_insert(Counter {
                        count: 0,
                        ends_at: c.window_end,
                    });
                counter.count = counter.count.saturating_add(c.n);
                counter.count
            })
            .collect();
        Ok(unfold_counts(&counters, &slots, &values))
    }

    async fn forget(&self, key: &str) -> Result<(), StoreError> {
        self.state().counters.retain(|(k, _, _), _| k != key);
        Ok(())
    }

    async fn purge_expired(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError> {
        Ok(super::state::purge(
            &mut self.state().counters,
            limit,
            |c| c.ends_at.is_some_and(|end| end <= now),
        ))
    }
}
