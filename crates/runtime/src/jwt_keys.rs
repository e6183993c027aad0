//! The JWT signing keys of a running server: `tokens.jwt_keys` as given,
//! or the key file `<data_dir>/jwt.keys` followed as it changes (`portico
//! keys rotate --jwt` reaches running instances without a restart), like
//! the keyring of secrets at rest.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use domain::{AccessClaims, AccessTokenSigner, StoreError};

/// The signing keys, followed.
pub struct JwtKeyFile {
    path: Option<PathBuf>,
    keys: RwLock<Arc<platform::JwtKeys>>,
}

/// Where the key file lives.
pub fn jwt_keys_path(data_dir: &Path) -> PathBuf {
    data_dir.join("jwt.keys")
}

impl JwtKeyFile {
    /// How often the file is read again.
    pub const WATCH_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

    /// The keys of `configured` (non-empty), else of the key file, which
    /// is created with one key when `create` and missing. `None`: no
    /// configured keys and no file (JWTs off, nothing published).
    pub fn open(configured: &str, data_dir: &Path, create: bool) -> Result<Option<Self>, String> {
        if !configured.trim().is_empty() {
            let keys = platform::JwtKeys::parse(configured.split([',', '\n']))
                .map_err(|e| format!("tokens.jwt_keys: {e}"))?;
            return Ok(Some(Self {
                path: None,
                keys: RwLock::new(Arc::new(keys)),
            }));
        }
        let path = jwt_keys_path(data_dir);
        if !create && !path.exists() {
            return Ok(None);
        }
        let text = crate::keys::read_or_create(&path, "JWT signing", || {
            let now = time::OffsetDateTime::now_utc();
            format!("{}\n", platform::JwtKeys::new_entry("j1", now)).into_bytes()
        })
        .map_err(|e| format!("cannot read or create {}: {e}", path.display()))?;
        let text =
            String::from_utf8(text).map_err(|_| format!("{} is not UTF-8 text", path.display()))?;
        let keys = platform::JwtKeys::parse(text.lines())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Some(Self {
            path: Some(path),
            keys: RwLock::new(Arc::new(keys)),
        }))
    }

    /// The keys in use.
    pub fn current(&self) -> Arc<platform::JwtKeys> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reads the file again (when there is one); a file that does not parse
    /// is logged and the keys in use stay.
    pub fn reload(&self) {
        let Some(path) = &self.path else {
            return;
        };
        let parsed = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| platform::JwtKeys::parse(t.lines()).map_err(|e| e.to_string()));
        match parsed {
            Ok(keys) => {
                if keys.ids() != self.current().ids() {
                    tracing::info!(path = %path.display(), keys = ?keys.ids(),
                        "the JWT keys changed; signing with the last one from now on");
                    *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
                }
            }
            Err(e) => tracing::error!(path = %path.display(), error = %e,
                "cannot read the JWT key file; keeping the keys in use"),
        }
    }

    /// Reads the file every [`JwtKeyFile::WATCH_EVERY`], until aborted.
    pub async fn watch(self: Arc<Self>) {
        if self.path.is_none() {
            return;
        }
        let mut tick = tokio::time::interval(Self::WATCH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let this = self.clone();
            let _ = tokio::task::spawn_blocking(move || this.reload()).await;
        }
    }
}

impl AccessTokenSigner for JwtKeyFile {
    fn sign(&self, claims: &AccessClaims) -> Result<String, StoreError> {
        self.current().sign(claims)
    }

    fn verify(&self, token: &str) -> Option<AccessClaims> {
        self.current().verify(token)
    }
}
