//! Backups: dumps of every store in the object store under `backups/`.

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;

/// One backup.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackupView {
    /// Its name: `portico-<UTC start, YYYYMMDDTHHMMSSZ>.jsonl.zst`.
    #[schema(example = "portico-20261207T040000Z.jsonl.zst")]
    pub name: String,
    /// Size in bytes (zstd-compressed JSON lines).
    pub size: u64,
    /// When it was complete.
    #[serde(with = "time::serde::rfc3339")]
    pub written_at: OffsetDateTime,
}

impl From<domain::BackupInfo> for BackupView {
    fn from(b: domain::BackupInfo) -> Self {
        Self {
            name: b.name.as_str().to_owned(),
            size: b.size,
            written_at: b.written_at,
        }
    }
}

/// The backups, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackupList {
    /// Every backup in the object store.
    pub items: Vec<BackupView>,
}

/// A backup that has started.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackupStarted {
    /// The name it will have in the list once written.
    #[schema(example = "portico-20261207T040000Z.jsonl.zst")]
    pub name: String,
}
