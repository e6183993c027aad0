//! String keys with their own alphabets: object keys, storage keys and
//! idempotency keys.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a key is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Empty, or longer than the key's limit.
    #[error("key must be 1 to {0} bytes long")]
    Length(usize),
    /// Contains a character outside the key's alphabet.
    #[error("key contains a character that is not allowed")]
    Charset,
    /// A path segment that is empty, `.` or `..`, or a leading `/`.
    #[error("key contains an empty, '.' or '..' path segment")]
    Traversal,
}

/// A key in object storage: `/`-separated segments of `A-Z a-z 0-9 . _ - = +`,
/// no empty, `.` or `..` segment, at most 512 bytes. Safe to join to a local
/// directory: it can never leave it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ObjectKey(String);

impl ObjectKey {
    /// Longest key accepted, in bytes.
    pub const MAX_LEN: usize = 512;

    /// Parses an object key, rejecting anything that could escape a directory.
    pub fn parse(input: &str) -> Result<Self, KeyError> {
        if input.is_empty() || input.len() > Self::MAX_LEN {
            return Err(KeyError::Length(Self::MAX_LEN));
        }
        let ok = |c: char| c.is_ascii_alphanumeric() || "._-=+/".contains(c);
        if !input.chars().all(ok) {
            return Err(KeyError::Charset);
        }
        if input
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        {
            return Err(KeyError::Traversal);
        }
        Ok(Self(input.to_owned()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name of one group of key/value data in a content session
/// (`sessionData.{storageKey}`): 1–128 of `A-Z a-z 0-9 _ . : -`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StorageKey(String);

impl StorageKey {
    /// Parses a storage key.
    pub fn parse(input: &str) -> Result<Self, KeyError> {
        if input.is_empty() || input.len() > 128 {
            return Err(KeyError::Length(128));
        }
        if !input
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c))
        {
            return Err(KeyError::Charset);
        }
        Ok(Self(input.to_owned()))
    }
    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client-chosen `Idempotency-Key`: 1–255 printable ASCII characters.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Parses an idempotency key.
    pub fn parse(input: &str) -> Result<Self, KeyError> {
        if input.is_empty() || input.len() > 255 {
            return Err(KeyError::Length(255));
        }
        if !input.chars().all(|c| c.is_ascii_graphic()) {
            return Err(KeyError::Charset);
        }
        Ok(Self(input.to_owned()))
    }
    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_value_impls {
    ($($t:ident),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(&self.0) }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($t), self.0)
            }
        }
        impl TryFrom<String> for $t {
            type Error = KeyError;
            fn try_from(value: String) -> Result<Self, Self::Error> { Self::parse(&value) }
        }
        impl From<$t> for String {
            fn from(value: $t) -> Self { value.0 }
        }
    )*};
}
string_value_impls!(ObjectKey, StorageKey, IdempotencyKey);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn object_keys_cannot_traverse() {
        assert!(ObjectKey::parse("users/42/avatar.png").is_ok());
        for bad in [
            "../etc/passwd",
            "a/../../b",
            "/abs",
            "a//b",
            "a/./b",
            "a/",
            "a\\b",
            "a b",
            "",
        ] {
            assert!(ObjectKey::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn storage_and_idempotency_keys() {
        assert!(StorageKey::parse("chat:settings").is_ok());
        assert_eq!(StorageKey::parse("a/b"), Err(KeyError::Charset));
        assert!(IdempotencyKey::parse("order-123").is_ok());
        assert_eq!(IdempotencyKey::parse("has space"), Err(KeyError::Charset));
    }

    proptest! {
        #[test]
        fn parsed_object_keys_never_escape(s in "[a-z./]{0,30}") {
            if let Ok(k) = ObjectKey::parse(&s) {
                prop_assert!(!k.as_str().starts_with('/'));
                prop_assert!(k.as_str().split('/').all(|seg| seg != ".." && seg != "." && !seg.is_empty()));
            }
        }
    }
}
