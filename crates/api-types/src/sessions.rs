//! Sign-in, refresh and the caller's sessions.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::*;

/// A sign-in: a login (username or email) and its password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInBody {
    /// Email address or username.
    pub login: String,
    /// The account's password.
    pub password: String,
}

/// A new session's secrets. They are shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokensView {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Single use: exchange at `/v1/sessions/refresh` for a new pair.
    pub refresh_token: String,
    /// When the access token stops working unless used (sliding expiry).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// The value to send in `X-CSRF-Token` with cookie-authenticated changes
    /// (also set as the `portico_csrf` cookie).
    pub csrf_token: String,
    /// The session.
    pub session: SessionView,
}

/// The password was right, and the account has a second factor: no session
/// yet. Send the `mfa_token` with a code to `POST /v1/sessions/mfa`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaRequiredView {
    /// Always `true`: tells this answer from a session.
    pub mfa_required: bool,
    /// Present it with the code; it works for 5 minutes and 5 codes.
    pub mfa_token: String,
    /// The kinds of code accepted: `totp` and `backup_code`.
    pub methods: Vec<&'static str>,
    /// When the `mfa_token` stops working.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A refresh token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    /// The refresh token from sign-in or the last refresh.
    pub refresh_token: String,
}

/// Active sessions (the caller's, or a user's for an administrator).
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionList {
    /// Newest first.
    pub items: Vec<SessionView>,
}

impl SessionList {
    /// The list of `sessions`; `current` marks the caller's own.
    pub fn of(sessions: Vec<domain::AuthSession>, current: domain::AuthSessionId) -> Self {
        Self {
            items: sessions
                .into_iter()
                .map(|s| {
                    let is_current = s.id == current;
                    SessionView::new(s, is_current)
                })
                .collect(),
        }
    }
}

/// Asks for a sign-in link and code by mail.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailSignInBody {
    /// The account's email address.
    pub email: String,
    /// Where Portico's own sign-in page continues once signed in; it must
    /// be on the allowlist (`oauth.redirect_allowlist`).
    #[serde(default)]
    #[schema(example = "https://app.example/signed-in")]
    pub redirect_uri: Option<String>,
}

/// An email sign-in under way: send its id back with the mailed code.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmailFlowView {
    /// The flow's id (the same answer whether or not the address has an
    /// account).
    pub flow_id: String,
}

/// Completes an email sign-in: `flow_id` and the mailed `code`, or the
/// mailed link's `token` (one or the other).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailVerifyBody {
    /// The `flow_id` the request answered with (with `code`).
    #[serde(default)]
    pub flow_id: Option<String>,
    /// The 6-digit code from the mail (with `flow_id`).
    #[serde(default)]
    pub code: Option<String>,
    /// The `token` of the mailed link (alone).
    #[serde(default)]
    pub token: Option<String>,
}

/// The public keys access JWTs are signed with (RFC 7517 JWK Set).
#[derive(Debug, Serialize, ToSchema)]
pub struct JwkSetView {
    /// The keys of every JWT that may still be valid: the current key, and
    /// each older one for a token lifetime after it was replaced.
    pub keys: Vec<JwkView>,
}

/// One Ed25519 public key (RFC 8037 OKP).
#[derive(Debug, Serialize, ToSchema)]
pub struct JwkView {
    /// Always `OKP`.
    #[schema(example = "OKP")]
    pub kty: &'static str,
    /// Always `Ed25519`.
    #[schema(example = "Ed25519")]
    pub crv: &'static str,
    /// The public key, base64url.
    #[schema(example = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")]
    pub x: String,
    /// The key's id, as JWT headers name it.
    #[schema(example = "j1")]
    pub kid: String,
    /// Always `EdDSA`.
    #[schema(example = "EdDSA")]
    pub alg: &'static str,
    /// Always `sig`.
    #[serde(rename = "use")]
    #[schema(example = "sig")]
    pub use_: &'static str,
}
