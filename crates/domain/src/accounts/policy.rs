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
    /// Password attempts per account and client IP within one window
    /// (`lockout_duration`); past it that IP is locked out of the account
    /// until the window ends (see the module `guesses`).
    pub lockout_threshold: u32,
    /// How long a lockout lasts: the window the attempts are counted in.
    pub lockout_duration: Duration,
    /// Attempts per account over every client IP within one window (against
    /// guessing from many addresses); `lockout_threshold` is per account and IP.
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
    /// Whether a sign-in from a device kind (type, browser and system) the
    /// user has not signed in from for [`NEW_DEVICE_WINDOW`](crate::NEW_DEVICE_WINDOW)
    /// mails them a "new sign-in" notice.
    pub new_device_alerts: bool,
}

impl Default for AccountPolicy {
    fn default() -> Self {
        Self {
            candidate_ttl: Duration::hours(24),
            session_idle_ttl: Duration::days(1),
            refresh_ttl: Duration::days(30),
            touch_interval: Duration::minutes(1),
            lockout_threshold: 5,
            lockout_duration: Duration::minutes(15),
            account_lockout_threshold: 50,
            reset_ttl: Duration::hours(1),
            deletion_ttl: Duration::hours(1),
            default_role: RoleName::user(),
            mfa_issuer: "Portico".to_owned(),
            mfa_token_ttl: Duration::minutes(5),
            mfa_token_tries: 5,
            mails_per_address_per_hour: 3,
            default_plan: std::sync::Arc::default(),
            new_device_alerts: true,
        }
    }
}
