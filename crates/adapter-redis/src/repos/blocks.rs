//! Blocks, under the `conversations` hash tag (the conversation rules read
//! them): `bk:<blocker>` hashes (blocked user → since, RFC 3339) and
//! `bd:<blocked>` sets of blockers, changed together by scripts.

use std::sync::LazyLock;

use async_trait::async_trait;
use domain::*;
use fred::prelude::*;
use fred::types::scripts::Script;
use time::OffsetDateTime;

use crate::RedisStore;
use crate::codec::ts;
use crate::error::{corrupt, store};

/// KEYS: blocker's hash, blocked's set. ARGV: blocked, blocker, since.
static BLOCK: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[3]) == 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[2])
return 1
"#,
    )
});

/// KEYS: blocker's hash, blocked's set. ARGV: blocked, blocker.
static UNBLOCK: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[2])
return 1
"#,
    )
});

/// ARGV: base, user. Removes the user's blocks both ways; returns how many.
static FORGET_BLOCKS: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local b, u = ARGV[1], ARGV[2]
local n = 0
for _, blocked in ipairs(redis.call('HKEYS', b .. 'bk:' .. u)) do
  redis.call('SREM', b .. 'bd:' .. blocked, u)
  n = n + 1
end
for _, blocker in ipairs(redis.call('SMEMBERS', b .. 'bd:' .. u)) do
  n = n + redis.call('HDEL', b .. 'bk:' .. blocker, u)
end
redis.call('DEL', b .. 'bk:' .. u, b .. 'bd:' .. u)
return n
"#,
    )
});

impl RedisStore {
    fn block_key(&self, rest: &str) -> String {
        self.key(crate::Family::Conversations, rest)
    }
}

#[async_trait]
impl BlockRepository for RedisStore {
    async fn block(&self, b: &Block) -> Result<bool, StoreError> {
        let added: i64 = self
            .eval(
                &BLOCK,
                vec![
                    self.block_key(&format!("bk:{}", b.blocker_id)),
                    self.block_key(&format!("bd:{}", b.blocked_id)),
                ],
                vec![
                    b.blocked_id.to_string(),
                    b.blocker_id.to_string(),
                    ts(b.created_at),
                ],
                "block",
            )
            .await?;
        Ok(added == 1)
    }

    async fn unblock(&self, blocker_id: UserId, blocked_id: UserId) -> Result<bool, StoreError> {
        let removed: i64 = self
            .eval(
                &UNBLOCK,
                vec![
                    self.block_key(&format!("bk:{blocker_id}")),
                    self.block_key(&format!("bd:{blocked_id}")),
                ],
                vec![blocked_id.to_string(), blocker_id.to_string()],
                "unblock",
            )
            .await?;
        Ok(removed == 1)
    }

    async fn is_blocked(&self, blocker_id: UserId, blocked_id: UserId) -> Result<bool, StoreError> {
        self.pool()
            .hexists(
                self.block_key(&format!("bk:{blocker_id}")),
                blocked_id.to_string(),
            )
            .await
            .map_err(store("read a block"))
    }

    async fn list(&self, blocker_id: UserId) -> Result<Vec<Block>, StoreError> {
        let map = self
            .hgetall(self.block_key(&format!("bk:{blocker_id}")), "list blocks")
            .await?;
        let mut all = map
            .into_iter()
            .map(|(blocked, since)| {
                Ok(Block {
                    blocker_id,
                    blocked_id: blocked.parse().map_err(|_| corrupt("block", "user"))?,
                    created_at: OffsetDateTime::parse(
                        &since,
                        &time::format_description::well_known::Rfc3339,
                    )
                    .map_err(|_| corrupt("block", "since"))?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        all.sort_by_key(|b| std::cmp::Reverse((b.created_at, b.blocked_id)));
        Ok(all)
    }

    async fn forget_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let n: i64 = self
            .eval(
                &FORGET_BLOCKS,
                vec![self.block_key(&format!("bk:{user_id}"))],
                vec![self.base(crate::Family::Conversations), user_id.to_string()],
                "forget blocks",
            )
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
