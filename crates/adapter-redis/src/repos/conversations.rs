//! Conversations, every key under the `conversations` hash tag
//! (one cluster slot, so each script is atomic):
//! - `c:<id>` hashes (with `lastSeq`, and `lastActivityMs`), `key:<key>`
//!   strings naming the conversation of a key (unique by `SETNX`);
//! - `ps:<id>` sets of participants and `p:<id>:<user>` hashes (read
//!   position, last activity); `u:<user>` lex-ordered sorted sets of
//!   `<last activity ms>:<conversation id>`, a user's conversations by last
//!   activity (a post moves the member of every participant);
//! - `m:<message>` hashes, `ms:<id>` sorted sets scored by sequence number
//!   (the conversation's messages), `sent:<user>` lex-ordered sets (a
//!   user's messages by time, for the export and account deletion).
//!
//! Blocks are in `blocks.rs`; the scripts in `conversation_scripts.rs`.
//!
//! Unread counts are `lastSeq - readSeq`, two fields.

use std::collections::HashMap;

use async_trait::async_trait;
use domain::*;
use fred::prelude::*;
use fred::types::Value;
use time::OffsetDateTime;

use crate::codec::*;
use crate::error::{corrupt, store};
use crate::{Family, RedisStore};

#[path = "conversation_scripts.rs"]
mod scripts;
use scripts::*;

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
        let sent = self
            .members(
                self.conv_key(&format!("sent:{user_id}")),
                "list a user's messages",
            )
            .await?;
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
        let theirs = self
            .members(
                self.conv_key(&format!("u:{user_id}")),
                "list a user's conversations",
            )
            .await?;
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
