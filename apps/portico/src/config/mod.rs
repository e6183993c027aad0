//! Configuration: defaults, then a TOML file, then environment overrides.
//!
//! Every key can be overridden as `PORTICO_<SECTION>__<KEY>` (double
//! underscore between levels), for example `PORTICO_SERVER__LISTEN=0.0.0.0:80`
//! or `PORTICO_MAIL__TRANSPORT=smtp`. `DATABASE_URL` overrides
//! `database.url`. Values are read as TOML when they parse (numbers, booleans,
//! arrays) and as strings otherwise.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

mod features;

pub use features::*;

/// The whole configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// HTTP listener and public address.
    pub server: ServerConfig,
    /// The SQL database.
    pub database: DatabaseConfig,
    /// MongoDB, when a port group uses it.
    pub mongodb: MongoDbConfig,
    /// Redis, when a port group uses it.
    pub redis: RedisConfig,
    /// Which backend serves each port group.
    pub stores: StoresConfig,
    /// Outgoing mail.
    pub mail: MailConfig,
    /// Object storage.
    pub objects: ObjectsConfig,
    /// Upload limits and the sweep.
    pub uploads: UploadsConfig,
    /// Content-session limits.
    pub content: ContentConfig,
    /// Payments and provider webhooks.
    pub payments: PaymentsConfig,
    /// Background jobs.
    pub jobs: JobsConfig,
    /// Password hashing and cookies.
    pub security: SecurityConfig,
    /// Request quotas.
    pub rate_limits: RateLimitConfig,
    /// Logging.
    pub log: LogConfig,
}

/// HTTP listener settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// The address users reach the server at; mail links are built from it.
    /// Empty means `http://<listen>`.
    pub public_url: String,
    /// Worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// How long graceful shutdown waits for in-flight requests, in seconds.
    pub shutdown_timeout_secs: u64,
    /// The old switch for one proxy in front: the same as
    /// `trusted_proxies = 1`.
    pub trust_forwarded_for: bool,
    /// The proxies in front of the server, as a count (`1`: one load
    /// balancer) or address ranges (`["10.0.0.0/8"]`): the client IP is the
    /// first untrusted hop of `X-Forwarded-For` from the right. Unset:
    /// `X-Forwarded-For` is ignored and the peer address is the client.
    pub trusted_proxies: crate::proxies::TrustedProxies,
    /// Origins allowed to call the API from a browser (CORS). Empty: none.
    pub cors_origins: Vec<String>,
    /// Folder for local data (the default SQLite file, objects, the outbox).
    pub data_dir: PathBuf,
    /// How long a client may take to send a request's head (line and
    /// headers), in milliseconds; past it the connection closes (408).
    pub request_head_timeout_ms: u64,
    /// Seconds a request body may take before the minimum rate applies.
    pub body_grace_secs: u64,
    /// Average bytes per second a request body must keep up after the
    /// grace time, or the request fails with 408 and the connection closes.
    pub body_min_bytes_per_sec: u64,
    /// Open connections the server accepts at once (over all workers); more
    /// wait in the listen backlog. Keep it below the file-descriptor limit
    /// (`ulimit -n`) less what the stores and files need.
    pub max_connections: usize,
    /// Serve `GET /metrics`. Turn off where the port is public and scrape
    /// another way; off, it answers 404.
    pub metrics: bool,
    /// Serve `GET /metrics` on this address instead (for example a private
    /// interface); the main listener's `/metrics` then answers 404.
    pub metrics_listen: Option<SocketAddr>,
    /// Serve `GET /docs` (Swagger UI) and `GET /openapi.json`; off, both 404.
    pub docs: bool,
    /// `Strict-Transport-Security: max-age=<this>` on every response when
    /// `public_url` is https; 0 (the default) sends none.
    pub hsts_max_age_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: String::new(),
            workers: 0,
            body_limit_bytes: 64 * 1024,
            shutdown_timeout_secs: 30,
            trust_forwarded_for: false,
            trusted_proxies: crate::proxies::TrustedProxies::default(),
            cors_origins: Vec::new(),
            data_dir: PathBuf::from("data"),
            hsts_max_age_secs: 0,
            request_head_timeout_ms: 5000,
            body_grace_secs: 5,
            body_min_bytes_per_sec: 1024,
            max_connections: 800,
            metrics: true,
            metrics_listen: None,
            docs: true,
        }
    }
}

/// The SQL database.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://…` or `postgres://…`; empty means `<data_dir>/portico.db`.
    pub url: String,
    /// Connection pool size; 0 picks 10.
    pub max_connections: u32,
    /// PostgreSQL schema for Portico's tables (default: the search path).
    pub pg_schema: Option<String>,
    /// How long a statement waits for a connection (opening one included)
    /// before the request answers 503, in milliseconds; 0 picks 3000.
    pub acquire_timeout_ms: u64,
}

impl DatabaseConfig {
    /// The acquire timeout in effect.
    pub fn acquire_timeout(&self) -> Duration {
        millis_or(self.acquire_timeout_ms, 3000)
    }
}

/// `ms` milliseconds, or `default` when `ms` is 0.
fn millis_or(ms: u64, default: u64) -> Duration {
    Duration::from_millis(if ms == 0 { default } else { ms })
}

/// MongoDB settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MongoDbConfig {
    /// Any MongoDB connection string (`MONGODB_URL` overrides it).
    pub url: String,
    /// Database holding Portico's collections.
    pub database: String,
    /// How long opening a connection may take, in milliseconds.
    pub connect_timeout_ms: u64,
    /// How long an operation waits for a reachable server before the
    /// request answers 503, in milliseconds (also bounds start-up).
    pub server_selection_timeout_ms: u64,
}

impl Default for MongoDbConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            database: "portico".into(),
            connect_timeout_ms: 3000,
            server_selection_timeout_ms: 3000,
        }
    }
}

/// Redis settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://`, `rediss://` or `redis-cluster://host:port?node=…`
    /// (`REDIS_URL` overrides it).
    pub url: String,
    /// Prepended to every key (letters, digits, `_`, `-`).
    pub prefix: String,
    /// Connections in the pool.
    pub pool_size: usize,
    /// How long opening a connection may take, in milliseconds.
    pub connect_timeout_ms: u64,
    /// How long a command waits for its answer (also while reconnecting)
    /// before the request answers 503, in milliseconds.
    pub command_timeout_ms: u64,
    /// Longest pause between reconnection attempts, in milliseconds. The
    /// client reconnects by itself with exponential backoff up to this.
    pub reconnect_max_delay_ms: u64,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            prefix: "portico".into(),
            pool_size: 4,
            connect_timeout_ms: 3000,
            command_timeout_ms: 3000,
            reconnect_max_delay_ms: 2000,
        }
    }
}

/// A backend that can serve a port group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The SQL database of `[database]`.
    Sql,
    /// The MongoDB database of `[mongodb]`.
    Mongodb,
    /// The Redis server or cluster of `[redis]`.
    Redis,
}

/// Which backend serves each port group: `sql`, `mongodb` or `redis`. The
/// groups other than `durable` follow `durable` unless set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoresConfig {
    /// Users, roles, content sessions, notifications, payments.
    pub durable: Backend,
    /// Auth sessions, refresh tokens, single-use tokens, registration candidates.
    pub sessions: Option<Backend>,
    /// Rate-limit and usage counters.
    pub rate_limits: Option<Backend>,
    /// Upload requests (short-lived; Redis suits them).
    pub uploads: Option<Backend>,
    /// Longest any one store call may take, in milliseconds, whatever the
    /// driver does (a server that accepts and never answers): past it the
    /// request answers 503 `store-unavailable`. A safety net behind the
    /// drivers' own timeouts, long enough for a background purge of many rows.
    pub call_timeout_ms: u64,
}

impl Default for StoresConfig {
    fn default() -> Self {
        Self {
            durable: Backend::Sql,
            sessions: None,
            rate_limits: None,
            uploads: None,
            call_timeout_ms: 30_000,
        }
    }
}

impl StoresConfig {
    /// The backend of the sessions group.
    pub fn sessions(&self) -> Backend {
        self.sessions.unwrap_or(self.durable)
    }
    /// The backend of the rate-limit group.
    pub fn rate_limits(&self) -> Backend {
        self.rate_limits.unwrap_or(self.durable)
    }
    /// The backend of the uploads group.
    pub fn uploads(&self) -> Backend {
        self.uploads.unwrap_or(self.durable)
    }
}

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
    /// Transport.
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
}

impl MailConfig {
    /// How the worker handles the queue.
    pub fn policy(&self) -> domain::services::MailPolicy {
        domain::services::MailPolicy {
            max_attempts: self.max_attempts.max(1),
            first_retry: time::Duration::milliseconds(
                i64::try_from(self.first_retry_ms.max(1)).unwrap_or(i64::MAX),
            ),
            ..domain::services::MailPolicy::default()
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
            poll_interval_ms: 1000,
            max_attempts: domain::services::MailPolicy::default().max_attempts,
            first_retry_ms: 5000,
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
    /// Mark cookies `Secure`. Unset: on when `public_url` is https.
    pub cookie_secure: Option<bool>,
    /// First administrator to create or promote at start-up, if set.
    pub bootstrap_admin: Option<BootstrapAdmin>,
    /// Key that CSRF tokens are derived from (at least 32 characters).
    /// Empty: a random key is created once in `<data_dir>/csrf.key`.
    /// Instances behind one load balancer must share it.
    #[serde(serialize_with = "redacted")]
    pub csrf_secret: SecretString,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        let p = platform::Argon2Params::default();
        Self {
            argon2_memory_kib: p.memory_kib,
            argon2_iterations: p.iterations,
            argon2_parallelism: p.parallelism,
            hash_concurrency: 0,
            cookie_secure: None,
            bootstrap_admin: None,
            csrf_secret: SecretString::default(),
        }
    }
}

/// An administrator named in configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BootstrapAdmin {
    /// Email.
    pub email: String,
    /// Username.
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
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            ip_per_minute: 60,
            user_per_minute: 600,
            username_checks_per_minute: 30,
        }
    }
}

/// Logging.
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

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file or an override is not valid.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The file read when `--config` is not given, if it exists.
pub const DEFAULT_FILE: &str = "portico.toml";

impl Config {
    /// Loads `path` (or `portico.toml` when present) and applies the
    /// environment overrides from `env`.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = match path {
            Some(p) => read_table(p)?,
            None if Path::new(DEFAULT_FILE).exists() => read_table(Path::new(DEFAULT_FILE))?,
            None => toml::Table::new(),
        };
        apply_env(&mut table, env)?;
        let config: Config = table
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let s = &self.security;
        if s.argon2_memory_kib < 19 * 1024 || s.argon2_iterations < 2 || s.argon2_parallelism < 1 {
            return Err(ConfigError::Invalid(
                "security.argon2_* must be at least m=19456 KiB, t=2, p=1 (OWASP minimum)".into(),
            ));
        }
        if self.mail.transport == MailTransport::Smtp && self.mail.smtp_url.is_empty() {
            return Err(ConfigError::Invalid(
                "mail.transport = \"smtp\" needs mail.smtp_url".into(),
            ));
        }
        if self.uses(Backend::Mongodb) && self.mongodb.url.is_empty() {
            return Err(ConfigError::Invalid(
                "a [stores] group uses mongodb: set mongodb.url or MONGODB_URL".into(),
            ));
        }
        if self.uses(Backend::Redis) && self.redis.url.is_empty() {
            return Err(ConfigError::Invalid(
                "a [stores] group uses redis: set redis.url or REDIS_URL".into(),
            ));
        }
        if too_short(&self.security.csrf_secret) {
            return Err(ConfigError::Invalid(
                "security.csrf_secret must be at least 32 characters".into(),
            ));
        }
        if self.server.body_limit_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "server.body_limit_bytes must be at least 1024".into(),
            ));
        }
        let url = self.public_url();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ConfigError::Invalid(
                "server.public_url must start with http:// or https://".into(),
            ));
        }
        self.server
            .trusted_proxies
            .rule(self.server.trust_forwarded_for)
            .map_err(|e| ConfigError::Invalid(format!("server.trusted_proxies: {e}")))?;
        self.validate_features().map_err(ConfigError::Invalid)
    }

    /// Whether any port group is served by `backend`.
    pub fn uses(&self, backend: Backend) -> bool {
        let s = &self.stores;
        [s.durable, s.sessions(), s.rate_limits(), s.uploads()].contains(&backend)
    }

    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            // `sqlite:///` + path reads the path as written, relative or
            // absolute (the SQLAlchemy form).
            format!(
                "sqlite:///{}",
                self.server.data_dir.join("portico.db").display()
            )
        } else {
            self.database.url.clone()
        }
    }

    /// The public base URL without a trailing slash.
    pub fn public_url(&self) -> String {
        if self.server.public_url.is_empty() {
            format!("http://{}", self.server.listen)
        } else {
            self.server.public_url.trim_end_matches('/').to_owned()
        }
    }

    /// The outbox folder in effect.
    pub fn outbox_dir(&self) -> PathBuf {
        or_data(&self.mail.outbox_dir, &self.server.data_dir, "outbox")
    }

    /// The local object folder in effect.
    pub fn objects_dir(&self) -> PathBuf {
        or_data(&self.objects.local_dir, &self.server.data_dir, "objects")
    }

    /// Whether cookies carry `Secure`.
    pub fn cookie_secure(&self) -> bool {
        self.security
            .cookie_secure
            .unwrap_or_else(|| self.public_url().starts_with("https://"))
    }

    /// The configuration as TOML, with secrets and URL credentials replaced
    /// by `[redacted]` (secrets always serialize that way).
    pub fn to_redacted_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database.url = redact_url(&self.database_url());
        shown.mail.smtp_url = redact_url(&shown.mail.smtp_url);
        shown.mongodb.url = redact_url(&shown.mongodb.url);
        shown.redis.url = redact_url(&shown.redis.url);
        shown.mail.outbox_dir = self.outbox_dir();
        shown.objects.local_dir = self.objects_dir();
        shown.server.public_url = self.public_url();
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

fn or_data(set: &Path, data_dir: &Path, leaf: &str) -> PathBuf {
    if set.as_os_str().is_empty() {
        data_dir.join(leaf)
    } else {
        set.to_path_buf()
    }
}

/// Replaces the password of `scheme://user:password@host` with `[redacted]`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:[redacted]@{host}"),
        None => url.to_owned(),
    }
}

fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    text.parse::<toml::Table>()
        .map_err(|e| ConfigError::Invalid(format!("{}: {e}", path.display())))
}

fn apply_env(
    table: &mut toml::Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let mut overrides: Vec<(Vec<String>, String)> = Vec::new();
    for (key, value) in env {
        if key == "DATABASE_URL" {
            overrides.push((vec!["database".into(), "url".into()], value));
        } else if key == "MONGODB_URL" {
            overrides.push((vec!["mongodb".into(), "url".into()], value));
        } else if key == "REDIS_URL" {
            overrides.push((vec!["redis".into(), "url".into()], value));
        } else if let Some(rest) = key.strip_prefix("PORTICO_") {
            let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
            if path.len() >= 2 && path.iter().all(|p| !p.is_empty()) {
                overrides.push((path, value));
            }
        }
    }
    // PORTICO_DATABASE__URL beats DATABASE_URL (and PORTICO_MONGODB__URL
    // beats MONGODB_URL): apply the generic ones last.
    overrides.sort_by_key(|(path, _)| path.len());
    for (path, value) in overrides {
        let (leaf, parents) = path.split_last().expect("at least two parts");
        let mut node = &mut *table;
        for part in parents {
            node = node
                .entry(part.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .ok_or_else(|| ConfigError::Invalid(format!("{part} is not a section")))?;
        }
        node.insert(leaf.clone(), parse_value(&value));
    }
    Ok(())
}

/// A TOML value when `raw` parses as one, else the string itself.
fn parse_value(raw: &str) -> toml::Value {
    format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn no_configuration_means_localhost_sqlite_and_outbox_under_data() {
        let c = Config::load(None, env(&[])).unwrap();
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url(), "sqlite:///data/portico.db");
        assert_eq!(c.outbox_dir(), PathBuf::from("data/outbox"));
        assert_eq!(c.mail.transport, MailTransport::Outbox);
        assert!(!c.cookie_secure());
    }

    #[test]
    fn environment_overrides_nested_keys_with_typed_values() {
        let c = Config::load(
            None,
            env(&[
                ("PORTICO_SERVER__LISTEN", "0.0.0.0:9000"),
                ("PORTICO_RATE_LIMITS__IP_PER_MINUTE", "5"),
                ("PORTICO_SERVER__PUBLIC_URL", "https://example.org/"),
                ("DATABASE_URL", "postgres://u:secret@db/app"),
                ("UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.server.listen.port(), 9000);
        assert_eq!(c.rate_limits.ip_per_minute, 5);
        assert_eq!(c.public_url(), "https://example.org");
        assert!(c.cookie_secure());
        assert_eq!(c.database_url(), "postgres://u:secret@db/app");
        let shown = c.to_redacted_toml();
        assert!(shown.contains("postgres://u:[redacted]@db/app"), "{shown}");
        assert!(!shown.contains("u:secret@"), "{shown}");
    }

    #[test]
    fn feature_secrets_are_redacted_and_checked() {
        let c = Config::load(
            None,
            env(&[
                (
                    "PORTICO_PAYMENTS__WEBHOOK_SECRET",
                    "whsec-0123456789abcdef0123456789abcdef",
                ),
                (
                    "PORTICO_OBJECTS__SIGNING_SECRET",
                    "sign-0123456789abcdef0123456789abcdef",
                ),
            ]),
        )
        .unwrap();
        let shown = c.to_redacted_toml();
        assert!(
            !shown.contains("whsec-") && !shown.contains("sign-0123"),
            "{shown}"
        );
        let weak = Config::load(None, env(&[("PORTICO_PAYMENTS__WEBHOOK_SECRET", "short")]));
        assert!(weak.unwrap_err().to_string().contains("webhook_secret"));
        let s3 = Config::load(None, env(&[("PORTICO_OBJECTS__BACKEND", "s3")]));
        assert!(s3.unwrap_err().to_string().contains("s3_bucket"));
    }

    #[test]
    fn unknown_keys_and_weak_hashing_are_refused() {
        let err = Config::load(None, env(&[("PORTICO_SERVER__LISTN", "x")])).unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");
        let err =
            Config::load(None, env(&[("PORTICO_SECURITY__ARGON2_ITERATIONS", "1")])).unwrap_err();
        assert!(err.to_string().contains("argon2"), "{err}");
    }

    #[test]
    fn mongodb_groups_need_a_url_which_mongodb_url_gives() {
        let err = Config::load(None, env(&[("PORTICO_STORES__DURABLE", "mongodb")])).unwrap_err();
        assert!(err.to_string().contains("MONGODB_URL"), "{err}");
        let c = Config::load(
            None,
            env(&[
                ("PORTICO_STORES__DURABLE", "mongodb"),
                ("MONGODB_URL", "mongodb://app:pw@db:27017"),
            ]),
        )
        .unwrap();
        assert!(
            c.uses(Backend::Mongodb) && !c.uses(Backend::Sql),
            "groups follow durable"
        );
        assert!(
            c.to_redacted_toml()
                .contains("mongodb://app:[redacted]@db:27017")
        );
        let c = Config::load(
            None,
            env(&[
                ("PORTICO_STORES__SESSIONS", "redis"),
                ("REDIS_URL", "redis://:pw@cache:6379"),
            ]),
        )
        .unwrap();
        assert!(c.uses(Backend::Redis) && c.uses(Backend::Sql));
        assert_eq!(c.stores.rate_limits(), Backend::Sql);
        assert!(
            c.to_redacted_toml()
                .contains("redis://:[redacted]@cache:6379")
        );
    }

    #[test]
    fn trusted_proxies_are_a_count_or_ranges() {
        use crate::proxies::TrustedProxies;
        let c = Config::load(None, env(&[("PORTICO_SERVER__TRUSTED_PROXIES", "2")])).unwrap();
        assert_eq!(c.server.trusted_proxies, TrustedProxies::Count(2));
        let c = Config::load(
            None,
            env(&[(
                "PORTICO_SERVER__TRUSTED_PROXIES",
                r#"["10.0.0.0/8", "fd00::/8"]"#,
            )]),
        )
        .unwrap();
        assert_eq!(
            c.server.trusted_proxies,
            TrustedProxies::Ranges(vec!["10.0.0.0/8".into(), "fd00::/8".into()])
        );
        let err = Config::load(
            None,
            env(&[("PORTICO_SERVER__TRUSTED_PROXIES", r#"["10.0.0.0/99"]"#)]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("trusted_proxies"), "{err}");
        assert!(
            Config::load(None, env(&[]))
                .unwrap()
                .to_redacted_toml()
                .contains("trusted_proxies = 0")
        );
    }

    #[test]
    fn smtp_needs_a_url() {
        let err = Config::load(None, env(&[("PORTICO_MAIL__TRANSPORT", "smtp")])).unwrap_err();
        assert!(err.to_string().contains("smtp_url"), "{err}");
    }

    #[test]
    fn urls_without_passwords_are_shown_as_they_are() {
        assert_eq!(redact_url("sqlite://data/p.db"), "sqlite://data/p.db");
        assert_eq!(redact_url("smtp://relay:25"), "smtp://relay:25");
        assert_eq!(
            redact_url("smtps://me:pw@mail.example.org:465"),
            "smtps://me:[redacted]@mail.example.org:465"
        );
    }
}
