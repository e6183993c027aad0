//! Why a second-factor operation was refused.

use time::OffsetDateTime;

use crate::StoreError;

/// Why enrolment was refused.
#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    /// The request presented an API key, which cannot manage the account.
    #[error(transparent)]
    NeedsSession(#[from] crate::NeedsSession),
    /// The password is wrong.
    #[error("wrong password")]
    WrongPassword,
    /// Too many wrong guesses: try again after `until`.
    #[error("too many attempts")]
    LockedOut {
        /// When the lockout ends.
        until: OffsetDateTime,
    },
    /// TOTP is on already: turn it off first.
    #[error("TOTP is already enabled")]
    AlreadyEnabled,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why a confirmation was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmMfaError {
    /// The request presented an API key, which cannot manage the account.
    #[error(transparent)]
    NeedsSession(#[from] crate::NeedsSession),
    /// No enrolment is waiting for confirmation (none began, or TOTP is on).
    #[error("no TOTP enrolment is pending")]
    NotPending,
    /// The code does not match.
    #[error("wrong code")]
    WrongCode,
    /// Too many wrong guesses: try again after `until`.
    #[error("too many attempts")]
    LockedOut {
        /// When the lockout ends.
        until: OffsetDateTime,
    },
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why turning TOTP off or renewing the backup codes was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangeMfaError {
    /// The request presented an API key, which cannot manage the account.
    #[error(transparent)]
    NeedsSession(#[from] crate::NeedsSession),
    /// TOTP is not on.
    #[error("TOTP is not enabled")]
    NotEnabled,
    /// The password is wrong.
    #[error("wrong password")]
    WrongPassword,
    /// The code does not match (or was used already).
    #[error("wrong code")]
    WrongCode,
    /// Too many wrong guesses: try again after `until`.
    #[error("too many attempts")]
    LockedOut {
        /// When the lockout ends.
        until: OffsetDateTime,
    },
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why the second step of a sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum MfaSignInError {
    /// Unknown, expired, used-up or already used `mfa_token`: sign in again.
    #[error("invalid or expired mfa_token")]
    InvalidToken,
    /// The code does not match (or was used already); the token has tries left.
    #[error("wrong code")]
    WrongCode,
    /// Too many wrong guesses: try again after `until`.
    #[error("too many attempts")]
    LockedOut {
        /// When the lockout ends.
        until: OffsetDateTime,
    },
    /// Locked by an administrator meanwhile.
    #[error("account locked")]
    Locked,
    /// Suspended by an administrator meanwhile.
    #[error("account suspended")]
    Suspended(crate::Suspension),
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

unexpected_from_store!(EnrolError, ConfirmMfaError, ChangeMfaError, MfaSignInError);
