//! Small ports for the outside world: time, ids, randomness, hashing, mail and
//! object storage. They keep every rule in `domain` deterministic under test.

use async_trait::async_trait;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Email, ObjectKey, Password, PasswordHash, Sealed, StoreError, Token, Username};

/// The current time.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Clock: Send + Sync {
    /// Now, in UTC. MUST have at most millisecond precision (stores keep
    /// milliseconds; see [`crate::truncate_to_millis`]).
    fn now(&self) -> OffsetDateTime;
}

/// New unique ids.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait IdGenerator: Send + Sync {
    /// A new, never-before-returned UUID (v7 preferred for index locality).
    fn new_id(&self) -> Uuid;
}

/// New secret tokens.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait TokenGenerator: Send + Sync {
    /// A new token from a cryptographically secure RNG (256 bits).
    fn generate(&self) -> Token;
}

/// Password hashing (argon2id in production).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes with a fresh random salt; returns a PHC string.
    async fn hash(&self, password: &Password) -> Result<PasswordHash, StoreError>;
    /// Whether `password` matches `hash`. A hash in a format the hasher does
    /// not know MUST yield `Ok(false)`, not an error. Comparison MUST be constant time.
    async fn verify(&self, password: &Password, hash: &PasswordHash) -> Result<bool, StoreError>;
    /// Does the work of one `verify` against a fixed dummy hash and discards the
    /// result, so that unknown accounts take as long to reject as known ones.
    async fn verify_dummy(&self, password: &Password) -> Result<(), StoreError>;
    /// Whether a hash or verification asked for now would be refused as
    /// busy ([`StoreError::busy`]). An estimate, cheap and without waiting:
    /// it lets a caller refuse a password check before doing any other work
    /// for it (looking the account up, reserving a guess), so that shedding
    /// a sign-in storm costs next to nothing and leaves the CPU to the
    /// hashes being served. A hasher without a bound is never saturated.
    fn saturated(&self) -> bool {
        false
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

/// An email the domain asks to send. The mailer renders it (links, templates).
#[derive(Debug, Clone, PartialEq)]
pub enum Mail {
    /// Confirms a registration; the link carries `token`.
    Verification {
        /// Address the mail goes to.
        to: Email,
        /// The username being registered.
        username: Username,
        /// Single-use verification token.
        token: Token,
    },
    /// Offers a password reset; the link carries `token`.
    PasswordReset {
        /// Address the mail goes to.
        to: Email,
        /// Single-use reset token.
        token: Token,
    },
    /// Confirms an account deletion request; the link carries `token`.
    AccountDeletion {
        /// Address the mail goes to.
        to: Email,
        /// Single-use deletion token.
        token: Token,
    },
    /// Tells the owner of an account about a security change (no link).
    Notice {
        /// Address the mail goes to.
        to: Email,
        /// What happened.
        notice: Notice,
    },
}

/// A security change the owner of an account is told about by mail, so
/// that a change they did not make (a thief with their session, a support
/// role acting on them) does not go unnoticed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum Notice {
    /// An administrator removed the account's second factor: the password
    /// alone signs in now.
    SecondFactorRemoved,
    /// An identity provider was linked: signing in there signs in here.
    ProviderLinked {
        /// The provider's configured name.
        provider: String,
    },
}

impl Mail {
    /// The recipient.
    pub fn to(&self) -> &Email {
        match self {
            Self::Verification { to, .. }
            | Self::PasswordReset { to, .. }
            | Self::AccountDeletion { to, .. }
            | Self::Notice { to, .. } => to,
        }
    }
}

/// Outgoing mail.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Delivers `mail` or fails; MUST NOT report success for mail it dropped.
    async fn send(&self, mail: &Mail) -> Result<(), StoreError>;
}

/// What object storage knows of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The object's key.
    pub key: ObjectKey,
    /// Size in bytes.
    pub size: u64,
    /// Content type recorded at upload, if the store keeps one.
    pub content_type: Option<String>,
    /// When it was last written.
    pub last_modified: OffsetDateTime,
}

/// Where and how a client uploads bytes directly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadTarget {
    /// URL to send the bytes to.
    pub url: String,
    /// HTTP method (`PUT`).
    pub method: String,
    /// Headers the client must send with the request.
    pub headers: Vec<(String, String)>,
}

/// Object storage (local disk or S3-compatible).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// Metadata of `key`, or `None` if no such object exists.
    async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>, StoreError>;
    /// Writes `bytes` to `key` (replacing any object there), recording
    /// `content_type` where the store keeps one.
    async fn put(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StoreError>;
    /// The bytes of `key`, or `None` if no such object exists.
    async fn get(&self, key: &ObjectKey) -> Result<Option<Vec<u8>>, StoreError>;
    /// Deletes `key`. MUST succeed when the object is already gone.
    async fn delete(&self, key: &ObjectKey) -> Result<(), StoreError>;
    /// Up to `limit` objects in key order, strictly after `after` when given.
    async fn list(
        &self,
        after: Option<ObjectKey>,
        limit: u32,
    ) -> Result<Vec<ObjectMeta>, StoreError>;
    /// A URL through which a client may PUT at most `max_size` bytes of
    /// `content_type` to `key` until `expires_at`.
    async fn presign_put(
        &self,
        key: &ObjectKey,
        content_type: &str,
        max_size: u64,
        expires_at: OffsetDateTime,
    ) -> Result<UploadTarget, StoreError>;
    /// A URL through which a client may GET `key` until `expires_at`.
    async fn presign_get(
        &self,
        key: &ObjectKey,
        expires_at: OffsetDateTime,
    ) -> Result<String, StoreError>;
}
