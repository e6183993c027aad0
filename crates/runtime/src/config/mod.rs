//! Configuration: defaults, then a TOML file, then environment overrides.
//!
//! Every key can be overridden as `PORTICO_<SECTION>__<KEY>` (double
//! underscore between levels), for example `PORTICO_SERVER__LISTEN=0.0.0.0:80`
//! or `PORTICO_MAIL__TRANSPORT=smtp`. `DATABASE_URL` overrides
//! `database.url`. Values are read as TOML when they parse (numbers, booleans,
//! arrays) and as strings otherwise.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod accounts;
mod backups;
mod env;
mod features;
mod oauth;
mod settings;
mod stores;
mod tokens;
mod webauthn;
mod webhooks;

pub use accounts::*;
pub use backups::*;
pub use features::*;
pub use oauth::*;
pub use settings::*;
pub use stores::*;
pub use tokens::*;
pub use webauthn::*;
pub use webhooks::*;

use env::{apply, overrides, read_table};

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
    /// The built-in default plan.
    pub plans: PlansConfig,
    /// The activity log.
    pub activity: ActivityConfig,
    /// Log level and format.
    pub log: LogConfig,
    /// Sign-in through identity providers.
    pub oauth: OAuthConfig,
    /// Registration (defaults of its runtime settings).
    pub registration: RegistrationConfig,
    /// The password rule (default of its runtime setting).
    pub password: PasswordConfig,
    /// The app's own flags (defaults of the `features.*` runtime settings).
    pub features: FeaturesConfig,
    /// How instances follow changes to the runtime settings.
    pub settings: SettingsConfig,
    /// The form of access tokens (opaque or JWT).
    pub tokens: TokensConfig,
    /// The WebAuthn relying party (passkeys).
    pub webauthn: WebAuthnConfig,
    /// Scheduled backups.
    pub backups: BackupsConfig,
    /// Outgoing webhooks.
    pub webhooks: WebhooksConfig,
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
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
        let (file, table) = match path {
            Some(p) => (Some(p), read_table(p)?),
            None if Path::new(DEFAULT_FILE).exists() => (
                Some(Path::new(DEFAULT_FILE)),
                read_table(Path::new(DEFAULT_FILE))?,
            ),
            None => (None, toml::Table::new()),
        };
        let from_file = |e: toml::de::Error| match file {
            Some(p) => ConfigError::Invalid(format!("{}: {e}", p.display())),
            None => ConfigError::Invalid(e.to_string()),
        };
        table.clone().try_into::<Config>().map_err(from_file)?;
        // Each override on top of what came before: an error names the
        // variable that caused it, and a list setting given as one string
        // takes its comma-separated items. A table with required fields
        // (`security.bootstrap_admin`) takes several variables: while one
        // of them leaves a field missing, the next ones may bring it, so
        // that error waits for the end.
        let mut merged = table;
        let mut incomplete: Vec<String> = Vec::new();
        for mut o in overrides(env) {
            let mut attempt = merged.clone();
            apply(&mut attempt, &o)?;
            if let Err(e) = attempt.clone().try_into::<Config>() {
                let message = e.message().to_owned();
                let retried = message.contains("expected a sequence") && o.split_list() && {
                    attempt = merged.clone();
                    apply(&mut attempt, &o)?;
                    attempt.clone().try_into::<Config>().is_ok()
                };
                if message.starts_with("missing field") {
                    incomplete.push(o.var.clone());
                } else if !retried {
                    return Err(ConfigError::Invalid(format!("{}: {message}", o.var)));
                }
            }
            merged = attempt;
        }
        let config: Config = merged.try_into().map_err(|e: toml::de::Error| {
            ConfigError::Invalid(if incomplete.is_empty() {
                e.to_string()
            } else {
                format!("{}: {}", incomplete.join(", "), e.message())
            })
        })?;
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
        self.plans.default_plan().map_err(ConfigError::Invalid)?;
        self.backups.interval().map_err(ConfigError::Invalid)?;
        self.setting_defaults().map_err(ConfigError::Invalid)?;
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
        if let Some(bad) = self.log.level.split(',').map(str::trim).find(|d| {
            let level = d.rsplit('=').next().unwrap_or("");
            !["trace", "debug", "info", "warn", "error", "off"]
                .contains(&level.to_ascii_lowercase().as_str())
        }) {
            return Err(ConfigError::Invalid(format!(
                "log.level: {bad:?} is not a level (trace, debug, info, warn, error, off) or a target=level directive"
            )));
        }
        self.mail.links.validate().map_err(ConfigError::Invalid)?;
        self.tokens.validate().map_err(ConfigError::Invalid)?;
        self.validate_features().map_err(ConfigError::Invalid)?;
        self.oauth.validate().map_err(ConfigError::Invalid)
    }

    /// What deserves a warning at start, in words: variables in `env` that
    /// look like settings but are ignored (`PORTICO_SERVER_LISTEN`, one
    /// underscore where two separate section and key), and store URLs that
    /// no `[stores]` group uses.
    pub fn warnings(&self, env: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
        let mut sections: Vec<String> = toml::Table::try_from(self)
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default();
        // `rate_limits_` before a shorter section that could prefix it.
        sections.sort_by_key(|s| std::cmp::Reverse(s.len()));
        let mut out = Vec::new();
        let mut vars: Vec<(String, String)> = env.into_iter().collect();
        vars.sort();
        for (key, _) in vars {
            let Some(rest) = key.strip_prefix("PORTICO_") else {
                continue;
            };
            if rest.contains("__") {
                continue;
            }
            let lower = rest.to_ascii_lowercase();
            if let Some(section) = sections
                .iter()
                .find(|s| lower.starts_with(&format!("{s}_")) && lower.len() > s.len() + 1)
            {
                let (head, tail) = rest.split_at(section.len());
                out.push(format!(
                    "{key} is ignored: a setting takes two underscores between section and key \
                     (PORTICO_{head}_{tail})"
                ));
            }
        }
        let unused = |backend: Backend, url: &str, setting: &str, var: &str| {
            (!url.is_empty() && !self.uses(backend)).then(|| {
                format!(
                    "{setting} (or {var}) is set but no [stores] group uses {name}: it is ignored \
                     (to use it, set stores.durable or stores.sessions, stores.rate_limits, \
                     stores.uploads to \"{name}\")",
                    name = serde_json::to_value(backend)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                )
            })
        };
        out.extend(unused(
            Backend::Redis,
            &self.redis.url,
            "redis.url",
            "REDIS_URL",
        ));
        out.extend(unused(
            Backend::Mongodb,
            &self.mongodb.url,
            "mongodb.url",
            "MONGODB_URL",
        ));
        out.extend(unused(
            Backend::Sql,
            &self.database.url,
            "database.url",
            "DATABASE_URL",
        ));
        out
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

#[cfg(test)]
mod tests;
