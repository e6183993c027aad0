//! Server keys kept in the data folder: created once with OS randomness
//! (mode 0600), read at every start. Instances that share a data folder
//! share the key; others must be given the same secret in configuration.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// The key in `path` (at least 32 bytes), created if missing. `what` names
/// it in the log line of its creation.
pub fn key_file(path: &Path, what: &str) -> std::io::Result<Vec<u8>> {
    let key = read_or_create(path, what, || {
        domain::TokenGenerator::generate(&platform::OsRandomTokens)
            .expose()
            .as_bytes()
            .to_vec()
    })?;
    if key.len() < 32 {
        return Err(std::io::Error::other(
            "the key file holds fewer than 32 bytes",
        ));
    }
    Ok(key)
}

/// The keyring sealing secrets at rest: `security.encryption_keys`, else
/// `<data_dir>/encryption.keys`, created with one fresh key if missing.
pub fn keyring(configured: &str, data_dir: &Path) -> Result<platform::Keyring, String> {
    if !configured.trim().is_empty() {
        return platform::Keyring::parse(configured.split([',', '\n']))
            .map_err(|e| format!("security.encryption_keys: {e}"));
    }
    let path = keyring_path(data_dir);
    let text = read_or_create(&path, "encryption", || {
        format!("{}\n", platform::Keyring::new_entry("k1")).into_bytes()
    })
    .map_err(|e| format!("cannot read or create {}: {e}", path.display()))?;
    let text =
        String::from_utf8(text).map_err(|_| format!("{} is not UTF-8 text", path.display()))?;
    platform::Keyring::parse(text.lines()).map_err(|e| format!("{}: {e}", path.display()))
}

/// A sealer, and the keyring file it follows when it follows one.
pub type SealerAndFile = (Arc<dyn domain::Sealer>, Option<Arc<FileKeyring>>);

/// The sealer of a running server: the keyring of `security.encryption_keys`
/// as it is, or the keyring file followed as it changes ([`FileKeyring`];
/// its watcher is the second value, to be run for the server's life).
pub fn sealer(configured: &str, data_dir: &Path) -> Result<SealerAndFile, String> {
    let ring = keyring(configured, data_dir)?;
    if !configured.trim().is_empty() {
        return Ok((Arc::new(ring), None));
    }
    let file = Arc::new(FileKeyring {
        path: keyring_path(data_dir),
        ring: RwLock::new(Arc::new(ring)),
        missing_reported: Mutex::new(HashSet::new()),
    });
    Ok((file.clone(), Some(file)))
}

/// The keyring file, followed: `portico keys rotate` (or an operator's
/// edit) reaches running instances without a restart. The file is read
/// again every [`FileKeyring::WATCH_EVERY`], and at once when a value names
/// a key this instance does not hold. A key missing even then is an
/// operator's error (a keyring not copied to every machine): it is logged
/// once per key, and the check it fails is not counted as a guess.
pub struct FileKeyring {
    path: PathBuf,
    ring: RwLock<Arc<platform::Keyring>>,
    /// Key ids already reported missing.
    missing_reported: Mutex<HashSet<String>>,
}

impl FileKeyring {
    /// How often the file is read again.
    pub const WATCH_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

    fn current(&self) -> Arc<platform::Keyring> {
        self.ring.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Reads the file again; the keyring in use changes when the file holds
    /// another valid one. A file that does not parse is logged and ignored
    /// (the keys in use stay).
    pub fn reload(&self) {
        let parsed = std::fs::read_to_string(&self.path)
            .map_err(|e| e.to_string())
            .and_then(|text| platform::Keyring::parse(text.lines()).map_err(|e| e.to_string()));
        match parsed {
            Ok(ring) => {
                let current = self.current();
                if ring.ids() != current.ids() {
                    tracing::info!(
                        path = %self.path.display(),
                        keys = ?ring.ids(),
                        current = ring.current_id(),
                        "the keyring changed; sealing under its current key from now on"
                    );
                    *self.ring.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(ring);
                }
            }
            Err(e) => tracing::error!(
                path = %self.path.display(),
                error = %e,
                "cannot read the keyring file; keeping the keys in use"
            ),
        }
    }

    /// Reads the file every [`FileKeyring::WATCH_EVERY`], until aborted.
    pub async fn watch(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Self::WATCH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let this = self.clone();
            let _ = tokio::task::spawn_blocking(move || this.reload()).await;
        }
    }
}

impl domain::Sealer for FileKeyring {
    fn seal(&self, context: &str, plain: &[u8]) -> Result<domain::Sealed, domain::StoreError> {
        self.current().seal(context, plain)
    }

    fn open(&self, context: &str, sealed: &domain::Sealed) -> Result<Vec<u8>, domain::StoreError> {
        let id = sealed.key_id();
        if !self.current().ids().iter().any(|k| k == id) {
            self.reload();
            if !self.current().ids().iter().any(|k| k == id) {
                let mut reported = self
                    .missing_reported
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                if reported.insert(id.to_owned()) {
                    tracing::error!(
                        key = id,
                        path = %self.path.display(),
                        "a stored secret is sealed under a key this instance's keyring does not hold: \
                         give every instance the same keyring file (reported once per key)"
                    );
                }
            }
        }
        self.current().open(context, sealed)
    }

    fn is_current(&self, sealed: &domain::Sealed) -> bool {
        self.current().is_current(sealed)
    }
}

/// Where the keyring file lives.
pub fn keyring_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("encryption.keys")
}

/// The bytes of `path`, or `make()`'s written to a new file of mode 0600.
pub(crate) fn read_or_create(
    path: &Path,
    what: &str,
    make: impl FnOnce() -> Vec<u8>,
) -> std::io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => return Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let bytes = make();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(&bytes)?;
            tracing::info!(path = %path.display(), "created the {what} key");
            Ok(bytes)
        }
        // Another process created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read(path),
        Err(e) => Err(e),
    }
}

/// The CSRF token of a session: HMAC-SHA256 of its id under the server's
/// CSRF key, in hex. Derived, so it is bound to the session (a value the
/// client made up never matches) and needs no storage.
#[derive(Clone)]
pub struct CsrfKey(Vec<u8>);

impl std::fmt::Debug for CsrfKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CsrfKey([redacted])")
    }
}

impl CsrfKey {
    /// A key of these bytes.
    pub fn new(key: Vec<u8>) -> Self {
        Self(key)
    }

    /// The token of `session`.
    pub fn token(&self, session: domain::AuthSessionId) -> String {
        use hmac::Mac as _;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.0)
            .expect("HMAC takes keys of any length");
        mac.update(b"portico-csrf:");
        mac.update(session.as_uuid().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `sent` is the token of `session`, compared in constant time.
    pub fn verify(&self, session: domain::AuthSessionId, sent: &str) -> bool {
        use subtle::ConstantTimeEq as _;
        bool::from(self.token(session).as_bytes().ct_eq(sent.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csrf_token_belongs_to_one_session_and_one_key() {
        let key = CsrfKey::new(vec![7; 32]);
        let a = domain::AuthSessionId::from_uuid(uuid::Uuid::from_u128(1));
        let b = domain::AuthSessionId::from_uuid(uuid::Uuid::from_u128(2));
        let token = key.token(a);
        assert_eq!(token.len(), 64);
        assert!(key.verify(a, &token));
        assert!(!key.verify(b, &token));
        assert!(!CsrfKey::new(vec![8; 32]).verify(a, &token));
        assert!(!key.verify(a, "made-up value"));
    }
}
