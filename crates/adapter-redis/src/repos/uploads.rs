//! `upload:<id>` hashes; `upload_request:<user id>:<object key>`
//! holding the creation time (no TTL: the sweep expires requests);
//! `object:<key>` → id for uniqueness; per-user indexes and a `pending`
//! index ordered by expiry for the sweep.

use std::collections::HashMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use domain::*;
use fred::prelude::*;
use fred::types::Value;
use fred::types::scripts::Script;
use time::OffsetDateTime;

use crate::codec::*;
use crate::error::{corrupt, store};
use crate::{Family, RedisStore};

/// KEYS: upload, object index, seed key, user's index, pending index.
/// ARGV: id, member, pending member or '', creation time, pairs.
static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], ARGV[4])
redis.call('ZADD', KEYS[4], 0, ARGV[2])
if ARGV[3] ~= '' then redis.call('ZADD', KEYS[5], 0, ARGV[3]) end
return 1
"#,
    )
});

/// KEYS: upload, pending index. ARGV: pairs. -1 missing, 0 not pending, 1 done.
static COMPLETE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HGET', KEYS[1], 'status') ~= 'pending' then return 0 end
local pm = redis.call('HGET', KEYS[1], 'pendingMember')
redis.call('HSET', KEYS[1], unpack(ARGV))
if pm then redis.call('ZREM', KEYS[2], pm) end
return 1
"#,
    )
});

/// Deletes one request with its index entries (used inside scripts).
const DELETE_ONE: &str = r#"
local function delete_upload(key, pending, p)
  local f = redis.call('HMGET', key, 'objectKey', 'userId', 'member', 'pendingMember')
  if f[1] then redis.call('DEL', p.object .. f[1]) end
  if f[1] and f[2] then redis.call('DEL', p.seed .. f[2] .. ':' .. f[1]) end
  if f[2] and f[3] then redis.call('ZREM', p.user .. f[2] .. ':uploads', f[3]) end
  if f[4] then redis.call('ZREM', pending, f[4]) end
  return redis.call('DEL', key)
end
"#;

/// KEYS: upload, pending index. ARGV: object prefix, seed prefix, user prefix.
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(format!(
        r#"{DELETE_ONE}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return delete_upload(KEYS[1], KEYS[2], {{object = ARGV[1], seed = ARGV[2], user = ARGV[3]}})
"#
    ))
});

/// KEYS: user's index, pending index. ARGV: upload prefix, object prefix,
/// seed prefix, user prefix.
static DELETE_FOR_USER: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(format!(
        r#"{DELETE_ONE}
local p = {{object = ARGV[2], seed = ARGV[3], user = ARGV[4]}}
local n = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = ARGV[1] .. string.sub(m, 17)
  if redis.call('EXISTS', key) == 1 then n = n + delete_upload(key, KEYS[2], p) end
end
redis.call('DEL', KEYS[1])
return n
"#
    ))
});

/// KEYS: pending index. ARGV: upper bound, limit, upload prefix.
static EXPIRED: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local out = {}
for _, m in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], '-', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))) do
  local key = ARGV[3] .. string.sub(m, 17)
  if redis.call('EXISTS', key) == 1 then table.insert(out, redis.call('HGETALL', key)) end
end
return out
"#,
    )
});

fn from_map(map: HashMap<String, String>) -> Result<Option<UploadRequest>, StoreError> {
    if map.is_empty() {
        return Ok(None);
    }
    let f = Fields::new(map, "upload request");
    let bad = |k| corrupt("upload request", k);
    Ok(Some(UploadRequest {
        id: UploadId::from_uuid(f.uuid("id")?),
        user_id: UserId::from_uuid(f.uuid("userId")?),
        object_key: ObjectKey::parse(f.str("objectKey")?).map_err(|_| bad("objectKey"))?,
        content_type: f.str("contentType")?.to_owned(),
        max_size: f.u64("maxSize")?,
        status: UploadStatus::parse(f.str("status")?).ok_or_else(|| bad("status"))?,
        created_at: f.time("createdAt")?,
        expires_at: f.time("expiresAt")?,
        completed_at: f.opt_time("completedAt")?,
        size: f.opt_str("size").map(|_| f.u64("size")).transpose()?,
    }))
}

impl RedisStore {
    fn up_key(&self, rest: &str) -> String {
        self.key(Family::Uploads, rest)
    }
    fn upload_key(&self, id: UploadId) -> String {
        self.up_key(&format!("upload:{id}"))
    }
    fn upload_prefixes(&self) -> Vec<String> {
        vec![
            self.up_key("object:"),
            self.up_key("upload_request:"),
            self.up_key("user:"),
        ]
    }
}

#[async_trait]
impl UploadRepository for RedisStore {
    async fn create(&self, r: &UploadRequest) -> Result<(), InsertError> {
        let m = member(r.created_at, r.id.as_uuid());
        let pending =
            (r.status == UploadStatus::Pending).then(|| member(r.expires_at, r.id.as_uuid()));
        let mut rec = Record::default();
        rec.set("id", r.id.to_string())
            .set("userId", r.user_id.to_string())
            .set("objectKey", r.object_key.as_str())
            .set("contentType", r.content_type.clone())
            .set("maxSize", r.max_size.to_string())
            .set("status", r.status.as_str())
            .set("createdAt", ts(r.created_at))
            .set("expiresAt", ts(r.expires_at))
            .opt("completedAt", r.completed_at.map(ts))
            .opt("size", r.size.map(|s| s.to_string()))
            .set("member", m.clone())
            .opt("pendingMember", pending.clone());
        let keys = vec![
            self.upload_key(r.id),
            self.up_key(&format!("object:{}", r.object_key)),
            self.up_key(&format!("upload_request:{}:{}", r.user_id, r.object_key)),
            self.up_key(&format!("user:{}:uploads", r.user_id)),
            self.up_key("pending"),
        ];
        let mut args = vec![
            r.id.to_string(),
            m,
            pending.unwrap_or_default(),
            ts(r.created_at),
        ];
        args.extend(rec.args());
        let n: i64 = self
            .eval(&CREATE, keys, args, "create upload request")
            .await?;
        if n == 0 {
            return Err(InsertError::Conflict);
        }
        Ok(())
    }

    async fn get(&self, id: UploadId) -> Result<Option<UploadRequest>, StoreError> {
        from_map(
            self.hgetall(self.upload_key(id), "get upload request")
                .await?,
        )
    }

    async fn list_for_user(
        &self,
        user_id: UserId,
        page: PageRequest,
    ) -> Result<Page<UploadRequest>, StoreError> {
        self.page_of(
            self.up_key(&format!("user:{user_id}:uploads")),
            page,
            self.up_key("upload:"),
            None,
            false,
            from_map,
        )
        .await
    }

    async fn complete(
        &self,
        id: UploadId,
        size: u64,
        at: OffsetDateTime,
    ) -> Result<bool, WriteError> {
        let mut rec = Record::default();
        rec.set("status", UploadStatus::Completed.as_str())
            .set("size", size.to_string())
            .set("completedAt", ts(at));
        let n: i64 = self
            .eval(
                &COMPLETE,
                vec![self.upload_key(id), self.up_key("pending")],
                rec.args(),
                "complete upload request",
            )
            .await?;
        match n {
            -1 => Err(WriteError::NotFound),
            0 => Ok(false),
            _ => Ok(true),
        }
    }

    async fn delete(&self, id: UploadId) -> Result<(), WriteError> {
        let n: i64 = self
            .eval(
                &DELETE,
                vec![self.upload_key(id), self.up_key("pending")],
                self.upload_prefixes(),
                "delete upload request",
            )
            .await?;
        WriteError::found(n)
    }

    async fn list_expired(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<UploadRequest>, StoreError> {
        let upper = format!("({:015};", ms(now).max(0));
        let v: Value = self
            .eval(
                &EXPIRED,
                vec![self.up_key("pending")],
                vec![upper, limit.to_string(), self.up_key("upload:")],
                "list expired upload requests",
            )
            .await?;
        records(v)?
            .into_iter()
            .filter_map(|m| from_map(m).transpose())
            .filter(|r| !matches!(r, Ok(r) if r.status != UploadStatus::Pending))
            .collect()
    }

    async fn references(&self, key: &ObjectKey) -> Result<bool, StoreError> {
        let n: i64 = self
            .pool()
            .exists(self.up_key(&format!("object:{key}")))
            .await
            .map_err(store("find object key"))?;
        Ok(n > 0)
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let mut args = vec![self.up_key("upload:")];
        args.extend(self.upload_prefixes());
        let n: i64 = self
            .eval(
                &DELETE_FOR_USER,
                vec![
                    self.up_key(&format!("user:{user_id}:uploads")),
                    self.up_key("pending"),
                ],
                args,
                "delete upload requests",
            )
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
