//! Server keys kept in the data folder: created once with OS randomness
//! (mode 0600), read at every start. Instances that share a data folder
//! share the key; others must be given the same secret in configuration.

use std::io::Write;
use std::path::Path;

/// The key in `path` (at least 32 bytes), created if missing. `what` names
/// it in the log line of its creation.
pub(crate) fn key_file(path: &Path, what: &str) -> std::io::Result<Vec<u8>> {
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
pub(crate) fn keyring(configured: &str, data_dir: &Path) -> Result<platform::Keyring, String> {
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

/// Where the keyring file lives.
pub(crate) fn keyring_path(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("encryption.keys")
}

/// The bytes of `path`, or `make()`'s written to a new file of mode 0600.
fn read_or_create(
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
