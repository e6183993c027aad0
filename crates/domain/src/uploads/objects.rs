//! The object-storage port (local disk or S3-compatible) and what it returns.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{ObjectKey, StoreError};

/// What object storage knows of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The object's key.
    pub key: ObjectKey,
    /// Size in bytes.
    pub size: u64,
    /// Content type recorded at upload, if the store keeps one.
    pub content_type: Option<String>,
    /// When it was last written.
    pub last_modified: OffsetDateTime,
}

/// Where and how a client uploads bytes directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadTarget {
    /// URL to send the bytes to.
    pub url: String,
    /// HTTP method (`PUT`).
    pub method: String,
    /// Headers the client must send with the request.
    pub headers: Vec<(String, String)>,
}

/// Object storage (local disk or S3-compatible).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Metadata of `key`, or `None` if no such object exists.
    async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>, StoreError>;
    /// Writes `bytes` to `key` (replacing any object there), recording
    /// `content_type` where the store keeps one.
    async fn put(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StoreError>;
    /// The bytes of `key`, or `None` if no such object exists.
    async fn get(&self, key: &ObjectKey) -> Result<Option<Vec<u8>>, StoreError>;
    /// Deletes `key`. MUST succeed when the object is already gone.
    async fn delete(&self, key: &ObjectKey) -> Result<(), StoreError>;
    /// Up to `limit` objects in key order, strictly after `after` when given.
    async fn list(
        &self,
        after: Option<ObjectKey>,
        limit: u32,
    ) -> Result<Vec<ObjectMeta>, StoreError>;
    /// A URL through which a client may PUT at most `max_size` bytes of
    /// `content_type` to `key` until `expires_at`.
    async fn presign_put(
        &self,
        key: &ObjectKey,
        content_type: &str,
        max_size: u64,
        expires_at: OffsetDateTime,
    ) -> Result<UploadTarget, StoreError>;
    /// A URL through which a client may GET `key` until `expires_at`.
    async fn presign_get(
        &self,
        key: &ObjectKey,
        expires_at: OffsetDateTime,
    ) -> Result<String, StoreError>;
}
