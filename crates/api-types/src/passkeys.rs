//! Passkeys (WebAuthn).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// Starts registering a passkey.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRegistrationBody {
    /// The account's password: needed when the account has one (a stolen
    /// session alone cannot add a way in).
    #[serde(default)]
    #[schema(example = "correct horse battery staple")]
    pub password: Option<String>,
}

/// A ceremony begun: pass `options` to `navigator.credentials.create()` or
/// `get()` (after decoding its base64url members, or with
/// `PublicKeyCredential.parseCreationOptionsFromJSON`/
/// `parseRequestOptionsFromJSON`), then send the credential back with the
/// `challenge_id` within 5 minutes.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyCeremonyView {
    /// The id to send back with the credential.
    pub challenge_id: Uuid,
    /// `{"publicKey": …}`: `PublicKeyCredentialCreationOptions` or
    /// `PublicKeyCredentialRequestOptions` in their JSON form (binary
    /// members as base64url).
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
}

/// Finishes registering a passkey.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddPasskeyBody {
    /// The id from `POST /v1/me/passkeys/registration`.
    pub challenge_id: Uuid,
    /// What you call it (1 to 64 characters); absent: "Passkey N".
    #[serde(default)]
    #[schema(example = "Phone")]
    pub name: Option<String>,
    /// The `PublicKeyCredential` as its `toJSON()` gives it.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// Renames a passkey.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenamePasskeyBody {
    /// The new name: 1 to 64 characters.
    #[schema(example = "YubiKey 5")]
    pub name: String,
}

/// A passkey (never its key).
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyView {
    /// Its id.
    pub id: Uuid,
    /// What its owner calls it.
    #[schema(example = "Phone")]
    pub name: String,
    /// When it was registered.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last signed in; `null`: never.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<domain::Passkey> for PasskeyView {
    fn from(p: domain::Passkey) -> Self {
        Self {
            id: p.id.as_uuid(),
            name: p.name.as_str().to_owned(),
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }
}

/// The caller's passkeys, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyList {
    /// The passkeys.
    pub items: Vec<PasskeyView>,
}

/// Starts a passkey sign-in.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyAuthenticationBody {
    /// Accepted for API compatibility and not used: the options are the
    /// same for every caller (discoverable credentials), so they never
    /// reveal whether an account exists or which passkeys it has.
    #[serde(default)]
    #[schema(example = "ada@example.com")]
    pub login: Option<String>,
}

/// Signs in with a passkey.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeySignInBody {
    /// The id from `POST /v1/passkeys/authentication`.
    pub challenge_id: Uuid,
    /// The `PublicKeyCredential` (assertion) as its `toJSON()` gives it.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}
