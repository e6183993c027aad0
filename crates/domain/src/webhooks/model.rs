//! The records of outgoing webhooks and the ports that keep them.

use std::fmt;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{
    Sealed, StoreError, WebhookDeliveryId, WebhookEventId, WebhookId, WebhookUrl, WriteError,
};

macro_rules! webhook_event_types {
    ($( $(#[$doc:meta])* $name:ident = $wire:literal, )*) => {
        /// What an event says happened: its `type` on the wire.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum WebhookEventType {
            $($(#[$doc])* $name,)*
            /// Sent by `POST /v1/webhooks/{id}/test` to that endpoint only;
            /// nobody subscribes to it.
            Test,
        }

        impl WebhookEventType {
            /// The types an endpoint may subscribe to, in the documented order.
            pub const SUBSCRIBABLE: &'static [WebhookEventType] = &[$(WebhookEventType::$name),*];

            /// The wire name (`user.created`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(WebhookEventType::$name => $wire,)*
                    WebhookEventType::Test => "webhook.test",
                }
            }
        }
    };
}

webhook_event_types! {
    /// An account was created (registration, an identity provider, the
    /// first administrator). Data: `user_id`.
    UserCreated = "user.created",
    /// An address was verified. Data: `user_id`.
    UserVerified = "user.verified",
    /// An account was deleted. Data: `user_id`.
    UserDeleted = "user.deleted",
    /// An administrator suspended an account. Data: `user_id`, `reason`, `until`.
    UserSuspended = "user.suspended",
    /// A suspension was lifted. Data: `user_id`.
    UserUnsuspended = "user.unsuspended",
    /// A sign-in made a session (refreshes do not). Data: `user_id`, `method`.
    SessionCreated = "session.created",
    /// A role was granted. Data: `user_id`, `role`.
    RoleGranted = "role.granted",
    /// A role was revoked. Data: `user_id`, `role`.
    RoleRevoked = "role.revoked",
    /// A user's plan changed. Data: `user_id`, `plan`, `until`.
    PlanChanged = "plan.changed",
    /// A payment succeeded. Data: the payment's id, payer, amount, currency.
    PaymentSucceeded = "payment.succeeded",
    /// A payment failed. Data: as for `payment.succeeded`.
    PaymentFailed = "payment.failed",
    /// An upload completed. Data: `upload_id`, `user_id`, `content_type`, `size`.
    UploadCompleted = "upload.completed",
}

impl WebhookEventType {
    /// The type named `name` (the test event included).
    pub fn parse(name: &str) -> Option<Self> {
        Self::SUBSCRIBABLE
            .iter()
            .copied()
            .chain([Self::Test])
            .find(|t| t.as_str() == name)
    }
}

impl fmt::Display for WebhookEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for WebhookEventType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for WebhookEventType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Self::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown webhook event {name:?}")))
    }
}

/// Why a webhook's input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookInputError {
    /// Not an absolute http(s) URL without credentials, or too long.
    #[error(
        "url must be an absolute http or https URL without user name or password, at most 2000 characters"
    )]
    BadUrl,
    /// Plain http to something other than loopback, or loopback while
    /// `allow_loopback` is off.
    #[error(
        "url must be https (http only to a loopback address, when webhooks.allow_loopback is on)"
    )]
    NotHttps,
    /// A loopback address while `allow_loopback` is off.
    #[error("loopback destinations are refused (webhooks.allow_loopback is off)")]
    Loopback,
    /// A private, link-local or otherwise non-public address while
    /// `allow_private` is off.
    #[error(
        "private, link-local and other non-public destinations are refused (webhooks.allow_private is off)"
    )]
    Private,
    /// No event types.
    #[error("events must name at least one event type")]
    NoEvents,
    /// An event type that does not exist.
    #[error("unknown event type {0:?}")]
    UnknownEvent(String),
    /// The description is longer than 500 characters.
    #[error("description must be at most 500 characters")]
    Description,
}

/// The event types an endpoint subscribes to: at least one, each once,
/// in the documented order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct WebhookEvents(Vec<WebhookEventType>);

impl WebhookEvents {
    /// Parses names; the test event cannot be subscribed to.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Result<Self, WebhookInputError> {
        let mut types = Vec::with_capacity(names.len());
        for name in names {
            let name = name.as_ref();
            match WebhookEventType::parse(name) {
                Some(t) if t != WebhookEventType::Test => types.push(t),
                _ => return Err(WebhookInputError::UnknownEvent(name.to_owned())),
            }
        }
        if types.is_empty() {
            return Err(WebhookInputError::NoEvents);
        }
        types.sort();
        types.dedup();
        Ok(Self(types))
    }

    /// Reads back what [`WebhookEvents::to_stored`] wrote.
    pub fn from_stored(raw: &str) -> Result<Self, StoreError> {
        let names: Vec<&str> = raw.split(',').collect();
        Self::parse(&names).map_err(|e| StoreError::with_source("stored webhook events", e))
    }

    /// The names, comma-separated (as SQL and Redis keep them).
    pub fn to_stored(&self) -> String {
        self.names().join(",")
    }

    /// The wire names.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|t| t.as_str()).collect()
    }

    /// Whether `event` is one of them.
    pub fn contains(&self, event: WebhookEventType) -> bool {
        self.0.contains(&event)
    }

    /// The types.
    pub fn types(&self) -> &[WebhookEventType] {
        &self.0
    }
}

impl TryFrom<Vec<String>> for WebhookEvents {
    type Error = WebhookInputError;
    fn try_from(names: Vec<String>) -> Result<Self, Self::Error> {
        Self::parse(&names)
    }
}

impl From<WebhookEvents> for Vec<String> {
    fn from(events: WebhookEvents) -> Self {
        events.names().into_iter().map(str::to_owned).collect()
    }
}

/// Where events are sent.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WebhookEndpoint {
    /// Its id.
    pub id: WebhookId,
    /// Where deliveries are posted.
    pub url: WebhookUrl,
    /// What it receives.
    pub events: WebhookEvents,
    /// The signing secret's 32 bytes, sealed under the keyring with the
    /// context `webhook:<id>`.
    pub secret: Sealed,
    /// Free text, at most 500 characters.
    pub description: Option<String>,
    /// Whether deliveries are made; turned off after three days of failures.
    pub enabled: bool,
    /// The first failure since the last success, while it keeps failing.
    #[serde(with = "time::serde::rfc3339::option")]
    pub failing_since: Option<OffsetDateTime>,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl WebhookEndpoint {
    /// The context its secret is sealed under.
    pub fn secret_context(id: WebhookId) -> String {
        format!("webhook:{id}")
    }
}

/// A change to an endpoint: the fields given, and only those.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookChange {
    /// A new URL.
    pub url: Option<WebhookUrl>,
    /// New event types.
    pub events: Option<WebhookEvents>,
    /// A new description (`Some(None)` removes it).
    pub description: Option<Option<String>>,
    /// Turns deliveries on or off; turning them on forgets past failures.
    pub enabled: Option<bool>,
}

/// One event queued for one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookDelivery {
    /// Its id (one per event and endpoint).
    pub id: WebhookDeliveryId,
    /// The endpoint.
    pub endpoint_id: WebhookId,
    /// The event: its `webhook-id`.
    pub event_id: WebhookEventId,
    /// The event's type.
    pub event_type: WebhookEventType,
    /// The body to post, as it is signed: `{type, timestamp, data}`.
    pub payload: String,
    /// When the event happened.
    pub created_at: OffsetDateTime,
    /// Attempts so far: 0 when queued, one more per [`WebhookQueue::claim`].
    pub attempts: u32,
}

/// One attempt to deliver, for the endpoint's delivery log.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WebhookAttempt {
    /// The endpoint.
    pub endpoint_id: WebhookId,
    /// The event.
    pub event_id: WebhookEventId,
    /// Its type.
    pub event_type: WebhookEventType,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The receiver's status code, when it answered.
    pub status: Option<u16>,
    /// Why it failed without an answer (timeout, refused address, …), or
    /// why a non-2xx answer counts as a failure.
    pub error: Option<String>,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl WebhookAttempt {
    /// Whether the receiver took it (a 2xx answer).
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Webhook endpoints and their delivery log.
#[portico_macros::port("webhooks")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait WebhookRepository: Send + Sync {
    /// Stores a new endpoint (its id is new).
    async fn create(&self, endpoint: &WebhookEndpoint) -> Result<(), StoreError>;

    /// The endpoint `id`.
    async fn get(&self, id: WebhookId) -> Result<Option<WebhookEndpoint>, StoreError>;

    /// Every endpoint, oldest first.
    async fn list(&self) -> Result<Vec<WebhookEndpoint>, StoreError>;

    /// Changes the fields `change` gives and no other (concurrent changes
    /// of different fields both land); `enabled: Some(true)` also clears
    /// `failing_since`. Returns the endpoint as it is after; `NotFound`
    /// when there is none.
    async fn update(
        &self,
        id: WebhookId,
        change: &WebhookChange,
    ) -> Result<WebhookEndpoint, WriteError>;

    /// Deletes the endpoint and its delivery log; `NotFound` when there is none.
    async fn delete(&self, id: WebhookId) -> Result<(), WriteError>;

    /// A delivery failed at `at`: sets `failing_since` to `at` unless it is
    /// set, and returns it. MUST be atomic: of concurrent calls, all return
    /// the same instant (the first one's).
    async fn record_failure(
        &self,
        id: WebhookId,
        at: OffsetDateTime,
    ) -> Result<OffsetDateTime, WriteError>;

    /// A delivery succeeded: clears `failing_since`. A missing endpoint is
    /// not an error.
    async fn record_success(&self, id: WebhookId) -> Result<(), StoreError>;

    /// Turns the endpoint off if it is still failing since `since`
    /// (compare-and-set: a success or a re-enabling in between wins);
    /// returns whether it did.
    async fn disable_failing(
        &self,
        id: WebhookId,
        since: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Appends an attempt to the endpoint's delivery log.
    async fn log_attempt(&self, attempt: &WebhookAttempt) -> Result<(), StoreError>;

    /// The endpoint's newest `limit` attempts, newest first.
    async fn attempts(&self, id: WebhookId, limit: u32) -> Result<Vec<WebhookAttempt>, StoreError>;

    /// Deletes up to `limit` attempts made before `before` (any endpoint);
    /// returns how many.
    async fn purge_attempts_before(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<u64, StoreError>;
}

/// The durable queue of webhook deliveries, worked like the mail queue:
/// due from when it is queued; a claim hides a delivery from other claims
/// for a while (a worker that dies mid-delivery only delays it); a
/// delivery is removed once taken or given up on, or made due again later.
#[portico_macros::port("webhook_queue")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait WebhookQueue: Send + Sync {
    /// Queues `delivery`, due at once; its `attempts` is stored as given.
    async fn enqueue(&self, delivery: &WebhookDelivery) -> Result<(), StoreError>;

    /// Claims up to `limit` deliveries due at `now` (due longest first) and
    /// returns them oldest event first: each one's `attempts` goes up by
    /// one (returned with the new count) and it is not due again until
    /// `until`. MUST be atomic: of concurrent claims, at most one returns
    /// any given delivery.
    async fn claim(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError>;

    /// Makes a delivery due again at `at`, keeping its attempts; `NotFound`
    /// when it is gone.
    async fn retry_at(&self, id: WebhookDeliveryId, at: OffsetDateTime) -> Result<(), WriteError>;

    /// Removes a delivery; a missing one is not an error.
    async fn remove(&self, id: WebhookDeliveryId) -> Result<(), StoreError>;

    /// How many deliveries are queued, due or not.
    async fn count(&self) -> Result<u64, StoreError>;
}
