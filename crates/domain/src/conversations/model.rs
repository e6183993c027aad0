//! The records of conversations between users, and the checked values
//! their input becomes.

use time::OffsetDateTime;

use crate::{ConversationId, Cursor, Listed, MessageId, UserId, Username};

/// Most participants a conversation has, its creator included.
pub const MAX_PARTICIPANTS: usize = 50;
/// Longest message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 10_000;
/// Longest group title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Characters of a message the conversation list shows.
pub const PREVIEW_CHARS: usize = 100;

/// Whether a conversation is between two users or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationKind {
    /// Two users; a pair has at most one.
    Direct,
    /// Three to fifty users, with an optional title.
    Group,
}

impl ConversationKind {
    /// Stable name for storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Group => "group",
        }
    }

    /// Parses [`ConversationKind::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "direct" => Some(Self::Direct),
            "group" => Some(Self::Group),
            _ => None,
        }
    }
}

/// A conversation between users.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Conversation {
    /// Unique id.
    pub id: ConversationId,
    /// Direct or group.
    pub kind: ConversationKind,
    /// A group's title.
    pub title: Option<String>,
    /// Who started it.
    pub created_by: UserId,
    /// When it was started.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Sequence number of its newest message: 0 before the first, and each
    /// message takes the next (the store assigns it, so the order is the
    /// one the store accepted the messages in, whatever the clocks of the
    /// instances that posted them say).
    pub last_seq: u64,
    /// When its newest message was posted (its creation before that).
    #[serde(with = "time::serde::rfc3339")]
    pub last_activity_at: OffsetDateTime,
    /// A direct conversation's key: its two users' ids, the smaller first,
    /// joined by `:` (unique, so a pair has one direct conversation). A
    /// group's is its own id, so the key is unique for every conversation.
    pub key: String,
}

impl Conversation {
    /// The key of the direct conversation between `a` and `b`.
    pub fn direct_key(a: UserId, b: UserId) -> String {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        format!("{lo}:{hi}")
    }
}

/// One participant of a conversation: a small record each, holding their
/// read position (not a record per message per reader).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Participant {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// The user.
    pub user_id: UserId,
    /// When they joined.
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
    /// Sequence number of the newest message they have read: marking read
    /// raises it, and so does posting (who writes has seen the
    /// conversation up to their message). Never lowered.
    pub read_seq: u64,
    /// The conversation's last activity, kept here too so that a user's
    /// conversations are listed from their own records by an index.
    #[serde(with = "time::serde::rfc3339")]
    pub last_activity_at: OffsetDateTime,
}

/// A message in a conversation between users.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ConversationMessage {
    /// Unique id.
    pub id: MessageId,
    /// The conversation.
    pub conversation_id: ConversationId,
    /// Its place in the conversation (1 for the first), assigned by the
    /// store when it is posted; listings are newest first by it.
    pub seq: u64,
    /// Who wrote it (the id stays after their account is deleted).
    pub sender_id: UserId,
    /// The text; `None` once removed (a tombstone).
    pub content: Option<String>,
    /// The message it replies to, in the same conversation.
    pub parent_id: Option<MessageId>,
    /// When it was posted.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was removed, for a tombstone.
    #[serde(with = "time::serde::rfc3339::option")]
    pub deleted_at: Option<OffsetDateTime>,
}

impl ConversationMessage {
    /// Whether it was removed.
    pub fn is_deleted(&self) -> bool {
        self.content.is_none()
    }

    /// The beginning of its text, for lists.
    pub fn preview(&self) -> Option<String> {
        self.content
            .as_ref()
            .map(|c| c.chars().take(PREVIEW_CHARS).collect())
    }
}

impl Listed for ConversationMessage {
    fn position(&self) -> Cursor {
        Cursor {
            at: self.created_at,
            id: self.id.as_uuid(),
        }
    }
}

/// One of a user's conversations as their list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationEntry {
    /// The conversation.
    pub conversation: Conversation,
    /// The user's read position.
    pub read_seq: u64,
    /// The conversation's last activity, as the user's record holds it
    /// (the list's order).
    pub last_activity_at: OffsetDateTime,
    /// Its newest message, if any.
    pub last_message: Option<ConversationMessage>,
}

impl ConversationEntry {
    /// Messages after the user's read position: the difference of two
    /// numbers each record holds, so no history is counted.
    pub fn unread_count(&self) -> u64 {
        self.conversation.last_seq.saturating_sub(self.read_seq)
    }
}

impl Listed for ConversationEntry {
    fn position(&self) -> Cursor {
        Cursor {
            at: self.last_activity_at,
            id: self.conversation.id.as_uuid(),
        }
    }
}

/// A user blocking another.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Block {
    /// Who blocks.
    pub blocker_id: UserId,
    /// Who is blocked.
    pub blocked_id: UserId,
    /// Since when.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A participant as others see them.
#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantName {
    /// The user.
    pub user_id: UserId,
    /// Their username (`None` for an account deleted meanwhile).
    pub username: Option<Username>,
    /// Their read position.
    pub read_seq: u64,
}

/// A conversation with its participants.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationDetails {
    /// The conversation.
    pub conversation: Conversation,
    /// Its participants, in the order they joined.
    pub participants: Vec<ParticipantName>,
}

/// A message with who of the other participants has read it.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageReads {
    /// The message.
    pub message: ConversationMessage,
    /// The participants other than its sender whose read position is at or
    /// past it.
    pub read_by: Vec<UserId>,
}

/// What starting a conversation did.
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    /// The conversation.
    pub view: ConversationDetails,
    /// `false` when the pair's direct conversation existed and is returned.
    pub created: bool,
}

/// Why a text is not acceptable as a message or a title.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Empty (or only white space).
    #[error("must not be empty")]
    Empty,
    /// Longer than allowed (the limit in characters).
    #[error("must be at most {0} characters")]
    TooLong(usize),
    /// Holds a control character other than newline and tab.
    #[error("must not contain control characters other than newline and tab")]
    ControlCharacters,
}

/// A message's text: 1–10,000 characters, not only white space, no control
/// characters other than newline and tab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageContent(String);

impl MessageContent {
    /// Checks `text`.
    pub fn parse(text: &str) -> Result<Self, TextError> {
        checked(text, MAX_MESSAGE_CHARS, true).map(Self)
    }

    /// The text.
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A group's title: 1–200 characters on one line, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationTitle(String);

impl ConversationTitle {
    /// Checks `text`.
    pub fn parse(text: &str) -> Result<Self, TextError> {
        checked(text.trim(), MAX_TITLE_CHARS, false).map(Self)
    }

    /// The title.
    pub fn into_inner(self) -> String {
        self.0
    }
}

fn checked(text: &str, max: usize, multiline: bool) -> Result<String, TextError> {
    if text.trim().is_empty() {
        return Err(TextError::Empty);
    }
    if !crate::kernel::stores::within(text, max) {
        return Err(TextError::TooLong(max));
    }
    let allowed = |c: char| multiline && (c == '\n' || c == '\t');
    if text.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(TextError::ControlCharacters);
    }
    Ok(text.to_owned())
}
