//! Notifications and their filters.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use domain::*;

/// A notification.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    /// Unique id, assigned at creation; it also orders items created in the same millisecond.
    pub id: Uuid,
    /// The user it is for.
    pub user_id: Uuid,
    /// Kind, e.g. `payment_received`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short text to show.
    pub toast_message: Option<String>,
    /// `low`, `normal` or `high`.
    #[schema(schema_with = crate::schema::urgency_schema)]
    pub urgency: Urgency,
    /// Stays until dismissed.
    pub persistent: bool,
    /// Related content session.
    pub content_session_id: Option<Uuid>,
    /// Related conversation between users (a `message` notification).
    pub conversation_id: Option<Uuid>,
    /// Related message.
    pub message_id: Option<Uuid>,
    /// Related task id.
    pub task_id: Option<String>,
    /// Related image.
    pub image: Option<String>,
    /// Whether it was seen.
    pub seen: bool,
    /// When it was first seen.
    #[serde(with = "time::serde::rfc3339::option")]
    pub seen_at: Option<OffsetDateTime>,
    /// The user's response.
    #[schema(value_type = Option<Object>)]
    pub response_data: Option<serde_json::Value>,
    /// When it was created (RFC 3339, UTC); lists are newest first by this.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Disappears then.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

impl From<Notification> for NotificationView {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id.as_uuid(),
            user_id: n.user_id.as_uuid(),
            kind: n.kind,
            toast_message: n.toast_message,
            urgency: n.urgency,
            persistent: n.persistent,
            content_session_id: n.content_session_id.map(|c| c.as_uuid()),
            conversation_id: n.conversation_id.map(|c| c.as_uuid()),
            message_id: n.message_id.map(|m| m.as_uuid()),
            task_id: n.task_id,
            image: n.image,
            seen: n.seen_at.is_some(),
            seen_at: n.seen_at,
            response_data: n.response_data,
            created_at: n.created_at,
            expires_at: n.expires_at,
        }
    }
}

page_of!(NotificationPage, NotificationView, "notifications");

/// List filters and paging.
#[derive(Debug, Deserialize, IntoParams)]
pub struct NotificationQuery {
    /// Only those not seen yet.
    #[serde(default)]
    pub unseen: bool,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// How many changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeenAll {
    /// Notifications marked seen now.
    pub marked: u64,
}

/// The user's answer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationResponse {
    /// A JSON object of at most 16 KiB.
    #[schema(value_type = Object)]
    pub response_data: serde_json::Value,
}

/// A notification to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNotification {
    /// Kind, 1–64 characters, e.g. `task_done`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short text (at most 1000 characters).
    pub toast_message: Option<String>,
    /// `low`, `normal` (default when absent or null) or `high`.
    #[serde(default)]
    #[schema(schema_with = crate::schema::optional_urgency_schema)]
    pub urgency: Option<Urgency>,
    /// Stays until dismissed.
    #[serde(default)]
    pub persistent: bool,
    /// Related content session.
    pub content_session_id: Option<Uuid>,
    /// Related message.
    pub message_id: Option<Uuid>,
    /// Related task id.
    pub task_id: Option<String>,
    /// Related image.
    pub image: Option<String>,
    /// Disappears at this instant (RFC 3339, in the future).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}
