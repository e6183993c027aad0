//! The mail queue: `{<prefix>:mail}:msg:<id>` hashes, expiring natively at
//! the message's `expires_at`, and the sorted set `{<prefix>:mail}:due` of
//! ids scored by the millisecond each is due. Every change is one script
//! over keys of one hash slot, so it is atomic on a cluster too.

use std::sync::LazyLock;

use async_trait::async_trait;
use domain::*;
use fred::types::Value;
use fred::types::scripts::Script;
use time::OffsetDateTime;

use crate::codec::*;
use crate::{Family, RedisStore};

/// KEYS: message, due index. ARGV: id, due ms, expiry ms, pairs.
static ENQUEUE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"#,
    )
});

/// KEYS: due index. ARGV: now ms, until ms, limit, message key prefix.
/// Returns each claimed message's pairs; drops ids whose message expired.
pub(super) static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local key = ARGV[4] .. id
  if redis.call('EXISTS', key) == 1 then
    redis.call('HINCRBY', key, 'attempts', 1)
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    table.insert(out, redis.call('HGETALL', key))
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
"#,
    )
});

/// KEYS: message, due index. ARGV: id, due ms. 0 when the message is gone.
pub(super) static RETRY: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"#,
    )
});

/// KEYS: message, due index. ARGV: id.
pub(super) static REMOVE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"#,
    )
});

impl RedisStore {
    fn mail_key(&self, id: QueuedMailId) -> String {
        self.key(Family::Mail, &format!("msg:{id}"))
    }

    fn mail_due(&self) -> String {
        self.key(Family::Mail, "due")
    }
}

fn to_record(m: &QueuedMail) -> Record {
    let fields = m.body.fields();
    let mut r = Record::default();
    r.set("id", m.id.to_string())
        .set("kind", fields.kind.as_str())
        .set("to", fields.to)
        .opt("username", fields.username)
        .opt("token", fields.token)
        .opt("details", fields.details)
        .set("attempts", m.attempts.to_string())
        .set("createdAt", ts(m.created_at))
        .set("expiresAt", ts(m.expires_at));
    r
}

fn from_record(map: std::collections::HashMap<String, String>) -> Result<QueuedMail, StoreError> {
    let f = Fields::new(map, "queued mail");
    QueuedMail::from_stored(StoredMail {
        id: f.uuid("id")?,
        kind: f.str("kind")?.to_owned(),
        to: f.str("to")?.to_owned(),
        username: f.opt_string("username"),
        token: f.opt_string("token"),
        details: f.opt_string("details"),
        attempts: f.i64("attempts")?,
        created_at: f.time("createdAt")?,
        expires_at: f.time("expiresAt")?,
    })
}

#[async_trait]
impl MailQueue for RedisStore {
    async fn enqueue(&self, m: &QueuedMail) -> Result<(), StoreError> {
        let mut args = vec![
            m.id.to_string(),
            ms(m.created_at).to_string(),
            ms(m.expires_at).to_string(),
        ];
        args.extend(to_record(m).args());
        let _: i64 = self
            .eval(
                &ENQUEUE,
                vec![self.mail_key(m.id), self.mail_due()],
                args,
                "queue mail",
            )
            .await?;
        Ok(())
    }

    async fn claim(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        let args = vec![
            ms(now).to_string(),
            ms(until).to_string(),
            limit.to_string(),
            self.key(Family::Mail, "msg:"),
        ];
        let reply: Value = self
            .eval(&CLAIM, vec![self.mail_due()], args, "claim mail")
            .await?;
        let mut claimed = records(reply)?
            .into_iter()
            .map(from_record)
            .collect::<Result<Vec<_>, _>>()?;
        claimed.sort_by_key(|m| (m.created_at, m.id));
        Ok(claimed)
    }

    async fn retry_at(&self, id: QueuedMailId, at: OffsetDateTime) -> Result<(), WriteError> {
        let found: i64 = self
            .eval(
                &RETRY,
                vec![self.mail_key(id), self.mail_due()],
                vec![id.to_string(), ms(at).to_string()],
                "reschedule mail",
            )
            .await?;
        WriteError::found(found)
    }

    async fn remove(&self, id: QueuedMailId) -> Result<(), StoreError> {
        let _: i64 = self
            .eval(
                &REMOVE,
                vec![self.mail_key(id), self.mail_due()],
                vec![id.to_string()],
                "remove mail",
            )
            .await?;
        Ok(())
    }

    async fn count(&self) -> Result<u64, StoreError> {
        use fred::prelude::*;
        self.pool()
            .zcard(self.mail_due())
            .await
            .map_err(crate::error::store("count queued mail"))
    }
}
