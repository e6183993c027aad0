//! Webhooks, every key under the `webhooks` hash tag (one cluster slot, so
//! each script is atomic): `ep:<id>` hashes and the `eps` sorted set (by
//! creation); the delivery log `log:<endpoint>` sorted sets (score: the
//! attempt's millisecond; member: its attempt number, zero-padded, and the
//! attempt as JSON) with `log-at`, every endpoint's entries by time, for
//! purging. The delivery queue is in `webhook_queue.rs`.

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

/// KEYS: endpoint, index. ARGV: id, created ms, pairs.
static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"#,
    )
});

/// KEYS: endpoint. ARGV: drop description ('1'), enabling ('1'), pairs.
/// Returns the endpoint after, or nil.
static UPDATE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
if #ARGV > 2 then redis.call('HSET', KEYS[1], unpack(ARGV, 3)) end
if ARGV[1] == '1' then redis.call('HDEL', KEYS[1], 'description') end
if ARGV[2] == '1' then redis.call('HDEL', KEYS[1], 'failingSince') end
return redis.call('HGETALL', KEYS[1])
"#,
    )
});

/// KEYS: endpoint, index, its log, log-at. ARGV: id. 0 when missing.
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
for _, m in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  redis.call('ZREM', KEYS[4], ARGV[1] .. '|' .. m)
end
redis.call('DEL', KEYS[3])
return 1
"#,
    )
});

/// KEYS: endpoint. ARGV: failure time (RFC 3339). The first failure kept,
/// or nil when missing.
static FAILURE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
redis.call('HSETNX', KEYS[1], 'failingSince', ARGV[1])
return redis.call('HGET', KEYS[1], 'failingSince')
"#,
    )
});

/// KEYS: endpoint. ARGV: failing since (RFC 3339). 1 when turned off.
static DISABLE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('HGET', KEYS[1], 'enabled') == '1'
   and redis.call('HGET', KEYS[1], 'failingSince') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'enabled', '0')
  return 1
end
return 0
"#,
    )
});

/// KEYS: log, log-at. ARGV: score, member, endpoint id.
static LOG: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3] .. '|' .. ARGV[2])
return 1
"#,
    )
});

/// KEYS: log-at. ARGV: before ms (exclusive), limit, log key prefix.
static PURGE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(old) do
  local bar = string.find(m, '|', 1, true)
  redis.call('ZREM', ARGV[3] .. string.sub(m, 1, bar - 1), string.sub(m, bar + 1))
  redis.call('ZREM', KEYS[1], m)
end
return #old
"#,
    )
});

impl RedisStore {
    fn webhook_key(&self, id: WebhookId) -> String {
        self.key(Family::Webhooks, &format!("ep:{id}"))
    }
    fn webhook_log(&self, id: WebhookId) -> String {
        self.key(Family::Webhooks, &format!("log:{id}"))
    }
}

fn endpoint_record(e: &WebhookEndpoint) -> Record {
    let mut r = Record::default();
    r.set("id", e.id.to_string())
        .set("url", e.url.as_str())
        .set("events", e.events.to_stored())
        .set("secret", e.secret.as_str())
        .opt("description", e.description.clone())
        .flag("enabled", e.enabled)
        .opt("failingSince", e.failing_since.map(ts))
        .set("createdAt", ts(e.created_at));
    r
}

fn endpoint(map: HashMap<String, String>) -> Result<WebhookEndpoint, StoreError> {
    let f = Fields::new(map, "webhook endpoint");
    Ok(WebhookEndpoint {
        id: WebhookId::from_uuid(f.uuid("id")?),
        url: WebhookUrl::from_stored(f.str("url")?)?,
        events: WebhookEvents::from_stored(f.str("events")?)?,
        secret: Sealed::from_stored(f.str("secret")?),
        description: f.opt_string("description"),
        enabled: f.flag("enabled"),
        failing_since: f.opt_time("failingSince")?,
        created_at: f.time("createdAt")?,
    })
}

/// The log member of an attempt: its number (so equal instants list the
/// latest attempt first) and the attempt as JSON.
fn log_member(a: &WebhookAttempt) -> String {
    let json = serde_json::to_string(a).unwrap_or_default();
    format!("{:010}:{json}", a.attempt)
}

fn attempt(member: &str) -> Result<WebhookAttempt, StoreError> {
    member
        .split_once(':')
        .and_then(|(_, json)| serde_json::from_str(json).ok())
        .ok_or_else(|| corrupt("webhook attempt", "log entry"))
}

#[async_trait]
impl WebhookRepository for RedisStore {
    async fn create(&self, e: &WebhookEndpoint) -> Result<(), StoreError> {
        let mut args = vec![e.id.to_string(), ms(e.created_at).to_string()];
        args.extend(endpoint_record(e).args());
        let _: i64 = self
            .eval(
                &CREATE,
                vec![self.webhook_key(e.id), self.key(Family::Webhooks, "eps")],
                args,
                "store a webhook endpoint",
            )
            .await?;
        Ok(())
    }

    async fn get(&self, id: WebhookId) -> Result<Option<WebhookEndpoint>, StoreError> {
        use fred::prelude::*;
        let map: HashMap<String, String> = self
            .pool()
            .hgetall(self.webhook_key(id))
            .await
            .map_err(crate::error::store("read a webhook endpoint"))?;
        if map.is_empty() {
            return Ok(None);
        }
        endpoint(map).map(Some)
    }

    async fn list(&self) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let ids = self
            .members(self.key(Family::Webhooks, "eps"), "list webhook endpoints")
            .await?;
        let mut all = Vec::with_capacity(ids.len());
        for id in ids {
            let id = id
                .parse()
                .map_err(|_| corrupt("webhook endpoint", "index"))?;
            if let Some(e) = WebhookRepository::get(self, id).await? {
                all.push(e);
            }
        }
        all.sort_by_key(|e| (e.created_at, e.id));
        Ok(all)
    }

    async fn update(
        &self,
        id: WebhookId,
        change: &WebhookChange,
    ) -> Result<WebhookEndpoint, WriteError> {
        let mut r = Record::default();
        r.opt("url", change.url.as_ref().map(|u| u.as_str().to_owned()))
            .opt(
                "events",
                change.events.as_ref().map(WebhookEvents::to_stored),
            )
            .opt("description", change.description.clone().flatten());
        if let Some(enabled) = change.enabled {
            r.flag("enabled", enabled);
        }
        let drop_description = matches!(change.description, Some(None));
        let mut args = vec![
            if drop_description { "1" } else { "0" }.to_owned(),
            if change.enabled == Some(true) {
                "1"
            } else {
                "0"
            }
            .to_owned(),
        ];
        args.extend(r.args());
        let reply: Value = self
            .eval(
                &UPDATE,
                vec![self.webhook_key(id)],
                args,
                "change a webhook endpoint",
            )
            .await?;
        if reply.is_null() {
            return Err(WriteError::NotFound);
        }
        Ok(endpoint(pairs(reply)?)?)
    }

    async fn delete(&self, id: WebhookId) -> Result<(), WriteError> {
        let found: i64 = self
            .eval(
                &DELETE,
                vec![
                    self.webhook_key(id),
                    self.key(Family::Webhooks, "eps"),
                    self.webhook_log(id),
                    self.key(Family::Webhooks, "log-at"),
                ],
                vec![id.to_string()],
                "delete a webhook endpoint",
            )
            .await?;
        WriteError::found(found)
    }

    async fn record_failure(
        &self,
        id: WebhookId,
        at: OffsetDateTime,
    ) -> Result<OffsetDateTime, WriteError> {
        let reply: Option<String> = self
            .eval(
                &FAILURE,
                vec![self.webhook_key(id)],
                vec![ts(at)],
                "record a webhook failure",
            )
            .await?;
        let since = reply.ok_or(WriteError::NotFound)?;
        Ok(
            OffsetDateTime::parse(&since, &time::format_description::well_known::Rfc3339)
                .map_err(|_| corrupt("webhook endpoint", "failingSince"))?,
        )
    }

    async fn record_success(&self, id: WebhookId) -> Result<(), StoreError> {
        use fred::prelude::*;
        let _: i64 = self
            .pool()
            .hdel(self.webhook_key(id), "failingSince")
            .await
            .map_err(crate::error::store("record a webhook success"))?;
        Ok(())
    }

    async fn disable_failing(
        &self,
        id: WebhookId,
        since: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done: i64 = self
            .eval(
                &DISABLE,
                vec![self.webhook_key(id)],
                vec![ts(since)],
                "disable a webhook endpoint",
            )
            .await?;
        Ok(done == 1)
    }

    async fn log_attempt(&self, a: &WebhookAttempt) -> Result<(), StoreError> {
        let _: i64 = self
            .eval(
                &LOG,
                vec![
                    self.webhook_log(a.endpoint_id),
                    self.key(Family::Webhooks, "log-at"),
                ],
                vec![
                    ms(a.at).to_string(),
                    log_member(a),
                    a.endpoint_id.to_string(),
                ],
                "log a webhook attempt",
            )
            .await?;
        Ok(())
    }

    async fn attempts(&self, id: WebhookId, limit: u32) -> Result<Vec<WebhookAttempt>, StoreError> {
        use fred::prelude::*;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let members: Vec<String> = self
            .pool()
            .zrange(
                self.webhook_log(id),
                0,
                i64::from(limit) - 1,
                None,
                true,
                None,
                false,
            )
            .await
            .map_err(crate::error::store("list webhook attempts"))?;
        members.iter().map(|m| attempt(m)).collect()
    }

    async fn purge_attempts_before(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let n: i64 = self
            .eval(
                &PURGE,
                vec![self.key(Family::Webhooks, "log-at")],
                vec![
                    ms(before).to_string(),
                    limit.to_string(),
                    self.key(Family::Webhooks, "log:"),
                ],
                "purge webhook attempts",
            )
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
