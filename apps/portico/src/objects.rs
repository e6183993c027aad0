//! Object storage on the local disk, under `<data_dir>/objects` by default.
//!
//! This server version serves no upload endpoints yet, so the store only
//! needs to find, list and delete objects (account deletion removes a user's
//! objects). Presigned URLs are refused with a clear error until the upload
//! endpoints exist.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use domain::{ObjectKey, ObjectMeta, ObjectStore, StoreError, UploadTarget};
use time::OffsetDateTime;

/// Objects as files below one folder; the object key is the relative path.
#[derive(Debug, Clone)]
pub struct LocalObjects {
    root: PathBuf,
}

impl LocalObjects {
    /// A store rooted at `root` (created if missing).
    pub fn new(root: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&root)?;
        Ok(Self { root })
    }

    fn path(&self, key: &ObjectKey) -> PathBuf {
        // ObjectKey rejects `..`, absolute paths and empty segments.
        self.root.join(key.as_str())
    }
}

fn io(context: &'static str) -> impl FnOnce(std::io::Error) -> StoreError {
    move |e| StoreError::with_source(context, e)
}

fn meta(key: ObjectKey, m: &std::fs::Metadata) -> ObjectMeta {
    let last_modified = m
        .modified()
        .ok()
        .map(OffsetDateTime::from)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    ObjectMeta {
        key,
        size: m.len(),
        content_type: None,
        last_modified: domain::truncate_to_millis(last_modified),
    }
}

/// Every file below `dir` as (key, metadata), keys with `/` separators.
fn walk(
    root: &Path,
    dir: &Path,
    out: &mut Vec<(String, std::fs::Metadata)>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let m = entry.metadata()?;
        let path = entry.path();
        if m.is_dir() {
            walk(root, &path, out)?;
        } else if m.is_file()
            && let Ok(rel) = path.strip_prefix(root)
        {
            let key: Vec<_> = rel.iter().map(|p| p.to_string_lossy()).collect();
            out.push((key.join("/"), m));
        }
    }
    Ok(())
}

#[async_trait]
impl ObjectStore for LocalObjects {
    async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>, StoreError> {
        match tokio::fs::metadata(self.path(key)).await {
            Ok(m) if m.is_file() => Ok(Some(meta(key.clone(), &m))),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("reading object metadata")(e)),
        }
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), StoreError> {
        match tokio::fs::remove_file(self.path(key)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("deleting object")(e)),
        }
    }

    async fn list(
        &self,
        after: Option<ObjectKey>,
        limit: u32,
    ) -> Result<Vec<ObjectMeta>, StoreError> {
        let root = self.root.clone();
        let mut files = tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            walk(&root, &root, &mut out).map(|()| out)
        })
        .await
        .map_err(|e| StoreError::with_source("listing objects", e))?
        .map_err(io("listing objects"))?;
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(files
            .into_iter()
            .filter_map(|(k, m)| ObjectKey::parse(&k).ok().map(|k| (k, m)))
            .filter(|(k, _)| after.as_ref().is_none_or(|a| k > a))
            .take(limit as usize)
            .map(|(k, m)| meta(k, &m))
            .collect())
    }

    async fn presign_put(
        &self,
        _key: &ObjectKey,
        _content_type: &str,
        _max_size: u64,
        _expires_at: OffsetDateTime,
    ) -> Result<UploadTarget, StoreError> {
        Err(StoreError::msg(
            "direct uploads to the local object store are not served by this server version",
        ))
    }

    async fn presign_get(
        &self,
        _key: &ObjectKey,
        _expires_at: OffsetDateTime,
    ) -> Result<String, StoreError> {
        Err(StoreError::msg(
            "downloads from the local object store are not served by this server version",
        ))
    }
}
