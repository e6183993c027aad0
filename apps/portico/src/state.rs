//! What every handler can reach: the domain services, the server's settings,
//! metrics and the readiness checks.

use std::sync::Arc;

use async_trait::async_trait;
use domain::StoreError;
use domain::{
    Authentication, ContentSessions, Maintenance, Notifications, Passwords, Payments, Profiles,
    RateLimits, Rbac, Registration, Uploads, UserAdmin,
};

use crate::config::RateLimitConfig;
use crate::metrics::Metrics;

/// Something `/readyz` checks.
#[async_trait]
pub trait ReadinessCheck: Send + Sync {
    /// Short name shown in `/readyz`.
    fn name(&self) -> &str;
    /// `Ok` when the dependency answers.
    async fn check(&self) -> Result<(), StoreError>;
}

/// Settings the handlers read.
#[derive(Debug, Clone)]
pub struct Settings {
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

/// Shared application state (one per process, behind `web::Data`).
pub struct AppState {
    /// Registration and verification.
    pub registration: Registration,
    /// Sign-in and sessions.
    pub auth: Authentication,
    /// Principals authenticated recently, kept in memory.
    pub principals: Arc<crate::principals::PrincipalCache>,
    /// Where changes to authentication are announced (the cache listens).
    pub auth_changes: Arc<dyn domain::AuthChangeFeed>,
    /// Password reset and change.
    pub passwords: Passwords,
    /// The own account.
    pub profiles: Profiles,
    /// The second factor (TOTP and backup codes).
    pub mfa: domain::MultiFactor,
    /// Sign-in through identity providers, and account links.
    pub federation: domain::Federation,
    /// User administration.
    pub admin: UserAdmin,
    /// Role management and permission checks.
    pub rbac: Rbac,
    /// Rate limits and usage counters.
    pub rate_limits: RateLimits,
    /// Content sessions and messages.
    pub content: ContentSessions,
    /// Notifications, with their expiry.
    pub notifications: Notifications,
    /// Live notifications for the SSE stream.
    pub live: Arc<crate::live::Live>,
    /// Upload requests.
    pub uploads: Uploads,
    /// Object storage (to check the local store's signed URLs).
    pub objects: adapter_objects::Objects,
    /// Payments and their beneficiaries.
    pub payments: Payments,
    /// Providers whose webhooks are accepted.
    pub payment_providers: Vec<Arc<dyn crate::payment_providers::PaymentProvider>>,
    /// The purge of expired records (the background job).
    pub maintenance: Maintenance,
    /// Job leases.
    pub leases: Arc<dyn domain::LeaseRepository>,
    /// Uploads in progress per user through the local store's URLs.
    pub upload_slots: crate::upload_slots::UploadSlots,
    /// Derives each session's CSRF token.
    pub csrf: crate::keys::CsrfKey,
    /// Settings the handlers read from configuration.
    pub settings: Settings,
    /// The process's Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// What `/readyz` checks.
    pub readiness: Vec<Arc<dyn ReadinessCheck>>,
}
