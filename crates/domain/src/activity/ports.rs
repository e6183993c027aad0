//! Activity events and their repository.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{ActivityEventId, Page, PageRequest, StoreError, UserId};

macro_rules! activity_kinds {
    ($($(#[$doc:meta])* $name:ident = $wire:literal,)*) => {
        /// What happened: the stable event types (their wire names never change).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ActivityKind {
            $($(#[$doc])* $name,)*
        }

        impl ActivityKind {
            /// Every type, in the documented order.
            pub const ALL: &'static [ActivityKind] = &[$(ActivityKind::$name),*];

            /// The wire name (`sign_in.succeeded`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ActivityKind::$name => $wire,)*
                }
            }
        }
    };
}

activity_kinds! {
    /// An address was verified and its account created (details: none).
    RegistrationVerified = "registration.verified",
    /// A sign-in completed (details: `method`: password, mfa, provider, refresh).
    SignInSucceeded = "sign_in.succeeded",
    /// A sign-in was refused after the account was found (details:
    /// `reason`: password, code, locked, suspended).
    SignInFailed = "sign_in.failed",
    /// A session was signed out or revoked (details: `session_id`).
    SessionRevoked = "session.revoked",
    /// A refresh token was used twice; its session was revoked.
    SessionRefreshReused = "session.refresh_reused",
    /// The user changed the password.
    PasswordChanged = "password.changed",
    /// The password was set through a reset mail.
    PasswordReset = "password.reset",
    /// TOTP was turned on.
    MfaEnabled = "mfa.enabled",
    /// TOTP was turned off (by the user, or by an administrator).
    MfaDisabled = "mfa.disabled",
    /// New backup codes replaced the old ones.
    MfaBackupCodesRegenerated = "mfa.backup_codes_regenerated",
    /// A backup code was spent signing in.
    MfaBackupCodeUsed = "mfa.backup_code_used",
    /// An identity provider was linked (details: `provider`).
    ProviderLinked = "provider.linked",
    /// An identity provider was unlinked (details: `provider`).
    ProviderUnlinked = "provider.unlinked",
    /// A passkey was added.
    PasskeyAdded = "passkey.added",
    /// A passkey was removed.
    PasskeyRemoved = "passkey.removed",
    /// An API key was created.
    ApiKeyCreated = "api_key.created",
    /// An API key was revoked.
    ApiKeyRevoked = "api_key.revoked",
    /// A role was granted (details: `role`).
    RoleGranted = "role.granted",
    /// A role was revoked (details: `role`).
    RoleRevoked = "role.revoked",
    /// An administrator locked the account.
    UserLocked = "user.locked",
    /// An administrator unlocked the account.
    UserUnlocked = "user.unlocked",
    /// An administrator suspended the account (details: `reason`, `until`).
    UserSuspended = "user.suspended",
    /// An administrator lifted a suspension.
    UserUnsuspended = "user.unsuspended",
    /// The user's plan changed (details: `plan`, `until`).
    PlanChanged = "plan.changed",
    /// A day or month quota was used up (details: `window`, `limit`); once per window.
    QuotaExceeded = "quota.exceeded",
    /// A runtime setting changed.
    SettingsChanged = "settings.changed",
    /// A moderator removed a message the user sent in a conversation
    /// (details: `conversation_id`, `message_id`); the actor is the moderator.
    MessageRemoved = "message.removed",
    /// The account was deleted: the one event kept, with only the user's id.
    AccountDeleted = "account.deleted",
}

impl ActivityKind {
    /// The type with wire name `name`, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == name)
    }
}

impl serde::Serialize for ActivityKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ActivityKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown activity type {name:?}")))
    }
}

/// Who made a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "user_id", rename_all = "snake_case")]
pub enum Actor {
    /// The user themselves.
    User(UserId),
    /// An administrator (another user acting on permissions).
    Admin(UserId),
    /// Portico itself (a job, an expiry).
    System,
}

impl Actor {
    /// `user`, `admin` or `system`.
    pub fn kind(self) -> &'static str {
        match self {
            Self::User(_) => "user",
            Self::Admin(_) => "admin",
            Self::System => "system",
        }
    }

    /// The acting user, if a user acted.
    pub fn user_id(self) -> Option<UserId> {
        match self {
            Self::User(id) | Self::Admin(id) => Some(id),
            Self::System => None,
        }
    }

    /// The actor read back from a store (`None` for an unknown kind or a
    /// user kind without its id).
    pub fn from_stored(kind: &str, user_id: Option<UserId>) -> Option<Self> {
        match (kind, user_id) {
            ("user", Some(id)) => Some(Self::User(id)),
            ("admin", Some(id)) => Some(Self::Admin(id)),
            ("system", _) => Some(Self::System),
            _ => None,
        }
    }
}

/// One thing that happened to an account.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ActivityEvent {
    /// Unique id (it also orders events of the same millisecond).
    pub id: ActivityEventId,
    /// What happened.
    pub kind: ActivityKind,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The account it happened to.
    pub user_id: UserId,
    /// Who did it.
    pub actor: Actor,
    /// The client's IP address, where there was a request (at most 64 characters).
    pub ip: Option<String>,
    /// The client's device, where there was a request.
    pub device: Option<crate::Device>,
    /// What else there is to say, per type (see [`ActivityKind`]).
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl crate::Listed for ActivityEvent {
    fn position(&self) -> crate::Cursor {
        crate::Cursor {
            at: self.at,
            id: self.id.as_uuid(),
        }
    }
}

/// Which events [`ActivityRepository::list`] returns: every condition set
/// must hold; the default returns all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityFilter {
    /// Events of this account.
    pub user_id: Option<UserId>,
    /// Events this user made (as the user or as an administrator).
    pub actor_id: Option<UserId>,
    /// Events of this type.
    pub kind: Option<ActivityKind>,
    /// Events at or after this time.
    pub from: Option<OffsetDateTime>,
    /// Events before this time.
    pub to: Option<OffsetDateTime>,
}

impl ActivityFilter {
    /// Whether `event` passes: what an adapter that filters in memory
    /// checks, and what a query of the others MUST agree with.
    pub fn matches(&self, event: &ActivityEvent) -> bool {
        self.user_id.is_none_or(|u| event.user_id == u)
            && self
                .actor_id
                .is_none_or(|a| event.actor.user_id() == Some(a))
            && self.kind.is_none_or(|k| event.kind == k)
            && self.from.is_none_or(|from| event.at >= from)
            && self.to.is_none_or(|to| event.at < to)
    }
}

/// Stores activity events.
#[portico_macros::port("activity")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ActivityRepository: Send + Sync {
    /// Stores an event exactly as given (details, IP and device read back
    /// as written). Appending an id that is stored already MUST leave the
    /// stored one and succeed (a retry of a write whose answer was lost).
    async fn append(&self, event: &ActivityEvent) -> Result<(), StoreError>;

    /// Events that pass `filter` ([`ActivityFilter::matches`]), newest
    /// first by time then id, paged by [`crate::Cursor`] (`at`, `id`). A
    /// page of one user's events MUST NOT take time in the number of other
    /// users' events (an index on the user); other filters MAY scan.
    async fn list(
        &self,
        filter: &ActivityFilter,
        page: PageRequest,
    ) -> Result<Page<ActivityEvent>, StoreError>;

    /// Deletes at most `limit` of the oldest events from before `before`
    /// and returns how many (the purge job calls it until it returns less
    /// than `limit`, so no call holds a long lock).
    async fn purge_before(&self, before: OffsetDateTime, limit: u32) -> Result<u64, StoreError>;

    /// Deletes every event of the account `user_id` and returns how many.
    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError>;
}
