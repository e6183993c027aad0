//! Users (`users`) and their repository.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{
    ContentSessionId, Email, Page, PageRequest, PasswordHash, StoreError, UserId, Username,
    WriteError,
};

/// Public profile (`profile`, `full_name`, `bio`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Full name.
    pub full_name: Option<String>,
    /// Free-text biography.
    pub bio: Option<String>,
    /// Avatar URL or object key.
    pub avatar: Option<String>,
    /// A web site: an absolute http or https URL.
    #[serde(default)]
    pub website: Option<String>,
    /// Where the user is, as free text (at most 100 characters).
    #[serde(default)]
    pub location: Option<String>,
}

/// A user account.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct User {
    /// Unique id, assigned at creation; it also orders items created in the same millisecond.
    pub id: UserId,
    /// Email, unique case-insensitively.
    pub email: Email,
    /// Username, unique.
    pub username: Username,
    /// Password hash; `None` for accounts that sign in only through a provider.
    pub password_hash: Option<PasswordHash>,
    /// Whether the email address was verified.
    pub verified: bool,
    /// Locked by an administrator until unlocked.
    pub locked: bool,
    /// Locked by repeated sign-in failures until this time.
    #[serde(with = "time::serde::rfc3339::option")]
    pub locked_until: Option<OffsetDateTime>,
    /// Sign-in failures since the last success.
    pub failed_logins: u32,
    /// What the user shows others: full name, bio and avatar.
    pub profile: Profile,
    /// Preferences as a JSON object (`preferences`).
    pub preferences: serde_json::Map<String, serde_json::Value>,
    /// The content session the user is in (`activeContentSessionId`).
    pub active_content_session_id: Option<ContentSessionId>,
    /// When it was created; listings are newest first by this.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed by [`UserRepository::update_fields`] (when the change sets it).
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// When the password was last set or an administrator last unlocked
    /// the account (creation at first). The password-guessing counters are
    /// keyed by it, so only such a security change starts them afresh: a
    /// profile edit, which moves `updated_at`, does not.
    #[serde(with = "time::serde::rfc3339")]
    pub security_changed_at: OffsetDateTime,
    /// Last successful sign-in (`lastAccessed`; the API shows it as
    /// `last_sign_in_at`). A password reset, which clears the lockout the
    /// same way, sets it too.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_accessed_at: Option<OffsetDateTime>,
    /// The start of the last minute the user made an authenticated
    /// request in, as far as the usage counters have written it (at most
    /// once a minute per user, off the request path).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_active_at: Option<OffsetDateTime>,
    /// A suspension by an administrator, if one was set and not lifted
    /// (it may have ended by itself: see [`crate::Suspension::active_at`]).
    pub suspension: Option<crate::Suspension>,
    /// The plan an administrator assigned, if any (see
    /// [`crate::PlanAssignment::active_at`]; without one, or after its end,
    /// the user is on the default plan).
    pub plan: Option<crate::PlanAssignment>,
    /// How the account came to be (`None` for accounts made before this
    /// was recorded). Written at creation, never changed.
    pub origin: Option<crate::UserOrigin>,
}

impl User {
    /// A new verified account with a password: no roles, default profile
    /// and preferences, not locked, created `now`.
    pub fn new_verified(
        id: UserId,
        email: Email,
        username: Username,
        password_hash: PasswordHash,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            password_hash: Some(password_hash),
            ..Self::new_verified_without_password(id, email, username, now)
        }
    }

    /// The same without a password: an account that signs in through an
    /// identity provider (it can set a password by a reset later).
    pub fn new_verified_without_password(
        id: UserId,
        email: Email,
        username: Username,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            email,
            username,
            password_hash: None,
            verified: true,
            locked: false,
            locked_until: None,
            failed_logins: 0,
            profile: Profile::default(),
            preferences: serde_json::Map::new(),
            active_content_session_id: None,
            created_at: now,
            updated_at: now,
            security_changed_at: now,
            last_accessed_at: None,
            last_active_at: None,
            suspension: None,
            plan: None,
            origin: None,
        }
    }
}

/// A change to some fields of a user, written atomically by
/// [`UserRepository::update_fields`]: fields left `None` are not touched, so
/// two concurrent changes of different fields both survive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserChanges {
    /// A new password hash (`Some(None)` removes it).
    pub password_hash: Option<Option<PasswordHash>>,
    /// A new verified flag.
    pub verified: Option<bool>,
    /// A new administrator lock flag.
    pub locked: Option<bool>,
    /// A new full name (`Some(None)` clears it).
    pub full_name: Option<Option<String>>,
    /// A new biography (`Some(None)` clears it).
    pub bio: Option<Option<String>>,
    /// A new avatar (`Some(None)` clears it).
    pub avatar: Option<Option<String>>,
    /// A new web site (`Some(None)` clears it).
    pub website: Option<Option<String>>,
    /// A new location (`Some(None)` clears it).
    pub location: Option<Option<String>>,
    /// New preferences, written only if the stored ones still equal `from`
    /// (compare-and-set: the caller merged `to` from what it read).
    pub preferences: Option<PreferencesSwap>,
    /// A change of the active content session.
    pub active_content_session: Option<ActiveSessionChange>,
    /// The new `updated_at`.
    pub updated_at: Option<OffsetDateTime>,
    /// The new `security_changed_at` (a new password, an administrator's
    /// unlock): the guessing counters start afresh.
    pub security_changed_at: Option<OffsetDateTime>,
    /// A new suspension (`Some(None)` lifts it).
    pub suspension: Option<Option<crate::Suspension>>,
    /// A new plan assignment (`Some(None)`: back to the default plan).
    pub plan: Option<Option<crate::PlanAssignment>>,
}

impl User {
    /// The suspension holding at `now`, if any.
    pub fn suspended_at(&self, now: OffsetDateTime) -> Option<&crate::Suspension> {
        self.suspension.as_ref().filter(|s| s.active_at(now))
    }

    /// The assigned plan holding at `now`, if any (`None`: the default plan).
    pub fn plan_at(&self, now: OffsetDateTime) -> Option<&crate::PlanAssignment> {
        self.plan.as_ref().filter(|p| p.active_at(now))
    }

    /// Whether the account is locked at `now`, by an administrator or by
    /// repeated sign-in failures.
    pub fn locked_at(&self, now: OffsetDateTime) -> bool {
        self.locked || self.locked_until.is_some_and(|until| until > now)
    }

    /// The account's standing at `now`, the first that holds of suspended,
    /// locked, unverified, active.
    pub fn status_at(&self, now: OffsetDateTime) -> UserStatus {
        if self.suspended_at(now).is_some() {
            UserStatus::Suspended
        } else if self.locked_at(now) {
            UserStatus::Locked
        } else if !self.verified {
            UserStatus::Unverified
        } else {
            UserStatus::Active
        }
    }
}

/// An account's standing, as the admin list shows and filters it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    /// None of the others.
    Active,
    /// Locked by an administrator, or by repeated sign-in failures.
    Locked,
    /// Suspended by an administrator.
    Suspended,
    /// The email address is not verified.
    Unverified,
}

impl UserStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Locked => "locked",
            Self::Suspended => "suspended",
            Self::Unverified => "unverified",
        }
    }

    /// Parses a wire name.
    pub fn parse(input: &str) -> Option<Self> {
        [
            Self::Active,
            Self::Locked,
            Self::Suspended,
            Self::Unverified,
        ]
        .into_iter()
        .find(|s| s.as_str() == input)
    }
}

/// Which users [`UserRepository::list`] returns: every condition set must
/// hold. The empty filter ([`UserFilter::default`]) returns everyone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFilter {
    /// A case-insensitive prefix of the email address or of the username
    /// (stored lowercase, at most 254 characters).
    pub prefix: Option<String>,
    /// Users in this standing at `at`. The standings are not exclusive
    /// here: `Locked` matches every locked user, suspended or not; `Active`
    /// matches users neither suspended, locked nor unverified.
    pub status: Option<UserStatus>,
    /// Users on this plan at `at` (for the default plan: users with no
    /// assignment holding at `at`, or one naming the default plan).
    pub plan: Option<crate::PlanName>,
    /// The time standings and plans are judged at.
    pub at: OffsetDateTime,
}

impl Default for UserFilter {
    fn default() -> Self {
        Self {
            prefix: None,
            status: None,
            plan: None,
            at: OffsetDateTime::UNIX_EPOCH,
        }
    }
}

impl UserFilter {
    /// Whether the filter sets no condition.
    pub fn is_empty(&self) -> bool {
        self.prefix.is_none() && self.status.is_none() && self.plan.is_none()
    }

    /// Whether `user` passes: what an adapter that filters in memory checks,
    /// and what a query of the others MUST agree with.
    pub fn matches(&self, user: &User) -> bool {
        let at = self.at;
        let prefix_ok = self.prefix.as_deref().is_none_or(|p| {
            user.email.normalized().starts_with(p) || user.username.as_str().starts_with(p)
        });
        let status_ok = self.status.is_none_or(|status| match status {
            UserStatus::Suspended => user.suspended_at(at).is_some(),
            UserStatus::Locked => user.locked_at(at),
            UserStatus::Unverified => !user.verified,
            UserStatus::Active => user.status_at(at) == UserStatus::Active,
        });
        let plan_ok = self
            .plan
            .as_ref()
            .is_none_or(|plan| match user.plan_at(at) {
                Some(held) => held.name == *plan,
                None => plan.is_free(),
            });
        prefix_ok && status_ok && plan_ok
    }
}

/// Preferences to swap in, if the stored ones are still `from`.
#[derive(Debug, Clone, PartialEq)]
pub struct PreferencesSwap {
    /// What the caller read.
    pub from: serde_json::Map<String, serde_json::Value>,
    /// What to store instead.
    pub to: serde_json::Map<String, serde_json::Value>,
}

/// How the active content session changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveSessionChange {
    /// Set it (or clear it with `None`), whatever it was.
    Set(Option<ContentSessionId>),
    /// Clear it only if it is this session (the session is being deleted).
    ClearIf(ContentSessionId),
}

/// What [`UserRepository::update_fields`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldsUpdate {
    /// Every change was written.
    Written,
    /// A condition did not hold (preferences changed since they were read,
    /// or the active session is another one): nothing was written.
    ConditionFailed,
}

/// Why a user could not be created.
#[derive(Debug, thiserror::Error)]
pub enum InsertUserError {
    /// Another user has the same email (compared case-insensitively).
    #[error("email already taken")]
    EmailTaken,
    /// Another user has the same username.
    #[error("username already taken")]
    UsernameTaken,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_failure!(InsertUserError);

/// Stores users.
#[portico_macros::port("users")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Inserts a new user. MUST return `EmailTaken` if a user with the same
    /// normalized email exists and `UsernameTaken` if one with the same username
    /// exists, atomically: of N concurrent creations with one email exactly one succeeds.
    /// Every string MUST read back exactly as given (any Unicode text
    /// without NUL, which the HTTP server refuses because PostgreSQL cannot
    /// store it), in profile fields and preferences alike.
    async fn create(&self, user: &User) -> Result<(), InsertUserError>;

    /// The user with `id`, or `Ok(None)` if there is none (never an error for a missing id).
    async fn get(&self, id: UserId) -> Result<Option<User>, StoreError>;

    /// The user whose email equals `email` case-insensitively, or `None`.
    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;

    /// The user with `username`, or `None`.
    async fn find_by_username(&self, username: &Username) -> Result<Option<User>, StoreError>;

    /// Writes exactly the fields `changes` names, atomically, and nothing
    /// else: concurrent calls changing different fields MUST all survive
    /// (never read the whole record and write it back). When a condition of
    /// `changes` does not hold ([`UserChanges::preferences`]'s `from`,
    /// [`ActiveSessionChange::ClearIf`]) it MUST write nothing and return
    /// [`FieldsUpdate::ConditionFailed`]. `NotFound` for an unknown id.
    async fn update_fields(
        &self,
        id: UserId,
        changes: &UserChanges,
    ) -> Result<FieldsUpdate, WriteError>;

    /// Atomically adds one to `failed_logins` and returns the new count: N
    /// concurrent calls MUST yield N distinct counts. `NotFound` for an unknown id.
    async fn increment_failed_logins(&self, id: UserId) -> Result<u32, WriteError>;

    /// Sets or clears `locked_until`. `NotFound` for an unknown id.
    async fn set_locked_until(
        &self,
        id: UserId,
        until: Option<OffsetDateTime>,
    ) -> Result<(), WriteError>;

    /// Records a successful sign-in: `failed_logins = 0`, `locked_until = None`,
    /// `last_accessed_at = at`. `NotFound` for an unknown id.
    async fn record_sign_in(&self, id: UserId, at: OffsetDateTime) -> Result<(), WriteError>;

    /// Sets `last_active_at = at` on each user in `ids` whose
    /// `last_active_at` is unset or earlier, in one call where the store
    /// allows: it MUST never move backwards (of concurrent calls, the
    /// latest time stays), MUST NOT touch any other field, and ignores ids
    /// of users that do not exist.
    async fn mark_active(&self, ids: &[UserId], at: OffsetDateTime) -> Result<(), StoreError>;

    /// Users that pass `filter` ([`UserFilter::matches`] says which),
    /// newest first (see [`crate::page`]). A filtered page MAY take time
    /// in the number of users (a scan), but MUST hold `page.limit()` items
    /// whenever that many more match.
    async fn list(&self, filter: &UserFilter, page: PageRequest) -> Result<Page<User>, StoreError>;

    /// How many users pass `filter`: exactly the number [`list`](Self::list)
    /// would page through. MAY take time in the number of users (the
    /// statistics' roll-up calls it, off the request path).
    async fn count(&self, filter: &UserFilter) -> Result<u64, StoreError>;

    /// Deletes the user. Records in the same store that reference the user MAY
    /// go with it (the account service deletes them through their own ports
    /// first). `NotFound` for an unknown id.
    async fn delete(&self, id: UserId) -> Result<(), WriteError>;
}
