//! Conversations and blocks, every key under the `conversations` hash tag
//! (one cluster slot, so each script is atomic):
//! - `c:<id>` hashes (with `lastSeq`, and `lastActivityMs`), `key:<key>`
//!   strings naming the conversation of a key (unique by `SETNX`);
//! - `ps:<id>` sets of participants and `p:<id>:<user>` hashes (read
//!   position, last activity); `u:<user>` lex-ordered sorted sets of
//!   `<last activity ms>:<conversation id>`, a user's conversations by last
//!   activity (a post moves the member of every participant);
//! - `m:<message>` hashes, `ms:<id>` sorted sets scored by sequence number
//!   (the conversation's messages), `sent:<user>` lex-ordered sets (a
//!   user's messages by time, for the export and account deletion);
//! - `bk:<blocker>` hashes (blocked user → since, RFC 3339) and
//!   `bd:<blocked>` sets of blockers.
//!
//! Unread counts are `lastSeq - readSeq`, two fields.

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

/// KEYS: conversation, key index. ARGV: base, id, created (RFC 3339),
/// created ms, participant count n, n user ids, record pairs. 0 when the
/// key is taken.
static CREATE: LazyLock<Script> = LazyLock::new(|| {
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
static JOIN: LazyLock<Script> = LazyLock::new(|| {
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
static LEAVE: LazyLock<Script> = LazyLock::new(|| {
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
static POST: LazyLock<Script> = LazyLock::new(|| {
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
static MARK_READ: LazyLock<Script> = LazyLock::new(|| {
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
static REMOVE: LazyLock<Script> = LazyLock::new(|| {
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
static LIST: LazyLock<Script> = LazyLock::new(|| {
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
static MESSAGES: LazyLock<Script> = LazyLock::new(|| {
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

fn conversation(map: HashMap<String, String>) -> Result<Conversation, StoreError> {
    let f = Fields::new(map, "conversation");
    Ok(Conversation {
        id: ConversationId::from_uuid(f.uuid("id")?),
        kind: ConversationKind::parse(f.str("kind")?)
            .ok_or_else(|| corrupt("conversation", "kind"))?,
        title: f.opt_string("title"),
        created_by: UserId::from_uuid(f.uuid("createdBy")?),
        created_at: f.time("createdAt")?,
        last_seq: f.u64("lastSeq")?,
        last_activity_at: f.time("lastActivityAt")?,
        key: f.str("key")?.to_owned(),
    })
}

fn participant(
    id: ConversationId,
    user: UserId,
    map: HashMap<String, String>,
) -> Result<Participant, StoreError> {
    let f = Fields::new(map, "participant");
    Ok(Participant {
        conversation_id: id,
        user_id: user,
        joined_at: f.time("joinedAt")?,
        read_seq: f.u64("readSeq")?,
        last_activity_at: f.time("lastActivityAt")?,
    })
}

fn message_record(m: &ConversationMessage) -> Record {
    let mut r = Record::default();
    r.set("id", m.id.to_string())
        .set("conversationId", m.conversation_id.to_string())
        .set("senderId", m.sender_id.to_string())
        .opt("content", m.content.clone())
        .opt("parentId", m.parent_id.map(|p| p.to_string()))
        .set("createdAt", ts(m.created_at))
        .set("createdMs", ms(m.created_at).to_string())
        .opt("deletedAt", m.deleted_at.map(ts));
    r
}

fn message(map: HashMap<String, String>) -> Result<Option<ConversationMessage>, StoreError> {
    if map.is_empty() {
        return Ok(None);
    }
    let f = Fields::new(map, "conversation message");
    Ok(Some(ConversationMessage {
        id: MessageId::from_uuid(f.uuid("id")?),
        conversation_id: ConversationId::from_uuid(f.uuid("conversationId")?),
        seq: f.u64("seq")?,
        sender_id: UserId::from_uuid(f.uuid("senderId")?),
        content: f.opt_string("content"),
        parent_id: f.opt_uuid("parentId")?.map(MessageId::from_uuid),
        created_at: f.time("createdAt")?,
        deleted_at: f.opt_time("deletedAt")?,
    }))
}

impl RedisStore {
    fn conv_key(&self, rest: &str) -> String {
        self.key(Family::Conversations, rest)
    }

    fn conv_base(&self) -> String {
        self.base(Family::Conversations)
    }
}

#[async_trait]
impl ConversationRepository for RedisStore {
    async fn create(&self, c: &Conversation, participants: &[UserId]) -> Result<bool, StoreError> {
        let mut r = Record::default();
        r.set("id", c.id.to_string())
            .set("kind", c.kind.as_str())
            .opt("title", c.title.clone())
            .set("createdBy", c.created_by.to_string())
            .set("createdAt", ts(c.created_at))
            .set("lastSeq", c.last_seq.to_string())
            .set("lastActivityAt", ts(c.last_activity_at))
            .set("lastActivityMs", ms(c.last_activity_at).to_string())
            .set("key", c.key.clone());
        let mut args = vec![
            self.conv_base(),
            c.id.to_string(),
            ts(c.created_at),
            ms(c.created_at).to_string(),
            participants.len().to_string(),
        ];
        args.extend(participants.iter().map(ToString::to_string));
        args.extend(r.args());
        let created: i64 = self
            .eval(
                &CREATE,
                vec![
                    self.conv_key(&format!("c:{}", c.id)),
                    self.conv_key(&format!("key:{}", c.key)),
                ],
                args,
                "create a conversation",
            )
            .await?;
        Ok(created == 1)
    }

    async fn get(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError> {
        let map = self
            .hgetall(self.conv_key(&format!("c:{id}")), "read a conversation")
            .await?;
        if map.is_empty() {
            return Ok(None);
        }
        conversation(map).map(Some)
    }

    async fn find_by_key(&self, key: &str) -> Result<Option<Conversation>, StoreError> {
        let id: Option<String> = self
            .pool()
            .get(self.conv_key(&format!("key:{key}")))
            .await
            .map_err(store("find a conversation"))?;
        match id {
            None => Ok(None),
            Some(id) => {
                let id = id.parse().map_err(|_| corrupt("conversation", "key"))?;
                ConversationRepository::get(self, id).await
            }
        }
    }

    async fn rename(&self, id: ConversationId, title: Option<String>) -> Result<(), WriteError> {
        let mut set = Record::default();
        set.opt("title", title.clone());
        let delete: &[&str] = if title.is_none() { &["title"] } else { &[] };
        self.guarded_set(self.conv_key(&format!("c:{id}")), &[], delete, &set)
            .await?
            .written()
    }

    async fn join(
        &self,
        id: ConversationId,
        users: &[UserId],
        at: OffsetDateTime,
    ) -> Result<(), WriteError> {
        let mut args = vec![self.conv_base(), id.to_string(), ts(at)];
        args.extend(users.iter().map(ToString::to_string));
        let done: i64 = self
            .eval(
                &JOIN,
                vec![
                    self.conv_key(&format!("c:{id}")),
                    self.conv_key(&format!("ps:{id}")),
                ],
                args,
                "join a conversation",
            )
            .await?;
        WriteError::found(done)
    }

    async fn participants(&self, id: ConversationId) -> Result<Vec<Participant>, StoreError> {
        let users: Vec<String> = self
            .pool()
            .smembers(self.conv_key(&format!("ps:{id}")))
            .await
            .map_err(store("list participants"))?;
        let mut all = Vec::with_capacity(users.len());
        for user in users {
            let user: UserId = user.parse().map_err(|_| corrupt("participant", "id"))?;
            if let Some(p) = ConversationRepository::participant(self, id, user).await? {
                all.push(p);
            }
        }
        all.sort_by_key(|p| (p.joined_at, p.user_id));
        Ok(all)
    }

    async fn participant(
        &self,
        id: ConversationId,
        user_id: UserId,
    ) -> Result<Option<Participant>, StoreError> {
        let map = self
            .hgetall(
                self.conv_key(&format!("p:{id}:{user_id}")),
                "read a participant",
            )
            .await?;
        if map.is_empty() {
            return Ok(None);
        }
        participant(id, user_id, map).map(Some)
    }

    async fn leave(&self, id: ConversationId, user_id: UserId) -> Result<bool, StoreError> {
        let left: i64 = self
            .eval(
                &LEAVE,
                vec![
                    self.conv_key(&format!("c:{id}")),
                    self.conv_key(&format!("ps:{id}")),
                ],
                vec![self.conv_base(), id.to_string(), user_id.to_string()],
                "leave a conversation",
            )
            .await?;
        Ok(left == 1)
    }

    async fn list_for_user(
        &self,
        user_id: UserId,
        page: PageRequest,
    ) -> Result<Page<ConversationEntry>, StoreError> {
        let reply: Value = self
            .eval(
                &LIST,
                vec![self.conv_key(&format!("u:{user_id}"))],
                vec![
                    self.conv_base(),
                    bound(&page),
                    (page.limit() + 1).to_string(),
                    user_id.to_string(),
                ],
                "list conversations",
            )
            .await?;
        let parts = records(reply)?;
        let mut items = Vec::with_capacity(parts.len() / 3);
        let mut it = parts.into_iter();
        while let (Some(c), Some(p), Some(m)) = (it.next(), it.next(), it.next()) {
            if c.is_empty() || p.is_empty() {
                continue;
            }
            let conversation = conversation(c)?;
            let p = participant(conversation.id, user_id, p)?;
            items.push(ConversationEntry {
                conversation,
                read_seq: p.read_seq,
                last_activity_at: p.last_activity_at,
                last_message: message(m)?,
            });
        }
        Ok(Page::from_overfetch(items, page))
    }

    async fn post(&self, m: &ConversationMessage) -> Result<u64, WriteError> {
        let id = m.conversation_id;
        let mut args = vec![
            self.conv_base(),
            id.to_string(),
            m.id.to_string(),
            m.sender_id.to_string(),
            ms(m.created_at).to_string(),
            ts(m.created_at),
        ];
        args.extend(message_record(m).args());
        let number: i64 = self
            .eval(
                &POST,
                vec![
                    self.conv_key(&format!("c:{id}")),
                    self.conv_key(&format!("ps:{id}")),
                ],
                args,
                "post a message",
            )
            .await?;
        u64::try_from(number).map_err(|_| WriteError::NotFound)
    }

    async fn get_message(
        &self,
        id: ConversationId,
        message_id: MessageId,
    ) -> Result<Option<ConversationMessage>, StoreError> {
        let map = self
            .hgetall(self.conv_key(&format!("m:{message_id}")), "read a message")
            .await?;
        Ok(message(map)?.filter(|m| m.conversation_id == id))
    }

    async fn list_messages(
        &self,
        id: ConversationId,
        page: PageRequest,
    ) -> Result<Page<ConversationMessage>, StoreError> {
        let upper = match page.cursor() {
            None => "+inf".to_owned(),
            Some(c) => {
                match ConversationRepository::get_message(self, id, MessageId::from_uuid(c.id))
                    .await?
                {
                    Some(at) => format!("({}", at.seq),
                    None => return Ok(Page::from_overfetch(Vec::new(), page)),
                }
            }
        };
        let reply: Value = self
            .eval(
                &MESSAGES,
                vec![self.conv_key(&format!("ms:{id}"))],
                vec![self.conv_base(), upper, (page.limit() + 1).to_string()],
                "list messages",
            )
            .await?;
        let items = records(reply)?
            .into_iter()
            .filter_map(|m| message(m).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page))
    }

    async fn mark_read(
        &self,
        id: ConversationId,
        user_id: UserId,
        seq: u64,
    ) -> Result<(), WriteError> {
        let done: i64 = self
            .eval(
                &MARK_READ,
                vec![self.conv_key(&format!("p:{id}:{user_id}"))],
                vec![seq.to_string()],
                "mark a conversation read",
            )
            .await?;
        WriteError::found(done)
    }

    async fn remove_message(
        &self,
        id: ConversationId,
        message_id: MessageId,
        at: OffsetDateTime,
    ) -> Result<(), WriteError> {
        let found: i64 = self
            .eval(
                &REMOVE,
                vec![self.conv_key(&format!("m:{message_id}"))],
                vec![
                    self.conv_base(),
                    id.to_string(),
                    ts(at),
                    message_id.to_string(),
                ],
                "remove a message",
            )
            .await?;
        WriteError::found(found)
    }

    async fn list_sent(
        &self,
        user_id: UserId,
        page: PageRequest,
    ) -> Result<Page<ConversationMessage>, StoreError> {
        self.page_of(
            self.conv_key(&format!("sent:{user_id}")),
            page,
            self.conv_key("m:"),
            None,
            false,
            message,
        )
        .await
    }

    async fn forget_user(&self, user_id: UserId, at: OffsetDateTime) -> Result<u64, StoreError> {
        let sent: Vec<String> = self
            .pool()
            .zrange(
                self.conv_key(&format!("sent:{user_id}")),
                0,
                -1,
                None,
                false,
                None,
                false,
            )
            .await
            .map_err(store("list a user's messages"))?;
        for batch in sent.chunks(500) {
            let mut args = vec![self.conv_base(), String::new(), ts(at)];
            args.extend(
                batch
                    .iter()
                    .map(|m| m.get(16..).unwrap_or_default().to_owned()),
            );
            let _: i64 = self
                .eval(
                    &REMOVE,
                    vec![self.conv_key("m:")],
                    args,
                    "remove a user's messages",
                )
                .await?;
        }
        let theirs: Vec<String> = self
            .pool()
            .zrange(
                self.conv_key(&format!("u:{user_id}")),
                0,
                -1,
                None,
                false,
                None,
                false,
            )
            .await
            .map_err(store("list a user's conversations"))?;
        let mut left = 0;
        for member in theirs {
            let id: ConversationId = member
                .get(16..)
                .and_then(|id| id.parse().ok())
                .ok_or_else(|| corrupt("conversation index", "member"))?;
            if ConversationRepository::leave(self, id, user_id).await? {
                left += 1;
            }
        }
        Ok(left)
    }
}

/// KEYS: blocker's hash, blocked's set. ARGV: blocked, blocker, since.
static BLOCK: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[3]) == 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[2])
return 1
"#,
    )
});

/// KEYS: blocker's hash, blocked's set. ARGV: blocked, blocker.
static UNBLOCK: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[2])
return 1
"#,
    )
});

/// ARGV: base, user. Removes the user's blocks both ways; returns how many.
static FORGET_BLOCKS: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local b, u = ARGV[1], ARGV[2]
local n = 0
for _, blocked in ipairs(redis.call('HKEYS', b .. 'bk:' .. u)) do
  redis.call('SREM', b .. 'bd:' .. blocked, u)
  n = n + 1
end
for _, blocker in ipairs(redis.call('SMEMBERS', b .. 'bd:' .. u)) do
  n = n + redis.call('HDEL', b .. 'bk:' .. blocker, u)
end
redis.call('DEL', b .. 'bk:' .. u, b .. 'bd:' .. u)
return n
"#,
    )
});

#[async_trait]
impl BlockRepository for RedisStore {
    async fn block(&self, b: &Block) -> Result<bool, StoreError> {
        let added: i64 = self
            .eval(
                &BLOCK,
                vec![
                    self.conv_key(&format!("bk:{}", b.blocker_id)),
                    self.conv_key(&format!("bd:{}", b.blocked_id)),
                ],
                vec![
                    b.blocked_id.to_string(),
                    b.blocker_id.to_string(),
                    ts(b.created_at),
                ],
                "block",
            )
            .await?;
        Ok(added == 1)
    }

    async fn unblock(&self, blocker_id: UserId, blocked_id: UserId) -> Result<bool, StoreError> {
        let removed: i64 = self
            .eval(
                &UNBLOCK,
                vec![
                    self.conv_key(&format!("bk:{blocker_id}")),
                    self.conv_key(&format!("bd:{blocked_id}")),
                ],
                vec![blocked_id.to_string(), blocker_id.to_string()],
                "unblock",
            )
            .await?;
        Ok(removed == 1)
    }

    async fn is_blocked(&self, blocker_id: UserId, blocked_id: UserId) -> Result<bool, StoreError> {
        self.pool()
            .hexists(
                self.conv_key(&format!("bk:{blocker_id}")),
                blocked_id.to_string(),
            )
            .await
            .map_err(store("read a block"))
    }

    async fn list(&self, blocker_id: UserId) -> Result<Vec<Block>, StoreError> {
        let map = self
            .hgetall(self.conv_key(&format!("bk:{blocker_id}")), "list blocks")
            .await?;
        let mut all = map
            .into_iter()
            .map(|(blocked, since)| {
                Ok(Block {
                    blocker_id,
                    blocked_id: blocked.parse().map_err(|_| corrupt("block", "user"))?,
                    created_at: OffsetDateTime::parse(
                        &since,
                        &time::format_description::well_known::Rfc3339,
                    )
                    .map_err(|_| corrupt("block", "since"))?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        all.sort_by_key(|b| std::cmp::Reverse((b.created_at, b.blocked_id)));
        Ok(all)
    }

    async fn forget_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let n: i64 = self
            .eval(
                &FORGET_BLOCKS,
                vec![self.conv_key(&format!("bk:{user_id}"))],
                vec![self.conv_base(), user_id.to_string()],
                "forget blocks",
            )
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
