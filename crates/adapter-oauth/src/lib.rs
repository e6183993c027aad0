//! The `IdentityProvider` port over real providers:
//!
//! - **OpenID Connect** ([`ProviderKind::Oidc`]): the provider's metadata and
//!   signing keys come from discovery of its issuer (fetched on first use,
//!   kept an hour, fetched again when an ID token names a key they lack);
//!   the authorization code flow carries `state`, the S256 challenge of the
//!   PKCE verifier and a `nonce`; the ID token's signature, issuer, audience,
//!   expiry, nonce and access-token hash are checked by the `openidconnect`
//!   crate. An email the ID token lacks is read from the userinfo endpoint.
//! - **Plain OAuth 2.0** ([`ProviderKind::OAuth2`], for providers such as
//!   GitHub): explicit endpoints, the code exchanged with PKCE by the
//!   `oauth2` crate, and the identity read from a userinfo URL.
//!
//! Every HTTP call has connect and request timeouts and never follows a
//! redirect (which would open the server to request forgery). Issuers must
//! be `https`, or plain `http` on a loopback address only (development and
//! tests).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use domain::{IdentityProvider, ProviderError, ProviderName, ProviderTokens};
use openidconnect::{OAuth2TokenResponse, RequestTokenError, reqwest};

mod oauth2;
mod oidc;

use oauth2::OAuth2;
use oidc::Oidc;

/// How long discovered metadata and keys are kept.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// How soon after a fetch an unknown signing key may fetch them again.
const REFETCH_AFTER: Duration = Duration::from_secs(30);

/// Why a provider's configuration is not usable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A URL does not parse.
    #[error("{field}: {value:?} is not a URL")]
    Url {
        /// Which setting.
        field: &'static str,
        /// What it said.
        value: String,
    },
    /// A URL is plain `http` on a host that is not loopback.
    #[error("{field}: {value:?} must use https (plain http only for a loopback address)")]
    Insecure {
        /// Which setting.
        field: &'static str,
        /// What it said.
        value: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// Where a provider's endpoints come from.
#[derive(Debug, Clone)]
pub enum ProviderKind {
    /// OpenID Connect: everything from discovery of `issuer`.
    Oidc {
        /// The issuer URL (`https://accounts.example.com`).
        issuer: String,
    },
    /// Plain OAuth 2.0 with a userinfo endpoint.
    OAuth2 {
        /// The authorization endpoint.
        authorize_url: String,
        /// The token endpoint.
        token_url: String,
        /// Answers the user's identity for a bearer access token (JSON).
        userinfo_url: String,
        /// The userinfo field holding the stable id (`sub`; GitHub: `id`).
        subject_field: String,
        /// The userinfo field holding the email (`email`).
        email_field: String,
        /// Whether the provider only ever reports verified addresses (then
        /// an email without an `email_verified` field counts as verified).
        emails_verified: bool,
    },
}

/// One configured provider.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// The name it is configured under (in paths).
    pub name: ProviderName,
    /// What a sign-in button shows.
    pub display_name: String,
    /// Where its endpoints come from.
    pub kind: ProviderKind,
    /// The client id registered at the provider.
    pub client_id: String,
    /// The client secret, for confidential clients.
    pub client_secret: Option<String>,
    /// Scopes to ask for (`openid` is always added for OIDC).
    pub scopes: Vec<String>,
    /// Whether a first sign-in may link to an existing user by a verified
    /// email.
    pub link_by_verified_email: bool,
    /// Portico's callback URL for this provider (registered at the provider).
    pub callback_url: String,
    /// Connect timeout of each HTTP call.
    pub connect_timeout: Duration,
    /// Whole-request timeout of each HTTP call.
    pub request_timeout: Duration,
}

/// Whether `url` is https, or http on a loopback host.
fn check_url(field: &'static str, url: &str) -> Result<openidconnect::url::Url, ConfigError> {
    let parsed = openidconnect::url::Url::parse(url).map_err(|_| ConfigError::Url {
        field,
        value: url.to_owned(),
    })?;
    let loopback = match parsed.host() {
        Some(openidconnect::url::Host::Domain(d)) => d == "localhost",
        Some(openidconnect::url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(openidconnect::url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if loopback => Ok(parsed),
        _ => Err(ConfigError::Insecure {
            field,
            value: url.to_owned(),
        }),
    }
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Unavailable(format!("{what}: {e}"))
}

fn rejected(what: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Rejected(format!("{what}: {e}"))
}

/// A token endpoint's refusal is the provider rejecting the code; anything
/// else is the provider failing.
fn token_error<RE: std::error::Error + 'static, T: openidconnect::ErrorResponse + 'static>(
    e: RequestTokenError<RE, T>,
) -> ProviderError {
    match e {
        RequestTokenError::ServerResponse(r) => rejected("the token endpoint refused the code", r),
        other => unavailable("the token endpoint failed", other),
    }
}

/// The provider's tokens from a token response, the expiry made absolute.
fn tokens_of(token: &impl OAuth2TokenResponse) -> ProviderTokens {
    ProviderTokens {
        access_token: token.access_token().secret().clone(),
        refresh_token: token.refresh_token().map(|t| t.secret().clone()),
        expires_at: token.expires_in().and_then(|d| {
            time::Duration::try_from(d)
                .ok()
                .map(|d| time::OffsetDateTime::now_utc() + d)
        }),
    }
}

/// Builds the provider of `settings`.
pub fn provider(settings: ProviderSettings) -> Result<Arc<dyn IdentityProvider>, ConfigError> {
    // The callback is where browsers come back to, not a fetch of ours:
    // plain http there is the operator's choice (a development server).
    openidconnect::url::Url::parse(&settings.callback_url).map_err(|_| ConfigError::Url {
        field: "callback",
        value: settings.callback_url.clone(),
    })?;
    match &settings.kind {
        ProviderKind::Oidc { issuer } => {
            check_url("issuer", issuer)?;
        }
        ProviderKind::OAuth2 {
            authorize_url,
            token_url,
            userinfo_url,
            ..
        } => {
            check_url("authorize_url", authorize_url)?;
            check_url("token_url", token_url)?;
            check_url("userinfo_url", userinfo_url)?;
        }
    }
    let http = reqwest::ClientBuilder::new()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.request_timeout)
        .user_agent(concat!("Portico/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ConfigError::Client(e.to_string()))?;
    Ok(match settings.kind.clone() {
        ProviderKind::Oidc { issuer } => Arc::new(Oidc {
            issuer,
            settings,
            http,
            metadata: tokio::sync::RwLock::new(None),
        }),
        ProviderKind::OAuth2 {
            authorize_url,
            token_url,
            userinfo_url,
            subject_field,
            email_field,
            emails_verified,
        } => Arc::new(OAuth2 {
            settings,
            http,
            authorize_url,
            token_url,
            userinfo_url,
            subject_field,
            email_field,
            emails_verified,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::oauth2::field;
    use super::*;
    use openidconnect::{PkceCodeChallenge, PkceCodeVerifier};

    #[test]
    fn issuers_are_https_or_loopback() {
        for ok in [
            "https://accounts.example.com",
            "http://127.0.0.1:9400",
            "http://localhost:8080/realms/x",
            "http://[::1]:1234",
        ] {
            assert!(check_url("issuer", ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://accounts.example.com",
            "http://10.0.0.1",
            "http://127.0.0.1.example.com",
            "ftp://127.0.0.1",
            "not a url",
        ] {
            assert!(check_url("issuer", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pkce_challenge_is_rfc7636_s256() {
        // RFC 7636, appendix B.
        let v = PkceCodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into());
        assert_eq!(
            PkceCodeChallenge::from_code_verifier_sha256(&v).as_str(),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn userinfo_ids_may_be_numbers() {
        let info = serde_json::json!({"id": 42, "login": "octo", "email": ""});
        assert_eq!(field(&info, "id").as_deref(), Some("42"));
        assert_eq!(field(&info, "login").as_deref(), Some("octo"));
        assert_eq!(field(&info, "email"), None);
    }
}
