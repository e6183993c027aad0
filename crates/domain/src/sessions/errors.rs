//! Why sign-in, authentication, refresh and session revocation fail.

use time::OffsetDateTime;

use crate::StoreError;

/// Why a sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown login or wrong password (deliberately not told apart).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Too many failures: locked until the given time.
    #[error("account temporarily locked")]
    LockedOut {
        /// When sign-in may be tried again.
        until: OffsetDateTime,
    },
    /// Locked by an administrator.
    #[error("account locked")]
    Locked,
    /// Suspended by an administrator: the reason and the end are the
    /// user's to read.
    #[error("account suspended")]
    Suspended(crate::Suspension),
    /// The email address is not verified: the right password of an
    /// address registered but not verified yet, or of an account an
    /// administrator marked unverified. Told only to whoever knows the
    /// password, so it reveals nothing to a guesser.
    #[error("email not verified")]
    NotVerified,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why a token did not authenticate.
#[derive(Debug, thiserror::Error)]
pub enum AuthenticateError {
    /// Unknown, expired or revoked token, or the user is gone or locked.
    #[error("not authenticated")]
    Unauthenticated,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Unknown or expired refresh token, or its session ended.
    #[error("invalid refresh token")]
    Invalid,
    /// The token had been used before: its whole session was revoked.
    #[error("refresh token reused; session revoked")]
    Reused,
    /// The account is suspended (its sessions ended with the suspension).
    #[error("account suspended")]
    Suspended(crate::Suspension),
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why a session could not be revoked.
#[derive(Debug, thiserror::Error)]
pub enum RevokeSessionError {
    /// The request presented an API key, which cannot manage the account.
    #[error(transparent)]
    NeedsSession(#[from] crate::NeedsSession),
    /// No such active session of this user.
    #[error("session not found")]
    NotFound,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}
