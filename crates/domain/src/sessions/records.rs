//! Registration candidates (`user_candidate:{email}`), auth sessions and
//! refresh tokens (`sessions`, `refresh_tokens`, cookie),
//! and single-use tokens (password reset and account deletion).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{AuthSessionId, RefreshTokenId, StoreError, TokenHash, UserId, WriteError};

/// A signed-in session: its access token (bearer or cookie) and device facts.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthSession {
    /// Id; also the family of its refresh tokens.
    pub id: AuthSessionId,
    /// The user it belongs to: only they and administrators see it.
    pub user_id: UserId,
    /// Hash of the current access token.
    pub token_hash: TokenHash,
    /// The client's device, parsed from its User-Agent at sign-in.
    pub device: Option<crate::Device>,
    /// Client IP at sign-in.
    pub ip: Option<String>,
    /// When it was created; listings are newest first by this.
    pub created_at: OffsetDateTime,
    /// Last authenticated use.
    pub last_accessed_at: OffsetDateTime,
    /// The access token stops working at this instant (sliding; 1 day by default).
    pub expires_at: OffsetDateTime,
    /// The session can be refreshed until this instant; after it the record may be deleted.
    pub refresh_expires_at: OffsetDateTime,
    /// Set when signed out or revoked; a revoked session never authenticates again.
    pub revoked_at: Option<OffsetDateTime>,
}

impl AuthSession {
    /// Whether the access token works at `now`.
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// A single-use refresh token in a session's family.
#[derive(Debug, Clone, PartialEq)]
pub struct RefreshToken {
    /// Unique id, assigned at creation; it also orders items created in the same millisecond.
    pub id: RefreshTokenId,
    /// The session (family) it belongs to.
    pub session_id: AuthSessionId,
    /// The user it belongs to: only they and administrators see it.
    pub user_id: UserId,
    /// Hash of the token.
    pub token_hash: TokenHash,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// Unusable after this instant.
    pub expires_at: OffsetDateTime,
    /// When it was exchanged; a used token presented again is a reuse.
    pub used_at: Option<OffsetDateTime>,
}

/// Result of presenting a refresh token.
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshOutcome {
    /// The token was unused and unexpired; it is now marked used.
    Fresh(RefreshToken),
    /// The token had already been used: someone is replaying it.
    Reused(RefreshToken),
    /// No such token, or it expired.
    Invalid,
}

/// Stores auth sessions and their refresh tokens.
#[portico_macros::port("sessions")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait SessionRepository: Send + Sync {
    /// Inserts a session. The store MAY expire it natively at `refresh_expires_at`.
    async fn create(&self, session: &AuthSession) -> Result<(), StoreError>;

    /// The session with `id` in whatever state, or `None`.
    async fn get(&self, id: AuthSessionId) -> Result<Option<AuthSession>, StoreError>;

    /// The session whose current access token hashes to `token_hash`, only if it
    /// is active at `now` (not revoked, not expired); otherwise `None`.
    async fn find_active_by_token(
        &self,
        token_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<AuthSession>, StoreError>;

    /// Slides an active session: sets `last_accessed_at = at` and `expires_at`.
    /// `NotFound` if the session does not exist or is revoked.
    async fn touch(
        &self,
        id: AuthSessionId,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), WriteError>;

    /// Replaces the access token and extends both expiries (refresh rotation).
    /// `NotFound` if the session does not exist or is revoked.
    async fn rotate(
        &self,
        id: AuthSessionId,
        token_hash: &TokenHash,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
        refresh_expires_at: OffsetDateTime,
    ) -> Result<(), WriteError>;

    /// The user's sessions active at `now`, newest first.
    async fn list_active(
        &self,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<AuthSession>, StoreError>;

    /// Revokes one session. `NotFound` if it does not exist, is already revoked
    /// or belongs to another user (so ids of other users' sessions do not leak).
    async fn revoke(
        &self,
        user_id: UserId,
        id: AuthSessionId,
        at: OffsetDateTime,
    ) -> Result<(), WriteError>;

    /// Revokes every unrevoked session of the user; returns how many.
    async fn revoke_all(&self, user_id: UserId, at: OffsetDateTime) -> Result<u64, StoreError>;

    /// Stores a new refresh token.
    async fn add_refresh_token(&self, token: &RefreshToken) -> Result<(), StoreError>;

    /// Presents a refresh token. Atomic: of N concurrent calls with one unused
    /// token exactly one gets `Fresh`; the others get `Reused`. An expired or
    /// unknown token yields `Invalid`.
    async fn use_refresh_token(
        &self,
        token_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<RefreshOutcome, StoreError>;

    /// Deletes sessions (and their refresh tokens) whose `refresh_expires_at`
    /// is before `now`; returns how many sessions (0 where the store expires
    /// them itself).
    /// At most `limit` per call: the purge calls again while a batch comes
    /// back full, so no statement holds its locks long.
    async fn purge_expired(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError>;

    /// How many sessions are active at `now` ([`AuthSession::is_active`]),
    /// or `None` from a store that keeps sessions only by user and would
    /// have to walk every user to count them. MAY take time in the number
    /// of sessions (the statistics' roll-up calls it).
    async fn count_active(&self, now: OffsetDateTime) -> Result<Option<u64>, StoreError>;

    /// Deletes every session and refresh token of the user; returns how many sessions.
    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError>;
}

/// What a single-use token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenPurpose {
    /// Confirms a password reset.
    PasswordReset,
    /// Confirms an account deletion.
    AccountDeletion,
    /// Completes a sign-in whose password was right with a second factor
    /// (the `mfa_token`).
    MfaSignIn,
    /// Turns a finished provider sign-in into a session: the one-time code
    /// the callback hands the front end instead of a token in a URL.
    OAuthExchange,
    /// An email sign-in flow: consumed by the first use of its link or
    /// code; wrong codes are counted on it.
    EmailSignIn,
    /// An email sign-in's code, under its flow id.
    EmailSignInCode,
    /// An email sign-in's link secret, under its flow id.
    EmailSignInLink,
}

impl TokenPurpose {
    /// Stable name for storage.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::AccountDeletion => "account_deletion",
            Self::MfaSignIn => "mfa_sign_in",
            Self::OAuthExchange => "oauth_exchange",
            Self::EmailSignIn => "email_sign_in",
            Self::EmailSignInCode => "email_sign_in_code",
            Self::EmailSignInLink => "email_sign_in_link",
        }
    }
    /// Parses [`TokenPurpose::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "password_reset" => Some(Self::PasswordReset),
            "account_deletion" => Some(Self::AccountDeletion),
            "mfa_sign_in" => Some(Self::MfaSignIn),
            "oauth_exchange" => Some(Self::OAuthExchange),
            "email_sign_in" => Some(Self::EmailSignIn),
            "email_sign_in_code" => Some(Self::EmailSignInCode),
            "email_sign_in_link" => Some(Self::EmailSignInLink),
            _ => None,
        }
    }
}

/// A single-use, expiring token issued to a user.
#[derive(Debug, Clone, PartialEq)]
pub struct OneTimeToken {
    /// Hash of the token.
    pub token_hash: TokenHash,
    /// What it confirms.
    pub purpose: TokenPurpose,
    /// Whose it is.
    pub user_id: UserId,
    /// When it was issued.
    pub created_at: OffsetDateTime,
    /// Unusable after this instant.
    pub expires_at: OffsetDateTime,
}

/// Stores single-use tokens.
#[portico_macros::port("one_time_tokens")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait OneTimeTokenRepository: Send + Sync {
    /// Stores a token. The store MAY expire it natively at `expires_at`.
    async fn insert(&self, token: &OneTimeToken) -> Result<(), StoreError>;

    /// Atomically deletes and returns the token with `token_hash` and `purpose`
    /// if unexpired at `now`. Single use: of N concurrent calls at most one gets
    /// `Some`. A token of another purpose or an expired one yields `None`.
    async fn consume(
        &self,
        token_hash: &TokenHash,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<OneTimeToken>, StoreError>;

    /// The token with `token_hash` and `purpose` if unexpired at `now`,
    /// without consuming it. A token of another purpose or an expired one
    /// MUST yield `None`.
    async fn find(
        &self,
        token_hash: &TokenHash,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<OneTimeToken>, StoreError>;

    /// Counts one try against the token with `token_hash` and `purpose`,
    /// if unexpired at `now`, on the token itself, and returns the number
    /// of tries so far including this one (`None` for an unknown, expired
    /// or other-purpose token). Atomic: N concurrent calls MUST yield N
    /// distinct counts; the count lives and dies with the token.
    async fn spend_try(
        &self,
        token_hash: &TokenHash,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<u32>, StoreError>;

    /// Deletes the user's tokens of `purpose` (or of every purpose); returns how many.
    async fn delete_for_user(
        &self,
        user_id: UserId,
        purpose: Option<TokenPurpose>,
    ) -> Result<u64, StoreError>;

    /// Deletes tokens expired at `now`; returns how many (0 where the store
    /// expires them itself).
    /// At most `limit` per call: the purge calls again while a batch comes
    /// back full, so no statement holds its locks long.
    async fn purge_expired(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError>;
}
