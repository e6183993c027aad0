//! What every handler can reach: the [`Runtime`] (the domain services, the
//! caches, metrics and readiness checks), and what only the HTTP layer
//! needs (settings, CSRF key, payment providers, upload slots).

use std::sync::Arc;

use runtime::Runtime;
use runtime::config::{Config, RateLimitConfig};

pub use runtime::backends::ReadinessCheck;

/// The HTTP layer's settings the handlers read (from configuration; the
/// runtime settings are `state.runtime.settings`).
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Cookies carry `Secure`.
    pub cookie_secure: bool,
    /// Which `X-Forwarded-For` hop is the client.
    pub proxies: crate::proxies::ProxyRule,
    /// The per-IP and per-user quotas.
    pub rate_limits: RateLimitConfig,
    /// Largest accepted upload body (the local store's PUT route).
    pub max_upload_bytes: u64,
    /// Whether `GET /metrics` answers.
    pub metrics: bool,
    /// The `Strict-Transport-Security` header, when it is sent.
    pub hsts: Option<actix_web::http::header::HeaderValue>,
}

/// Shared application state (one per process, behind `web::Data`): the
/// runtime's services are reached through it (`state.auth`, `state.rbac`, …).
pub struct AppState {
    /// The domain services and what runs beside them.
    pub runtime: Runtime,
    /// Providers whose webhooks are accepted.
    pub payment_providers: Vec<Arc<dyn crate::payment_providers::PaymentProvider>>,
    /// Uploads in progress per user through the local store's URLs.
    pub upload_slots: crate::upload_slots::UploadSlots,
    /// Derives each session's CSRF token.
    pub csrf: runtime::keys::CsrfKey,
    /// Settings the handlers read from configuration.
    pub http: HttpSettings,
}

impl std::ops::Deref for AppState {
    type Target = Runtime;

    fn deref(&self) -> &Runtime {
        &self.runtime
    }
}

/// Why the HTTP layer's own parts could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(pub String);

impl AppState {
    /// The HTTP layer over `runtime`, with its settings from `config`.
    pub fn new(runtime: Runtime, config: &Config) -> Result<Self, SettingsError> {
        Ok(Self {
            runtime,
            payment_providers: payment_providers(config),
            upload_slots: crate::upload_slots::UploadSlots::new(
                config.uploads.max_concurrent_per_user,
            ),
            csrf: csrf_key(config)?,
            http: HttpSettings {
                cookie_secure: config.cookie_secure(),
                proxies: config
                    .server
                    .trusted_proxies
                    .rule(config.server.trust_forwarded_for)
                    .map_err(|e| SettingsError(format!("server.trusted_proxies: {e}")))?,
                rate_limits: config.rate_limits.clone(),
                max_upload_bytes: config.uploads.max_size_bytes,
                metrics: config.server.metrics && config.server.metrics_listen.is_none(),
                hsts: hsts(config.server.hsts_max_age_secs, &config.public_url()),
            },
        })
    }
}

/// The CSRF key: `security.csrf_secret`, or one created once in
/// `<data_dir>/csrf.key`.
fn csrf_key(config: &Config) -> Result<runtime::keys::CsrfKey, SettingsError> {
    use secrecy::ExposeSecret as _;
    let secret = config.security.csrf_secret.expose_secret();
    if !secret.is_empty() {
        return Ok(runtime::keys::CsrfKey::new(secret.as_bytes().to_vec()));
    }
    let path = config.server.data_dir.join("csrf.key");
    runtime::keys::key_file(&path, "CSRF")
        .map(runtime::keys::CsrfKey::new)
        .map_err(|e| SettingsError(format!("cannot read or create {}: {e}", path.display())))
}

/// The payment providers whose webhooks are accepted: the built-in one when
/// `payments.webhook_secret` is set.
fn payment_providers(config: &Config) -> Vec<Arc<dyn crate::payment_providers::PaymentProvider>> {
    use secrecy::ExposeSecret as _;
    let secret = config.payments.webhook_secret.expose_secret();
    if secret.is_empty() {
        return Vec::new();
    }
    vec![Arc::new(crate::payment_providers::SignedWebhooks::new(
        secret.as_bytes().to_vec(),
    ))]
}

/// The `Strict-Transport-Security` value for `max_age_secs`, or `None` when
/// it is 0 or the public URL is not https (browsers ignore it over http).
fn hsts(max_age_secs: u64, public_url: &str) -> Option<actix_web::http::header::HeaderValue> {
    (max_age_secs > 0 && public_url.starts_with("https://"))
        .then(|| {
            actix_web::http::header::HeaderValue::from_str(&format!(
                "max-age={max_age_secs}; includeSubDomains"
            ))
            .ok()
        })
        .flatten()
}
