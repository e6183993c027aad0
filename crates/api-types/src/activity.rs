//! The activity log: events and their pages and filters.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// Who made a change.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActorView {
    /// `user` (the account's owner), `admin` or `system`.
    #[schema(example = "user")]
    pub kind: &'static str,
    /// The acting user (absent for `system`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
}

/// One thing that happened to an account.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityEventView {
    /// Unique id.
    pub id: Uuid,
    /// The event type (a stable string, such as `sign_in.succeeded`).
    #[serde(rename = "type")]
    #[schema(example = "sign_in.succeeded")]
    pub kind: &'static str,
    /// When (RFC 3339, UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The account it happened to.
    pub user_id: Uuid,
    /// Who did it.
    pub actor: ActorView,
    /// The client's IP address, where there was a request.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "192.0.2.1")]
    pub ip: Option<String>,
    /// The client's device, where there was a request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<crate::DeviceView>,
    /// What else there is to say, per type (`method` of a sign-in, `reason` of a failure, …).
    #[schema(value_type = Object)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl From<domain::ActivityEvent> for ActivityEventView {
    fn from(e: domain::ActivityEvent) -> Self {
        Self {
            id: e.id.as_uuid(),
            kind: e.kind.as_str(),
            at: e.at,
            user_id: e.user_id.as_uuid(),
            actor: ActorView {
                kind: e.actor.kind(),
                user_id: e.actor.user_id().map(|u| u.as_uuid()),
            },
            ip: e.ip,
            device: e.device.map(crate::DeviceView::from),
            details: e.details,
        }
    }
}

/// A page of activity events.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityPage {
    /// Items, newest first.
    pub items: Vec<ActivityEventView>,
    /// Pass as `?cursor=` for the next page; null at the end.
    pub next_cursor: Option<String>,
}

impl From<domain::Page<domain::ActivityEvent>> for ActivityPage {
    fn from(p: domain::Page<domain::ActivityEvent>) -> Self {
        Self {
            items: p.items.into_iter().map(Into::into).collect(),
            next_cursor: p.next_cursor.map(|c| c.encode()),
        }
    }
}

/// The own events' filter and page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MyActivityQuery {
    /// Only events of this type.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Every event's filters and page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// Events of this account.
    pub user_id: Option<String>,
    /// Events this user made (as the user or as an administrator).
    pub actor_id: Option<String>,
    /// Only events of this type.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Events at or after this time (RFC 3339).
    pub from: Option<String>,
    /// Events before this time (RFC 3339).
    pub to: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}
