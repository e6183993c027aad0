//! JWT access tokens: a signed statement of who a session is, which other
//! services check with the published keys alone, without calling Portico.
//!
//! A sign-in or refresh with [`JwtAccess`] configured also makes a JWT for
//! the new access token; its `jti` is the SHA-256 of the session's current
//! (opaque) access token, the hash the session store keeps. Portico accepts
//! a JWT only while that session is active with that token: a revoked
//! session, a sign-out, a locked or suspended user, and also a refresh
//! (which rotates the access token) end it at Portico at once. A service
//! that only checks the signature accepts it until `exp`: the JWT's
//! lifetime is the bound on what it can miss.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::{AuthSession, AuthSessionId, StoreError, UserId};

/// The claims of a Portico access JWT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The issuer: the server's public URL.
    pub iss: String,
    /// The user.
    pub sub: UserId,
    /// The session.
    pub sid: AuthSessionId,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// The token's id: the hash of the session's access token it stands for.
    pub jti: String,
    /// The names of the user's roles when it was issued.
    pub roles: Vec<String>,
    /// The name of the user's plan when it was issued.
    pub plan: String,
}

/// Signs access JWTs and checks their signatures (the server's keys).
pub trait AccessTokenSigner: Send + Sync {
    /// The compact JWS of `claims`, signed with the current key.
    fn sign(&self, claims: &AccessClaims) -> Result<String, StoreError>;

    /// The claims of `token` when it is a JWS this signer made with a key
    /// it still holds; `None` for anything else. Times are not checked here.
    fn verify(&self, token: &str) -> Option<AccessClaims>;
}

/// JWT access tokens, as configured (`tokens.access_format = "jwt"`).
#[derive(Clone)]
pub struct JwtAccess {
    /// The keys.
    pub signer: Arc<dyn AccessTokenSigner>,
    /// The `iss` claim (and the only one accepted).
    pub issuer: String,
    /// A JWT's lifetime.
    pub ttl: Duration,
}

impl JwtAccess {
    /// The claims of a new JWT for `session`, whose access token hashes to
    /// its `token_hash`.
    pub(crate) fn claims(
        &self,
        session: &AuthSession,
        roles: Vec<String>,
        plan: String,
        now: OffsetDateTime,
    ) -> AccessClaims {
        AccessClaims {
            iss: self.issuer.clone(),
            sub: session.user_id,
            sid: session.id,
            iat: now.unix_timestamp(),
            exp: (now + self.ttl).unix_timestamp(),
            jti: session.token_hash.as_str().to_owned(),
            roles,
            plan,
        }
    }

    /// The claims of `token` if it is ours, for us, and unexpired at `now`.
    pub(crate) fn accept(&self, token: &str, now: OffsetDateTime) -> Option<AccessClaims> {
        self.signer
            .verify(token)
            .filter(|c| c.iss == self.issuer && c.exp > now.unix_timestamp())
    }
}

/// Whether `text` has the shape of a compact JWS (three base64url parts);
/// an opaque token never does.
pub fn looks_like_jwt(text: &str) -> bool {
    // No allocation: this runs on every authenticated request.
    let mut parts = 0;
    text.split('.').all(|p| {
        parts += 1;
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }) && parts == 3
}
