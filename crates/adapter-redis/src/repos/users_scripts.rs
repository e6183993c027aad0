//! The Lua scripts of the users' records.

use std::sync::LazyLock;

use fred::types::scripts::Script;

/// KEYS: user, email index, username index, list. ARGV: id, list member,
/// field/value pairs. Refuses a taken email or username.
pub(super) static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[2]) == 1 then return 'email' end
if redis.call('EXISTS', KEYS[3]) == 1 then return 'username' end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], 0, ARGV[2])
return 'ok'
"#,
    )
});

/// KEYS: user records. ARGV: the time (RFC 3339), its milliseconds. Sets
/// `lastActiveAt` on each existing record where it is unset or earlier.
pub(super) static MARK_ACTIVE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    local ms = redis.call('HGET', key, 'lastActiveAtMs')
    if not ms or tonumber(ms) < tonumber(ARGV[2]) then
      redis.call('HSET', key, 'lastActiveAt', ARGV[1], 'lastActiveAtMs', ARGV[2])
    end
  end
end
return 0
"#,
    )
});

/// KEYS: user, list. ARGV: email index prefix, username index prefix.
pub(super) static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local f = redis.call('HMGET', KEYS[1], 'emailNormalized', 'username', 'listMember')
if f[1] then redis.call('DEL', ARGV[1] .. f[1]) end
if f[2] then redis.call('DEL', ARGV[2] .. f[2]) end
if f[3] then redis.call('ZREM', KEYS[2], f[3]) end
redis.call('DEL', KEYS[1])
return 1
"#,
    )
});

/// KEYS: user. The new failed-login count, or -1 when the user is missing.
pub(super) static FAILED: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
return redis.call('HINCRBY', KEYS[1], 'failedLogins', 1)
"#,
    )
});
