//! Portico's object storage: the `domain::ObjectStore` port over the
//! [`object_store`] crate, on the local disk or on S3-compatible storage.
//!
//! Layout: [`ObjectsConfig`] and [`Objects::connect`] are the entry point;
//! `signing` holds [`UrlSigner`], the HMAC that makes the local store's
//! upload and download URLs unforgeable.
//!
//! - **Local disk** (the embedded default): objects are files under one
//!   folder, the key being the relative path. Clients cannot reach the disk,
//!   so upload and download URLs point at the Portico server itself
//!   (`<base_url>/v1/objects/<key>?…&sig=…`), carrying an expiry, the size
//!   limit and content type, and an HMAC-SHA256 signature over all of them.
//!   The server checks them with [`Objects::verify_put`] and
//!   [`Objects::verify_get`]. The disk keeps no content type.
//! - **S3-compatible** (AWS S3, MinIO, moto, s3s): upload and download URLs
//!   are S3 presigned URLs; clients talk to the bucket directly. S3 cannot cap
//!   the size of a presigned PUT, so completion checks the stored size.

mod signing;

use std::sync::Arc;

use async_trait::async_trait;
use domain::{ObjectKey, ObjectMeta, ObjectStore as Port, StoreError, UploadTarget};
use futures::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{
    Attribute, Attributes, GetOptions, ObjectStore, ObjectStoreExt, PutOptions, PutPayload,
};
use time::OffsetDateTime;

pub use signing::{SignedGet, SignedPut, UrlSigner};

/// Where objects live.
#[derive(Debug, Clone)]
pub enum ObjectsConfig {
    /// Files under `root`; URLs served by Portico at `base_url`.
    Local {
        /// The folder (created if missing).
        root: std::path::PathBuf,
        /// The server's public URL, e.g. `http://127.0.0.1:8080`.
        base_url: String,
        /// Key of the URL signatures (at least 32 bytes).
        secret: Vec<u8>,
    },
    /// An S3-compatible bucket.
    S3(S3Config),
}

/// An S3-compatible bucket.
#[derive(Clone)]
pub struct S3Config {
    /// Bucket name.
    pub bucket: String,
    /// Region, e.g. `us-east-1`.
    pub region: String,
    /// Endpoint for S3-compatible services (`http://127.0.0.1:9000`); empty for AWS.
    pub endpoint: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Why object storage could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ObjectsError {
    /// The local folder cannot be created.
    #[error("cannot create the object folder {path}")]
    Folder {
        /// The folder.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The signing secret is too short.
    #[error("the object URL signing secret must be at least 32 bytes")]
    WeakSecret,
    /// The store rejected its configuration.
    #[error("invalid object storage configuration")]
    Config(#[source] object_store::Error),
}

enum Backend {
    Local { signer: UrlSigner, base_url: String },
    S3(AmazonS3),
}

/// Object storage serving `domain::ObjectStore`.
#[derive(Clone)]
pub struct Objects {
    store: Arc<dyn ObjectStore>,
    backend: Arc<Backend>,
}

impl std::fmt::Debug for Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Objects({})", self.store)
    }
}

/// Size of the parts [`Objects::put_stream`] writes (S3's smallest but the last).
const PART_SIZE: usize = 5 * 1024 * 1024;

/// Why [`Objects::put_stream`] stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum PutStreamError<E> {
    /// The body passed the limit.
    #[error("the object is larger than allowed")]
    TooLarge,
    /// The body could not be read.
    #[error("the upload body failed")]
    Body(#[source] E),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

fn store_err(context: &'static str) -> impl Fn(object_store::Error) -> StoreError {
    move |e| StoreError::with_source(context, e)
}

fn path(key: &ObjectKey) -> Path {
    // ObjectKey allows only `A-Z a-z 0-9 . _ - = + /` with no empty, `.` or
    // `..` segment, which object_store's Path accepts as is.
    Path::from(key.as_str())
}

/// object_store reports times as chrono values; milliseconds are kept.
fn to_time(t: chrono::DateTime<chrono::Utc>) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.timestamp_millis()) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl Objects {
    /// Opens the configured store.
    pub fn connect(config: &ObjectsConfig) -> Result<Self, ObjectsError> {
        match config {
            ObjectsConfig::Local {
                root,
                base_url,
                secret,
            } => {
                if secret.len() < 32 {
                    return Err(ObjectsError::WeakSecret);
                }
                std::fs::create_dir_all(root).map_err(|source| ObjectsError::Folder {
                    path: root.display().to_string(),
                    source,
                })?;
                let fs = LocalFileSystem::new_with_prefix(root)
                    .map_err(ObjectsError::Config)?
                    .with_automatic_cleanup(true);
                Ok(Self {
                    store: Arc::new(fs),
                    backend: Arc::new(Backend::Local {
                        signer: UrlSigner::new(secret.clone()),
                        base_url: base_url.trim_end_matches('/').to_owned(),
                    }),
                })
            }
            ObjectsConfig::S3(s3) => {
                // reqwest is built without a default TLS provider; the one
                // Portico already uses elsewhere (ring) serves it too.
                let _ = rustls::crypto::ring::default_provider().install_default();
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(&s3.bucket)
                    .with_region(&s3.region)
                    .with_access_key_id(&s3.access_key_id)
                    .with_secret_access_key(&s3.secret_access_key);
                if !s3.endpoint.is_empty() {
                    builder = builder
                        .with_endpoint(&s3.endpoint)
                        .with_allow_http(s3.endpoint.starts_with("http://"))
                        .with_virtual_hosted_style_request(false);
                }
                let s3 = builder.build().map_err(ObjectsError::Config)?;
                Ok(Self {
                    store: Arc::new(s3.clone()),
                    backend: Arc::new(Backend::S3(s3)),
                })
            }
        }
    }

    /// Whether upload and download URLs point at Portico (the local store).
    pub fn serves_urls_itself(&self) -> bool {
        matches!(*self.backend, Backend::Local { .. })
    }

    /// Checks a Portico-served upload URL's query against `key`; `None` when
    /// the signature is wrong, the URL expired at `now`, or this store does
    /// not serve its own URLs.
    pub fn verify_put(
        &self,
        key: &ObjectKey,
        query: &str,
        now: OffsetDateTime,
    ) -> Option<SignedPut> {
        match &*self.backend {
            Backend::Local { signer, .. } => signer.verify_put(key, query, now),
            Backend::S3(_) => None,
        }
    }

    /// Writes `key` from `body` as it arrives, in parts of 5 MiB, without
    /// holding the whole object: nothing is visible under `key` until the
    /// last part is written, and a body that fails or passes `limit` bytes
    /// is abandoned (its parts removed). Returns the size written.
    pub async fn put_stream<S, B, E>(
        &self,
        key: &ObjectKey,
        content_type: &str,
        mut body: S,
        limit: u64,
    ) -> Result<u64, PutStreamError<E>>
    where
        S: futures::Stream<Item = Result<B, E>> + Unpin,
        B: AsRef<[u8]>,
    {
        use futures::StreamExt as _;
        let mut attributes = Attributes::new();
        if let Backend::S3(_) = &*self.backend {
            attributes.insert(Attribute::ContentType, content_type.to_owned().into());
        }
        let options = object_store::PutMultipartOptions {
            attributes,
            ..Default::default()
        };
        let upload = self
            .store
            .put_multipart_opts(&path(key), options)
            .await
            .map_err(|e| PutStreamError::Store(store_err("starting an object upload")(e)))?;
        let mut writer = object_store::WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut size = 0u64;
        while let Some(chunk) = body.next().await {
            let failure = match chunk {
                Ok(chunk) => {
                    size += chunk.as_ref().len() as u64;
                    if size > limit {
                        Some(PutStreamError::TooLarge)
                    } else {
                        match writer.wait_for_capacity(2).await {
                            Ok(()) => {
                                writer.write(chunk.as_ref());
                                None
                            }
                            Err(e) => Some(PutStreamError::Store(store_err(
                                "writing an object part",
                            )(e))),
                        }
                    }
                }
                Err(e) => Some(PutStreamError::Body(e)),
            };
            if let Some(failure) = failure {
                let _ = writer.abort().await;
                return Err(failure);
            }
        }
        writer
            .finish()
            .await
            .map_err(|e| PutStreamError::Store(store_err("finishing an object upload")(e)))?;
        Ok(size)
    }

    /// The size of `key` and its bytes as they are read, in chunks, without
    /// holding the whole object; `None` when there is no such object.
    pub async fn get_stream(
        &self,
        key: &ObjectKey,
    ) -> Result<
        Option<(
            u64,
            futures::stream::BoxStream<'static, Result<Vec<u8>, StoreError>>,
        )>,
        StoreError,
    > {
        use futures::StreamExt as _;
        match self.store.get(&path(key)).await {
            Ok(r) => {
                let size = r.meta.size;
                let chunks = r
                    .into_stream()
                    .map(|chunk| {
                        chunk
                            .map(|b| b.to_vec())
                            .map_err(store_err("reading object"))
                    })
                    .boxed();
                Ok(Some((size, chunks)))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_err("reading object")(e)),
        }
    }

    /// Checks a Portico-served download URL's query, as [`Self::verify_put`].
    pub fn verify_get(
        &self,
        key: &ObjectKey,
        query: &str,
        now: OffsetDateTime,
    ) -> Option<SignedGet> {
        match &*self.backend {
            Backend::Local { signer, .. } => signer.verify_get(key, query, now),
            Backend::S3(_) => None,
        }
    }

    async fn presign_s3(
        s3: &AmazonS3,
        method: http::Method,
        key: &ObjectKey,
        expires_at: OffsetDateTime,
    ) -> Result<String, StoreError> {
        let secs = (expires_at - OffsetDateTime::now_utc())
            .whole_seconds()
            .max(1);
        let expires_in = std::time::Duration::from_secs(u64::try_from(secs).unwrap_or(1));
        s3.signed_url(method, &path(key), expires_in)
            .await
            .map(|u| u.to_string())
            .map_err(store_err("presigning URL"))
    }
}

#[async_trait]
impl Port for Objects {
    async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>, StoreError> {
        let options = GetOptions {
            head: true,
            ..GetOptions::default()
        };
        match self.store.get_opts(&path(key), options).await {
            Ok(r) => Ok(Some(ObjectMeta {
                key: key.clone(),
                size: r.meta.size,
                content_type: r
                    .attributes
                    .get(&Attribute::ContentType)
                    .map(|v| v.to_string()),
                last_modified: to_time(r.meta.last_modified),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_err("reading object metadata")(e)),
        }
    }

    async fn put(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StoreError> {
        let mut attributes = Attributes::new();
        if let Backend::S3(_) = &*self.backend {
            attributes.insert(Attribute::ContentType, content_type.to_owned().into());
        }
        let options = PutOptions {
            attributes,
            ..PutOptions::default()
        };
        self.store
            .put_opts(&path(key), PutPayload::from(bytes), options)
            .await
            .map(|_| ())
            .map_err(store_err("writing object"))
    }

    async fn get(&self, key: &ObjectKey) -> Result<Option<Vec<u8>>, StoreError> {
        match self.store.get(&path(key)).await {
            Ok(r) => Ok(Some(
                r.bytes()
                    .await
                    .map_err(store_err("reading object"))?
                    .to_vec(),
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_err("reading object")(e)),
        }
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), StoreError> {
        match self.store.delete(&path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_err("deleting object")(e)),
        }
    }

    async fn list(
        &self,
        after: Option<ObjectKey>,
        limit: u32,
    ) -> Result<Vec<ObjectMeta>, StoreError> {
        let listed: Vec<object_store::ObjectMeta> = match &after {
            Some(a) => self.store.list_with_offset(None, &path(a)),
            None => self.store.list(None),
        }
        .try_collect()
        .await
        .map_err(store_err("listing objects"))?;
        // S3 lists in key order; the local disk does not: sort, then page.
        let mut objects: Vec<ObjectMeta> = listed
            .into_iter()
            .filter_map(|m| {
                let key = ObjectKey::parse(m.location.as_ref()).ok()?;
                Some(ObjectMeta {
                    key,
                    size: m.size,
                    content_type: None,
                    last_modified: to_time(m.last_modified),
                })
            })
            .filter(|m| after.as_ref().is_none_or(|a| &m.key > a))
            .collect();
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        objects.truncate(limit as usize);
        Ok(objects)
    }

    async fn presign_put(
        &self,
        key: &ObjectKey,
        content_type: &str,
        max_size: u64,
        expires_at: OffsetDateTime,
    ) -> Result<UploadTarget, StoreError> {
        let url = match &*self.backend {
            Backend::Local { signer, base_url } => format!(
                "{base_url}/v1/objects/{}?{}",
                key.as_str(),
                signer.sign_put(key, content_type, max_size, expires_at)
            ),
            Backend::S3(s3) => Self::presign_s3(s3, http::Method::PUT, key, expires_at).await?,
        };
        Ok(UploadTarget {
            url,
            method: "PUT".into(),
            headers: vec![("Content-Type".into(), content_type.to_owned())],
        })
    }

    async fn presign_get(
        &self,
        key: &ObjectKey,
        expires_at: OffsetDateTime,
    ) -> Result<String, StoreError> {
        match &*self.backend {
            Backend::Local { signer, base_url } => Ok(format!(
                "{base_url}/v1/objects/{}?{}",
                key.as_str(),
                signer.sign_get(key, expires_at)
            )),
            Backend::S3(s3) => Self::presign_s3(s3, http::Method::GET, key, expires_at).await,
        }
    }
}
