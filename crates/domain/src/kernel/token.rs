//! Secret tokens (256 random bits as hex) and the hashes stores keep.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Why a presented token is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token is malformed")]
pub struct TokenError;

/// An opaque secret token (session, refresh, verification, reset): 32 random
/// bytes as 64 lowercase hex characters. Its `Debug` never shows it; stores keep
/// only its [`TokenHash`].
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Bytes of randomness in a token (256 bits).
    pub const BYTES: usize = 32;

    /// Builds a token from random bytes (the [`crate::TokenGenerator`] supplies them).
    pub fn from_bytes(bytes: [u8; Self::BYTES]) -> Self {
        Self(hex(&bytes))
    }

    /// Parses a token a client presented.
    pub fn parse(input: &str) -> Result<Self, TokenError> {
        if input.len() == Self::BYTES * 2 && input.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(input.to_ascii_lowercase()))
        } else {
            Err(TokenError)
        }
    }

    /// The secret, to hand to the client exactly once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the token: what stores keep and look up by.
    pub fn hash(&self) -> TokenHash {
        TokenHash(hex(&Sha256::digest(self.0.as_bytes())))
    }

    /// SHA-256 of this token and `other` together: a record kept under it
    /// is found only by whoever presents both (a provider flow's `state`
    /// and the secret of the browser that started it).
    pub fn hash_with(&self, other: &Token) -> TokenHash {
        self.hash_with_text(&other.0)
    }

    /// SHA-256 of this token and `text` together, as [`Token::hash_with`]
    /// (an email sign-in's code under its flow id).
    pub fn hash_with_text(&self, text: &str) -> TokenHash {
        let joined = format!("{}.{}", self.0, text);
        TokenHash(hex(&Sha256::digest(joined.as_bytes())))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// SHA-256 of a [`Token`], 64 lowercase hex characters. Not secret: knowing it
/// does not give the token.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenHash(String);

impl TokenHash {
    /// SHA-256 of any presented credential's text (a JWT's, for instance),
    /// as a cache or lookup key.
    pub fn of_text(text: &str) -> Self {
        Self(hex(&Sha256::digest(text.as_bytes())))
    }

    /// Wraps a stored hash (adapters read it back from storage).
    pub fn from_stored(hex: impl Into<String>) -> Self {
        Self(hex.into())
    }
    /// The hex digest.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({}…)", &self.0[..self.0.len().min(8)])
    }
}

/// Lowercase hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_hex_and_hash_deterministically() {
        let t = Token::from_bytes([7; 32]);
        assert_eq!(t.expose().len(), 64);
        assert_eq!(Token::parse(t.expose()).unwrap(), t);
        assert_eq!(
            t.hash(),
            Token::parse(&t.expose().to_uppercase()).unwrap().hash()
        );
        assert_ne!(t.hash(), Token::from_bytes([8; 32]).hash());
        assert!(!format!("{t:?}").contains(t.expose()));
        assert!(Token::parse("abc").is_err());
        assert!(Token::parse(&"g".repeat(64)).is_err());
    }
}
