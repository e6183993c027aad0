//! `session:<id>` hashes with `session:<id>:data` (`sessionData`,
//! one field per storage key, JSON text) and `session:<id>:messages`,
//! `message:<id>` hashes, and `user:<id>:sessions` indexes.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use async_trait::async_trait;
use domain::*;
use fred::prelude::*;
use fred::types::scripts::Script;
use time::OffsetDateTime;

use crate::codec::*;
use crate::error::{corrupt, store};
use crate::{Family, RedisStore};

/// KEYS: session, owner's index. ARGV: index member, pairs.
static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
"#,
    )
});

/// Deletes one session with its data and messages (used inside scripts).
const DELETE_ONE: &str = r#"
local function delete_session(skey, mprefix)
  for _, m in ipairs(redis.call('ZRANGE', skey .. ':messages', 0, -1)) do
    redis.call('DEL', mprefix .. string.sub(m, 17))
  end
  return redis.call('DEL', skey, skey .. ':data', skey .. ':messages')
end
"#;

/// KEYS: session. ARGV: message prefix, user index prefix.
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(format!(
        r#"{DELETE_ONE}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local f = redis.call('HMGET', KEYS[1], 'userId', 'member')
delete_session(KEYS[1], ARGV[1])
if f[1] and f[2] then redis.call('ZREM', ARGV[2] .. f[1] .. ':sessions', f[2]) end
return 1
"#
    ))
});

/// KEYS: user's index. ARGV: session prefix, message prefix.
static DELETE_FOR_USER: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(format!(
        r#"{DELETE_ONE}
local n = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local skey = ARGV[1] .. string.sub(m, 17)
  if redis.call('EXISTS', skey) == 1 then n = n + 1 end
  delete_session(skey, ARGV[2])
end
redis.call('DEL', KEYS[1])
return n
"#
    ))
});

/// KEYS: session, data. ARGV: storage key, JSON text.
static PUT_DATA: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"#,
    )
});

/// KEYS: session, its data hash. ARGV: storage key, value, most keys.
/// 0: no session; 2: a new key past the limit (nothing written); 1: stored.
static PUT_DATA_WITHIN: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0
   and redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[3]) then return 2 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"#,
    )
});

/// KEYS: session, message, messages index. ARGV: member, time text, mark
/// unread ('1'/'0'), pairs.
static ADD_MESSAGE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
redis.call('ZADD', KEYS[3], 0, ARGV[1])
redis.call('HSET', KEYS[1], 'lastAccessed', ARGV[2])
if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'unreadMessages', '1') end
return 1
"#,
    )
});

/// KEYS: session, messages index. ARGV: message prefix.
static MARK_READ: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'unreadMessages', '0')
for _, m in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  local key = ARGV[1] .. string.sub(m, 17)
  if redis.call('EXISTS', key) == 1 then redis.call('HSET', key, 'read', '1') end
end
return 1
"#,
    )
});

fn session(map: HashMap<String, String>) -> Result<Option<ContentSession>, StoreError> {
    if map.is_empty() {
        return Ok(None);
    }
    let f = Fields::new(map, "content session");
    Ok(Some(ContentSession {
        id: ContentSessionId::from_uuid(f.uuid("id")?),
        user_id: UserId::from_uuid(f.uuid("userId")?),
        name: f.opt_string("name"),
        unread_messages: f.flag("unreadMessages"),
        created_at: f.time("createdAt")?,
        last_accessed_at: f.time("lastAccessed")?,
    }))
}

fn message(map: HashMap<String, String>) -> Result<Option<Message>, StoreError> {
    if map.is_empty() {
        return Ok(None);
    }
    let f = Fields::new(map, "message");
    let sender = match f.json("sender")? {
        Some(v) => serde_json::from_value(v).map_err(|_| corrupt("message", "sender"))?,
        None => return Err(corrupt("message", "sender")),
    };
    Ok(Some(Message {
        id: MessageId::from_uuid(f.uuid("id")?),
        content_session_id: ContentSessionId::from_uuid(f.uuid("contentSessionId")?),
        sender,
        content: f.str("content")?.to_owned(),
        parent_id: f.opt_uuid("parentId")?.map(MessageId::from_uuid),
        read: f.flag("read"),
        created_at: f.time("createdAt")?,
    }))
}

impl RedisStore {
    fn c_key(&self, rest: &str) -> String {
        self.key(Family::Content, rest)
    }
    fn cs_key(&self, id: ContentSessionId) -> String {
        self.c_key(&format!("session:{id}"))
    }
}

#[async_trait]
impl ContentSessionRepository for RedisStore {
    async fn create(&self, s: &ContentSession) -> Result<(), StoreError> {
        let m = member(s.created_at, s.id.as_uuid());
        let mut r = Record::default();
        r.set("id", s.id.to_string())
            .set("userId", s.user_id.to_string())
            .opt("name", s.name.clone())
            .flag("unreadMessages", s.unread_messages)
            .set("createdAt", ts(s.created_at))
            .set("lastAccessed", ts(s.last_accessed_at))
            .set("member", m.clone());
        let mut args = vec![m];
        args.extend(r.args());
        let _: i64 = self
            .eval(
                &CREATE,
                vec![
                    self.cs_key(s.id),
                    self.c_key(&format!("user:{}:sessions", s.user_id)),
                ],
                args,
                "create content session",
            )
            .await?;
        Ok(())
    }

    async fn get(&self, id: ContentSessionId) -> Result<Option<ContentSession>, StoreError> {
        session(self.hgetall(self.cs_key(id), "get content session").await?)
    }

    async fn list_for_user(
        &self,
        user_id: UserId,
        page: PageRequest,
    ) -> Result<Page<ContentSession>, StoreError> {
        self.page_of(
            self.c_key(&format!("user:{user_id}:sessions")),
            page,
            self.c_key("session:"),
            None,
            false,
            session,
        )
        .await
    }

    async fn rename(
        &self,
        id: ContentSessionId,
        name: Option<String>,
        at: OffsetDateTime,
    ) -> Result<(), WriteError> {
        let mut r = Record::default();
        r.set("lastAccessed", ts(at));
        let delete: &[&str] = if name.is_none() { &["name"] } else { &[] };
        r.opt("name", name);
        self.guarded_set(self.cs_key(id), &[], delete, &r)
            .await?
            .written()
    }

    async fn delete(&self, id: ContentSessionId) -> Result<(), WriteError> {
        let n: i64 = self
            .eval(
                &DELETE,
                vec![self.cs_key(id)],
                vec![self.c_key("message:"), self.c_key("user:")],
                "delete content session",
            )
            .await?;
        WriteError::found(n)
    }

    async fn put_data(
        &self,
        id: ContentSessionId,
        key: &StorageKey,
        value: &serde_json::Value,
    ) -> Result<(), WriteError> {
        let session_key = self.cs_key(id);
        let n: i64 = self
            .eval(
                &PUT_DATA,
                vec![session_key.clone(), format!("{session_key}:data")],
                vec![key.as_str().to_owned(), value.to_string()],
                "put session data",
            )
            .await?;
        WriteError::found(n)
    }

    async fn put_data_within(
        &self,
        id: ContentSessionId,
        key: &StorageKey,
        value: &serde_json::Value,
        max_keys: usize,
    ) -> Result<DataPut, WriteError> {
        let session_key = self.cs_key(id);
        let n: i64 = self
            .eval(
                &PUT_DATA_WITHIN,
                vec![session_key.clone(), format!("{session_key}:data")],
                vec![
                    key.as_str().to_owned(),
                    value.to_string(),
                    max_keys.to_string(),
                ],
                "put session data",
            )
            .await?;
        match n {
            0 => Err(WriteError::NotFound),
            2 => Ok(DataPut::KeyLimit),
            _ => Ok(DataPut::Stored),
        }
    }

    async fn get_data(
        &self,
        id: ContentSessionId,
        key: &StorageKey,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let raw: Option<String> = self
            .pool()
            .hget(format!("{}:data", self.cs_key(id)), key.as_str())
            .await
            .map_err(store("get session data"))?;
        raw.map(|s| serde_json::from_str(&s).map_err(|_| corrupt("content session", "sessionData")))
            .transpose()
    }

    async fn list_data(
        &self,
        id: ContentSessionId,
    ) -> Result<BTreeMap<StorageKey, serde_json::Value>, StoreError> {
        let raw = self
            .hgetall(format!("{}:data", self.cs_key(id)), "list session data")
            .await?;
        raw.into_iter()
            .map(|(k, v)| {
                let bad = || corrupt("content session", "sessionData");
                let key = StorageKey::parse(&k).map_err(|_| bad())?;
                let value = serde_json::from_str(&v).map_err(|_| bad())?;
                Ok((key, value))
            })
            .collect()
    }

    async fn delete_data(&self, id: ContentSessionId, key: &StorageKey) -> Result<(), WriteError> {
        let n: i64 = self
            .pool()
            .hdel(format!("{}:data", self.cs_key(id)), key.as_str())
            .await
            .map_err(store("delete session data"))?;
        WriteError::found(n)
    }

    async fn add_message(&self, m: &Message, mark_unread: bool) -> Result<(), WriteError> {
        let session_key = self.cs_key(m.content_session_id);
        let mut r = Record::default();
        r.set("id", m.id.to_string())
            .set("contentSessionId", m.content_session_id.to_string())
            .set(
                "sender",
                serde_json::to_string(&m.sender).unwrap_or_else(|_| "null".into()),
            )
            .set("content", m.content.clone())
            .opt("parentId", m.parent_id.map(|p| p.to_string()))
            .flag("read", m.read)
            .set("createdAt", ts(m.created_at));
        let mut args = vec![
            member(m.created_at, m.id.as_uuid()),
            ts(m.created_at),
            if mark_unread { "1" } else { "0" }.to_owned(),
        ];
        args.extend(r.args());
        let n: i64 = self
            .eval(
                &ADD_MESSAGE,
                vec![
                    session_key.clone(),
                    self.c_key(&format!("message:{}", m.id)),
                    format!("{session_key}:messages"),
                ],
                args,
                "add message",
            )
            .await?;
        WriteError::found(n)
    }

    async fn get_message(
        &self,
        session_id: ContentSessionId,
        id: MessageId,
    ) -> Result<Option<Message>, StoreError> {
        let m = message(
            self.hgetall(self.c_key(&format!("message:{id}")), "get message")
                .await?,
        )?;
        Ok(m.filter(|m| m.content_session_id == session_id))
    }

    async fn list_messages(
        &self,
        session_id: ContentSessionId,
        page: PageRequest,
    ) -> Result<Page<Message>, StoreError> {
        self.page_of(
            format!("{}:messages", self.cs_key(session_id)),
            page,
            self.c_key("message:"),
            None,
            false,
            message,
        )
        .await
    }

    async fn mark_read(&self, id: ContentSessionId) -> Result<(), WriteError> {
        let session_key = self.cs_key(id);
        let n: i64 = self
            .eval(
                &MARK_READ,
                vec![session_key.clone(), format!("{session_key}:messages")],
                vec![self.c_key("message:")],
                "mark read",
            )
            .await?;
        WriteError::found(n)
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let n: i64 = self
            .eval(
                &DELETE_FOR_USER,
                vec![self.c_key(&format!("user:{user_id}:sessions"))],
                vec![self.c_key("session:"), self.c_key("message:")],
                "delete content sessions",
            )
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
