//! Content sessions with key/value data (`contentSessions`) and their
//! messages (conversations).

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{
    ContentSessionId, MessageId, Page, PageRequest, StorageKey, StoreError, UserId, WriteError,
};

/// A per-user working session holding data and messages.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ContentSession {
    /// Unique id, assigned at creation; it also orders items created in the same millisecond.
    pub id: ContentSessionId,
    /// The user it belongs to: only they and administrators see it.
    pub user_id: UserId,
    /// Optional display name.
    pub name: Option<String>,
    /// Set when a message arrives for the owner; cleared when read.
    pub unread_messages: bool,
    /// When it was created; listings are newest first by this.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change or message.
    #[serde(with = "time::serde::rfc3339")]
    pub last_accessed_at: OffsetDateTime,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "user_id", rename_all = "snake_case")]
pub enum Sender {
    /// A user.
    User(UserId),
    /// The assistant (`ai`).
    Assistant,
    /// The system.
    System,
}

/// A message in a content session.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Message {
    /// Unique id, assigned at creation; it also orders items created in the same millisecond.
    pub id: MessageId,
    /// Session it belongs to.
    pub content_session_id: ContentSessionId,
    /// Who wrote it: the session's user, the assistant or the system.
    pub sender: Sender,
    /// The message text (never empty, at most the configured length).
    pub content: String,
    /// The message this one replies to, in the same session.
    pub parent_id: Option<MessageId>,
    /// Whether the owner has read it.
    pub read: bool,
    /// When it was created; listings are newest first by this.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What [`ContentSessionRepository::put_data_within`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataPut {
    /// The value is stored.
    Stored,
    /// The key is new and the session already holds the most keys allowed.
    KeyLimit,
}

/// Stores content sessions, their data and their messages.
#[portico_macros::port("content")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ContentSessionRepository: Send + Sync {
    /// Inserts a session.
    async fn create(&self, session: &ContentSession) -> Result<(), StoreError>;

    /// The session with `id`, or `None`.
    async fn get(&self, id: ContentSessionId) -> Result<Option<ContentSession>, StoreError>;

    /// The user's sessions newest first.
    async fn list_for_user(
        &self,
        user_id: UserId,
        page: PageRequest,
    ) -> Result<Page<ContentSession>, StoreError>;

    /// Sets the name and `last_accessed_at`. `NotFound` for an unknown id.
    async fn rename(
        &self,
        id: ContentSessionId,
        name: Option<String>,
        at: OffsetDateTime,
    ) -> Result<(), WriteError>;

    /// Deletes the session with all its data and messages. `NotFound` for an unknown id.
    async fn delete(&self, id: ContentSessionId) -> Result<(), WriteError>;

    /// Like [`ContentSessionRepository::put_data`], but a key the session
    /// does not hold yet is only added while it holds fewer than `max_keys`:
    /// otherwise nothing is written and the answer is [`DataPut::KeyLimit`].
    /// Atomic: N concurrent calls adding new keys MUST NOT take the session
    /// past `max_keys`. Replacing the value of a held key always works.
    async fn put_data_within(
        &self,
        id: ContentSessionId,
        key: &StorageKey,
        value: &serde_json::Value,
        max_keys: usize,
    ) -> Result<DataPut, WriteError>;

    /// Sets the JSON value stored under `key`, replacing any previous one.
    /// `NotFound` if the session does not exist.
    async fn put_data(
        &self,
        id: ContentSessionId,
        key: &StorageKey,
        value: &serde_json::Value,
    ) -> Result<(), WriteError>;

    /// The value under `key`, or `None` (also for an unknown session).
    async fn get_data(
        &self,
        id: ContentSessionId,
        key: &StorageKey,
    ) -> Result<Option<serde_json::Value>, StoreError>;

    /// Every key and value of the session, ordered by key.
    async fn list_data(
        &self,
        id: ContentSessionId,
    ) -> Result<BTreeMap<StorageKey, serde_json::Value>, StoreError>;

    /// Removes `key`. `NotFound` if the session has no such key.
    async fn delete_data(&self, id: ContentSessionId, key: &StorageKey) -> Result<(), WriteError>;

    /// Appends a message and sets `last_accessed_at` to its time; when
    /// `mark_unread` is true also sets the session's `unread_messages`, in the
    /// same atomic step. `NotFound` if the session does not exist.
    async fn add_message(&self, message: &Message, mark_unread: bool) -> Result<(), WriteError>;

    /// The message `id` of session `session`, or `None` (also when it belongs to another session).
    async fn get_message(
        &self,
        session: ContentSessionId,
        id: MessageId,
    ) -> Result<Option<Message>, StoreError>;

    /// The session's messages newest first.
    async fn list_messages(
        &self,
        session: ContentSessionId,
        page: PageRequest,
    ) -> Result<Page<Message>, StoreError>;

    /// Clears `unread_messages` and marks every message read. `NotFound` for an unknown id.
    async fn mark_read(&self, id: ContentSessionId) -> Result<(), WriteError>;

    /// Deletes every session of the user with its data and messages; returns how many sessions.
    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError>;
}
