//! Backups: dumps kept in the object store under `backups/`, named by the
//! time they began. The object store's listing is their only record (a
//! backup is there, with its size, or it is not), so nothing can claim a
//! backup the bucket lost. Writing one is the runtime's (it streams a
//! [`crate::Transfer::dump`] into the store); this service names them,
//! lists, prunes, and checks who may.

use std::sync::Arc;

use time::OffsetDateTime;
use time::macros::format_description;

use crate::{Clock, Denied, ObjectKey, ObjectStore, Permission, Principal, ReadError, StoreError};

/// The folder of the object store that holds backups.
pub const BACKUP_PREFIX: &str = "backups/";

/// How long a download link of a backup stays valid.
pub const BACKUP_LINK_TTL: time::Duration = time::Duration::minutes(5);

const STAMP: &[time::format_description::FormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

/// A backup's name: `portico-YYYYMMDDTHHMMSSZ.jsonl.zst`, the UTC time it
/// began. Nothing else parses, so a name from a URL cannot reach another
/// object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BackupName(String);

impl BackupName {
    /// The name of a backup beginning at `at`.
    pub fn at(at: OffsetDateTime) -> Self {
        let stamp = at
            .to_offset(time::UtcOffset::UTC)
            .format(STAMP)
            .unwrap_or_default();
        Self(format!("portico-{stamp}.jsonl.zst"))
    }

    /// Parses a name; `None` for anything that is not one.
    pub fn parse(text: &str) -> Option<Self> {
        let stamp = text.strip_prefix("portico-")?.strip_suffix(".jsonl.zst")?;
        time::PrimitiveDateTime::parse(stamp, STAMP).ok()?;
        Some(Self(text.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its key in the object store.
    pub fn key(&self) -> ObjectKey {
        ObjectKey::parse(&format!("{BACKUP_PREFIX}{}", self.0))
            .unwrap_or_else(|_| unreachable!("a backup name is a valid key"))
    }
}

/// A backup in the object store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    /// Its name.
    pub name: BackupName,
    /// Its size in bytes.
    pub size: u64,
    /// When it was written (complete).
    pub written_at: OffsetDateTime,
}

/// Why a backup could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The caller lacks the permission.
    #[error(transparent)]
    Forbidden(#[from] Denied),
    /// No such backup.
    #[error("no such backup")]
    NotFound,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[from] StoreError),
}

/// Naming, listing, pruning and permission checks of backups.
#[derive(Clone)]
pub struct Backups {
    objects: Arc<dyn ObjectStore>,
    clock: Arc<dyn Clock>,
}

impl Backups {
    /// The service over `objects`.
    pub fn new(objects: Arc<dyn ObjectStore>, clock: Arc<dyn Clock>) -> Self {
        Self { objects, clock }
    }

    /// Every backup, newest first; `by` needs `backups:read`.
    pub async fn list(&self, by: &Principal) -> Result<Vec<BackupInfo>, ReadError> {
        by.require(&Permission::BACKUPS_READ)?;
        Ok(self.all().await?)
    }

    /// Every backup, newest first.
    pub async fn all(&self) -> Result<Vec<BackupInfo>, StoreError> {
        let mut found = Vec::new();
        // Keys come in order: start just before the folder, skip what
        // sorts before it (`backups-x`), stop after it.
        let mut after = ObjectKey::parse(BACKUP_PREFIX.trim_end_matches('/')).ok();
        loop {
            let page = self.objects.list(after.clone(), 1000).await?;
            let full = page.len() == 1000;
            for meta in &page {
                let key = meta.key.as_str();
                let Some(name) = key.strip_prefix(BACKUP_PREFIX) else {
                    if key < BACKUP_PREFIX {
                        continue;
                    }
                    found.reverse();
                    return Ok(found);
                };
                if let Some(name) = BackupName::parse(name) {
                    found.push(BackupInfo {
                        name,
                        size: meta.size,
                        written_at: meta.last_modified,
                    });
                }
            }
            match page.last() {
                Some(last) if full => after = Some(last.key.clone()),
                _ => break,
            }
        }
        found.reverse();
        Ok(found)
    }

    /// The name of a backup `by` starts now; `by` needs `backups:write`.
    pub fn start(&self, by: &Principal) -> Result<BackupName, Denied> {
        by.require(&Permission::BACKUPS_WRITE)?;
        Ok(self.name_now())
    }

    /// The name of a backup beginning now (for the scheduled job).
    pub fn name_now(&self) -> BackupName {
        BackupName::at(self.clock.now())
    }

    /// A short-lived link to download backup `name`; `by` needs
    /// `backups:read`.
    pub async fn download_url(&self, by: &Principal, name: &str) -> Result<String, BackupError> {
        by.require(&Permission::BACKUPS_READ)?;
        let name = BackupName::parse(name).ok_or(BackupError::NotFound)?;
        let key = name.key();
        if self.objects.head(&key).await?.is_none() {
            return Err(BackupError::NotFound);
        }
        Ok(self
            .objects
            .presign_get(&key, self.clock.now() + BACKUP_LINK_TTL)
            .await?)
    }

    /// Deletes all but the newest `keep` backups; returns how many went.
    pub async fn prune(&self, keep: u32) -> Result<u64, StoreError> {
        let all = self.all().await?;
        let mut removed = 0;
        for old in all.iter().skip(keep.max(1) as usize) {
            self.objects.delete(&old.name.key()).await?;
            removed += 1;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_utc_start_and_nothing_else_parses() {
        let name = BackupName::at(time::macros::datetime!(2026-12-07 05:34:00 +01:00));
        assert_eq!(name.as_str(), "portico-20261207T043400Z.jsonl.zst");
        assert_eq!(BackupName::parse(name.as_str()), Some(name.clone()));
        assert_eq!(
            name.key().as_str(),
            "backups/portico-20261207T043400Z.jsonl.zst"
        );
        for bad in [
            "",
            "portico-.jsonl.zst",
            "portico-20261307T043400Z.jsonl.zst",
            "../portico-20261207T043400Z.jsonl.zst",
            "portico-20261207T043400Z.jsonl.zst/../../x",
            "portico-20261207T043400Z.jsonl",
        ] {
            assert_eq!(BackupName::parse(bad), None, "{bad}");
        }
    }
}
