//! What can go wrong with a provider flow, and what a finished callback
//! tells the front end.

use time::OffsetDateTime;

use crate::{ProviderError, StoreError, UserId};

/// Why a flow could not start.
#[derive(Debug, thiserror::Error)]
pub enum BeginFlowError {
    /// The request presented an API key, which cannot manage the account.
    #[error(transparent)]
    NeedsSession(#[from] crate::NeedsSession),
    /// No provider is configured under that name.
    #[error("unknown identity provider")]
    UnknownProvider,
    /// The `redirect_uri` is not on the allow-list.
    #[error("redirect_uri is not allowed")]
    RedirectNotAllowed,
    /// The user links this provider already.
    #[error("provider already linked")]
    AlreadyLinked,
    /// The password given to link a provider is wrong.
    #[error("wrong password")]
    WrongPassword,
    /// Too many wrong passwords: no more checks until `until`.
    #[error("too many attempts")]
    LockedOut {
        /// When the password may be tried again.
        until: OffsetDateTime,
    },
    /// Linking needs the password (none was given), or for an account
    /// without one, a sign-in within the last few minutes.
    #[error("sign in again to link a provider")]
    ReauthenticationRequired,
    /// The provider could not build its URL (its discovery failed).
    #[error(transparent)]
    Provider(ProviderError),
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why a callback cannot even return to the front end: its `state` names
/// no flow in progress (unknown, used, expired or tampered with), so there
/// is no trusted address to send the browser to.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    /// Unknown, used or expired `state`, or one for another provider.
    #[error("unknown or expired sign-in flow")]
    InvalidState,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why a flow that reached its callback ended without a sign-in or link,
/// sent to the front end as `?error=<kind>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowFailure {
    /// The user declined at the provider, or the provider reported an error.
    AccessDenied,
    /// The provider's answer failed a check (ID token, nonce, code).
    ProviderRejected,
    /// The provider could not be reached.
    ProviderUnavailable,
    /// No usable verified email to create an account with.
    EmailUnverified,
    /// An account with this email exists and may not be linked by email.
    AccountExists,
    /// The identity is linked to another user, or the user links this
    /// provider to another identity already.
    AlreadyLinked,
    /// The account is locked.
    Locked,
    /// No account is linked and new accounts cannot be created
    /// (`registration.open` is off).
    RegistrationClosed,
    /// Portico failed.
    ServerError,
}

impl FlowFailure {
    /// The `error` query value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessDenied => "access_denied",
            Self::ProviderRejected => "provider_rejected",
            Self::ProviderUnavailable => "provider_unavailable",
            Self::EmailUnverified => "email_unverified",
            Self::AccountExists => "account_exists",
            Self::AlreadyLinked => "already_linked",
            Self::Locked => "account_locked",
            Self::RegistrationClosed => "registration_closed",
            Self::ServerError => "server_error",
        }
    }
}

/// A flow that ended without a sign-in or link: the kind the front end
/// sees, and for the server's log what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowFailed {
    /// What the front end is told.
    pub kind: FlowFailure,
    /// What went wrong, for the log only (never sent to the browser).
    pub detail: Option<String>,
}

impl From<FlowFailure> for FlowFailed {
    fn from(kind: FlowFailure) -> Self {
        Self { kind, detail: None }
    }
}

impl FlowFailed {
    pub(super) fn with(kind: FlowFailure, detail: impl std::fmt::Display) -> Self {
        Self {
            kind,
            detail: Some(detail.to_string()),
        }
    }

    pub(super) fn server(e: StoreError) -> Self {
        Self::with(FlowFailure::ServerError, e)
    }
}

/// Where the callback sends the browser.
#[derive(Debug, Clone)]
pub struct CallbackOutcome {
    /// The flow's `redirect_uri` with `code`, `linked` or `error` added.
    pub redirect_to: String,
    /// What happened, for logs and metrics.
    pub result: Result<CallbackSuccess, FlowFailed>,
}

/// A callback that worked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackSuccess {
    /// The user signed in (an exchange code was issued).
    SignedIn(UserId),
    /// A new user was created and signed in.
    Created(UserId),
    /// The provider was linked to the signed-in user.
    Linked(UserId),
}

/// Why an exchange code did not sign in.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// Unknown, used or expired code.
    #[error("invalid or expired code")]
    InvalidCode,
    /// Locked by an administrator.
    #[error("account locked")]
    Locked,
    /// Suspended by an administrator.
    #[error("account suspended")]
    Suspended(crate::Suspension),
    /// An administrator marked the address unverified.
    #[error("email not verified")]
    NotVerified,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why a link could not be removed.
#[derive(Debug, thiserror::Error)]
pub enum UnlinkError {
    /// The request presented an API key, which cannot manage the account.
    #[error(transparent)]
    NeedsSession(#[from] crate::NeedsSession),
    /// The user has no link with that provider.
    #[error("provider not linked")]
    NotLinked,
    /// It is the user's last way to sign in (no password, no other link).
    #[error("the last way to sign in cannot be removed")]
    LastWay,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

unexpected_from_store!(BeginFlowError, CallbackError, ExchangeError, UnlinkError);
