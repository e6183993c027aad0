//! The one wiring of Portico: the domain services over the configured
//! stores (each call timed and guarded), the production clock, ids, tokens,
//! hashing threads, keyring, mailer and object store; then the start-up
//! preparation (built-in roles, the bootstrap administrator) and the
//! background work every instance runs.

use std::sync::Arc;

use domain::{
    AccountPolicy, ActivityLog, AdminBootstrap, Authentication, ContentSessions, MailDelivery,
    Maintenance, MultiFactor, Notifications, Passwords, Payments, Plans, Profiles, RateLimits,
    Rbac, Registration, Stores, System, Uploads, UserAdmin,
};
use secrecy::ExposeSecret;

use crate::backends::{Backends, ConnectError, ReadinessCheck};
use crate::config::{Config, MailTransport};
use crate::live::Live;
use crate::metrics::Metrics;
use crate::principals::PrincipalCache;

/// Why the runtime could not be built or prepared.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// A store is unreachable.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// Mail is misconfigured.
    #[error(transparent)]
    Mail(#[from] adapter_mail::MailSetupError),
    /// Password hashing parameters are invalid.
    #[error(transparent)]
    Hashing(#[from] platform::InvalidParams),
    /// Object storage cannot be opened.
    #[error(transparent)]
    Objects(#[from] crate::objects::ObjectsSetupError),
    /// The keyring, an identity provider, the built-in roles or the
    /// bootstrap administrator could not be set up.
    #[error("cannot prepare the stores: {0}")]
    Setup(String),
}

/// Every domain service over the configured stores, with what runs beside
/// them. Usable without any web framework: build it, [`Runtime::prepare`]
/// it, [`Runtime::spawn_background`], then call the services.
pub struct Runtime {
    /// Registration and verification.
    pub registration: Registration,
    /// Sign-in and sessions.
    pub auth: Authentication,
    /// Principals authenticated recently, kept in memory.
    pub principals: Arc<PrincipalCache>,
    /// Where changes to authentication are announced (the cache listens).
    pub auth_changes: Arc<dyn domain::AuthChangeFeed>,
    /// Password reset and change.
    pub passwords: Passwords,
    /// Sign-in by a mailed link and code.
    pub email_sign_in: domain::EmailSignIn,
    /// Passkeys (WebAuthn).
    pub passkeys: domain::Passkeys,
    /// API keys.
    pub api_keys: domain::ApiKeys,
    /// The own account.
    pub profiles: Profiles,
    /// The second factor (TOTP and backup codes).
    pub mfa: MultiFactor,
    /// Sign-in through identity providers, and account links.
    pub federation: domain::Federation,
    /// User administration.
    pub admin: UserAdmin,
    /// Plans (the stored ones and the built-in default).
    pub plans: Plans,
    /// The runtime settings (the values in force, and changing them).
    pub settings: domain::Settings,
    /// The activity log.
    pub activity: ActivityLog,
    /// Statistics: the report and the roll-up.
    pub stats: domain::Statistics,
    /// Role management and permission checks.
    pub rbac: Rbac,
    /// Rate limits and usage counters.
    pub rate_limits: RateLimits,
    /// Content sessions and messages.
    pub content: ContentSessions,
    /// Notifications, with their expiry.
    pub notifications: Notifications,
    /// Live notifications, fanned out in process from the store's feed.
    pub live: Arc<Live>,
    /// Upload requests.
    pub uploads: Uploads,
    /// Object storage (also to check the local store's signed URLs).
    pub objects: adapter_objects::Objects,
    /// Payments and their beneficiaries.
    pub payments: Payments,
    /// The purge of expired records (the background job).
    pub maintenance: Maintenance,
    /// Backups: dumps of every store written to the object store; names,
    /// listing, pruning.
    pub backups: crate::backups::BackupWriter,
    /// Job leases.
    pub leases: Arc<dyn domain::LeaseRepository>,
    /// Delivers queued mail (run by the mail worker).
    pub mail: MailDelivery,
    /// Woken when this process queues mail.
    pub mail_wake: Arc<tokio::sync::Notify>,
    /// The mail queue itself.
    pub mail_queue: Arc<dyn domain::MailQueue>,
    /// Public profiles.
    pub public_profiles: domain::PublicProfiles,
    /// Conversations between users, and blocks.
    pub conversations: domain::Conversations,
    /// Outgoing webhooks: the endpoints (`webhooks:write`).
    pub webhooks: domain::Webhooks,
    /// Delivers queued webhook events (run by the webhook worker).
    pub webhook_dispatch: domain::WebhookDispatch,
    /// Woken when this process queues a webhook delivery.
    pub webhook_wake: Arc<tokio::sync::Notify>,
    /// The process's Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// What a readiness check asks: each connected store.
    pub readiness: Vec<Arc<dyn ReadinessCheck>>,
    /// The keyring file the sealer follows (none with keys in configuration).
    pub keyring: Option<Arc<crate::keys::FileKeyring>>,
    /// The JWT signing keys (none while JWTs are off and no key file exists).
    pub jwt_keys: Option<Arc<crate::jwt_keys::JwtKeyFile>>,
    /// An access JWT's lifetime (what the published keys cover).
    pub jwt_ttl: time::Duration,
}

impl Runtime {
    /// Wires the domain services: stores from `backends` (each call timed
    /// into `metrics` and guarded by its store's breaker), production
    /// clock, ids, tokens, hashing on dedicated threads, the configured
    /// keyring, mailer and object store.
    pub fn build(
        config: &Config,
        backends: &Backends,
        metrics: Arc<Metrics>,
    ) -> Result<Self, RuntimeError> {
        let deadline = std::time::Duration::from_millis(config.stores.call_timeout_ms.max(1));
        let principals = Arc::new(PrincipalCache::new(
            std::time::Duration::from_millis(config.security.principal_cache_ttl_ms),
            config.security.principal_cache_capacity,
        ));
        let mut stores = crate::timed::stores(backends.stores(config)?, metrics.clone(), deadline);
        // The domain announces its auth changes on this feed: this
        // instance's cache hears first, then the store's feed for the others.
        stores.auth_changes = Arc::new(crate::principals::LocalFirst::new(
            principals.clone(),
            stores.auth_changes,
            deadline,
        ));
        stores.plans = Arc::new(crate::plan_cache::CachedPlans::new(
            stores.plans,
            std::time::Duration::from_millis(config.plans.cache_ttl_ms),
        ));
        let mail_wake = Arc::new(tokio::sync::Notify::new());
        stores.mail_queue = Arc::new(crate::mail_worker::Waking::new(
            stores.mail_queue,
            mail_wake.clone(),
        ));
        let webhook_wake = Arc::new(tokio::sync::Notify::new());
        stores.webhook_queue = Arc::new(crate::mail_worker::Waking::new(
            stores.webhook_queue,
            webhook_wake.clone(),
        ));
        let transport: Arc<dyn domain::WebhookTransport> = Arc::new(
            crate::webhooks::HttpTransport::new(
                config.webhooks.net(),
                std::time::Duration::from_millis(config.webhooks.timeout_ms.max(1)),
            )
            .map_err(RuntimeError::Setup)?,
        );
        let settings = config
            .setting_defaults()
            .and_then(|d| domain::LiveSettings::from_defaults(&d))
            .map_err(RuntimeError::Setup)?;
        let policy = AccountPolicy {
            default_plan: Arc::new(config.plans.default_plan().map_err(RuntimeError::Setup)?),
            mfa_issuer: config.security.mfa_issuer.clone(),
            mails_per_address_per_hour: config.mail.per_address_per_hour.max(1),
            settings,
            ..AccountPolicy::default()
        };
        let objects = crate::objects::open(config)?;
        let (system, keyring) = system(config, &policy, &objects)?;
        let federation = domain::Federation::new(
            stores.clone(),
            system.clone(),
            policy.clone(),
            config.oauth.policy(),
            config
                .oauth
                .providers(&config.public_url())
                .map_err(RuntimeError::Setup)?,
        );
        let jwt_on = config.tokens.access_format == crate::config::AccessFormat::Jwt;
        let jwt_keys = crate::jwt_keys::JwtKeyFile::open(
            config.tokens.jwt_keys.expose_secret(),
            &config.server.data_dir,
            jwt_on,
        )
        .map_err(RuntimeError::Setup)?
        .map(Arc::new);
        let (rp_id, rp_name, origins) = config
            .webauthn
            .relying_party(&config.public_url())
            .map_err(RuntimeError::Setup)?;
        let ceremony = adapter_webauthn::WebAuthnCeremony::new(&rp_id, &rp_name, &origins)
            .map_err(|e| RuntimeError::Setup(format!("webauthn: {e}")))?;
        let mut runtime = Self::over(
            stores,
            system,
            policy,
            config,
            federation,
            principals,
            mail_wake,
            metrics,
            backends,
            objects,
            keyring,
            Arc::new(ceremony),
            (webhook_wake, transport),
        );
        runtime.jwt_ttl = config.tokens.jwt_ttl();
        if let (true, Some(keys)) = (jwt_on, &jwt_keys) {
            runtime.auth = runtime.auth.with_jwt(domain::JwtAccess {
                signer: keys.clone(),
                issuer: config.public_url(),
                ttl: config.tokens.jwt_ttl(),
            });
        }
        runtime.jwt_keys = jwt_keys;
        Ok(runtime)
    }

    #[allow(clippy::too_many_arguments)]
    fn over(
        stores: Stores,
        system: System,
        policy: AccountPolicy,
        config: &Config,
        federation: domain::Federation,
        principals: Arc<PrincipalCache>,
        mail_wake: Arc<tokio::sync::Notify>,
        metrics: Arc<Metrics>,
        backends: &Backends,
        objects: adapter_objects::Objects,
        keyring: Option<Arc<crate::keys::FileKeyring>>,
        ceremony: Arc<dyn domain::PasskeyCeremony>,
        (webhook_wake, transport): (Arc<tokio::sync::Notify>, Arc<dyn domain::WebhookTransport>),
    ) -> Self {
        let (s, y) = (&stores, &system);
        let backups = crate::backups::BackupWriter::new(
            domain::Transfer::new(s.clone(), y.clock.clone()),
            domain::Backups::new(y.objects.clone(), y.clock.clone()),
            objects.clone(),
            config.server.data_dir.clone(),
            config.backups.keep,
        );
        Self {
            registration: Registration::new(s.clone(), y.clone(), policy.clone()),
            auth: Authentication::new(s.clone(), y.clone(), policy.clone()),
            principals,
            auth_changes: s.auth_changes.clone(),
            passwords: Passwords::new(s.clone(), y.clone(), policy.clone()),
            api_keys: domain::ApiKeys::new(s.clone(), y.clone()),
            email_sign_in: domain::EmailSignIn::new(
                s.clone(),
                y.clone(),
                policy.clone(),
                config.oauth.policy().redirect_allowlist,
            ),
            passkeys: domain::Passkeys::new(s.clone(), y.clone(), policy.clone(), ceremony),
            mfa: MultiFactor::new(s.clone(), y.clone(), policy.clone()),
            federation,
            profiles: Profiles::new(s.clone(), y.clone(), policy.clone()),
            admin: UserAdmin::new(s.clone(), y.clone()).with_settings(policy.settings.clone()),
            rbac: Rbac::new(s.clone(), y.clone()),
            plans: Plans::new(s.clone(), y.clone(), policy.default_plan.clone())
                .with_settings(policy.settings.clone()),
            settings: domain::Settings::new(s.clone(), y.clone(), policy.settings.clone()),
            rate_limits: RateLimits::buffered(s.clone(), y.clone()),
            content: ContentSessions::new(s.clone(), y.clone(), config.content.limits()),
            notifications: Notifications::new(s.clone(), y.clone()),
            live: Live::new(s.feed.clone()),
            uploads: Uploads::new(s.clone(), y.clone(), config.uploads.policy()),
            objects,
            payments: Payments::new(s.clone(), y.clone()),
            maintenance: Maintenance::new(s.clone(), y.clone()).with_activity_retention(
                time::Duration::days(i64::from(config.activity.retention_days)),
            ),
            activity: ActivityLog::new(s.clone(), y.clone()),
            backups,
            stats: domain::Statistics::new(s.clone(), y.clone()),
            leases: s.leases.clone(),
            mail: MailDelivery::new(s.clone(), y.clone(), policy, config.mail.policy()),
            mail_wake,
            mail_queue: s.mail_queue.clone(),
            public_profiles: domain::PublicProfiles::new(s.clone()),
            conversations: domain::Conversations::new(
                s.clone(),
                y.clone(),
                config.content.conversation_limits(),
            ),
            webhooks: domain::Webhooks::new(s.clone(), y.clone(), config.webhooks.net()),
            webhook_dispatch: domain::WebhookDispatch::new(
                s.clone(),
                y.clone(),
                transport,
                config.webhooks.dispatch(),
            ),
            webhook_wake,
            metrics,
            readiness: backends.readiness(),
            keyring,
            jwt_keys: None,
            jwt_ttl: time::Duration::ZERO,
        }
    }

    /// Creates the built-in roles and the administrator named in
    /// configuration, and reads the runtime settings.
    pub async fn prepare(&self, config: &Config) -> Result<(), RuntimeError> {
        self.rbac
            .ensure_builtin_roles()
            .await
            .map_err(|e| RuntimeError::Setup(crate::error_chain(&e)))?;
        self.settings
            .refresh()
            .await
            .map_err(|e| RuntimeError::Setup(crate::error_chain(&e)))?;

        let Some(admin) = &config.security.bootstrap_admin else {
            return Ok(());
        };
        let parse = |what: &str, e: &dyn std::fmt::Display| {
            RuntimeError::Setup(format!("security.bootstrap_admin.{what}: {e}"))
        };
        let email = domain::Email::parse(&admin.email).map_err(|e| parse("email", &e))?;
        let username =
            domain::Username::parse(&admin.username).map_err(|e| parse("username", &e))?;
        let password = domain::Password::new(admin.password.expose_secret().to_owned())
            .map_err(|e| parse("password", &e))?;
        let outcome = self
            .admin
            .ensure_admin(email, username, &password)
            .await
            .map_err(|e| RuntimeError::Setup(crate::error_chain(&e)))?;
        match outcome {
            AdminBootstrap::Created(u) => {
                tracing::info!(user = %u.username, "created the bootstrap administrator")
            }
            AdminBootstrap::Promoted(u) => {
                tracing::info!(user = %u.username, "granted admin to the bootstrap administrator")
            }
            AdminBootstrap::AlreadyAdmin(_) => {}
        }
        Ok(())
    }
}

/// The production clock, ids, tokens, hashing threads, keyring (and the
/// file it follows, if any), mailer and object store.
fn system(
    config: &Config,
    policy: &AccountPolicy,
    objects: &adapter_objects::Objects,
) -> Result<(System, Option<Arc<crate::keys::FileKeyring>>), RuntimeError> {
    let s = &config.security;
    let argon2 = platform::Argon2Hasher::new(platform::Argon2Params {
        memory_kib: s.argon2_memory_kib,
        iterations: s.argon2_iterations,
        parallelism: s.argon2_parallelism,
    })?;
    let concurrency = match s.hash_concurrency {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let (sealer, keyring) =
        crate::keys::sealer(s.encryption_keys.expose_secret(), &config.server.data_dir)
            .map_err(RuntimeError::Setup)?;
    let system = System {
        clock: Arc::new(platform::SystemClock),
        ids: Arc::new(platform::UuidV7Ids),
        tokens: Arc::new(platform::OsRandomTokens),
        hasher: Arc::new(platform::BlockingPoolHasher::bounded(
            argon2,
            concurrency,
            std::time::Duration::from_millis(s.hash_max_wait_ms),
        )),
        mailer: Arc::new(adapter_mail::LettreMailer::new(
            &mailer_config(config),
            policy.into(),
        )?),
        objects: Arc::new(objects.clone()),
        sealer,
        devices: Arc::new(adapter_uap::UapDevices),
    };
    Ok((system, keyring))
}

/// The mailer's settings from the `mail` section.
fn mailer_config(config: &Config) -> adapter_mail::MailerConfig {
    let m = &config.mail;
    adapter_mail::MailerConfig {
        transport: match m.transport {
            MailTransport::Outbox => adapter_mail::MailerTransport::Outbox(config.outbox_dir()),
            MailTransport::Smtp => adapter_mail::MailerTransport::Smtp(m.smtp_url.clone()),
        },
        from: m.from.clone(),
        public_url: config.public_url(),
        verify_path: m.verify_path.clone(),
        reset_path: m.reset_path.clone(),
        deletion_path: m.deletion_path.clone(),
        sign_in_path: m.sign_in_path.clone(),
        links: adapter_mail::LinkPatterns {
            verify: m.links.verify.clone(),
            reset: m.links.reset.clone(),
            deletion: m.links.deletion.clone(),
            sign_in: m.links.sign_in.clone(),
        },
        templates_dir: (!m.templates_dir.as_os_str().is_empty()).then(|| m.templates_dir.clone()),
    }
}
