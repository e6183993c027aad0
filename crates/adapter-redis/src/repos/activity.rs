//! `event:<id>` hashes, the `events` index (every event, by time) and a
//! `user:<id>:events` index per account; all on one slot.

use std::collections::HashMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use domain::*;
use fred::types::scripts::Script;
use time::OffsetDateTime;

use crate::codec::*;
use crate::error::corrupt;
use crate::{Family, RedisStore};

/// KEYS: event, every event's index, the user's index. ARGV: index
/// member, pairs. Appends unless the event is there already.
static APPEND: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
return 1
"#,
    )
});

/// KEYS: every event's index. ARGV: exclusive upper bound (a member
/// prefix), limit, event key prefix, user index prefix. Deletes the
/// oldest events before the bound, at most limit; returns how many.
static PURGE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local old = redis.call('ZRANGEBYLEX', KEYS[1], '-', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(old) do
  local key = ARGV[3] .. string.sub(m, 17)
  local user = redis.call('HGET', key, 'userId')
  redis.call('DEL', key)
  redis.call('ZREM', KEYS[1], m)
  if user then redis.call('ZREM', ARGV[4] .. user .. ':events', m) end
end
return #old
"#,
    )
});

/// KEYS: the user's index, every event's index. ARGV: event key prefix.
/// Deletes the user's events; returns how many.
static DELETE_FOR_USER: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local mine = redis.call('ZRANGE', KEYS[1], 0, -1)
local n = 0
for _, m in ipairs(mine) do
  n = n + redis.call('DEL', ARGV[1] .. string.sub(m, 17))
  redis.call('ZREM', KEYS[2], m)
end
redis.call('DEL', KEYS[1])
return n
"#,
    )
});

fn record(e: &ActivityEvent) -> Record {
    let mut r = Record::default();
    r.set("id", e.id.to_string())
        .set("kind", e.kind.as_str())
        .set("at", ts(e.at))
        .set("userId", e.user_id.to_string())
        .set("actorKind", e.actor.kind())
        .opt("actorId", e.actor.user_id().map(|u| u.to_string()))
        .opt("ip", e.ip.clone())
        .opt("device", e.device.as_ref().map(domain::Device::to_stored))
        .set(
            "details",
            serde_json::to_string(&e.details).unwrap_or_else(|_| "{}".into()),
        );
    r
}

fn event(map: HashMap<String, String>) -> Result<Option<ActivityEvent>, StoreError> {
    if map.is_empty() {
        return Ok(None);
    }
    let f = Fields::new(map, "activity event");
    let bad = |k| corrupt("activity event", k);
    let details = match f.json("details")? {
        Some(serde_json::Value::Object(map)) => map,
        None => serde_json::Map::new(),
        Some(_) => return Err(bad("details")),
    };
    let actor_id = f.opt_uuid("actorId")?.map(UserId::from_uuid);
    Ok(Some(ActivityEvent {
        id: ActivityEventId::from_uuid(f.uuid("id")?),
        kind: ActivityKind::parse(f.str("kind")?).ok_or_else(|| bad("kind"))?,
        at: f.time("at")?,
        user_id: UserId::from_uuid(f.uuid("userId")?),
        actor: Actor::from_stored(f.str("actorKind")?, actor_id).ok_or_else(|| bad("actorKind"))?,
        ip: f.opt_string("ip"),
        device: f
            .opt_string("device")
            .as_deref()
            .map(domain::Device::from_stored),
        details,
    }))
}

impl RedisStore {
    fn a_key(&self, rest: &str) -> String {
        self.key(Family::Activity, rest)
    }
    fn user_events_key(&self, user: UserId) -> String {
        self.a_key(&format!("user:{user}:events"))
    }
}

#[async_trait]
impl ActivityRepository for RedisStore {
    async fn append(&self, e: &ActivityEvent) -> Result<(), StoreError> {
        let mut args = vec![member(e.at, e.id.as_uuid())];
        args.extend(record(e).args());
        let _: i64 = self
            .eval(
                &APPEND,
                vec![
                    self.a_key(&format!("event:{}", e.id)),
                    self.a_key("events"),
                    self.user_events_key(e.user_id),
                ],
                args,
                "append activity event",
            )
            .await?;
        Ok(())
    }

    async fn list(
        &self,
        f: &ActivityFilter,
        page: PageRequest,
    ) -> Result<Page<ActivityEvent>, StoreError> {
        // The user's own index when the filter names one, else every
        // event's; other conditions are checked here, reading on in batches
        // until the page is full or the events are older than `from`.
        let index = match f.user_id {
            Some(user) => self.user_events_key(user),
            None => self.a_key("events"),
        };
        let read = |batch| {
            self.page_of(
                index.clone(),
                batch,
                self.a_key("event:"),
                None,
                false,
                event,
            )
        };
        let only_user = ActivityFilter {
            user_id: f.user_id,
            ..ActivityFilter::default()
        };
        if *f == only_user {
            return read(page).await;
        }
        let older = |e: &ActivityEvent| f.from.is_some_and(|from| e.at < from);
        RedisStore::filtered_page(page, read, |e| f.matches(e), older).await
    }

    async fn purge_before(&self, before: OffsetDateTime, limit: u32) -> Result<u64, StoreError> {
        let bound = format!("({:015}:", ms(before).max(0));
        let n: i64 = self
            .eval(
                &PURGE,
                vec![self.a_key("events")],
                vec![
                    bound,
                    limit.to_string(),
                    self.a_key("event:"),
                    self.a_key("user:"),
                ],
                "purge activity events",
            )
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let n: i64 = self
            .eval(
                &DELETE_FOR_USER,
                vec![self.user_events_key(user_id), self.a_key("events")],
                vec![self.a_key("event:")],
                "delete a user's activity events",
            )
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
