//! Object storage from configuration: the local disk under
//! `<data_dir>/objects` (the default) or an S3-compatible bucket, both
//! through `adapter-objects`. The local store's URL-signing key comes from
//! `objects.signing_secret`, or is created once in `<data_dir>/objects.key`.

use adapter_objects::{Objects, ObjectsConfig, ObjectsError, S3Config};

use secrecy::ExposeSecret;

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
        /// The underlying error.
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
            secret: if o.signing_secret.expose_secret().is_empty() {
                {
                    let path = config.server.data_dir.join("objects.key");
                    crate::keys::key_file(&path, "object URL signing").map_err(|source| {
                        ObjectsSetupError::Key {
                            path: path.display().to_string(),
                            source,
                        }
                    })?
                }
            } else {
                o.signing_secret.expose_secret().as_bytes().to_vec()
            },
        },
        ObjectBackend::S3 => ObjectsConfig::S3(S3Config {
            bucket: o.s3_bucket.clone(),
            region: o.s3_region.clone(),
            endpoint: o.s3_endpoint.clone(),
            access_key_id: o.s3_access_key_id.clone(),
            secret_access_key: o.s3_secret_access_key.expose_secret().to_owned(),
        }),
    };
    Ok(Objects::connect(&settings)?)
}
