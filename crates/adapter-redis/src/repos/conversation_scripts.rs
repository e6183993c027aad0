//! The Lua scripts of conversations: each runs under the `conversations`
//! hash tag, so it is atomic on a cluster too.

use std::sync::LazyLock;

use fred::types::scripts::Script;

/// KEYS: conversation, key index. ARGV: base, id, created (RFC 3339),
/// created ms, participant count n, n user ids, record pairs. 0 when the
/// key is taken.
pub(super) static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('SETNX', KEYS[2], ARGV[2]) == 0 then return 0 end
local n = tonumber(ARGV[5])
local member = string.format('%015d:%s', tonumber(ARGV[4]), ARGV[2])
for i = 1, n do
  local u = ARGV[5 + i]
  redis.call('HSET', ARGV[1] .. 'p:' .. ARGV[2] .. ':' .. u, 'joinedAt', ARGV[3],
    'readSeq', '0', 'lastActivityAt', ARGV[3], 'lastActivityMs', ARGV[4])
  redis.call('SADD', ARGV[1] .. 'ps:' .. ARGV[2], u)
  redis.call('ZADD', ARGV[1] .. 'u:' .. u, 0, member)
end
redis.call('HSET', KEYS[1], unpack(ARGV, 6 + n))
return 1
"#,
    )
});

/// KEYS: conversation, participants. ARGV: base, id, joined (RFC 3339),
/// user ids. 0 when the conversation is missing.
pub(super) static JOIN: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local seq = redis.call('HGET', KEYS[1], 'lastSeq')
local at = redis.call('HGET', KEYS[1], 'lastActivityAt')
local ms = redis.call('HGET', KEYS[1], 'lastActivityMs')
for i = 4, #ARGV do
  local u = ARGV[i]
  if redis.call('SADD', KEYS[2], u) == 1 then
    redis.call('HSET', ARGV[1] .. 'p:' .. ARGV[2] .. ':' .. u, 'joinedAt', ARGV[3],
      'readSeq', seq, 'lastActivityAt', at, 'lastActivityMs', ms)
    redis.call('ZADD', ARGV[1] .. 'u:' .. u, 0, string.format('%015d:%s', tonumber(ms), ARGV[2]))
  end
end
return 1
"#,
    )
});

/// KEYS: conversation, participants. ARGV: base, id, user. 0 when not a
/// participant; the last to leave deletes the conversation and its messages.
pub(super) static LEAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('SREM', KEYS[2], ARGV[3]) == 0 then return 0 end
local b = ARGV[1]
local p = b .. 'p:' .. ARGV[2] .. ':' .. ARGV[3]
local ms = redis.call('HGET', p, 'lastActivityMs')
if ms then
  redis.call('ZREM', b .. 'u:' .. ARGV[3], string.format('%015d:%s', tonumber(ms), ARGV[2]))
end
redis.call('DEL', p)
if redis.call('SCARD', KEYS[2]) == 0 then
  local key = redis.call('HGET', KEYS[1], 'key')
  if key then redis.call('DEL', b .. 'key:' .. key) end
  local index = b .. 'ms:' .. ARGV[2]
  for _, m in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    local mk = b .. 'm:' .. m
    local sender = redis.call('HGET', mk, 'senderId')
    local created = redis.call('HGET', mk, 'createdMs')
    if sender and created then
      redis.call('ZREM', b .. 'sent:' .. sender, string.format('%015d:%s', tonumber(created), m))
    end
    redis.call('DEL', mk)
  end
  redis.call('DEL', index, KEYS[1])
end
return 1
"#,
    )
});

/// KEYS: conversation, participants. ARGV: base, id, message id, sender,
/// created ms, created (RFC 3339), record pairs. The sequence number, or
/// -1 when the conversation is missing.
pub(super) static POST: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local b = ARGV[1]
local seq = redis.call('HINCRBY', KEYS[1], 'lastSeq', 1)
local ms = tonumber(ARGV[5])
if ms > tonumber(redis.call('HGET', KEYS[1], 'lastActivityMs')) then
  redis.call('HSET', KEYS[1], 'lastActivityMs', ARGV[5], 'lastActivityAt', ARGV[6])
end
local last = tonumber(redis.call('HGET', KEYS[1], 'lastActivityMs'))
local lastAt = redis.call('HGET', KEYS[1], 'lastActivityAt')
redis.call('HSET', b .. 'm:' .. ARGV[3], 'seq', seq, unpack(ARGV, 7))
redis.call('ZADD', b .. 'ms:' .. ARGV[2], seq, ARGV[3])
redis.call('ZADD', b .. 'sent:' .. ARGV[4], 0, string.format('%015d:%s', ms, ARGV[3]))
for _, u in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local p = b .. 'p:' .. ARGV[2] .. ':' .. u
  local old = tonumber(redis.call('HGET', p, 'lastActivityMs'))
  if old < last then
    redis.call('ZREM', b .. 'u:' .. u, string.format('%015d:%s', old, ARGV[2]))
    redis.call('ZADD', b .. 'u:' .. u, 0, string.format('%015d:%s', last, ARGV[2]))
    redis.call('HSET', p, 'lastActivityMs', last, 'lastActivityAt', lastAt)
  end
  if u == ARGV[4] and tonumber(redis.call('HGET', p, 'readSeq')) < seq then
    redis.call('HSET', p, 'readSeq', seq)
  end
end
return seq
"#,
    )
});

/// KEYS: participant. ARGV: sequence number. 0 when not a participant.
pub(super) static MARK_READ: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if tonumber(redis.call('HGET', KEYS[1], 'readSeq')) < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'readSeq', ARGV[1])
end
return 1
"#,
    )
});

/// ARGV: base, conversation id or '' (any), removal time (RFC 3339),
/// message ids. Each message of the conversation loses its content and
/// keeps its first removal time. Returns how many were found.
pub(super) static REMOVE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local found = 0
for i = 4, #ARGV do
  local mk = ARGV[1] .. 'm:' .. ARGV[i]
  local c = redis.call('HGET', mk, 'conversationId')
  if c and (ARGV[2] == '' or c == ARGV[2]) then
    redis.call('HDEL', mk, 'content')
    redis.call('HSETNX', mk, 'deletedAt', ARGV[3])
    found = found + 1
  end
end
return found
"#,
    )
});

/// KEYS: the user's index. ARGV: base, upper bound, how many, user. For
/// each conversation, newest activity first: the conversation, the user's
/// participant record and the newest message (empty when none).
pub(super) static LIST: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local b = ARGV[1]
local out = {}
for _, m in ipairs(redis.call('ZREVRANGEBYLEX', KEYS[1], ARGV[2], '-', 'LIMIT', 0, tonumber(ARGV[3]))) do
  local id = string.sub(m, 17)
  local c = b .. 'c:' .. id
  table.insert(out, redis.call('HGETALL', c))
  table.insert(out, redis.call('HGETALL', b .. 'p:' .. id .. ':' .. ARGV[4]))
  local seq = redis.call('HGET', c, 'lastSeq')
  local last = {}
  if seq and seq ~= '0' then
    local ids = redis.call('ZRANGEBYSCORE', b .. 'ms:' .. id, seq, seq)
    if #ids > 0 then last = redis.call('HGETALL', b .. 'm:' .. ids[1]) end
  end
  table.insert(out, last)
end
return out
"#,
    )
});

/// KEYS: the conversation's messages. ARGV: base, upper bound (exclusive,
/// `(n`, or `+inf`), how many. The messages, highest number first.
pub(super) static MESSAGES: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local out = {}
for _, m in ipairs(redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[2], '-inf', 'LIMIT', 0, tonumber(ARGV[3]))) do
  table.insert(out, redis.call('HGETALL', ARGV[1] .. 'm:' .. m))
end
return out
"#,
    )
});
