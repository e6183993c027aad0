//! Counters: `{<prefix>:rl:<counted key>}:<seconds>:<window start>`, one
//! INCR per window, every window of a call in one script round trip,
//! expiring natively at the window's end (all-time counters never expire). The hash tag is the
//! counted key, so counters spread over a cluster key by key, and every
//! window of one key shares a slot with its `:windows` set (for `forget`).
//! `username_status_req:<ip>` and per-user
//! `requests` counters are counted keys like any other.

use std::sync::LazyLock;

use async_trait::async_trait;
use domain::{RateLimiter, StoreError, Window, WindowCount};
use fred::prelude::*;
use fred::types::scripts::Script;
use time::OffsetDateTime;

use crate::RedisStore;
use crate::codec::ms;
use crate::error::store;

/// KEYS: window counters of one key, then the key's window set. ARGV: per
/// counter, its window's end in ms, or '' for all time; then per counter,
/// how much to add. Returns the new counts in order.
static ADD: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local set = KEYS[#KEYS]
local windows = #KEYS - 1
local counts = {}
for i = 1, windows do
  local by = tonumber(ARGV[windows + i])
  local n = redis.call('INCRBY', KEYS[i], by)
  counts[i] = n
  if n == by then
    for _, k in ipairs(redis.call('SMEMBERS', set)) do
      if redis.call('EXISTS', k) == 0 then redis.call('SREM', set, k) end
    end
    redis.call('SADD', set, KEYS[i])
    if ARGV[i] == '' then
      redis.call('PERSIST', set)
    else
      redis.call('PEXPIREAT', KEYS[i], ARGV[i])
      local forever = false
      for _, k in ipairs(redis.call('SMEMBERS', set)) do
        if redis.call('PTTL', k) == -1 then forever = true end
      end
      if not forever and redis.call('PEXPIRETIME', set) < tonumber(ARGV[i]) then
        redis.call('PEXPIREAT', set, ARGV[i])
      end
    end
  end
end
return counts
"#,
    )
});

/// KEYS: one window counter. Takes one off a counter above 0; a missing
/// counter stays missing (DECR would create it at -1).
static GIVE_BACK: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
return 1
"#,
    )
});

/// KEYS: the key's window set. Deletes every window and the set.
static FORGET: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
for _, k in ipairs(redis.call('SMEMBERS', KEYS[1])) do redis.call('DEL', k) end
redis.call('DEL', KEYS[1])
return 1
"#,
    )
});

impl RedisStore {
    fn counter_base(&self, key: &str) -> String {
        format!("{{{}:rl:{key}}}:", self.prefix())
    }
    fn window_key(
        &self,
        key: &str,
        window: Window,
        now: OffsetDateTime,
    ) -> (String, Option<OffsetDateTime>) {
        let bounds = window.bounds(now);
        let start = bounds.map_or(0, |(s, _)| s.unix_timestamp());
        (
            format!("{}{}:{start}", self.counter_base(key), window.seconds()),
            bounds.map(|(_, end)| end),
        )
    }
}

#[async_trait]
impl RateLimiter for RedisStore {
    async fn hit(
        &self,
        key: &str,
        window: Window,
        now: OffsetDateTime,
    ) -> Result<WindowCount, StoreError> {
        self.hit_many(key, &[window], now)
            .await?
            .pop()
            .ok_or_else(|| StoreError::msg("the hit script returned no count"))
    }

    async fn hit_many(
        &self,
        key: &str,
        windows: &[Window],
        now: OffsetDateTime,
    ) -> Result<Vec<WindowCount>, StoreError> {
        let mut keys = Vec::with_capacity(windows.len() + 1);
        let mut ends = Vec::with_capacity(windows.len());
        let mut args = Vec::with_capacity(windows.len());
        for window in windows {
            let (counter, end) = self.window_key(key, *window, now);
            keys.push(counter);
            args.push(end.map_or_else(String::new, |e| ms(e).to_string()));
            ends.push(end);
        }
        keys.push(format!("{}windows", self.counter_base(key)));
        args.extend(windows.iter().map(|_| "1".to_owned()));
        let counts: Vec<i64> = self.eval(&ADD, keys, args, "count hits").await?;
        if counts.len() != windows.len() {
            return Err(StoreError::msg(format!(
                "the hit script returned {} counts for {} windows",
                counts.len(),
                windows.len()
            )));
        }
        Ok(counts
            .into_iter()
            .zip(ends)
            .map(|(count, resets_at)| WindowCount {
                count: u64::try_from(count).unwrap_or(0),
                resets_at,
            })
            .collect())
    }

    async fn peek(
        &self,
        key: &str,
        window: Window,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let (counter, _) = self.window_key(key, window, now);
        let n: Option<i64> = self
            .pool()
            .get(counter)
            .await
            .map_err(store("read a counter"))?;
        Ok(n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
    }

    async fn add_batch(
        &self,
        additions: &[domain::Addition],
        windows: &[Window],
    ) -> Result<Vec<Vec<WindowCount>>, StoreError> {
        let (counters, slots) = domain::fold_additions(additions, windows);
        // One script per key (its windows share the key's slot), sent
        // together over the multiplexed connection.
        let mut by_key: Vec<(&str, Vec<usize>)> = Vec::new();
        for (i, c) in counters.iter().enumerate() {
            match by_key.last_mut() {
                Some((key, members)) if *key == c.key => members.push(i),
                _ => by_key.push((&c.key, vec![i])),
            }
        }
        let scripts = by_key.iter().map(|(key, members)| {
            let mut keys: Vec<String> = members
                .iter()
                .map(|&i| {
                    let c = &counters[i];
                    format!(
                        "{}{}:{}",
                        self.counter_base(key),
                        c.window_seconds,
                        c.window_start.unix_timestamp()
                    )
                })
                .collect();
            keys.push(format!("{}windows", self.counter_base(key)));
            let mut args: Vec<String> = members
                .iter()
                .map(|&i| {
                    counters[i]
                        .window_end
                        .map_or_else(String::new, |e| ms(e).to_string())
                })
                .collect();
            args.extend(members.iter().map(|&i| counters[i].n.to_string()));
            async move {
                let counts: Vec<i64> = self.eval(&ADD, keys, args, "add counts").await?;
                Ok::<_, StoreError>((members, counts))
            }
        });
        let mut values = vec![0_u64; counters.len()];
        for (members, counts) in futures::future::try_join_all(scripts).await? {
            if counts.len() != members.len() {
                return Err(StoreError::msg(
                    "the add script returned the wrong number of counts",
                ));
            }
            for (&i, count) in members.iter().zip(counts) {
                values[i] = u64::try_from(count).unwrap_or(0);
            }
        }
        Ok(domain::unfold_counts(&counters, &slots, &values))
    }

    async fn give_back(
        &self,
        key: &str,
        window: Window,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (counter, _) = self.window_key(key, window, now);
        let _: i64 = self
            .eval(&GIVE_BACK, vec![counter], vec![], "give back a hit")
            .await?;
        Ok(())
    }

    async fn forget(&self, key: &str) -> Result<(), StoreError> {
        let _: i64 = self
            .eval(
                &FORGET,
                vec![format!("{}windows", self.counter_base(key))],
                vec![],
                "forget counters",
            )
            .await?;
        Ok(())
    }

    async fn purge_expired(&self, _now: OffsetDateTime, _limit: u32) -> Result<u64, StoreError> {
        // Windows expire natively at their end.
        Ok(0)
    }
}
