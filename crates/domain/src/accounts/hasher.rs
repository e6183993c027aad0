//! The password-hashing port (argon2id in production).

use async_trait::async_trait;

use crate::{Password, PasswordHash, StoreError};

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
