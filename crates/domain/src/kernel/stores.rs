//! The ports a service works with, gathered: [`Stores`] (every repository,
//! each from any adapter) and [`System`] (the small outside-world ports).

use std::sync::Arc;

use time::OffsetDateTime;

use crate::*;

/// Where a deployment may keep a port's records. The ports of one group
/// go to one store; a deployment picks a store per group (everything in
/// one SQL database by default; sessions, counters or upload requests in
/// Redis, for instance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortGroup {
    /// Records kept until deleted: accounts, roles, content, notifications,
    /// payments, second factors, identity links, the mail queue, leases.
    Durable,
    /// Short-lived authentication records: registration candidates, auth
    /// sessions and refresh tokens, single-use tokens, provider flows, and
    /// the feed of authentication changes every instance listens to.
    Sessions,
    /// Rate-limit and usage counters.
    RateLimits,
    /// Upload requests.
    Uploads,
}

/// Declares [`Stores`] from one list of its ports: the struct, the
/// [`AllPorts`] bound, and the constructors that visit every port. A new
/// port is one line here.
macro_rules! stores {
    (
        layered { $( $(#[doc = $doc:literal])* $field:ident : $port:ident in $group:ident; )* }
        feeds { $( $(#[doc = $fdoc:literal])* $feed:ident : $feed_port:ident in $feed_group:ident; )* }
    ) => {
        /// Every repository port, as trait objects. Each may come from a
        /// different adapter (users in PostgreSQL, sessions in Redis, …).
        #[derive(Clone)]
        pub struct Stores {
            $( $(#[doc = $doc])* pub $field: Arc<dyn $port>, )*
            $( $(#[doc = $fdoc])* pub $feed: Arc<dyn $feed_port>, )*
        }

        /// A store that implements every repository port, as each Portico
        /// adapter does.
        pub trait AllPorts: $( $port + )* $( $feed_port + )* 'static {}

        impl<T> AllPorts for T where T: $( $port + )* $( $feed_port + )* 'static {}

        impl Stores {
            /// Every port served by one store.
            pub fn from_one<S: AllPorts>(store: Arc<S>) -> Self {
                Self {
                    $( $field: store.clone(), )*
                    $( $feed: store.clone(), )*
                }
            }

            /// Every port from the store `pick` gives for its [`PortGroup`].
            pub fn from_groups<'a>(pick: impl Fn(PortGroup) -> &'a Stores) -> Self {
                Self {
                    $( $field: pick(PortGroup::$group).$field.clone(), )*
                    $( $feed: pick(PortGroup::$feed_group).$feed.clone(), )*
                }
            }

            /// Every repository port with a [`CallLayer`] around each of
            /// its calls: `layer_for(port, store)` makes the layer of the
            /// port named `port`, served by the store object at address
            /// `store` (the ports of one adapter instance share it, so a
            /// layer may keep state per store). The feeds stay as they are:
            /// a subscription is one long call.
            pub fn layered<L: CallLayer>(
                self,
                mut layer_for: impl FnMut(&'static str, usize) -> L,
            ) -> Self {
                Self {
                    $( $field: {
                        let store = Arc::as_ptr(&self.$field).cast::<()>() as usize;
                        let layer = layer_for(<dyn $port as Port>::NAME, store);
                        <dyn $port as Port>::layered(self.$field, layer)
                    }, )*
                    $( $feed: self.$feed, )*
                }
            }
        }
    };
}

stores! {
    layered {
        /// User accounts.
        users: UserRepository in Durable;
        /// Registration candidates.
        candidates: CandidateRepository in Sessions;
        /// Auth sessions and refresh tokens.
        sessions: SessionRepository in Sessions;
        /// Single-use tokens.
        one_time_tokens: OneTimeTokenRepository in Sessions;
        /// Roles and grants.
        roles: RoleRepository in Durable;
        /// Content sessions and messages.
        content: ContentSessionRepository in Durable;
        /// Conversations between users, their participants and messages.
        conversations: ConversationRepository in Durable;
        /// Blocks between users.
        blocks: BlockRepository in Durable;
        /// Notifications, with their expiry.
        notifications: NotificationRepository in Durable;
        /// Upload requests.
        uploads: UploadRepository in Uploads;
        /// Payments and their beneficiaries.
        payments: PaymentRepository in Durable;
        /// Rate-limit and usage counters.
        rate_limiter: RateLimiter in RateLimits;
        /// Job leases.
        leases: LeaseRepository in Durable;
        /// Mail waiting to be sent.
        mail_queue: MailQueue in Durable;
        /// Second factors (TOTP secrets, backup codes).
        mfa: MfaRepository in Durable;
        /// Links between users and their identities at providers.
        identity_links: IdentityLinkRepository in Durable;
        /// Provider sign-in flows between the redirect and the callback.
        oauth_flows: OAuthFlowRepository in Sessions;
        /// Plans (not the built-in default).
        plans: PlanRepository in Durable;
        /// The activity log.
        activity: ActivityRepository in Durable;
        /// Per-day statistics.
        stats: StatsRepository in Durable;
        /// The runtime settings record.
        settings: SettingsRepository in Durable;
        /// API keys.
        api_keys: ApiKeyRepository in Durable;
        /// Passkeys (WebAuthn credentials).
        passkeys: PasskeyRepository in Durable;
        /// WebAuthn ceremonies in progress.
        passkey_challenges: PasskeyChallengeRepository in Sessions;
        /// Webhook endpoints and their delivery log.
        webhooks: WebhookRepository in Durable;
        /// Webhook deliveries waiting to be sent.
        webhook_queue: WebhookQueue in Durable;
    }
    feeds {
        /// Live announcements of new notifications (from the store that
        /// creates them).
        feed: NotificationFeed in Durable;
        /// Announcements of changes to authentication (from the sessions'
        /// store, which every instance shares), for caches of
        /// authenticated principals.
        auth_changes: AuthChangeFeed in Sessions;
    }
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
    /// User-Agent parsing ([`UnparsedDevices`]
    /// keeps them as they are).
    pub devices: Arc<dyn crate::DeviceParser>,
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
