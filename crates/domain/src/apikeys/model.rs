//! API keys: the secret, the record and its port.

use std::collections::BTreeSet;
use std::fmt;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{ApiKeyId, Permission, StoreError, Token, TokenHash, UserId, WriteError};

/// Why a name or a presented key is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiKeyError {
    /// The name is empty, longer than 100 characters, or holds a control
    /// character.
    #[error("must be 1 to 100 characters without control characters")]
    Name,
    /// Not `pk_` and 64 hex characters.
    #[error("not an API key")]
    Malformed,
}

/// What a person calls a key ("CI deploys").
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ApiKeyName(String);

impl ApiKeyName {
    /// Parses a name: trimmed, 1–100 characters, no control characters.
    pub fn parse(input: &str) -> Result<Self, ApiKeyError> {
        let name = input.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(ApiKeyError::Name);
        }
        Ok(Self(name.to_owned()))
    }

    /// A name a store kept.
    pub fn from_stored(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An API key as its owner holds it: `pk_` and 256 random bits in hex.
/// Shown once; stores keep its [`TokenHash`] and its [`ApiKeySecret::prefix`].
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret(String);

impl ApiKeySecret {
    /// What every key starts with.
    pub const PREFIX: &'static str = "pk_";

    /// A key from a fresh token's randomness.
    pub(crate) fn from_token(token: &Token) -> Self {
        Self(format!("{}{}", Self::PREFIX, token.expose()))
    }

    /// Parses a presented key.
    pub fn parse(input: &str) -> Result<Self, ApiKeyError> {
        let rest = input
            .strip_prefix(Self::PREFIX)
            .ok_or(ApiKeyError::Malformed)?;
        let token = Token::parse(rest).map_err(|_| ApiKeyError::Malformed)?;
        Ok(Self::from_token(&token))
    }

    /// The key, to show its owner once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What stores keep and look it up by.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of_text(&self.0)
    }

    /// The visible start that tells keys apart in a list (`pk_1a2b3c4d`).
    pub fn prefix(&self) -> String {
        self.0.chars().take(Self::PREFIX.len() + 8).collect()
    }
}

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeySecret({}…)", self.prefix())
    }
}

/// A user's API key, as stored (never the key itself).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ApiKey {
    /// Its id.
    pub id: ApiKeyId,
    /// Whose it is: it acts as this user.
    pub user_id: UserId,
    /// What its owner calls it.
    pub name: ApiKeyName,
    /// The visible start of the key.
    pub prefix: String,
    /// The key's hash.
    pub key_hash: TokenHash,
    /// What it may do, within what the user's roles give at each request;
    /// `None`: whatever they give.
    pub permissions: Option<BTreeSet<Permission>>,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it stops working, if ever.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// When it was last used (written at most once a minute).
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

impl ApiKey {
    /// Whether it still works at `now` (as far as its own expiry goes).
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// Stores API keys.
#[portico_macros::port("api_keys")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ApiKeyRepository: Send + Sync {
    /// Stores a new key. Its hash is unique (256 random bits).
    async fn insert(&self, key: &ApiKey) -> Result<(), StoreError>;

    /// The key with `key_hash`, expired or not.
    async fn find_by_hash(&self, key_hash: &TokenHash) -> Result<Option<ApiKey>, StoreError>;

    /// The user's keys, newest first.
    async fn list_for_user(&self, user_id: UserId) -> Result<Vec<ApiKey>, StoreError>;

    /// Deletes the user's key `id`; `NotFound` when the user has no such key.
    async fn delete(&self, user_id: UserId, id: ApiKeyId) -> Result<(), WriteError>;

    /// Deletes every key of the user; returns how many.
    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError>;

    /// Records that key `id` was used at `at`: `last_used_at` only moves
    /// forward (concurrent writers keep the latest). A deleted key is not
    /// an error.
    async fn record_use(&self, id: ApiKeyId, at: OffsetDateTime) -> Result<(), StoreError>;
}
