//! Secrets at rest: the [`Sealer`] port and the [`Sealed`] text it makes.

use std::fmt;

use crate::StoreError;

/// A secret encrypted by a [`crate::Sealer`], as text: the id of the key it
/// was sealed with, a colon, then the nonce and ciphertext in hex. Opaque to
/// everything but the sealer; stores keep it as it is.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Sealed(String);

impl Sealed {
    /// Wraps a stored value (adapters read it back; sealers make new ones).
    pub fn from_stored(text: impl Into<String>) -> Self {
        Self(text.into())
    }
    /// The stored text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The id of the key it was sealed with (the text before the first colon).
    pub fn key_id(&self) -> &str {
        self.0.split_once(':').map_or("", |(id, _)| id)
    }
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealed({}:…)", self.key_id())
    }
}

/// Encryption of secrets at rest (TOTP secrets, provider tokens) with an
/// AEAD under the server's keyring.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Sealer: Send + Sync {
    /// Encrypts `plain` under the current key, bound to `context` (what the
    /// secret is and whose: `totp:<user id>`), so a sealed value copied to
    /// another record does not open there.
    fn seal(&self, context: &str, plain: &[u8]) -> Result<Sealed, StoreError>;
    /// Decrypts `sealed`. MUST fail, never return other bytes, for a value
    /// sealed under another context, altered in any byte, or sealed under a
    /// key the keyring does not hold.
    fn open(&self, context: &str, sealed: &Sealed) -> Result<Vec<u8>, StoreError>;
    /// Whether `sealed` is under the current key (re-encryption skips it).
    fn is_current(&self, sealed: &Sealed) -> bool;
}
