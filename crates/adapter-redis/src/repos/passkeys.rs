//! `key:<id>` hashes, the `by_cred` hash (credential id → id) and a sorted
//! set per user (`user:<id>`, scored by creation time), all under one hash
//! tag so every script is one slot in a cluster. The counter moves inside
//! a script (the compare-and-set); "keep the last one" counts the user's
//! set in the same script. Ceremonies are `challenge:<id>` hashes that
//! expire natively and are taken by a script.

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

/// KEYS: record, by-credential, user index. ARGV: id, credential id,
/// score, fields….
static INSERT: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
"#,
    )
});

/// KEYS: record. ARGV: user id, name.
static RENAME: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('HGET', KEYS[1], 'userId') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'name', ARGV[2])
return 1
"#,
    )
});

/// KEYS: record, by-credential, user index. ARGV: user id, id, keep one.
/// Answers 0 (not found), 1 (removed) or 2 (kept: the last one).
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('HGET', KEYS[1], 'userId') ~= ARGV[1] then return 0 end
if ARGV[3] == '1' and redis.call('ZCARD', KEYS[3]) < 2 then return 2 end
local cred = redis.call('HGET', KEYS[1], 'credentialId')
redis.call('DEL', KEYS[1])
if cred then redis.call('HDEL', KEYS[2], cred) end
redis.call('ZREM', KEYS[3], ARGV[2])
return 1
"#,
    )
});

/// KEYS: record. ARGV: counter, credential, time as text, time in ms.
static RECORD_USE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local stored = redis.call('HGET', KEYS[1], 'counter')
if not stored then return 0 end
local old, new = tonumber(stored), tonumber(ARGV[1])
if new > old or (new == 0 and old == 0) then
  redis.call('HSET', KEYS[1], 'counter', ARGV[1], 'credential', ARGV[2],
    'lastUsedAt', ARGV[3], 'lastUsedAtMs', ARGV[4])
  return 1
end
return 0
"#,
    )
});

/// KEYS: challenge. ARGV: expiry in ms, fields….
static ADD_CHALLENGE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
"#,
    )
});

/// KEYS: challenge. ARGV: now in ms.
static TAKE_CHALLENGE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local exp = redis.call('HGET', KEYS[1], 'expiresAtMs')
if not exp then return {} end
local r = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
if tonumber(exp) <= tonumber(ARGV[1]) then return {} end
return r
"#,
    )
});

fn record(p: &Passkey) -> Record {
    let mut rec = Record::default();
    rec.set("id", p.id.to_string())
        .set("userId", p.user_id.to_string())
        .set("credentialId", p.credential_id.as_str())
        .set("credential", p.credential.as_str())
        .set("counter", p.counter.to_string())
        .set("name", p.name.as_str())
        .time("createdAt", "createdAtMs", p.created_at);
    if let Some(at) = p.last_used_at {
        rec.time("lastUsedAt", "lastUsedAtMs", at);
    }
    rec
}

fn passkey(map: HashMap<String, String>) -> Result<Option<Passkey>, StoreError> {
    if map.is_empty() {
        return Ok(None);
    }
    let f = Fields::new(map, "passkey");
    Ok(Some(Passkey {
        id: PasskeyId::from_uuid(f.uuid("id")?),
        user_id: UserId::from_uuid(f.uuid("userId")?),
        credential_id: CredentialId::from_stored(f.str("credentialId")?),
        credential: f.str("credential")?.to_owned(),
        counter: u32::try_from(f.u64("counter")?).map_err(|_| corrupt("passkey", "counter"))?,
        name: PasskeyName::from_stored(f.str("name")?),
        created_at: f.time("createdAt")?,
        last_used_at: f.opt_time("lastUsedAt")?,
    }))
}

impl RedisStore {
    fn passkey_key(&self, id: PasskeyId) -> String {
        self.key(Family::Passkeys, &format!("key:{id}"))
    }
    fn passkey_prefix(&self) -> String {
        self.key(Family::Passkeys, "key:")
    }
    fn passkeys_by_credential(&self) -> String {
        self.key(Family::Passkeys, "by_cred")
    }
    fn passkeys_of(&self, user: UserId) -> String {
        self.key(Family::Passkeys, &format!("user:{user}"))
    }
    fn passkey_challenge_key(&self, id: PasskeyChallengeId) -> String {
        self.key(Family::Passkeys, &format!("challenge:{id}"))
    }
}

#[async_trait]
impl PasskeyRepository for RedisStore {
    async fn insert(&self, p: &Passkey) -> Result<bool, StoreError> {
        let mut args = vec![
            p.id.to_string(),
            p.credential_id.as_str().to_owned(),
            ms(p.created_at).to_string(),
        ];
        args.extend(record(p).args());
        let n: i64 = self
            .eval(
                &INSERT,
                vec![
                    self.passkey_key(p.id),
                    self.passkeys_by_credential(),
                    self.passkeys_of(p.user_id),
                ],
                args,
                "insert passkey",
            )
            .await?;
        Ok(n == 1)
    }

    async fn find_by_credential(
        &self,
        credential_id: &CredentialId,
    ) -> Result<Option<Passkey>, StoreError> {
        let v: Value = self
            .eval(
                &super::indexed::FIND,
                vec![self.passkeys_by_credential()],
                vec![credential_id.as_str().to_owned(), self.passkey_prefix()],
                "find passkey",
            )
            .await?;
        passkey(pairs(v)?)
    }

    async fn list_for_user(&self, user_id: UserId) -> Result<Vec<Passkey>, StoreError> {
        let v: Value = self
            .eval(
                &super::indexed::LIST,
                vec![self.passkeys_of(user_id)],
                vec![self.passkey_prefix(), "asc".to_owned()],
                "list passkeys",
            )
            .await?;
        records(v)?
            .into_iter()
            .filter_map(|m| passkey(m).transpose())
            .collect()
    }

    async fn rename(
        &self,
        user_id: UserId,
        id: PasskeyId,
        name: &PasskeyName,
    ) -> Result<(), WriteError> {
        let n: i64 = self
            .eval(
                &RENAME,
                vec![self.passkey_key(id)],
                vec![user_id.to_string(), name.as_str().to_owned()],
                "rename passkey",
            )
            .await?;
        WriteError::found(n)
    }

    async fn delete(
        &self,
        user_id: UserId,
        id: PasskeyId,
        keep_one: bool,
    ) -> Result<PasskeyRemoved, StoreError> {
        let n: i64 = self
            .eval(
                &DELETE,
                vec![
                    self.passkey_key(id),
                    self.passkeys_by_credential(),
                    self.passkeys_of(user_id),
                ],
                vec![
                    user_id.to_string(),
                    id.to_string(),
                    if keep_one { "1" } else { "0" }.to_owned(),
                ],
                "delete passkey",
            )
            .await?;
        Ok(match n {
            1 => PasskeyRemoved::Removed,
            2 => PasskeyRemoved::LastOne,
            _ => PasskeyRemoved::NotFound,
        })
    }

    async fn record_use(
        &self,
        id: PasskeyId,
        counter: u32,
        credential: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let n: i64 = self
            .eval(
                &RECORD_USE,
                vec![self.passkey_key(id)],
                vec![
                    counter.to_string(),
                    credential.to_owned(),
                    ts(at),
                    ms(at).to_string(),
                ],
                "record a passkey's use",
            )
            .await?;
        Ok(n == 1)
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let n: i64 = self
            .eval(
                &super::indexed::DELETE_FOR_USER,
                vec![self.passkeys_of(user_id), self.passkeys_by_credential()],
                vec![self.passkey_prefix(), "credentialId".to_owned()],
                "delete a user's passkeys",
            )
            .await?;
        Ok(u64::try_from(n).unwrap_or_default())
    }
}

#[async_trait]
impl PasskeyChallengeRepository for RedisStore {
    async fn insert(&self, c: &PasskeyChallenge) -> Result<(), StoreError> {
        let mut r = Record::default();
        r.set("state", c.state.as_str())
            .opt("userId", c.user_id.map(|u| u.to_string()))
            .time("expiresAt", "expiresAtMs", c.expires_at);
        let mut args = vec![ms(c.expires_at).to_string()];
        args.extend(r.args());
        let _: i64 = self
            .eval(
                &ADD_CHALLENGE,
                vec![self.passkey_challenge_key(c.id)],
                args,
                "store passkey challenge",
            )
            .await?;
        Ok(())
    }

    async fn take(
        &self,
        id: PasskeyChallengeId,
        now: OffsetDateTime,
    ) -> Result<Option<PasskeyChallenge>, StoreError> {
        let v: Value = self
            .eval(
                &TAKE_CHALLENGE,
                vec![self.passkey_challenge_key(id)],
                vec![ms(now).to_string()],
                "take passkey challenge",
            )
            .await?;
        let map = pairs(v)?;
        if map.is_empty() {
            return Ok(None);
        }
        let f = Fields::new(map, "passkey challenge");
        Ok(Some(PasskeyChallenge {
            id,
            user_id: f.opt_uuid("userId")?.map(UserId::from_uuid),
            state: f.str("state")?.to_owned(),
            expires_at: f.time("expiresAt")?,
        }))
    }

    async fn purge_expired(&self, _now: OffsetDateTime, _limit: u32) -> Result<u64, StoreError> {
        // They expire natively.
        Ok(0)
    }
}
