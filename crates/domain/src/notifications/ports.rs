//! Notifications (`notifications`, TTL on `expiresAt`).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{
    ContentSessionId, MessageId, NotificationId, Page, PageRequest, StoreError, UserId, WriteError,
};

/// How urgent a notification is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Can wait.
    Low,
    /// Ordinary: shown without drawing attention (the default).
    #[default]
    Normal,
    /// Needs attention now.
    High,
}

impl Urgency {
    /// Every value, in the order above.
    pub const ALL: [Self; 3] = [Self::Low, Self::Normal, Self::High];

    /// Stable name for storage.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
        }
    }
    /// Parses [`Urgency::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "low" => Some(Self::Low),
            "normal" => Some(Self::Normal),
            "high" => Some(Self::High),
            _ => None,
        }
    }
}

/// A notification for one user.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Notification {
    /// Unique id, assigned at creation; it also orders items created in the same millisecond.
    pub id: NotificationId,
    /// The user it is for.
    pub user_id: UserId,
    /// Related content session.
    pub content_session_id: Option<ContentSessionId>,
    /// Related conversation between users.
    #[serde(default)]
    pub conversation_id: Option<crate::ConversationId>,
    /// Related message.
    pub message_id: Option<MessageId>,
    /// Related task (an id in some other system).
    pub task_id: Option<String>,
    /// Kind, for example `payment_received`.
    pub kind: String,
    /// Short text to show.
    pub toast_message: Option<String>,
    /// Related image (URL or object key).
    pub image: Option<String>,
    /// How prominently clients should show it (`normal` unless set).
    pub urgency: Urgency,
    /// Stays until dismissed, rather than fading after being shown.
    pub persistent: bool,
    /// When first marked seen; `None` while unseen.
    #[serde(with = "time::serde::rfc3339::option")]
    pub seen_at: Option<OffsetDateTime>,
    /// The user's response, a JSON object.
    pub response_data: Option<serde_json::Value>,
    /// When it was created; listings are newest first by this.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Invisible from this instant on, then purged.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// Stores notifications.
#[portico_macros::port("notifications")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait NotificationRepository: Send + Sync {
    /// Inserts a notification. The store MAY expire it natively at `expires_at`.
    async fn create(&self, notification: &Notification) -> Result<(), StoreError>;

    /// The user's notification `id` if it exists, belongs to the user and has
    /// not expired at `now`; otherwise `None`.
    async fn get(
        &self,
        user_id: UserId,
        id: NotificationId,
        now: OffsetDateTime,
    ) -> Result<Option<Notification>, StoreError>;

    /// The user's notifications newest first, only those unexpired at `now`,
    /// only unseen ones when `unseen_only`.
    async fn list(
        &self,
        user_id: UserId,
        unseen_only: bool,
        now: OffsetDateTime,
        page: PageRequest,
    ) -> Result<Page<Notification>, StoreError>;

    /// Marks one seen at `at`; an already seen one keeps its first `seen_at`.
    /// `NotFound` if it does not exist or belongs to another user.
    async fn mark_seen(
        &self,
        user_id: UserId,
        id: NotificationId,
        at: OffsetDateTime,
    ) -> Result<(), WriteError>;

    /// Marks every unseen notification of the user seen at `at`; returns how many changed.
    async fn mark_all_seen(&self, user_id: UserId, at: OffsetDateTime) -> Result<u64, StoreError>;

    /// Stores the user's response. `NotFound` if it does not exist or belongs to another user.
    async fn set_response(
        &self,
        user_id: UserId,
        id: NotificationId,
        data: &serde_json::Value,
    ) -> Result<(), WriteError>;

    /// Deletes one. `NotFound` if it does not exist or belongs to another user.
    async fn delete(&self, user_id: UserId, id: NotificationId) -> Result<(), WriteError>;

    /// Deletes notifications expired at `now`; returns how many (0 where the store expires them itself).
    /// At most `limit` per call: the purge calls again while a batch comes
    /// back full, so no statement holds its locks long.
    async fn purge_expired(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError>;

    /// Deletes every notification of the user; returns how many.
    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError>;
}
