//! The mail, security, rate-limit and log sections, and how secrets in
//! them are kept and shown.

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// How mail leaves the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    /// Write each message as an `.eml` file into `outbox_dir`.
    Outbox,
    /// Send through an SMTP relay.
    Smtp,
}

/// Outgoing mail.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// Where mail goes: `outbox` (`.eml` files, the default) or `smtp`.
    pub transport: MailTransport,
    /// Sender address.
    pub from: String,
    /// Outbox folder; empty means `<data_dir>/outbox`.
    pub outbox_dir: PathBuf,
    /// SMTP relay URL, as lettre reads it: `smtps://user:pass@host:465`,
    /// `smtp://host:587?tls=required`, or `smtp://localhost:25` (plain).
    pub smtp_url: String,
    /// Front-end path of the email verification page (gets `?token=`).
    pub verify_path: String,
    /// Front-end path of the password reset page (gets `?token=`).
    pub reset_path: String,
    /// Front-end path of the account deletion confirmation (gets `?token=`).
    pub deletion_path: String,
    /// Front-end path of the email sign-in page (gets `?token=`, and
    /// `&redirect_uri=` when the request named one).
    pub sign_in_path: String,
    /// Links to a front end of your own, replacing `<public_url><path>?token=`.
    pub links: MailLinks,
    /// A folder of mail templates replacing the built-in ones by file name
    /// (`verify-email.txt`, `verify-email.html`, `verify-email.subject.txt`,
    /// the same for `reset-password`, `confirm-deletion`, `sign-in` (with
    /// `code`), `mfa-removed`, `provider-linked` and `new-sign-in`, and the HTML
    /// `layout.html`); empty: the built-in templates only.
    pub templates_dir: PathBuf,
    /// How often the mail worker looks for mail queued by other instances
    /// and for retries that fell due, in milliseconds (mail this instance
    /// queues goes out at once).
    pub poll_interval_ms: u64,
    /// Delivery attempts before a message is given up (logged as an error).
    pub max_attempts: u32,
    /// Wait before the first retry of a failed delivery, in milliseconds;
    /// each further retry waits twice as long, at most 15 minutes. With the
    /// defaults (5000 and 10 attempts) a message is tried for about 36 minutes.
    pub first_retry_ms: u64,
    /// Password-reset mails, sign-in mails and verification mails (each
    /// kind counted apart) one address gets per hour, whoever asks (requests past it are answered as usual and send
    /// nothing).
    pub per_address_per_hour: u32,
    /// Default of the runtime setting `mail.new_device_alerts`: whether a
    /// sign-in from a device kind (type, browser and system) the user has
    /// not signed in from in 90 days mails them a "new sign-in" notice
    /// naming the device, the IP and the time.
    pub new_device_alerts: bool,
    /// Default of the runtime setting `mail.sign_in`: whether users may
    /// sign in by a link and a code mailed to their address.
    pub sign_in: bool,
}

/// URL patterns of the pages that complete what a mail asks, each with a
/// `{token}` placeholder (`https://app.example/verify?token={token}`). Empty:
/// the link goes to Portico's own small page at `<public_url><path>`, which
/// completes the action through the API.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailLinks {
    /// The email verification page.
    pub verify: String,
    /// The password reset page.
    pub reset: String,
    /// The account deletion confirmation.
    pub deletion: String,
    /// The email sign-in page (`{token}` is the link's token, to send to
    /// `POST /v1/sessions/email/verify`).
    pub sign_in: String,
    /// Where Portico's own pages lead once they are done ("Continue"): your
    /// app's sign-in page, `https://app.example/sign-in`, or a path on this
    /// server. Empty: `/`.
    #[serde(rename = "continue")]
    pub continue_to: String,
}

impl MailLinks {
    /// Checks each pattern that is set.
    pub(crate) fn validate(&self) -> Result<(), String> {
        for (name, pattern) in [
            ("verify", &self.verify),
            ("reset", &self.reset),
            ("deletion", &self.deletion),
            ("sign_in", &self.sign_in),
        ] {
            let ok = pattern.is_empty()
                || ((pattern.starts_with("https://") || pattern.starts_with("http://"))
                    && pattern.matches("{token}").count() == 1);
            if !ok {
                return Err(format!(
                    "mail.links.{name}: {pattern:?} must be an http(s) URL with one {{token}}"
                ));
            }
        }
        let c = &self.continue_to;
        let ok = c.is_empty()
            || ((c.starts_with("https://")
                || c.starts_with("http://")
                || (c.starts_with('/') && !c.starts_with("//")))
                && !c
                    .chars()
                    .any(|ch| ch.is_whitespace() || ch.is_control() || "\"'<>`".contains(ch)));
        if !ok {
            return Err(format!(
                "mail.links.continue: {c:?} must be an http(s) URL or a path starting with /"
            ));
        }
        Ok(())
    }

    /// Where the pages' "Continue" leads.
    pub fn continue_url(&self) -> &str {
        if self.continue_to.is_empty() {
            "/"
        } else {
            &self.continue_to
        }
    }
}

impl MailConfig {
    /// How the worker handles the queue.
    pub fn policy(&self) -> domain::MailPolicy {
        domain::MailPolicy {
            max_attempts: self.max_attempts.max(1),
            first_retry: time::Duration::milliseconds(
                i64::try_from(self.first_retry_ms.max(1)).unwrap_or(i64::MAX),
            ),
            ..domain::MailPolicy::default()
        }
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            transport: MailTransport::Outbox,
            from: "Portico <no-reply@localhost>".into(),
            outbox_dir: PathBuf::new(),
            smtp_url: String::new(),
            verify_path: "/verify-email".into(),
            reset_path: "/reset-password".into(),
            deletion_path: "/confirm-deletion".into(),
            sign_in_path: "/sign-in/email".into(),
            links: MailLinks::default(),
            templates_dir: PathBuf::new(),
            poll_interval_ms: 1000,
            max_attempts: domain::MailPolicy::default().max_attempts,
            first_retry_ms: 5000,
            per_address_per_hour: 3,
            new_device_alerts: true,
            sign_in: true,
        }
    }
}

/// Password hashing and cookies.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Argon2id memory in KiB (at least 19456).
    pub argon2_memory_kib: u32,
    /// Argon2id passes (at least 2).
    pub argon2_iterations: u32,
    /// Argon2id lanes (at least 1).
    pub argon2_parallelism: u32,
    /// Hashes computed at once; 0 means one per CPU core.
    pub hash_concurrency: usize,
    /// Longest a password check may wait for a hashing thread, in
    /// milliseconds. A sign-in (or other password check) that would wait
    /// longer is answered 503 `overloaded` with `Retry-After` at once and
    /// does not count toward a lockout. 0: wait as long as it takes.
    pub hash_max_wait_ms: u64,
    /// How long an authenticated principal (user, session, roles) is kept
    /// in memory, in milliseconds: the longest another instance can still
    /// accept a token revoked elsewhere if the change feed loses the
    /// revocation. 0 turns the cache off (every request reads the stores).
    pub principal_cache_ttl_ms: u64,
    /// How many principals the cache holds at most.
    pub principal_cache_capacity: u64,
    /// Mark cookies `Secure`. Unset: on when `public_url` is https.
    pub cookie_secure: Option<bool>,
    /// First administrator to create or promote at start-up, if set.
    pub bootstrap_admin: Option<BootstrapAdmin>,
    /// Key that CSRF tokens are derived from (at least 32 characters).
    /// Empty: a random key is created once in `<data_dir>/csrf.key`.
    /// Instances behind one load balancer must share it.
    #[serde(serialize_with = "redacted")]
    pub csrf_secret: SecretString,
    /// The keys secrets at rest (TOTP secrets) are sealed with: entries
    /// `<id>:<64 hex characters>` separated by commas or newlines, the last
    /// one current. Empty: a keyring is created once in
    /// `<data_dir>/encryption.keys` (mode 0600), which `portico keys
    /// rotate` extends. Instances sharing a database must share the keys.
    #[serde(serialize_with = "redacted")]
    pub encryption_keys: SecretString,
    /// The issuer name authenticator apps show beside a TOTP code.
    pub mfa_issuer: String,
    /// Default of the runtime setting `security.lockout_attempts` (1–100):
    /// password attempts per account and client IP in the lockout window.
    pub lockout_attempts: u32,
    /// Default of the runtime setting `security.lockout_minutes` (1–1440):
    /// the lockout window.
    pub lockout_minutes: u32,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        let p = platform::Argon2Params::default();
        Self {
            argon2_memory_kib: p.memory_kib,
            argon2_iterations: p.iterations,
            argon2_parallelism: p.parallelism,
            hash_concurrency: 0,
            hash_max_wait_ms: 2000,
            principal_cache_ttl_ms: 2000,
            principal_cache_capacity: 100_000,
            cookie_secure: None,
            bootstrap_admin: None,
            csrf_secret: SecretString::default(),
            encryption_keys: SecretString::default(),
            mfa_issuer: "Portico".to_owned(),
            lockout_attempts: 5,
            lockout_minutes: 15,
        }
    }
}

/// An administrator named in configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapAdmin {
    /// The administrator's email address.
    pub email: String,
    /// The administrator's username.
    pub username: String,
    /// Password (used only when the account is created).
    #[serde(serialize_with = "redacted")]
    pub password: SecretString,
}

/// Writes a secret as `[redacted]` (or empty when unset): configuration is
/// only ever written out for display.
pub(crate) fn redacted<S: serde::Serializer>(
    secret: &SecretString,
    out: S,
) -> Result<S::Ok, S::Error> {
    out.serialize_str(if secret.expose_secret().is_empty() {
        ""
    } else {
        "[redacted]"
    })
}

/// Whether a key-like secret is set but shorter than 32 characters.
pub(crate) fn too_short(secret: &SecretString) -> bool {
    let s = secret.expose_secret();
    !s.is_empty() && s.len() < 32
}

/// Request quotas. A zero limit turns that limit off.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Requests per minute per client IP on the endpoints that work without
    /// signing in (registration, sign-in, refresh, password reset).
    pub ip_per_minute: u64,
    /// Requests per minute per signed-in user.
    pub user_per_minute: u64,
    /// Username look-ups per minute per client IP.
    pub username_checks_per_minute: u64,
    /// How often the per-user usage counters counted in memory are written
    /// to the store, in milliseconds (and once more at shutdown). A crash
    /// loses at most this long's counts; with N instances a per-user limit
    /// can be overshot by what the other instances count in this long.
    pub usage_flush_ms: u64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            ip_per_minute: 60,
            user_per_minute: 600,
            username_checks_per_minute: 30,
            usage_flush_ms: 1000,
        }
    }
}

/// The `[plans]` section: the built-in default plan (`free`), the plan of
/// every user with no other. Other plans are records (`POST /v1/plans`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlansConfig {
    /// What the default plan is called where people see it.
    pub free_display_name: String,
    /// Requests per day (UTC) on the default plan; absent: unlimited.
    pub free_daily_limit: Option<u64>,
    /// Requests per calendar month (UTC) on the default plan; absent: unlimited.
    pub free_monthly_limit: Option<u64>,
    /// Features of the default plan (what an app gates on).
    pub free_features: Vec<String>,
    /// How long this instance keeps a plan read from the store, in
    /// milliseconds: other instances' changes to a plan show within it
    /// (changes made through this instance at once); 0: read every time.
    pub cache_ttl_ms: u64,
}

impl Default for PlansConfig {
    fn default() -> Self {
        Self {
            free_display_name: "Free".into(),
            free_daily_limit: None,
            free_monthly_limit: None,
            free_features: Vec::new(),
            cache_ttl_ms: 2000,
        }
    }
}

impl PlansConfig {
    /// The default plan these settings describe.
    pub fn default_plan(&self) -> Result<domain::Plan, String> {
        let display_name = domain::PlanDisplayName::parse(&self.free_display_name)
            .map_err(|e| format!("plans.free_display_name {e}"))?;
        let features = domain::parse_features(self.free_features.iter().map(String::as_str))
            .map_err(|e| format!("plans.free_features: each {e}"))?;
        for (key, limit) in [
            ("free_daily_limit", self.free_daily_limit),
            ("free_monthly_limit", self.free_monthly_limit),
        ] {
            if limit.is_some_and(|l| l > domain::Plan::MAX_LIMIT) {
                return Err(format!(
                    "plans.{key} must be at most {}",
                    domain::Plan::MAX_LIMIT
                ));
            }
        }
        Ok(domain::Plan {
            display_name,
            ..domain::Plan::free(self.free_daily_limit, self.free_monthly_limit, features)
        })
    }
}

/// The `[log]` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `tracing` filter, e.g. `info` or `portico=debug,info`. `RUST_LOG` wins.
    pub level: String,
    /// Log as JSON lines instead of text.
    pub json: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            json: false,
        }
    }
}
