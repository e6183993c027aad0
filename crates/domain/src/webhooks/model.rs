//! The records of outgoing webhooks and the ports that keep them.

use std::fmt;
use std::net::IpAddr;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{Sealed, StoreError, WebhookDeliveryId, WebhookEventId, WebhookId, WriteError};

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

/// An endpoint's URL: absolute http or https, a host, no credentials, at
/// most 2000 characters. Where it may point is checked separately
/// ([`WebhookNetPolicy`]), when it is set and again, after DNS, when sending.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    /// Parses a URL.
    pub fn parse(raw: &str) -> Result<Self, WebhookInputError> {
        if raw.len() > 2000 {
            return Err(WebhookInputError::BadUrl);
        }
        let url = url::Url::parse(raw).map_err(|_| WebhookInputError::BadUrl)?;
        let ok = matches!(url.scheme(), "http" | "https")
            && url.host().is_some()
            && url.username().is_empty()
            && url.password().is_none()
            && url.fragment().is_none();
        if ok {
            Ok(Self(url))
        } else {
            Err(WebhookInputError::BadUrl)
        }
    }

    /// Reads a stored URL back; one that does not parse is a corrupt record.
    pub fn from_stored(raw: &str) -> Result<Self, StoreError> {
        Self::parse(raw).map_err(|e| StoreError::with_source("stored webhook url", e))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// Whether it is https.
    pub fn is_https(&self) -> bool {
        self.0.scheme() == "https"
    }

    /// The host as written (a name, or an address without IPv6 brackets).
    pub fn host(&self) -> String {
        match self.0.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(h) => h.to_string(),
            None => String::new(),
        }
    }

    /// The port, the scheme's default when none is written.
    pub fn port(&self) -> u16 {
        self.0.port_or_known_default().unwrap_or(443)
    }

    /// The address, when the host is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self.0.host()? {
            url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            url::Host::Domain(_) => None,
        }
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({})", self.0)
    }
}

impl TryFrom<String> for WebhookUrl {
    type Error = WebhookInputError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<WebhookUrl> for String {
    fn from(url: WebhookUrl) -> Self {
        url.0.into()
    }
}

/// What kind of address a destination is, for [`WebhookNetPolicy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// A public unicast address.
    Public,
    /// 127.0.0.0/8 or ::1.
    Loopback,
    /// Anything else that is not public: private ranges (10/8, 172.16/12,
    /// 192.168/16, fc00::/7), link-local (169.254/16 — where cloud metadata
    /// services answer — and fe80::/10), carrier-grade NAT (100.64/10),
    /// unspecified, broadcast, multicast, documentation and reserved ranges,
    /// and IPv4 addresses mapped into IPv6 that are one of these.
    Private,
}

impl AddressClass {
    /// Classifies `ip`.
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => {
                let [a, b, ..] = v4.octets();
                if v4.is_loopback() {
                    Self::Loopback
                } else if v4.is_private()
                    || v4.is_link_local()
                    || v4.is_unspecified()
                    || v4.is_broadcast()
                    || v4.is_multicast()
                    || v4.is_documentation()
                    || a == 0
                    || (a == 100 && (64..128).contains(&b))
                    || (a == 192 && b == 0)
                    || (a == 198 && (18..20).contains(&b))
                    || a >= 240
                {
                    Self::Private
                } else {
                    Self::Public
                }
            }
            IpAddr::V6(v6) => {
                if let Some(v4) = v6.to_ipv4_mapped() {
                    return Self::of(IpAddr::V4(v4));
                }
                let first = v6.segments()[0];
                if v6.is_loopback() {
                    Self::Loopback
                } else if v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80
                    || first == 0x2001 && v6.segments()[1] == 0x0db8
                    || first == 0x0064 && v6.segments()[1] == 0xff9b
                    || first == 0
                {
                    Self::Private
                } else {
                    Self::Public
                }
            }
        }
    }
}

/// Where webhooks may be sent: public addresses always; loopback and
/// private ones only when the deployment says so (a receiver on the same
/// machine or network), because a webhook URL is otherwise a way to make
/// the server call its own neighbours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookNetPolicy {
    /// Loopback destinations (and plain http to them) are allowed.
    pub allow_loopback: bool,
    /// Private, link-local and other non-public destinations are allowed.
    pub allow_private: bool,
}

impl WebhookNetPolicy {
    /// Whether `ip` may be connected to.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), WebhookInputError> {
        match AddressClass::of(ip) {
            AddressClass::Public => Ok(()),
            AddressClass::Loopback if self.allow_loopback => Ok(()),
            AddressClass::Loopback => Err(WebhookInputError::Loopback),
            AddressClass::Private if self.allow_private => Ok(()),
            AddressClass::Private => Err(WebhookInputError::Private),
        }
    }

    /// What can be checked of `url` before resolving it: the scheme, a
    /// literal address, and `localhost`. The sender checks every address a
    /// name resolves to again when it connects.
    pub fn check_url(&self, url: &WebhookUrl) -> Result<(), WebhookInputError> {
        let lower = url.host().to_ascii_lowercase();
        let host = lower.trim_end_matches('.');
        let named_loopback = host == "localhost" || host.ends_with(".localhost");
        let loopback = named_loopback
            || url
                .ip()
                .is_some_and(|ip| AddressClass::of(ip) == AddressClass::Loopback);
        if named_loopback && !self.allow_loopback {
            return Err(WebhookInputError::Loopback);
        }
        if let Some(ip) = url.ip() {
            self.check_ip(ip)?;
        }
        if !url.is_https() && !loopback {
            return Err(WebhookInputError::NotHttps);
        }
        Ok(())
    }
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
