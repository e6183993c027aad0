//! Outgoing webhooks (Standard Webhooks): endpoints and their delivery log.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookBody {
    /// Where deliveries are posted: https (http only to a loopback address
    /// when `webhooks.allow_loopback` is on); private and link-local
    /// addresses are refused unless `webhooks.allow_private` is on.
    #[schema(example = "https://hooks.example.com/portico")]
    pub url: String,
    /// The event types to receive (at least one): `user.created`,
    /// `user.verified`, `user.deleted`, `user.suspended`,
    /// `user.unsuspended`, `session.created`, `role.granted`,
    /// `role.revoked`, `plan.changed`, `payment.succeeded`,
    /// `payment.failed`, `upload.completed`.
    #[schema(example = json!(["user.created", "payment.succeeded"]))]
    pub events: Vec<String>,
    /// Free text, at most 500 characters.
    #[serde(default)]
    #[schema(example = "Billing service")]
    pub description: Option<String>,
}

/// Changes to an endpoint; absent fields stay as they are, a `null`
/// description removes it. Turning `enabled` on again forgets past
/// failures.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookBody {
    /// A new URL (checked as at creation).
    #[schema(example = "https://hooks.example.com/portico-v2")]
    pub url: Option<String>,
    /// New event types.
    #[schema(example = json!(["user.deleted"]))]
    pub events: Option<Vec<String>>,
    /// A new description.
    #[serde(default, deserialize_with = "crate::schema::nullable")]
    #[schema(value_type = Option<String>, example = "Billing service")]
    pub description: Option<Option<String>>,
    /// Deliveries on or off.
    pub enabled: Option<bool>,
}

/// An endpoint (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    /// Its id.
    pub id: Uuid,
    /// Where deliveries are posted.
    #[schema(example = "https://hooks.example.com/portico")]
    pub url: String,
    /// The event types it receives.
    #[schema(example = json!(["payment.succeeded", "user.created"]))]
    pub events: Vec<String>,
    /// Free text.
    #[schema(example = "Billing service")]
    pub description: Option<String>,
    /// Whether deliveries are made (turned off after 3 days of failures).
    pub enabled: bool,
    /// The first failure since the last success, while it keeps failing.
    #[serde(with = "time::serde::rfc3339::option")]
    pub failing_since: Option<OffsetDateTime>,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<domain::WebhookEndpoint> for WebhookView {
    fn from(e: domain::WebhookEndpoint) -> Self {
        Self {
            id: e.id.as_uuid(),
            url: e.url.as_str().to_owned(),
            events: e.events.names().into_iter().map(str::to_owned).collect(),
            description: e.description,
            enabled: e.enabled,
            failing_since: e.failing_since,
            created_at: e.created_at,
        }
    }
}

/// An endpoint just made, with its signing secret: shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhookView {
    /// Its id.
    pub id: Uuid,
    /// Where deliveries are posted.
    #[schema(example = "https://hooks.example.com/portico")]
    pub url: String,
    /// The event types it receives.
    #[schema(example = json!(["payment.succeeded", "user.created"]))]
    pub events: Vec<String>,
    /// `whsec_` and the base64 of 32 random bytes: give it to your
    /// receiver's Standard Webhooks library to verify `webhook-signature`.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<domain::CreatedWebhook> for CreatedWebhookView {
    fn from(c: domain::CreatedWebhook) -> Self {
        let view = WebhookView::from(c.endpoint);
        Self {
            id: view.id,
            url: view.url,
            events: view.events,
            secret: c.secret.expose(),
            created_at: view.created_at,
        }
    }
}

/// Every endpoint, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    /// The endpoints.
    pub items: Vec<WebhookView>,
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAttemptView {
    /// The event's `webhook-id` (the same on every retry).
    #[schema(example = "msg_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b")]
    pub event_id: String,
    /// The event's type.
    #[schema(example = "user.created")]
    pub event_type: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The receiver's status code, when it answered.
    pub status: Option<u16>,
    /// Why it failed (no answer, or a non-2xx one).
    #[schema(example = "answered 503")]
    pub error: Option<String>,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl From<domain::WebhookAttempt> for WebhookAttemptView {
    fn from(a: domain::WebhookAttempt) -> Self {
        Self {
            event_id: domain::message_id(a.event_id),
            event_type: a.event_type.as_str().to_owned(),
            attempt: a.attempt,
            status: a.status,
            error: a.error,
            at: a.at,
        }
    }
}

/// An endpoint's recent attempts, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAttemptList {
    /// The attempts.
    pub items: Vec<WebhookAttemptView>,
}

/// A test event queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookTestSent {
    /// Its `webhook-id`.
    #[schema(example = "msg_0193a1b2c3d47e8f9a0b1c2d3e4f5a6b")]
    pub event_id: String,
}
