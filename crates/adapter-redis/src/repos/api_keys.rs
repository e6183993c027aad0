//! `key:<id>` hashes, the `by_hash` hash (key hash → id) and a sorted set
//! per user (`user:<id>`, scored by creation time), all under one hash
//! tag so every script is one slot in a cluster. `lastUsedAtMs` moves
//! forward only, compared inside a script.

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

/// KEYS: record, by-hash, user index. ARGV: id, key hash, score, fields….
static INSERT: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
"#,
    )
});

/// KEYS: record, by-hash, user index. ARGV: user id, id.
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('HGET', KEYS[1], 'userId') ~= ARGV[1] then return 0 end
local hash = redis.call('HGET', KEYS[1], 'keyHash')
redis.call('DEL', KEYS[1])
if hash then redis.call('HDEL', KEYS[2], hash) end
redis.call('ZREM', KEYS[3], ARGV[2])
return 1
"#,
    )
});

/// KEYS: record. ARGV: time in ms, time as text.
static RECORD_USE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local last = redis.call('HGET', KEYS[1], 'lastUsedAtMs')
if last and tonumber(last) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'lastUsedAt', ARGV[2], 'lastUsedAtMs', ARGV[1])
return 1
"#,
    )
});

fn record(k: &ApiKey) -> Record {
    let mut rec = Record::default();
    rec.set("id", k.id.to_string())
        .set("userId", k.user_id.to_string())
        .set("name", k.name.as_str())
        .set("prefix", k.prefix.as_str())
        .set("keyHash", k.key_hash.as_str())
        .time("createdAt", "createdAtMs", k.created_at)
        .opt(
            "permissions",
            k.permissions.as_ref().map(|p| {
                let list: Vec<&str> = p.iter().map(Permission::as_str).collect();
                serde_json::to_string(&list).unwrap_or_else(|_| "[]".into())
            }),
        )
        .opt("expiresAt", k.expires_at.map(ts));
    if let Some(at) = k.last_used_at {
        rec.time("lastUsedAt", "lastUsedAtMs", at);
    }
    rec
}

fn key(map: HashMap<String, String>) -> Result<Option<ApiKey>, StoreError> {
    if map.is_empty() {
        return Ok(None);
    }
    let f = Fields::new(map, "API key");
    let permissions = match f.json("permissions")? {
        None => None,
        Some(v) => {
            let names: Vec<String> =
                serde_json::from_value(v).map_err(|_| corrupt("API key", "permissions"))?;
            Some(
                names
                    .iter()
                    .map(|p| Permission::parse(p).map_err(|_| corrupt("API key", "permissions")))
                    .collect::<Result<_, _>>()?,
            )
        }
    };
    Ok(Some(ApiKey {
        id: ApiKeyId::from_uuid(f.uuid("id")?),
        user_id: UserId::from_uuid(f.uuid("userId")?),
        name: ApiKeyName::from_stored(f.str("name")?),
        prefix: f.str("prefix")?.to_owned(),
        key_hash: TokenHash::from_stored(f.str("keyHash")?),
        permissions,
        created_at: f.time("createdAt")?,
        expires_at: f.opt_time("expiresAt")?,
        last_used_at: f.opt_time("lastUsedAt")?,
    }))
}

impl RedisStore {
    fn api_key_key(&self, id: ApiKeyId) -> String {
        self.key(Family::ApiKeys, &format!("key:{id}"))
    }
    fn api_key_prefix(&self) -> String {
        self.key(Family::ApiKeys, "key:")
    }
    fn api_keys_by_hash(&self) -> String {
        self.key(Family::ApiKeys, "by_hash")
    }
    fn api_keys_of(&self, user: UserId) -> String {
        self.key(Family::ApiKeys, &format!("user:{user}"))
    }
}

#[async_trait]
impl ApiKeyRepository for RedisStore {
    async fn insert(&self, k: &ApiKey) -> Result<(), StoreError> {
        let mut args = vec![
            k.id.to_string(),
            k.key_hash.as_str().to_owned(),
            ms(k.created_at).to_string(),
        ];
        args.extend(record(k).args());
        let _: i64 = self
            .eval(
                &INSERT,
                vec![
                    self.api_key_key(k.id),
                    self.api_keys_by_hash(),
                    self.api_keys_of(k.user_id),
                ],
                args,
                "insert API key",
            )
            .await?;
        Ok(())
    }

    async fn find_by_hash(&self, key_hash: &TokenHash) -> Result<Option<ApiKey>, StoreError> {
        let v: Value = self
            .eval(
                &super::indexed::FIND,
                vec![self.api_keys_by_hash()],
                vec![key_hash.as_str().to_owned(), self.api_key_prefix()],
                "find API key",
            )
            .await?;
        key(pairs(v)?)
    }

    async fn list_for_user(&self, user_id: UserId) -> Result<Vec<ApiKey>, StoreError> {
        let v: Value = self
            .eval(
                &super::indexed::LIST,
                vec![self.api_keys_of(user_id)],
                vec![self.api_key_prefix(), "desc".to_owned()],
                "list API keys",
            )
            .await?;
        records(v)?
            .into_iter()
            .filter_map(|m| key(m).transpose())
            .collect()
    }

    async fn delete(&self, user_id: UserId, id: ApiKeyId) -> Result<(), WriteError> {
        let n: i64 = self
            .eval(
                &DELETE,
                vec![
                    self.api_key_key(id),
                    self.api_keys_by_hash(),
                    self.api_keys_of(user_id),
                ],
                vec![user_id.to_string(), id.to_string()],
                "delete API key",
            )
            .await?;
        WriteError::found(n)
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let n: i64 = self
            .eval(
                &super::indexed::DELETE_FOR_USER,
                vec![self.api_keys_of(user_id), self.api_keys_by_hash()],
                vec![self.api_key_prefix(), "keyHash".to_owned()],
                "delete a user's API keys",
            )
            .await?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    async fn record_use(&self, id: ApiKeyId, at: OffsetDateTime) -> Result<(), StoreError> {
        let _: i64 = self
            .eval(
                &RECORD_USE,
                vec![self.api_key_key(id)],
                vec![ms(at).to_string(), ts(at)],
                "record an API key's use",
            )
            .await?;
        Ok(())
    }
}
