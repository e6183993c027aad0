//! Configuration of the feature areas: object storage, uploads, content
//! sessions, payments and background jobs.

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::Config;

/// Where objects are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectBackend {
    /// Files under `local_dir`; upload and download URLs served by Portico.
    #[default]
    Local,
    /// An S3-compatible bucket; presigned URLs.
    S3,
}

/// Object storage.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ObjectsConfig {
    /// `local` or `s3`.
    pub backend: ObjectBackend,
    /// Folder of the local-disk store; empty means `<data_dir>/objects`.
    pub local_dir: PathBuf,
    /// Key of the local store's signed URLs (at least 32 characters). Empty:
    /// a random key is created once in `<data_dir>/objects.key`. Instances
    /// sharing one folder must share the key.
    #[serde(serialize_with = "super::redacted")]
    pub signing_secret: SecretString,
    /// S3 bucket.
    pub s3_bucket: String,
    /// S3 region.
    pub s3_region: String,
    /// Endpoint of an S3-compatible service (`http://127.0.0.1:9000`); empty for AWS.
    pub s3_endpoint: String,
    /// S3 access key id.
    pub s3_access_key_id: String,
    /// S3 secret access key.
    #[serde(serialize_with = "super::redacted")]
    pub s3_secret_access_key: SecretString,
}

impl Default for ObjectsConfig {
    fn default() -> Self {
        Self {
            backend: ObjectBackend::Local,
            local_dir: PathBuf::new(),
            signing_secret: SecretString::default(),
            s3_bucket: String::new(),
            s3_region: "us-east-1".into(),
            s3_endpoint: String::new(),
            s3_access_key_id: String::new(),
            s3_secret_access_key: SecretString::default(),
        }
    }
}

/// Upload limits and the sweep (requests live one hour, swept hourly).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UploadsConfig {
    /// Largest upload, in bytes.
    pub max_size_bytes: u64,
    /// Accepted content types: exact (`image/png`) or a family (`image/*`).
    pub allowed_content_types: Vec<String>,
    /// How long a pending request (and its upload URL) stays valid, in seconds.
    pub request_ttl_secs: u64,
    /// How long a download URL stays valid, in seconds.
    pub download_ttl_secs: u64,
    /// Objects no request references are deleted once older than this, in seconds.
    pub dangling_grace_secs: u64,
    /// How often the sweep runs, in seconds.
    pub sweep_interval_secs: u64,
    /// Uploads of one user in progress at once through the local store's
    /// URLs, per instance (each buffers up to one 5 MiB part); 0: no cap.
    pub max_concurrent_per_user: usize,
}

impl Default for UploadsConfig {
    fn default() -> Self {
        let p = domain::UploadPolicy::default();
        Self {
            max_size_bytes: p.max_size,
            allowed_content_types: p.allowed_content_types,
            request_ttl_secs: secs(p.request_ttl),
            download_ttl_secs: secs(p.download_ttl),
            dangling_grace_secs: secs(p.dangling_grace),
            sweep_interval_secs: 3600,
            max_concurrent_per_user: 2,
        }
    }
}

fn secs(d: time::Duration) -> u64 {
    u64::try_from(d.whole_seconds()).unwrap_or(0)
}

fn duration(secs: u64) -> time::Duration {
    time::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX))
}

impl UploadsConfig {
    /// The domain's policy.
    pub fn policy(&self) -> domain::UploadPolicy {
        domain::UploadPolicy {
            max_size: self.max_size_bytes,
            allowed_content_types: self.allowed_content_types.clone(),
            request_ttl: duration(self.request_ttl_secs),
            download_ttl: duration(self.download_ttl_secs),
            dangling_grace: duration(self.dangling_grace_secs),
        }
    }
}

/// Content-session limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContentConfig {
    /// Largest JSON value under one storage key, in bytes.
    pub max_value_bytes: usize,
    /// Most storage keys per session (the per-session quota).
    pub max_keys: usize,
    /// Longest message, in characters.
    pub max_message_chars: usize,
    /// Messages one user may post per minute in conversations between users.
    pub conversation_posts_per_minute: u64,
}

impl Default for ContentConfig {
    fn default() -> Self {
        let l = domain::ContentLimits::default();
        Self {
            max_value_bytes: l.max_value_bytes,
            max_keys: l.max_keys,
            max_message_chars: l.max_message_chars,
            conversation_posts_per_minute: domain::ConversationLimits::default().posts_per_minute,
        }
    }
}

impl ContentConfig {
    /// The domain's limits.
    pub fn limits(&self) -> domain::ContentLimits {
        domain::ContentLimits {
            max_value_bytes: self.max_value_bytes,
            max_keys: self.max_keys,
            max_message_chars: self.max_message_chars,
            ..domain::ContentLimits::default()
        }
    }
}

impl ContentConfig {
    /// The limits of conversations between users.
    pub fn conversation_limits(&self) -> domain::ConversationLimits {
        domain::ConversationLimits {
            posts_per_minute: self.conversation_posts_per_minute,
        }
    }
}

/// The `[payments]` section: the built-in webhook provider.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentsConfig {
    /// Shared secret of the built-in provider's webhooks
    /// (`POST /v1/payments/webhooks/portico`), at least 32 characters.
    /// Empty: the webhook endpoint answers 404.
    #[serde(serialize_with = "super::redacted")]
    pub webhook_secret: SecretString,
}

/// Background jobs. Each runs on one instance at a time (a lease in the
/// durable store), every interval plus up to 10 % random jitter.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// Run the jobs in this process (turn off on instances that should only serve).
    pub enabled: bool,
    /// How often expired sessions, tokens, notifications and counters are purged, in seconds.
    pub purge_interval_secs: u64,
    /// How often the statistics' roll-up counts the totals (users,
    /// verified, suspended, active sessions) onto today's record, in
    /// seconds; a day's totals are those of its last roll-up.
    pub stats_interval_secs: u64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            purge_interval_secs: 600,
            stats_interval_secs: 600,
        }
    }
}

/// The `[activity]` section: the activity log.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActivityConfig {
    /// How long events are kept, in days; the purge job deletes older ones.
    pub retention_days: u32,
}

impl Default for ActivityConfig {
    fn default() -> Self {
        Self {
            retention_days: 365,
        }
    }
}

impl Config {
    /// Checks the feature sections.
    pub(super) fn validate_features(&self) -> Result<(), String> {
        if self.activity.retention_days == 0 {
            return Err("activity.retention_days must be at least 1".into());
        }
        let o = &self.objects;
        if super::too_short(&o.signing_secret) {
            return Err("objects.signing_secret must be at least 32 characters".into());
        }
        if o.backend == ObjectBackend::S3
            && (o.s3_bucket.is_empty()
                || o.s3_access_key_id.is_empty()
                || o.s3_secret_access_key.expose_secret().is_empty())
        {
            return Err(
                "objects.backend = \"s3\" needs objects.s3_bucket, s3_access_key_id and s3_secret_access_key"
                    .into(),
            );
        }
        let u = &self.uploads;
        if u.max_size_bytes == 0 || u.request_ttl_secs == 0 || u.sweep_interval_secs == 0 {
            return Err(
                "uploads.max_size_bytes, request_ttl_secs and sweep_interval_secs must be positive"
                    .into(),
            );
        }
        if super::too_short(&self.payments.webhook_secret) {
            return Err("payments.webhook_secret must be at least 32 characters".into());
        }
        if self.jobs.purge_interval_secs == 0 {
            return Err("jobs.purge_interval_secs must be positive".into());
        }
        if self.jobs.stats_interval_secs == 0 {
            return Err("jobs.stats_interval_secs must be positive".into());
        }
        Ok(())
    }
}
