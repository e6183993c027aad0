//! Object storage from configuration: the local disk under
//! `<data_dir>/objects` (the default) or an S3-compatible bucket, both
//! through `adapter-objects`. The local store's URL-signing key comes from
//! `objects.signing_secret`, or is created once in `<data_dir>/objects.key`.

use std::io::Write;
use std::path::Path;

use adapter_objects::{Objects, ObjectsConfig, ObjectsError, S3Config};

use crate::config::{Config, ObjectBackend};

/// Why object storage could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ObjectsSetupError {
    /// The store rejected its settings.
    #[error(transparent)]
    Objects(#[from] ObjectsError),
    /// The signing key file could not be read or written.
    #[error("cannot read or create the URL signing key {path}")]
    Key {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Opens the configured object store.
pub fn open(config: &Config) -> Result<Objects, ObjectsSetupError> {
    let o = &config.objects;
    let settings = match o.backend {
        ObjectBackend::Local => ObjectsConfig::Local {
            root: config.objects_dir(),
            base_url: config.public_url(),
            secret: if o.signing_secret.is_empty() {
                key_file(&config.server.data_dir.join("objects.key"))?
            } else {
                o.signing_secret.as_bytes().to_vec()
            },
        },
        ObjectBackend::S3 => ObjectsConfig::S3(S3Config {
            bucket: o.s3_bucket.clone(),
            region: o.s3_region.clone(),
            endpoint: o.s3_endpoint.clone(),
            access_key_id: o.s3_access_key_id.clone(),
            secret_access_key: o.s3_secret_access_key.clone(),
        }),
    };
    Ok(Objects::connect(&settings)?)
}

/// The 32-byte key in `path`, created (mode 0600) with OS randomness if missing.
fn key_file(path: &Path) -> Result<Vec<u8>, ObjectsSetupError> {
    let fail = |source| ObjectsSetupError::Key {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read(path) {
        Ok(key) if key.len() >= 32 => return Ok(key),
        Ok(_) => {
            return Err(fail(std::io::Error::other(
                "the key file holds fewer than 32 bytes",
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(e)),
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let key = domain::TokenGenerator::generate(&platform::OsRandomTokens)
        .expose()
        .as_bytes()
        .to_vec();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(&key).map_err(fail)?;
            tracing::info!(path = %path.display(), "created the object URL signing key");
            Ok(key)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::read(path).map_err(fail)
        }
        Err(e) => Err(fail(e)),
    }
}
