//! The ports a service works with, gathered: [`Stores`] (every repository,
//! each from any adapter) and [`System`] (the small outside-world ports).

use std::sync::Arc;

use time::OffsetDateTime;

use crate::*;

/// Every repository port, as trait objects. Each may come from a different
/// adapter (users in PostgreSQL, sessions in Redis, …).
#[derive(Clone)]
pub struct Stores {
    /// User accounts.
    pub users: Arc<dyn UserRepository>,
    /// Registration candidates.
    pub candidates: Arc<dyn CandidateRepository>,
    /// Auth sessions and refresh tokens.
    pub sessions: Arc<dyn SessionRepository>,
    /// Single-use tokens.
    pub one_time_tokens: Arc<dyn OneTimeTokenRepository>,
    /// Roles and grants.
    pub roles: Arc<dyn RoleRepository>,
    /// Content sessions and messages.
    pub content: Arc<dyn ContentSessionRepository>,
    /// Notifications, with their expiry.
    pub notifications: Arc<dyn NotificationRepository>,
    /// Live announcements of new notifications (from the notifications' store).
    pub feed: Arc<dyn NotificationFeed>,
    /// Upload requests.
    pub uploads: Arc<dyn UploadRepository>,
    /// Payments and their beneficiaries.
    pub payments: Arc<dyn PaymentRepository>,
    /// Rate-limit and usage counters.
    pub rate_limiter: Arc<dyn RateLimiter>,
    /// Job leases.
    pub leases: Arc<dyn LeaseRepository>,
    /// Mail waiting to be sent.
    pub mail_queue: Arc<dyn MailQueue>,
    /// Announcements of changes to authentication (from the sessions' store),
    /// for caches of authenticated principals.
    pub auth_changes: Arc<dyn AuthChangeFeed>,
    /// Second factors (TOTP secrets, backup codes).
    pub mfa: Arc<dyn MfaRepository>,
    /// Links between users and their identities at providers.
    pub identity_links: Arc<dyn IdentityLinkRepository>,
    /// Provider sign-in flows between the redirect and the callback.
    pub oauth_flows: Arc<dyn OAuthFlowRepository>,
}

/// A store that implements every repository port, as each Portico adapter does.
pub trait AllPorts:
    UserRepository
    + CandidateRepository
    + SessionRepository
    + OneTimeTokenRepository
    + RoleRepository
    + ContentSessionRepository
    + NotificationRepository
    + NotificationFeed
    + UploadRepository
    + PaymentRepository
    + RateLimiter
    + LeaseRepository
    + MailQueue
    + AuthChangeFeed
    + MfaRepository
    + IdentityLinkRepository
    + OAuthFlowRepository
    + 'static
{
}

impl<T> AllPorts for T where
    T: UserRepository
        + CandidateRepository
        + SessionRepository
        + OneTimeTokenRepository
        + RoleRepository
        + ContentSessionRepository
        + NotificationRepository
        + NotificationFeed
        + UploadRepository
        + PaymentRepository
        + RateLimiter
        + LeaseRepository
        + MailQueue
        + AuthChangeFeed
        + MfaRepository
        + IdentityLinkRepository
        + OAuthFlowRepository
        + 'static
{
}

impl Stores {
    /// Announces `change` on the [`AuthChangeFeed`]: every write that can
    /// change who a token authenticates (a session ended or rotated, a user
    /// changed, locked or deleted, a role granted, revoked or redefined, a
    /// second factor changed) is followed by one, made here in the service
    /// that wrote it, so that caches of principals on every instance (the
    /// server's, or an embedder's) drop what it concerns. The write has
    /// happened: a failed announcement is not the caller's failure (the
    /// feed's adapter reports it, and other instances' caches expire with
    /// their TTL).
    pub(crate) async fn announce(&self, change: AuthChange) {
        let _ = self.auth_changes.publish(change).await;
    }

    /// Every port served by one store.
    pub fn from_one<S: AllPorts>(store: Arc<S>) -> Self {
        Self {
            users: store.clone(),
            candidates: store.clone(),
            sessions: store.clone(),
            one_time_tokens: store.clone(),
            roles: store.clone(),
            content: store.clone(),
            notifications: store.clone(),
            feed: store.clone(),
            uploads: store.clone(),
            payments: store.clone(),
            rate_limiter: store.clone(),
            leases: store.clone(),
            mail_queue: store.clone(),
            mfa: store.clone(),
            identity_links: store.clone(),
            oauth_flows: store.clone(),
            auth_changes: store,
        }
    }
}

/// The small outside-world ports.
#[derive(Clone)]
pub struct System {
    /// The current time (tests set their own).
    pub clock: Arc<dyn Clock>,
    /// New ids (UUID v7 in production, so they sort by creation).
    pub ids: Arc<dyn IdGenerator>,
    /// Secret tokens.
    pub tokens: Arc<dyn TokenGenerator>,
    /// Password hashing.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Outgoing mail.
    pub mailer: Arc<dyn Mailer>,
    /// Object storage.
    pub objects: Arc<dyn ObjectStore>,
    /// Encryption of secrets at rest.
    pub sealer: Arc<dyn Sealer>,
}

impl System {
    /// Now, truncated to milliseconds.
    pub(crate) fn now(&self) -> OffsetDateTime {
        crate::truncate_to_millis(self.clock.now())
    }
}

/// Checks a free-text field's length in characters.
pub(crate) fn within(text: &str, max_chars: usize) -> bool {
    text.chars().count() <= max_chars
}
