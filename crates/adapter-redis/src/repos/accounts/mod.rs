//! Auth sessions (`session:<id>` hashes, `accessToken:<hash>` pointers,
//! per-user indexes) and their refresh tokens, with the keys and the
//! expiring-add script that candidates and one-time tokens share. Every
//! record expires natively (PEXPIREAT).

use std::collections::HashMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use domain::*;
use fred::types::Value;
use fred::types::scripts::Script;
use time::OffsetDateTime;

use crate::codec::*;
use crate::{Family, RedisStore};

mod candidates;
mod tokens;

/// KEYS: session, access-token pointer, user index. ARGV: id, index member,
/// refresh expiry ms, pairs.
static CREATE_SESSION: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[1], 'PXAT', ARGV[3])
redis.call('ZADD', KEYS[3], 0, ARGV[2])
return 1
"#,
    )
});

/// KEYS: session, new pointer. ARGV: pointer prefix, id, refresh expiry ms,
/// pairs. Replaces the access token of an unrevoked session.
static ROTATE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local revoked = redis.call('HGET', KEYS[1], 'revokedAt')
if revoked and revoked ~= '' then return 0 end
local old = redis.call('HGET', KEYS[1], 'tokenHash')
if old then redis.call('DEL', ARGV[1] .. old) end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PXAT', ARGV[3])
return 1
"#,
    )
});

/// KEYS: user index, user refresh-token set. ARGV: session prefix, pointer
/// prefix, refresh-token prefix. Deletes the user's sessions, pointers and
/// refresh tokens; returns how many sessions.
static DELETE_SESSIONS: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local n = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = ARGV[1] .. string.sub(m, 17)
  local token = redis.call('HGET', key, 'tokenHash')
  if token then redis.call('DEL', ARGV[2] .. token) end
  n = n + redis.call('DEL', key)
end
for _, h in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  redis.call('DEL', ARGV[3] .. h)
end
redis.call('DEL', KEYS[1], KEYS[2])
return n
"#,
    )
});

/// KEYS: record, owner's set. ARGV: expiry ms, member, pairs. Stores an
/// expiring record and remembers it in the owner's set (whose TTL grows to
/// the latest member's).
pub(crate) static ADD_EXPIRING: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
if redis.call('PEXPIRETIME', KEYS[2]) < tonumber(ARGV[1]) then
  redis.call('PEXPIREAT', KEYS[2], ARGV[1])
end
return 1
"#,
    )
});

/// KEYS: refresh token. ARGV: now ms, now text. Marks an unused, unexpired
/// token used: exactly one concurrent caller sees `fresh`.
static USE_REFRESH: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return {'invalid'} end
local exp = redis.call('HGET', KEYS[1], 'expiresAtMs')
if not exp or tonumber(exp) <= tonumber(ARGV[1]) then return {'invalid'} end
local used = redis.call('HGET', KEYS[1], 'usedAt')
if used and used ~= '' then return {'reused', redis.call('HGETALL', KEYS[1])} end
redis.call('HSET', KEYS[1], 'usedAt', ARGV[2])
return {'fresh', redis.call('HGETALL', KEYS[1])}
"#,
    )
});

fn session(map: HashMap<String, String>) -> Result<Option<AuthSession>, StoreError> {
    if map.is_empty() {
        return Ok(None);
    }
    let f = Fields::new(map, "session");
    Ok(Some(AuthSession {
        id: AuthSessionId::from_uuid(f.uuid("id")?),
        user_id: UserId::from_uuid(f.uuid("userId")?),
        token_hash: TokenHash::from_stored(f.str("tokenHash")?),
        device: f
            .opt_string("device")
            .as_deref()
            .map(domain::Device::from_stored),
        ip: f.opt_string("ip"),
        created_at: f.time("createdAt")?,
        last_accessed_at: f.time("lastAccessed")?,
        expires_at: f.time("expiresAt")?,
        refresh_expires_at: f.time("refreshExpiresAt")?,
        revoked_at: f.opt_time("revokedAt")?,
    }))
}

fn refresh(map: HashMap<String, String>) -> Result<RefreshToken, StoreError> {
    let f = Fields::new(map, "refresh token");
    Ok(RefreshToken {
        id: RefreshTokenId::from_uuid(f.uuid("id")?),
        session_id: AuthSessionId::from_uuid(f.uuid("sessionId")?),
        user_id: UserId::from_uuid(f.uuid("userId")?),
        token_hash: TokenHash::from_stored(f.str("tokenHash")?),
        created_at: f.time("createdAt")?,
        expires_at: f.time("expiresAt")?,
        used_at: f.opt_time("usedAt")?,
    })
}

impl RedisStore {
    pub(crate) fn s_key(&self, rest: &str) -> String {
        self.key(Family::Sessions, rest)
    }
    pub(crate) fn session_key(&self, id: AuthSessionId) -> String {
        self.s_key(&format!("session:{id}"))
    }
    pub(crate) fn pointer_key(&self, hash: &TokenHash) -> String {
        self.s_key(&format!("accessToken:{}", hash.as_str()))
    }
    pub(crate) fn user_sessions_key(&self, user: UserId) -> String {
        self.s_key(&format!("user:{user}:sessions"))
    }
    pub(crate) fn user_refresh_key(&self, user: UserId) -> String {
        self.s_key(&format!("user:{user}:refreshTokens"))
    }
}

fn session_record(s: &AuthSession) -> Record {
    let mut r = Record::default();
    r.set("id", s.id.to_string())
        .set("userId", s.user_id.to_string())
        .set("tokenHash", s.token_hash.as_str())
        .opt("device", s.device.as_ref().map(domain::Device::to_stored))
        .opt("ip", s.ip.clone())
        .set("createdAt", ts(s.created_at))
        .set("lastAccessed", ts(s.last_accessed_at))
        .time("expiresAt", "expiresAtMs", s.expires_at)
        .set("refreshExpiresAt", ts(s.refresh_expires_at))
        .opt("revokedAt", s.revoked_at.map(ts));
    r
}

#[async_trait]
impl SessionRepository for RedisStore {
    async fn create(&self, s: &AuthSession) -> Result<(), StoreError> {
        let keys = vec![
            self.session_key(s.id),
            self.pointer_key(&s.token_hash),
            self.user_sessions_key(s.user_id),
        ];
        let mut args = vec![
            s.id.to_string(),
            member(s.created_at, s.id.as_uuid()),
            ms(s.refresh_expires_at).to_string(),
        ];
        args.extend(session_record(s).args());
        let _: i64 = self
            .eval(&CREATE_SESSION, keys, args, "create session")
            .await?;
        Ok(())
    }

    async fn get(&self, id: AuthSessionId) -> Result<Option<AuthSession>, StoreError> {
        session(self.hgetall(self.session_key(id), "get session").await?)
    }

    async fn find_active_by_token(
        &self,
        token_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<AuthSession>, StoreError> {
        let v: Value = self
            .eval(
                &crate::scripts::FOLLOW_POINTER,
                vec![self.pointer_key(token_hash)],
                vec![self.s_key("session:")],
                "find session",
            )
            .await?;
        Ok(session(pairs(v)?)?.filter(|s| s.token_hash == *token_hash && s.is_active(now)))
    }

    async fn touch(
        &self,
        id: AuthSessionId,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), WriteError> {
        let mut r = Record::default();
        r.set("lastAccessed", ts(at))
            .time("expiresAt", "expiresAtMs", expires_at);
        self.guarded_set(self.session_key(id), &[("revokedAt", "")], &[], &r)
            .await?
            .written()
    }

    async fn rotate(
        &self,
        id: AuthSessionId,
        token_hash: &TokenHash,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
        refresh_expires_at: OffsetDateTime,
    ) -> Result<(), WriteError> {
        let mut r = Record::default();
        r.set("tokenHash", token_hash.as_str())
            .set("lastAccessed", ts(at))
            .time("expiresAt", "expiresAtMs", expires_at)
            .set("refreshExpiresAt", ts(refresh_expires_at));
        let mut args = vec![
            self.s_key("accessToken:"),
            id.to_string(),
            ms(refresh_expires_at).to_string(),
        ];
        args.extend(r.args());
        let n: i64 = self
            .eval(
                &ROTATE,
                vec![self.session_key(id), self.pointer_key(token_hash)],
                args,
                "rotate session",
            )
            .await?;
        WriteError::found(n)
    }

    async fn list_active(
        &self,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<AuthSession>, StoreError> {
        let v = self
            .list_page(
                self.user_sessions_key(user_id),
                "+".into(),
                10_000,
                self.s_key("session:"),
                Some(ms(now)),
                false,
            )
            .await?;
        let mut out = Vec::new();
        for map in records(v)? {
            if let Some(s) = session(map)?.filter(|s| s.is_active(now)) {
                out.push(s);
            }
        }
        Ok(out)
    }

    async fn revoke(
        &self,
        user_id: UserId,
        id: AuthSessionId,
        at: OffsetDateTime,
    ) -> Result<(), WriteError> {
        let mut r = Record::default();
        r.set("revokedAt", ts(at));
        let owner = user_id.to_string();
        self.guarded_set(
            self.session_key(id),
            &[("userId", owner.as_str()), ("revokedAt", "")],
            &[],
            &r,
        )
        .await?
        .written()
    }

    async fn revoke_all(&self, user_id: UserId, at: OffsetDateTime) -> Result<u64, StoreError> {
        let n: i64 = self
            .eval(
                &crate::scripts::MARK_ALL,
                vec![self.user_sessions_key(user_id)],
                vec![
                    self.s_key("session:"),
                    "revokedAt".into(),
                    "revokedAt".into(),
                    ts(at),
                ],
                "revoke sessions",
            )
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn add_refresh_token(&self, t: &RefreshToken) -> Result<(), StoreError> {
        let mut r = Record::default();
        r.set("id", t.id.to_string())
            .set("sessionId", t.session_id.to_string())
            .set("userId", t.user_id.to_string())
            .set("tokenHash", t.token_hash.as_str())
            .set("createdAt", ts(t.created_at))
            .time("expiresAt", "expiresAtMs", t.expires_at)
            .opt("usedAt", t.used_at.map(ts));
        let mut args = vec![
            ms(t.expires_at).to_string(),
            t.token_hash.as_str().to_owned(),
        ];
        args.extend(r.args());
        let _: i64 = self
            .eval(
                &ADD_EXPIRING,
                vec![
                    self.s_key(&format!("refreshToken:{}", t.token_hash.as_str())),
                    self.user_refresh_key(t.user_id),
                ],
                args,
                "store refresh token",
            )
            .await?;
        Ok(())
    }

    async fn use_refresh_token(
        &self,
        token_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<RefreshOutcome, StoreError> {
        let v: Value = self
            .eval(
                &USE_REFRESH,
                vec![self.s_key(&format!("refreshToken:{}", token_hash.as_str()))],
                vec![ms(now).to_string(), ts(now)],
                "use refresh token",
            )
            .await?;
        let Value::Array(mut parts) = v else {
            return Err(StoreError::msg("unexpected reply using a refresh token"));
        };
        let record = if parts.len() > 1 { parts.pop() } else { None };
        let outcome = parts.into_iter().next().and_then(|p| p.as_string());
        match (outcome.as_deref(), record) {
            (Some("fresh"), Some(r)) => Ok(RefreshOutcome::Fresh(refresh(pairs(r)?)?)),
            (Some("reused"), Some(r)) => Ok(RefreshOutcome::Reused(refresh(pairs(r)?)?)),
            _ => Ok(RefreshOutcome::Invalid),
        }
    }

    async fn purge_expired(&self, _now: OffsetDateTime, _limit: u32) -> Result<u64, StoreError> {
        // Sessions expire natively at `refresh_expires_at`, refresh tokens at
        // their own expiry; index entries are dropped when next listed.
        Ok(0)
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let n: i64 = self
            .eval(
                &DELETE_SESSIONS,
                vec![
                    self.user_sessions_key(user_id),
                    self.user_refresh_key(user_id),
                ],
                vec![
                    self.s_key("session:"),
                    self.s_key("accessToken:"),
                    self.s_key("refreshToken:"),
                ],
                "delete sessions",
            )
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn count_active(&self, _now: OffsetDateTime) -> Result<Option<u64>, StoreError> {
        // Sessions are indexed per user only: counting them would walk
        // every user's sessions. Not counted here.
        Ok(None)
    }
}
