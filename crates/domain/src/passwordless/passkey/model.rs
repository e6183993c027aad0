//! Passkeys as stored, the ceremonies in progress, and their ports.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{PasskeyChallengeId, PasskeyId, StoreError, UserId, WriteError};

/// Why a name or a credential id is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasskeyInputError {
    /// The name is empty, longer than 64 characters, or holds a control
    /// character.
    #[error("must be 1 to 64 characters without control characters")]
    Name,
    /// Not unpadded base64url of 1 to 1,023 bytes.
    #[error("not a WebAuthn credential id")]
    CredentialId,
}

/// What a person calls a passkey ("Phone", "YubiKey 5").
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct PasskeyName(String);

impl PasskeyName {
    /// Parses a name: trimmed, 1–64 characters, no control characters.
    pub fn parse(input: &str) -> Result<Self, PasskeyInputError> {
        let name = input.trim();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(PasskeyInputError::Name);
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

/// A WebAuthn credential id, as unpadded base64url (the form browsers
/// send in `id` and stores index).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct CredentialId(String);

impl CredentialId {
    /// Parses unpadded base64url of 1 to 1,023 bytes (the WebAuthn bound).
    pub fn parse(input: &str) -> Result<Self, PasskeyInputError> {
        let ok = !input.is_empty()
            && input.len() <= 1364
            && input.len() % 4 != 1
            && input
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(input.to_owned()))
        } else {
            Err(PasskeyInputError::CredentialId)
        }
    }

    /// A credential id a store kept.
    pub fn from_stored(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The base64url text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A user's passkey: a WebAuthn public-key credential registered with
/// Portico as the relying party.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Passkey {
    /// Its id in Portico.
    pub id: PasskeyId,
    /// Whose it is (its user handle is this id).
    pub user_id: UserId,
    /// The authenticator's id for it: unique over all users.
    pub credential_id: CredentialId,
    /// The public key and its flags, in the ceremony adapter's own form
    /// (opaque to the domain and the stores).
    pub credential: String,
    /// The last signature counter seen (0 for authenticators without one).
    pub counter: u32,
    /// What its owner calls it.
    pub name: PasskeyName,
    /// When it was registered.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last signed in.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

/// What [`PasskeyRepository::delete`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyRemoved {
    /// The passkey is gone.
    Removed,
    /// The user has no such passkey.
    NotFound,
    /// Kept: it is the user's last passkey and the caller said one must
    /// remain.
    LastOne,
}

/// Stores passkeys. Every write is one atomic step.
#[portico_macros::port("passkeys")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait PasskeyRepository: Send + Sync {
    /// Stores a new passkey; `false` and nothing stored when its credential
    /// id is registered already (to any user). Of N concurrent inserts of
    /// one credential id at most one succeeds.
    async fn insert(&self, passkey: &Passkey) -> Result<bool, StoreError>;

    /// The passkey with `credential_id`, if any.
    async fn find_by_credential(
        &self,
        credential_id: &CredentialId,
    ) -> Result<Option<Passkey>, StoreError>;

    /// The user's passkeys, oldest first.
    async fn list_for_user(&self, user_id: UserId) -> Result<Vec<Passkey>, StoreError>;

    /// Renames the user's passkey `id`; `NotFound` when the user has none
    /// such.
    async fn rename(
        &self,
        user_id: UserId,
        id: PasskeyId,
        name: &PasskeyName,
    ) -> Result<(), WriteError>;

    /// Deletes the user's passkey `id`. With `keep_one`, MUST keep it and
    /// answer [`PasskeyRemoved::LastOne`] when it is the user's only
    /// passkey, deciding atomically: of concurrent deletes of a user's last
    /// two passkeys, at most one removes its passkey.
    async fn delete(
        &self,
        user_id: UserId,
        id: PasskeyId,
        keep_one: bool,
    ) -> Result<PasskeyRemoved, StoreError>;

    /// Records a sign-in with passkey `id`: stores `counter`, `credential`
    /// and `last_used_at = at` only if `counter` is greater than the stored
    /// counter, or both are 0 (an authenticator without a counter), in one
    /// compare-and-set; `false` otherwise (a counter that did not move
    /// forward: a cloned authenticator or a replay) and for a deleted
    /// passkey. Of N concurrent calls with the same nonzero counter at most
    /// one answers `true`.
    async fn record_use(
        &self,
        id: PasskeyId,
        counter: u32,
        credential: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Deletes every passkey of the user; returns how many.
    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError>;
}

/// A WebAuthn ceremony between its options and the authenticator's answer,
/// kept server-side so any instance can finish what another began.
#[derive(Debug, Clone, PartialEq)]
pub struct PasskeyChallenge {
    /// The id the client sends back.
    pub id: PasskeyChallengeId,
    /// The user registering a passkey; `None` for a sign-in.
    pub user_id: Option<UserId>,
    /// The ceremony adapter's state (the challenge and what it expects).
    pub state: String,
    /// When it stops being accepted.
    pub expires_at: OffsetDateTime,
}

/// Stores ceremonies in progress.
#[portico_macros::port("passkey_challenges")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait PasskeyChallengeRepository: Send + Sync {
    /// Stores a challenge. The store MAY expire it natively at
    /// `expires_at`.
    async fn insert(&self, challenge: &PasskeyChallenge) -> Result<(), StoreError>;

    /// Atomically deletes and returns the challenge `id` if unexpired at
    /// `now`. Single use: of N concurrent calls at most one gets it. An
    /// expired challenge MUST NOT be returned even if not yet removed.
    async fn take(
        &self,
        id: PasskeyChallengeId,
        now: OffsetDateTime,
    ) -> Result<Option<PasskeyChallenge>, StoreError>;

    /// Deletes challenges expired at `now`; returns how many (0 where the
    /// store expires them natively).
    /// At most `limit` per call: the purge calls again while a batch comes
    /// back full, so no statement holds its locks long.
    async fn purge_expired(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError>;
}
