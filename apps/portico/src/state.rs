//! What every handler can reach: the domain services, the server's settings,
//! metrics and the readiness checks.

use std::sync::Arc;

use async_trait::async_trait;
use domain::StoreError;
use domain::services::{
    Authentication, Passwords, Profiles, RateLimits, Rbac, Registration, UserAdmin,
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
    /// Take the client IP from `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
    /// Quotas.
    pub rate_limits: RateLimitConfig,
}

/// Shared application state (one per process, behind `web::Data`).
pub struct AppState {
    /// Registration and verification.
    pub registration: Registration,
    /// Sign-in and sessions.
    pub auth: Authentication,
    /// Password reset and change.
    pub passwords: Passwords,
    /// The own account.
    pub profiles: Profiles,
    /// User administration.
    pub admin: UserAdmin,
    /// Roles.
    pub rbac: Rbac,
    /// Rate limits and usage counters.
    pub rate_limits: RateLimits,
    /// Random tokens (CSRF cookie values).
    pub tokens: Arc<dyn domain::TokenGenerator>,
    /// Settings.
    pub settings: Settings,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// What `/readyz` checks.
    pub readiness: Vec<Arc<dyn ReadinessCheck>>,
}
