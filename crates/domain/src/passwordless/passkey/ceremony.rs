//! The WebAuthn ceremonies, as a port: building the options a browser
//! passes to `navigator.credentials.create()`/`get()` and checking what the
//! authenticator answered (origin, RP ID, challenge, signature, flags).
//! Portico's implementation is `adapter-webauthn` (webauthn-rs); the
//! domain keeps the state it returns and decides what follows.

use crate::{CredentialId, UserId};

/// Who a passkey is being registered for.
#[derive(Debug, Clone)]
pub struct PasskeyHolder {
    /// The user handle the authenticator keeps.
    pub id: UserId,
    /// The name the authenticator shows (the address or username).
    pub name: String,
    /// The name shown beside it.
    pub display_name: String,
}

/// A ceremony begun: what the browser needs and what finishing needs.
#[derive(Debug, Clone)]
pub struct CeremonyStart {
    /// The `PublicKeyCredentialCreationOptions` or
    /// `PublicKeyCredentialRequestOptions` JSON, under `publicKey`.
    pub options: serde_json::Value,
    /// The state to keep server-side until the answer comes.
    pub state: String,
}

/// A credential the registration produced.
#[derive(Debug, Clone)]
pub struct NewCredential {
    /// The authenticator's id for it.
    pub credential_id: CredentialId,
    /// The public key and flags, in the adapter's form.
    pub credential: String,
    /// The signature counter it started with.
    pub counter: u32,
}

/// A verified assertion.
#[derive(Debug, Clone)]
pub struct Assertion {
    /// The signature counter it carried.
    pub counter: u32,
    /// Whether the authenticator verified the user (PIN, biometrics).
    pub user_verified: bool,
    /// The credential with its flags brought up to date.
    pub credential: String,
}

/// Why a ceremony step failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CeremonyError {
    /// The answer does not verify: wrong origin, RP ID, challenge, flags or
    /// signature, or a counter that went backwards.
    #[error("the authenticator's answer does not verify: {0}")]
    Rejected(String),
    /// The answer is not a `PublicKeyCredential` JSON.
    #[error("not a WebAuthn credential: {0}")]
    Malformed(String),
    /// The adapter failed (state it cannot read, a broken configuration).
    #[error("WebAuthn failure: {0}")]
    Internal(String),
}

/// Runs WebAuthn ceremonies for one relying party.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait PasskeyCeremony: Send + Sync {
    /// Options for registering a passkey for `holder` (resident key
    /// preferred, user verification asked, `exclude` excluded).
    fn start_registration(
        &self,
        holder: &PasskeyHolder,
        exclude: &[CredentialId],
    ) -> Result<CeremonyStart, CeremonyError>;

    /// Checks the browser's `response` (its `PublicKeyCredential` JSON)
    /// against `state`.
    fn finish_registration(
        &self,
        response: &serde_json::Value,
        state: &str,
    ) -> Result<NewCredential, CeremonyError>;

    /// Options for a sign-in with any discoverable credential.
    fn start_sign_in(&self) -> Result<CeremonyStart, CeremonyError>;

    /// The user handle and credential id an assertion names, before it is
    /// checked.
    fn identify(
        &self,
        response: &serde_json::Value,
    ) -> Result<(UserId, CredentialId), CeremonyError>;

    /// Checks an assertion against `state` and the stored `credential`
    /// (signature, origin, RP ID, challenge, counter).
    fn finish_sign_in(
        &self,
        response: &serde_json::Value,
        state: &str,
        credential: &str,
    ) -> Result<Assertion, CeremonyError>;
}
