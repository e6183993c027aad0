//! The lifetimes and thresholds of the account rules.

use time::Duration;

use crate::RoleName;

/// Lifetimes and thresholds of the account rules.
#[derive(Debug, Clone)]
pub struct AccountPolicy {
    /// How long a registration candidate waits for verification.
    pub candidate_ttl: Duration,
    /// Access-token lifetime, extended on use (sliding).
    pub session_idle_ttl: Duration,
    /// How long a session can be refreshed after sign-in or its last refresh.
    pub refresh_ttl: Duration,
    /// How often a session's `last_accessed_at` is written at most.
    pub touch_interval: Duration,
    /// Attempts per account over every client IP within the lockout window
    /// (against guessing from many addresses); the runtime setting
    /// `security.lockout_attempts` is per account and IP.
    pub account_lockout_threshold: u32,
    /// Lifetime of a password-reset token.
    pub reset_ttl: Duration,
    /// Lifetime of an account-deletion token.
    pub deletion_ttl: Duration,
    /// Role a verified user receives.
    pub default_role: RoleName,
    /// The issuer name authenticator apps show beside a TOTP code.
    pub mfa_issuer: String,
    /// Lifetime of an `mfa_token` (the second step of a sign-in).
    pub mfa_token_ttl: Duration,
    /// Codes one `mfa_token` may be tried with.
    pub mfa_token_tries: u32,
    /// Mails of one kind (password reset, verification) one address gets
    /// per hour, whoever asks: past it, requests are answered as usual but
    /// send nothing, so nobody floods an inbox through Portico.
    pub mails_per_address_per_hour: u32,
    /// The built-in default plan (`free`): its limits and features.
    pub default_plan: std::sync::Arc<crate::Plan>,
    /// The runtime settings in force (registration open, the plan new
    /// accounts start on, the password minimum, the lockout, new-device
    /// mail), read on each use.
    pub settings: crate::LiveSettings,
}

impl AccountPolicy {
    /// The plan a new account starts on: `registration.default_plan`, or
    /// `None` (the default plan) when that is the built-in one.
    pub fn starting_plan(&self, now: time::OffsetDateTime) -> Option<crate::PlanAssignment> {
        let name = self.settings.current().default_plan.clone();
        (!name.is_free()).then_some(crate::PlanAssignment {
            name,
            since: now,
            until: None,
        })
    }
}

impl Default for AccountPolicy {
    fn default() -> Self {
        Self {
            candidate_ttl: Duration::hours(24),
            session_idle_ttl: Duration::days(1),
            refresh_ttl: Duration::days(30),
            touch_interval: Duration::minutes(1),
            account_lockout_threshold: 50,
            reset_ttl: Duration::hours(1),
            deletion_ttl: Duration::hours(1),
            default_role: RoleName::user(),
            mfa_issuer: "Portico".to_owned(),
            mfa_token_ttl: Duration::minutes(5),
            mfa_token_tries: 5,
            mails_per_address_per_hour: 3,
            default_plan: std::sync::Arc::default(),
            settings: crate::LiveSettings::default(),
        }
    }
}
