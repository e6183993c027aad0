//! Content sessions, their data and messages.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use domain::*;

/// A content session.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContentSessionView {
    /// Unique id, assigned at creation; it also orders items created in the same millisecond.
    pub id: Uuid,
    /// The user it belongs to: only they and administrators see it.
    pub user_id: Uuid,
    /// Display name.
    pub name: Option<String>,
    /// A message arrived that the owner has not read.
    pub unread_messages: bool,
    /// When it was created (RFC 3339, UTC); lists are newest first by this.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change or message.
    #[serde(with = "time::serde::rfc3339")]
    pub last_accessed_at: OffsetDateTime,
}

impl From<ContentSession> for ContentSessionView {
    fn from(s: ContentSession) -> Self {
        Self {
            id: s.id.as_uuid(),
            user_id: s.user_id.as_uuid(),
            name: s.name,
            unread_messages: s.unread_messages,
            created_at: s.created_at,
            last_accessed_at: s.last_accessed_at,
        }
    }
}

page_of!(ContentSessionPage, ContentSessionView, "content sessions");

/// A message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    /// Unique id, assigned at creation; it also orders items created in the same millisecond.
    pub id: Uuid,
    /// The session.
    pub content_session_id: Uuid,
    /// Who wrote it.
    pub sender: PostAs,
    /// The writing user, when `sender` is `user`.
    pub sender_user_id: Option<Uuid>,
    /// The message text (never empty, at most the configured length).
    pub content: String,
    /// The message this one replies to.
    pub parent_id: Option<Uuid>,
    /// Read by the owner.
    pub read: bool,
    /// When it was created (RFC 3339, UTC); lists are newest first by this.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<Message> for MessageView {
    fn from(m: Message) -> Self {
        let (sender, sender_user_id) = match m.sender {
            Sender::User(u) => (PostAs::User, Some(u.as_uuid())),
            Sender::Assistant => (PostAs::Assistant, None),
            Sender::System => (PostAs::System, None),
        };
        Self {
            id: m.id.as_uuid(),
            content_session_id: m.content_session_id.as_uuid(),
            sender,
            sender_user_id,
            content: m.content,
            parent_id: m.parent_id.map(|p| p.as_uuid()),
            read: m.read,
            created_at: m.created_at,
        }
    }
}

page_of!(MessagePage, MessageView, "messages");

/// A new content session.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateContentSession {
    /// Display name (at most 200 characters).
    pub name: Option<String>,
}

/// A rename.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameContentSession {
    /// New name; `null` clears it.
    #[serde(default, deserialize_with = "crate::schema::nullable")]
    pub name: Option<Option<String>>,
}

/// The active content session.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActiveContentSession {
    /// One of the caller's sessions; `null` clears the choice.
    pub content_session_id: Option<Uuid>,
}

/// Every storage key of a session with its value.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionData {
    /// Values by storage key, ordered by key.
    #[schema(value_type = BTreeMap<String, Value>)]
    pub data: BTreeMap<String, serde_json::Value>,
}

/// Who a message is from.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PostAs {
    /// The caller (the default).
    #[default]
    User,
    /// The assistant: needs the `content:post_as` permission.
    Assistant,
    /// The system: needs the `content:post_as` permission.
    System,
}

/// A new message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    /// Text (1 to the configured maximum of characters).
    pub content: String,
    /// The message this one replies to, in the same session.
    pub parent_id: Option<Uuid>,
    /// Who it is from (default `user`).
    #[serde(default)]
    pub sender: PostAs,
}
