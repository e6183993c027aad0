//! Password-reset and deletion tokens: `token:<hash>` hashes and a
//! per-user index, expiring natively.

use std::collections::HashMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use domain::*;
use fred::types::Value;
use fred::types::scripts::Script;
use time::OffsetDateTime;

use crate::codec::*;
use crate::error::corrupt;
use crate::{Family, RedisStore};

use super::ADD_EXPIRING;

/// KEYS: token. ARGV: purpose, now ms, user-set prefix, token hash.
static CONSUME: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
if redis.call('HGET', KEYS[1], 'purpose') ~= ARGV[1] then return {} end
local exp = redis.call('HGET', KEYS[1], 'expiresAtMs')
if not exp or tonumber(exp) <= tonumber(ARGV[2]) then return {} end
local r = redis.call('HGETALL', KEYS[1])
local uid = redis.call('HGET', KEYS[1], 'userId')
redis.call('DEL', KEYS[1])
redis.call('SREM', ARGV[3] .. uid .. ':tokens', ARGV[4])
return r
"#,
    )
});

/// KEYS: token. ARGV: purpose, now ms. Counts a try on the token (its
/// `tries` field) and returns the count, or -1 when there is no such
/// unexpired token of that purpose.
static SPEND_TRY: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('HGET', KEYS[1], 'purpose') ~= ARGV[1] then return -1 end
local exp = redis.call('HGET', KEYS[1], 'expiresAtMs')
if not exp or tonumber(exp) <= tonumber(ARGV[2]) then return -1 end
return redis.call('HINCRBY', KEYS[1], 'tries', 1)
"#,
    )
});

/// KEYS: user's token set. ARGV: token prefix, purpose or ''. Deletes the
/// user's tokens (of that purpose); returns how many.
static DELETE_TOKENS: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local n = 0
for _, h in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. h
  if redis.call('EXISTS', key) == 0 then
    redis.call('SREM', KEYS[1], h)
  elseif ARGV[2] == '' or redis.call('HGET', key, 'purpose') == ARGV[2] then
    redis.call('DEL', key)
    redis.call('SREM', KEYS[1], h)
    n = n + 1
  end
end
return n
"#,
    )
});

fn one_time(
    map: HashMap<String, String>,
    hash: &TokenHash,
) -> Result<Option<OneTimeToken>, StoreError> {
    if map.is_empty() {
        return Ok(None);
    }
    let f = Fields::new(map, "one-time token");
    Ok(Some(OneTimeToken {
        token_hash: hash.clone(),
        purpose: TokenPurpose::parse(f.str("purpose")?)
            .ok_or_else(|| corrupt("one-time token", "purpose"))?,
        user_id: UserId::from_uuid(f.uuid("userId")?),
        created_at: f.time("createdAt")?,
        expires_at: f.time("expiresAt")?,
    }))
}

#[async_trait]
impl OneTimeTokenRepository for RedisStore {
    async fn insert(&self, t: &OneTimeToken) -> Result<(), StoreError> {
        let mut r = Record::default();
        r.set("purpose", t.purpose.as_str())
            .set("userId", t.user_id.to_string())
            .set("createdAt", ts(t.created_at))
            .time("expiresAt", "expiresAtMs", t.expires_at);
        let mut args = vec![
            ms(t.expires_at).to_string(),
            t.token_hash.as_str().to_owned(),
        ];
        args.extend(r.args());
        let _: i64 = self
            .eval(
                &ADD_EXPIRING,
                vec![
                    self.key(Family::Tokens, &format!("token:{}", t.token_hash.as_str())),
                    self.key(Family::Tokens, &format!("user:{}:tokens", t.user_id)),
                ],
                args,
                "store token",
            )
            .await?;
        Ok(())
    }

    async fn consume(
        &self,
        token_hash: &TokenHash,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<OneTimeToken>, StoreError> {
        let v: Value = self
            .eval(
                &CONSUME,
                vec![self.key(Family::Tokens, &format!("token:{}", token_hash.as_str()))],
                vec![
                    purpose.as_str().to_owned(),
                    ms(now).to_string(),
                    self.key(Family::Tokens, "user:"),
                    token_hash.as_str().to_owned(),
                ],
                "consume token",
            )
            .await?;
        one_time(pairs(v)?, token_hash)
    }

    async fn find(
        &self,
        token_hash: &TokenHash,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<OneTimeToken>, StoreError> {
        let map = self
            .hgetall(
                self.key(Family::Tokens, &format!("token:{}", token_hash.as_str())),
                "read token",
            )
            .await?;
        let found = one_time(map, token_hash)?;
        Ok(found.filter(|t| t.purpose == purpose && t.expires_at > now))
    }

    async fn spend_try(
        &self,
        token_hash: &TokenHash,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<u32>, StoreError> {
        let n: i64 = self
            .eval(
                &SPEND_TRY,
                vec![self.key(Family::Tokens, &format!("token:{}", token_hash.as_str()))],
                vec![purpose.as_str().to_owned(), ms(now).to_string()],
                "count token try",
            )
            .await?;
        Ok(u32::try_from(n).ok())
    }

    async fn delete_for_user(
        &self,
        user_id: UserId,
        purpose: Option<TokenPurpose>,
    ) -> Result<u64, StoreError> {
        let n: i64 = self
            .eval(
                &DELETE_TOKENS,
                vec![self.key(Family::Tokens, &format!("user:{user_id}:tokens"))],
                vec![
                    self.key(Family::Tokens, "token:"),
                    purpose.map_or_else(String::new, |p| p.as_str().to_owned()),
                ],
                "delete tokens",
            )
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn purge_expired(&self, _now: OffsetDateTime, _limit: u32) -> Result<u64, StoreError> {
        // Tokens expire natively.
        Ok(0)
    }
}
