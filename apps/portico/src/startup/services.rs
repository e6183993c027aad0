//! Wiring the domain services over the configured stores, and preparing
//! the stores (built-in roles, the bootstrap administrator).

use std::sync::Arc;

use domain::{
    AccountPolicy, AdminBootstrap, Authentication, ContentSessions, MailDelivery, Maintenance,
    MultiFactor, Notifications, Passwords, Payments, Profiles, RateLimits, Rbac, Registration,
    System, Uploads, UserAdmin,
};
use secrecy::ExposeSecret;

use crate::backends::Backends;
use crate::config::Config;
use crate::live::Live;
use crate::mail::LettreMailer;
use crate::metrics::Metrics;
use crate::state::{AppState, Settings};
use crate::timed;

use super::StartError;

/// Every domain service over the configured stores.
pub struct Services {
    /// The shared state the handlers see.
    pub state: Arc<AppState>,
    /// Administration services also used from the command line.
    pub admin: UserAdmin,
    /// Delivers queued mail (run by the mail worker).
    pub mail: MailDelivery,
    /// Woken when this process queues mail.
    pub mail_wake: Arc<tokio::sync::Notify>,
    /// The mail queue itself.
    pub mail_queue: Arc<dyn domain::MailQueue>,
    /// The keyring file the sealer follows (none with keys in configuration).
    pub(crate) keyring: Option<Arc<crate::keys::FileKeyring>>,
}

/// Wires the domain services: stores from `backends` (each call timed into
/// `metrics`), production clock, ids, tokens, hashing on dedicated threads,
/// the configured mailer and object store.
pub fn services(
    config: &Config,
    backends: &Backends,
    metrics: Arc<Metrics>,
) -> Result<Services, StartError> {
    let stores = backends.stores(config)?;
    let deadline = std::time::Duration::from_millis(config.stores.call_timeout_ms.max(1));
    let principals = Arc::new(crate::principals::PrincipalCache::new(
        std::time::Duration::from_millis(config.security.principal_cache_ttl_ms),
        config.security.principal_cache_capacity,
    ));
    let mut stores = timed::stores(stores, metrics.clone(), deadline);
    // The domain announces its auth changes on this feed: this instance's
    // cache hears first, then the store's feed for the others.
    stores.auth_changes = Arc::new(crate::principals::LocalFirst::new(
        principals.clone(),
        stores.auth_changes,
        deadline,
    ));
    let mail_wake = Arc::new(tokio::sync::Notify::new());
    stores.mail_queue = Arc::new(crate::mail_queue::Waking::new(
        stores.mail_queue,
        mail_wake.clone(),
    ));
    let s = &config.security;
    let argon2 = platform::Argon2Hasher::new(platform::Argon2Params {
        memory_kib: s.argon2_memory_kib,
        iterations: s.argon2_iterations,
        parallelism: s.argon2_parallelism,
    })?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let concurrency = if s.hash_concurrency == 0 {
        cores
    } else {
        s.hash_concurrency
    };
    let policy = AccountPolicy {
        mfa_issuer: s.mfa_issuer.clone(),
        mails_per_address_per_hour: config.mail.per_address_per_hour.max(1),
        ..AccountPolicy::default()
    };
    let objects = crate::objects::open(config)?;
    let (sealer, keyring) =
        crate::keys::sealer(s.encryption_keys.expose_secret(), &config.server.data_dir)
            .map_err(StartError::Setup)?;
    let system = System {
        clock: Arc::new(platform::SystemClock),
        ids: Arc::new(platform::UuidV7Ids),
        tokens: Arc::new(platform::OsRandomTokens),
        hasher: Arc::new(platform::BlockingPoolHasher::bounded(
            argon2,
            concurrency,
            std::time::Duration::from_millis(s.hash_max_wait_ms),
        )),
        mailer: Arc::new(LettreMailer::from_config(config, (&policy).into())?),
        objects: Arc::new(objects.clone()),
        sealer,
    };
    let admin = UserAdmin::new(stores.clone(), system.clone());
    let mail = MailDelivery::new(
        stores.clone(),
        system.clone(),
        policy.clone(),
        config.mail.policy(),
    );
    let state = AppState {
        registration: Registration::new(stores.clone(), system.clone(), policy.clone()),
        auth: Authentication::new(stores.clone(), system.clone(), policy.clone()),
        principals,
        auth_changes: stores.auth_changes.clone(),
        passwords: Passwords::new(stores.clone(), system.clone(), policy.clone()),
        mfa: MultiFactor::new(stores.clone(), system.clone(), policy.clone()),
        federation: domain::Federation::new(
            stores.clone(),
            system.clone(),
            policy.clone(),
            config.oauth.policy(),
            config
                .oauth
                .providers(&config.public_url())
                .map_err(StartError::Setup)?,
        ),
        profiles: Profiles::new(stores.clone(), system.clone(), policy),
        admin: admin.clone(),
        rbac: Rbac::new(stores.clone(), system.clone()),
        rate_limits: RateLimits::buffered(stores.clone(), system.clone()),
        content: ContentSessions::new(stores.clone(), system.clone(), config.content.limits()),
        notifications: Notifications::new(stores.clone(), system.clone()),
        live: Live::new(stores.feed.clone()),
        uploads: Uploads::new(stores.clone(), system.clone(), config.uploads.policy()),
        objects,
        payments: Payments::new(stores.clone(), system.clone()),
        payment_providers: payment_providers(config),
        maintenance: Maintenance::new(stores.clone(), system),
        leases: stores.leases.clone(),
        csrf: csrf_key(config)?,
        upload_slots: crate::upload_slots::UploadSlots::new(config.uploads.max_concurrent_per_user),
        settings: Settings {
            cookie_secure: config.cookie_secure(),
            proxies: config
                .server
                .trusted_proxies
                .rule(config.server.trust_forwarded_for)
                .map_err(|e| StartError::Setup(format!("server.trusted_proxies: {e}")))?,
            rate_limits: config.rate_limits.clone(),
            max_upload_bytes: config.uploads.max_size_bytes,
            metrics: config.server.metrics && config.server.metrics_listen.is_none(),
            hsts: crate::headers::hsts(config.server.hsts_max_age_secs, &config.public_url()),
        },
        metrics,
        readiness: backends.readiness(),
    };
    Ok(Services {
        state: Arc::new(state),
        admin,
        mail,
        mail_wake,
        mail_queue: stores.mail_queue.clone(),
        keyring,
    })
}

/// The CSRF key: `security.csrf_secret`, or one created once in
/// `<data_dir>/csrf.key`.
fn csrf_key(config: &Config) -> Result<crate::keys::CsrfKey, StartError> {
    let secret = config.security.csrf_secret.expose_secret();
    if !secret.is_empty() {
        return Ok(crate::keys::CsrfKey::new(secret.as_bytes().to_vec()));
    }
    let path = config.server.data_dir.join("csrf.key");
    crate::keys::key_file(&path, "CSRF")
        .map(crate::keys::CsrfKey::new)
        .map_err(|e| StartError::Setup(format!("cannot read or create {}: {e}", path.display())))
}

/// The payment providers whose webhooks are accepted: the built-in one when
/// `payments.webhook_secret` is set.
fn payment_providers(config: &Config) -> Vec<Arc<dyn crate::payment_providers::PaymentProvider>> {
    let secret = config.payments.webhook_secret.expose_secret();
    if secret.is_empty() {
        return Vec::new();
    }
    vec![Arc::new(crate::payment_providers::SignedWebhooks::new(
        secret.as_bytes().to_vec(),
    ))]
}

/// Creates the built-in roles and the administrator named in configuration.
pub async fn prepare(config: &Config, services: &Services) -> Result<(), StartError> {
    services
        .state
        .rbac
        .ensure_builtin_roles()
        .await
        .map_err(|e| StartError::Setup(crate::problem::error_chain(&e)))?;
    if let Some(admin) = &config.security.bootstrap_admin {
        let parse = |what: &str, e: &dyn std::fmt::Display| {
            StartError::Setup(format!("security.bootstrap_admin.{what}: {e}"))
        };
        let email = domain::Email::parse(&admin.email).map_err(|e| parse("email", &e))?;
        let username =
            domain::Username::parse(&admin.username).map_err(|e| parse("username", &e))?;
        let password = domain::Password::new(admin.password.expose_secret().to_owned())
            .map_err(|e| parse("password", &e))?;
        let outcome = services
            .admin
            .ensure_admin(email, username, &password)
            .await
            .map_err(|e| StartError::Setup(crate::problem::error_chain(&e)))?;
        match outcome {
            AdminBootstrap::Created(u) => {
                tracing::info!(user = %u.username, "created the bootstrap administrator")
            }
            AdminBootstrap::Promoted(u) => {
                tracing::info!(user = %u.username, "granted admin to the bootstrap administrator")
            }
            AdminBootstrap::AlreadyAdmin(_) => {}
        }
    }
    Ok(())
}
