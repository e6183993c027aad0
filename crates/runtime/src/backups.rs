//! Writing backups: a zstd dump of every store into a temporary file in the
//! data folder, streamed into the object store under `backups/<name>` in
//! parts (never held whole in memory, and visible under its name only once
//! complete), then the oldest beyond `backups.keep` deleted. Run by the
//! scheduled job (once across instances, under its leases) and by
//! `POST /v1/backups`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use domain::{BackupName, Backups, StoreError, Transfer};

use crate::dumps::{self, Compression, DumpFileError};

/// The job's name (in leases, logs and metrics).
pub const BACKUP: &str = "backup";

/// Bytes read from the temporary file per part sent.
const CHUNK: usize = 1 << 20;

/// What one backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupWritten {
    /// Its name.
    pub name: BackupName,
    /// Records per kind.
    pub counts: BTreeMap<String, u64>,
    /// Size in the object store, in bytes.
    pub bytes: u64,
    /// Older backups deleted after it.
    pub pruned: u64,
}

/// Writes backups (see the module documentation).
#[derive(Clone)]
pub struct BackupWriter {
    transfer: Transfer,
    backups: Backups,
    objects: adapter_objects::Objects,
    data_dir: PathBuf,
    keep: u32,
    /// One backup at a time in this process.
    running: Arc<tokio::sync::Mutex<()>>,
}

impl BackupWriter {
    /// A writer dumping `transfer`'s stores into `objects`, with temporary
    /// files in `data_dir`, keeping the newest `keep`.
    pub fn new(
        transfer: Transfer,
        backups: Backups,
        objects: adapter_objects::Objects,
        data_dir: PathBuf,
        keep: u32,
    ) -> Self {
        Self {
            transfer,
            backups,
            objects,
            data_dir,
            keep,
            running: Arc::default(),
        }
    }

    /// Naming, listing and permission checks.
    pub fn backups(&self) -> &Backups {
        &self.backups
    }

    /// Writes a backup named for now (the scheduled job).
    pub async fn run(&self) -> Result<BackupWritten, StoreError> {
        let name = self.backups.name_now();
        self.write(name).await
    }

    /// Writes backup `name`, then prunes. Logs its start and end.
    pub async fn write(&self, name: BackupName) -> Result<BackupWritten, StoreError> {
        let _one = self.running.lock().await;
        let started = std::time::Instant::now();
        tracing::info!(backup = name.as_str(), "backup started");
        let temporary = self.data_dir.join(format!(".{}.partial", name.as_str()));
        let result = self.write_file_and_upload(&name, &temporary).await;
        let _ = tokio::fs::remove_file(&temporary).await;
        let (counts, bytes) = result.map_err(|e| {
            tracing::error!(backup = name.as_str(), error = %crate::error_chain(&e), "backup failed");
            StoreError::with_source(format!("writing backup {}", name.as_str()), e)
        })?;
        let pruned = self.backups.prune(self.keep).await?;
        tracing::info!(
            backup = name.as_str(),
            records = counts.values().sum::<u64>(),
            bytes,
            pruned,
            seconds = started.elapsed().as_secs_f64(),
            "backup written"
        );
        Ok(BackupWritten {
            name,
            counts,
            bytes,
            pruned,
        })
    }

    async fn write_file_and_upload(
        &self,
        name: &BackupName,
        temporary: &std::path::Path,
    ) -> Result<(BTreeMap<String, u64>, u64), BackupFailure> {
        let file = std::fs::File::create(temporary)?;
        let progress = |n: u64| tracing::info!(records = n, "backup in progress");
        let summary = dumps::write_dump(
            &self.transfer,
            &file,
            Compression::Zstd,
            time::OffsetDateTime::now_utc(),
            &progress,
        )
        .await?;
        drop(file);
        let reader = tokio::fs::File::open(temporary).await?;
        let chunks = futures::stream::unfold(reader, |mut reader| async move {
            use tokio::io::AsyncReadExt as _;
            let mut buffer = vec![0u8; CHUNK];
            match reader.read(&mut buffer).await {
                Ok(0) => None,
                Ok(n) => {
                    buffer.truncate(n);
                    Some((Ok::<_, std::io::Error>(buffer), reader))
                }
                Err(e) => Some((Err(e), reader)),
            }
        });
        let bytes = self
            .objects
            .put_stream(&name.key(), "application/zstd", Box::pin(chunks), u64::MAX)
            .await
            .map_err(|e| match e {
                adapter_objects::PutStreamError::Store(e) => BackupFailure::Store(e),
                adapter_objects::PutStreamError::Body(e) => BackupFailure::Io(e),
                adapter_objects::PutStreamError::TooLarge => {
                    BackupFailure::Io(std::io::Error::other("backup larger than the store takes"))
                }
            })?;
        Ok((summary.counts, bytes))
    }
}

/// Why a backup was not written.
#[derive(Debug, thiserror::Error)]
enum BackupFailure {
    #[error("temporary file: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Dump(#[from] DumpFileError),
    #[error(transparent)]
    Store(StoreError),
}

/// A backup's counts as metric kinds (records per kind, bytes, pruned).
pub fn backup_counts(w: BackupWritten) -> Vec<(&'static str, u64)> {
    vec![
        ("records", w.counts.values().sum()),
        ("bytes", w.bytes),
        ("pruned", w.pruned),
    ]
}
