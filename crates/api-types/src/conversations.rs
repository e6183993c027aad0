//! Conversations between users, their messages, and blocks.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// Starts a conversation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartConversation {
    /// The other participants (the caller is added): one for a direct
    /// conversation, 2–49 for a group. Unique, existing users.
    pub participant_ids: Vec<Uuid>,
    /// A group's title (1–200 characters); not for a direct conversation.
    #[schema(example = "Launch planning")]
    pub title: Option<String>,
}

/// Renames a group.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameConversation {
    /// The new title (1–200 characters); `null` removes it.
    #[schema(example = "Launch planning")]
    pub title: Option<String>,
}

/// Posts a message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostConversationMessage {
    /// 1–10,000 characters; no control characters but newline and tab.
    #[schema(example = "See you at ten?")]
    pub content: String,
    /// The message this one replies to, in the same conversation.
    pub parent_id: Option<Uuid>,
}

/// Marks a conversation read.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkConversationRead {
    /// Everything up to and including this message is read.
    pub up_to: Uuid,
}

/// A participant.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantView {
    /// The user.
    pub user_id: Uuid,
    /// Their username (`null` for an account deleted meanwhile).
    #[schema(example = "ada")]
    pub username: Option<String>,
}

/// A conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationView {
    /// Its id.
    pub id: Uuid,
    /// `direct` (two users) or `group`.
    #[schema(example = "group")]
    pub kind: &'static str,
    /// A group's title.
    #[schema(example = "Launch planning")]
    pub title: Option<String>,
    /// Who started it.
    pub created_by: Uuid,
    /// The participants, in the order they joined.
    pub participants: Vec<ParticipantView>,
    /// When it was started.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When its newest message was posted (its start before that).
    #[serde(with = "time::serde::rfc3339")]
    pub last_activity_at: OffsetDateTime,
}

impl From<domain::ConversationDetails> for ConversationView {
    fn from(v: domain::ConversationDetails) -> Self {
        let c = v.conversation;
        Self {
            id: c.id.as_uuid(),
            kind: c.kind.as_str(),
            title: c.title,
            created_by: c.created_by.as_uuid(),
            participants: v
                .participants
                .into_iter()
                .map(|p| ParticipantView {
                    user_id: p.user_id.as_uuid(),
                    username: p.username.map(|u| u.as_str().to_owned()),
                })
                .collect(),
            created_at: c.created_at,
            last_activity_at: c.last_activity_at,
        }
    }
}

/// The newest message of a conversation, as its list shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LastMessageView {
    /// Its id.
    pub id: Uuid,
    /// Who wrote it.
    pub sender_id: Uuid,
    /// Its first 100 characters; `null` when removed.
    #[schema(example = "See you at ten?")]
    pub content: Option<String>,
    /// Whether it was removed.
    pub deleted: bool,
    /// When it was posted.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// One of the caller's conversations.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationSummaryView {
    /// Its id.
    pub id: Uuid,
    /// `direct` or `group`.
    #[schema(example = "direct")]
    pub kind: &'static str,
    /// A group's title.
    #[schema(example = "Launch planning")]
    pub title: Option<String>,
    /// Messages after the caller's read position.
    pub unread_count: u64,
    /// Its newest message; `null` before the first.
    pub last_message: Option<LastMessageView>,
    /// When its newest message was posted (its start before that).
    #[serde(with = "time::serde::rfc3339")]
    pub last_activity_at: OffsetDateTime,
}

impl From<domain::ConversationEntry> for ConversationSummaryView {
    fn from(e: domain::ConversationEntry) -> Self {
        let unread_count = e.unread_count();
        let last_message = e.last_message.map(|m| LastMessageView {
            id: m.id.as_uuid(),
            sender_id: m.sender_id.as_uuid(),
            content: m.preview(),
            deleted: m.is_deleted(),
            created_at: m.created_at,
        });
        Self {
            id: e.conversation.id.as_uuid(),
            kind: e.conversation.kind.as_str(),
            title: e.conversation.title,
            unread_count,
            last_message,
            last_activity_at: e.last_activity_at,
        }
    }
}

page_of!(
    ConversationPage,
    ConversationSummaryView,
    "conversations, most recent activity first"
);

/// A message of a conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationMessageView {
    /// Its id.
    pub id: Uuid,
    /// The conversation.
    pub conversation_id: Uuid,
    /// Its place in the conversation (1 for the first).
    pub seq: u64,
    /// Who wrote it.
    pub sender_id: Uuid,
    /// The text; `null` once removed.
    #[schema(example = "See you at ten?")]
    pub content: Option<String>,
    /// The message it replies to.
    pub parent_id: Option<Uuid>,
    /// Whether it was removed (a tombstone).
    pub deleted: bool,
    /// When it was posted.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was removed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub deleted_at: Option<OffsetDateTime>,
    /// The other participants who have read it.
    pub read_by: Vec<Uuid>,
}

impl From<domain::ConversationMessage> for ConversationMessageView {
    fn from(m: domain::ConversationMessage) -> Self {
        Self {
            id: m.id.as_uuid(),
            conversation_id: m.conversation_id.as_uuid(),
            seq: m.seq,
            sender_id: m.sender_id.as_uuid(),
            deleted: m.is_deleted(),
            content: m.content,
            parent_id: m.parent_id.map(|p| p.as_uuid()),
            created_at: m.created_at,
            deleted_at: m.deleted_at,
            read_by: Vec::new(),
        }
    }
}

impl From<domain::MessageReads> for ConversationMessageView {
    fn from(v: domain::MessageReads) -> Self {
        Self {
            read_by: v.read_by.iter().map(|u| u.as_uuid()).collect(),
            ..Self::from(v.message)
        }
    }
}

page_of!(
    ConversationMessagePage,
    ConversationMessageView,
    "messages, newest first"
);

/// A user the caller blocks.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockView {
    /// The blocked user.
    pub user_id: Uuid,
    /// Since when.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<domain::Block> for BlockView {
    fn from(b: domain::Block) -> Self {
        Self {
            user_id: b.blocked_id.as_uuid(),
            created_at: b.created_at,
        }
    }
}

/// The users the caller blocks.
#[derive(Debug, Serialize, ToSchema)]
pub struct BlockList {
    /// Most recent first.
    pub items: Vec<BlockView>,
}
