//! Registration candidates (`user_candidate:{email}`): an account waiting
//! for its address to be verified, and their repository.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{Email, PasswordHash, RoleName, StoreError, TokenHash, Username};

/// A registration waiting for its email to be verified (`user_candidate`).
#[derive(Debug, Clone, PartialEq)]
pub struct RegistrationCandidate {
    /// Email; at most one candidate per (normalized) email.
    pub email: Email,
    /// Requested username.
    pub username: Username,
    /// Role the user receives on verification.
    pub role: RoleName,
    /// Hash of the chosen password.
    pub password_hash: PasswordHash,
    /// Hash of the verification token mailed to the address.
    pub token_hash: TokenHash,
    /// When it was created; listings are newest first by this.
    pub created_at: OffsetDateTime,
    /// After this instant the candidate is invisible and may be deleted.
    pub expires_at: OffsetDateTime,
    /// Where the registration came from; the user record keeps it.
    pub origin: Option<crate::UserOrigin>,
}

/// Stores registration candidates.
#[portico_macros::port("candidates")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait CandidateRepository: Send + Sync {
    /// Stores `candidate`, replacing any candidate with the same normalized email
    /// (whose token then stops working). The store MAY expire it natively at `expires_at`.
    async fn put(&self, candidate: &RegistrationCandidate) -> Result<(), StoreError>;

    /// Atomically removes and returns the candidate with `token_hash` if it has
    /// not expired at `now`. Single use: of N concurrent calls with one hash at
    /// most one gets `Some`. An expired candidate MUST yield `None`.
    async fn take(
        &self,
        token_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<RegistrationCandidate>, StoreError>;

    /// The candidate for `email` (compared normalized) if it has not expired
    /// at `now`. An expired candidate MUST yield `None`. Read-only: the
    /// token stays usable.
    async fn find_by_email(
        &self,
        email: &Email,
        now: OffsetDateTime,
    ) -> Result<Option<RegistrationCandidate>, StoreError>;

    /// Deletes candidates expired at `now`; returns how many (0 where the store expires them itself).
    /// At most `limit` per call: the purge calls again while a batch comes
    /// back full, so no statement holds its locks long.
    async fn purge_expired(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError>;
}
