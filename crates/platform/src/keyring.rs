//! [`Keyring`]: the [`Sealer`] of secrets at rest. XChaCha20-Poly1305 (an
//! AEAD: tampering is detected, never decrypted into other bytes) with a
//! random 192-bit nonce per value and the value's context as associated
//! data. Each sealed value starts with the id of its key, so a keyring can
//! hold old keys beside the current one and values re-encrypt one by one.
//!
//! The text form (a key file, or the configuration's list) is one key per
//! line, `<id>:<64 hex characters>`; the last line is the current key.

use std::collections::BTreeMap;
use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use domain::{Sealed, Sealer, StoreError};

/// Bytes of a key.
pub const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;

/// Why a keyring could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    /// No key at all.
    #[error("the keyring holds no key")]
    Empty,
    /// A line is not `<id>:<64 hex characters>`.
    #[error(
        "key {0}: expected `<id>:<64 hex characters>` with an id of letters, digits, `-` or `_`"
    )]
    Malformed(usize),
    /// Two keys share an id.
    #[error("two keys have the id {0:?}")]
    Duplicate(String),
}

/// Keys by id, one of them current.
#[derive(Clone)]
pub struct Keyring {
    keys: BTreeMap<String, XChaCha20Poly1305>,
    /// Ids in the order given; the last is current.
    order: Vec<String>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Keyring(ids {:?}, current {:?})",
            self.order,
            self.current_id()
        )
    }
}

impl Keyring {
    /// A keyring from `<id>:<hex>` entries; the last is current.
    pub fn parse<'a>(entries: impl IntoIterator<Item = &'a str>) -> Result<Self, KeyringError> {
        let mut keys = BTreeMap::new();
        let mut order = Vec::new();
        for (n, entry) in entries
            .into_iter()
            .map(str::trim)
            .filter(|e| !e.is_empty() && !e.starts_with('#'))
            .enumerate()
        {
            let (id, hex) = entry
                .split_once(':')
                .ok_or(KeyringError::Malformed(n + 1))?;
            let valid_id = !id.is_empty()
                && id.len() <= 32
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            let key = decode_hex(hex)
                .and_then(|k| <[u8; KEY_BYTES]>::try_from(k).ok())
                .filter(|_| valid_id)
                .ok_or(KeyringError::Malformed(n + 1))?;
            let cipher = XChaCha20Poly1305::new(&key.into());
            if keys.insert(id.to_owned(), cipher).is_some() {
                return Err(KeyringError::Duplicate(id.to_owned()));
            }
            order.push(id.to_owned());
        }
        if order.is_empty() {
            return Err(KeyringError::Empty);
        }
        Ok(Self { keys, order })
    }

    /// A new key from the OS RNG, as one text line with id `id`.
    pub fn new_entry(id: &str) -> String {
        let mut key = [0u8; KEY_BYTES];
        getrandom::fill(&mut key)
            .expect("the operating system's random number generator is unavailable");
        format!("{id}:{}", encode_hex(&key))
    }

    /// The id a new key after this keyring's gets: `k<n+1>`, past every
    /// `k<n>` id held.
    pub fn next_id(&self) -> String {
        let highest = self
            .order
            .iter()
            .filter_map(|id| id.strip_prefix('k')?.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        format!("k{}", highest + 1)
    }

    /// The id of the current key.
    pub fn current_id(&self) -> &str {
        self.order.last().map_or("", String::as_str)
    }

    /// Every key id, oldest first.
    pub fn ids(&self) -> &[String] {
        &self.order
    }
}

impl Sealer for Keyring {
    fn seal(&self, context: &str, plain: &[u8]) -> Result<Sealed, StoreError> {
        let id = self.current_id();
        let cipher = &self.keys[id];
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce)
            .map_err(|e| StoreError::msg(format!("no randomness for a nonce: {e}")))?;
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| StoreError::msg("encryption failed"))?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(Sealed::from_stored(format!("{id}:{}", encode_hex(&bytes))))
    }

    fn open(&self, context: &str, sealed: &Sealed) -> Result<Vec<u8>, StoreError> {
        let (id, hex) = sealed
            .as_str()
            .split_once(':')
            .ok_or_else(|| StoreError::msg("a sealed value has no key id"))?;
        let cipher = self.keys.get(id).ok_or_else(|| {
            StoreError::msg(format!(
                "a value is sealed under key {id:?}, which the keyring does not hold"
            ))
        })?;
        let bytes = decode_hex(hex)
            .filter(|b| b.len() > NONCE_BYTES)
            .ok_or_else(|| StoreError::msg("a sealed value is malformed"))?;
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| {
                StoreError::msg(format!(
                    "a sealed value under key {id:?} does not open: altered, or sealed for another record"
                ))
            })
    }

    fn is_current(&self, sealed: &Sealed) -> bool {
        sealed.key_id() == self.current_id()
    }
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from lowercase or uppercase hex; `None` for anything else.
pub(crate) fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(lines: &[&str]) -> Keyring {
        Keyring::parse(lines.iter().copied()).unwrap()
    }

    const K1: &str = "k1:0000000000000000000000000000000000000000000000000000000000000001";
    const K2: &str = "k2:0000000000000000000000000000000000000000000000000000000000000002";

    #[test]
    fn a_sealed_value_opens_under_its_context_only() {
        let keys = ring(&[K1]);
        let sealed = keys.seal("totp:ann", b"secret").unwrap();
        assert!(sealed.as_str().starts_with("k1:"));
        assert!(!sealed.as_str().contains("secret"));
        assert_eq!(keys.open("totp:ann", &sealed).unwrap(), b"secret");
        assert!(keys.open("totp:bob", &sealed).is_err());
        // A fresh nonce each time.
        assert_ne!(keys.seal("totp:ann", b"secret").unwrap(), sealed);
    }

    #[test]
    fn any_altered_byte_is_refused() {
        let keys = ring(&[K1]);
        let sealed = keys.seal("c", b"secret").unwrap();
        let text = sealed.as_str();
        for i in 3..text.len() {
            let mut bytes = text.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
            let altered = Sealed::from_stored(String::from_utf8(bytes).unwrap());
            assert!(keys.open("c", &altered).is_err(), "byte {i}");
        }
        assert!(
            keys.open("c", &Sealed::from_stored(&text[..text.len() - 2]))
                .is_err()
        );
        assert!(keys.open("c", &Sealed::from_stored("k1:zz")).is_err());
    }

    #[test]
    fn old_keys_open_new_values_use_the_last_key() {
        let old = ring(&[K1]);
        let sealed = old.seal("c", b"x").unwrap();
        let rotated = ring(&[K1, K2]);
        assert_eq!(rotated.current_id(), "k2");
        assert_eq!(rotated.next_id(), "k3");
        assert!(!rotated.is_current(&sealed));
        assert_eq!(rotated.open("c", &sealed).unwrap(), b"x");
        let resealed = rotated.seal("c", b"x").unwrap();
        assert!(rotated.is_current(&resealed));
        // A keyring without the key refuses, it does not guess.
        assert!(old.open("c", &resealed).is_err());
        // The same id with another key refuses too.
        let impostor =
            ring(&["k2:00000000000000000000000000000000000000000000000000000000000000ff"]);
        assert!(impostor.open("c", &resealed).is_err());
    }

    #[test]
    fn bad_keyrings_are_refused() {
        assert_eq!(Keyring::parse([]).unwrap_err(), KeyringError::Empty);
        assert_eq!(
            Keyring::parse(["# only a comment"]).unwrap_err(),
            KeyringError::Empty
        );
        assert_eq!(
            Keyring::parse(["k1:00"]).unwrap_err(),
            KeyringError::Malformed(1)
        );
        assert_eq!(
            Keyring::parse([K1, "nocolon"]).unwrap_err(),
            KeyringError::Malformed(2)
        );
        let bad_id = format!("a b:{}", &K1[3..]);
        assert_eq!(
            Keyring::parse([bad_id.as_str()]).unwrap_err(),
            KeyringError::Malformed(1)
        );
        assert_eq!(
            Keyring::parse([K1, K1]).unwrap_err(),
            KeyringError::Duplicate("k1".into())
        );
        let fresh = Keyring::new_entry("k9");
        assert_eq!(ring(&[fresh.as_str()]).current_id(), "k9");
    }
}
