//! One module per port family; each implements its traits on `RedisStore`.

mod accounts;
mod activity;
mod api_keys;
mod blocks;
mod content;
mod conversations;
mod identity;
pub(crate) mod jobs;
mod mail_queue;
mod mfa;
mod notifications;
mod passkeys;
mod payments;
mod plans;
mod rate_limit;
mod rbac;
mod settings;
mod stats;
mod uploads;
mod users;
mod webhook_queue;
mod webhooks;

/// Scripts over records kept as `<prefix><id>` hashes, an index hash
/// (a unique field's value → id) and a sorted set per user, all under one
/// hash tag: API keys and passkeys.
pub(crate) mod indexed {
    use std::sync::LazyLock;

    use fred::types::scripts::Script;

    /// KEYS: the index hash. ARGV: the indexed value, the record prefix.
    pub(crate) static FIND: LazyLock<Script> = LazyLock::new(|| {
        Script::from_lua(
            r#"
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id then return {} end
return redis.call('HGETALL', ARGV[2] .. id)
"#,
        )
    });

    /// KEYS: the user's sorted set. ARGV: the record prefix, `desc` for
    /// newest first (else oldest first).
    pub(crate) static LIST: LazyLock<Script> = LazyLock::new(|| {
        Script::from_lua(
            r#"
local out = {}
local ids
if ARGV[2] == 'desc' then
  ids = redis.call('ZREVRANGE', KEYS[1], 0, -1)
else
  ids = redis.call('ZRANGE', KEYS[1], 0, -1)
end
for _, id in ipairs(ids) do
  local rec = redis.call('HGETALL', ARGV[1] .. id)
  if #rec > 0 then table.insert(out, rec) end
end
return out
"#,
        )
    });

    /// KEYS: the user's sorted set, the index hash. ARGV: the record
    /// prefix, the indexed field's name. Answers how many it deleted.
    pub(crate) static DELETE_FOR_USER: LazyLock<Script> = LazyLock::new(|| {
        Script::from_lua(
            r#"
local n = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = ARGV[1] .. id
  local value = redis.call('HGET', key, ARGV[2])
  if value then
    redis.call('HDEL', KEYS[2], value)
    redis.call('DEL', key)
    n = n + 1
  end
end
redis.call('DEL', KEYS[1])
return n
"#,
        )
    });
}
