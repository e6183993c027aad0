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
use std::time::{Duration, Instant};

use async_trait::async_trait;
use domain::{
    AuthorizeRequest, Email, IdentityProvider, ProviderError, ProviderIdentity, ProviderName,
    ProviderTokens,
};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreIdTokenClaims, CoreProviderMetadata,
};
use openidconnect::{
    AccessTokenHash, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EmptyAdditionalClaims, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse, TokenUrl,
    UserInfoClaims, reqwest,
};
use tokio::sync::RwLock;

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
            metadata: RwLock::new(None),
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

/// An OpenID Connect provider.
struct Oidc {
    issuer: String,
    settings: ProviderSettings,
    http: reqwest::Client,
    metadata: RwLock<Option<(CoreProviderMetadata, Instant)>>,
}

impl Oidc {
    /// The cached metadata (with its keys), fetched when missing, older
    /// than an hour, or (with `refresh`) older than half a minute.
    async fn metadata(&self, refresh: bool) -> Result<CoreProviderMetadata, ProviderError> {
        let max_age = if refresh { REFETCH_AFTER } else { METADATA_TTL };
        if let Some((m, at)) = &*self.metadata.read().await
            && at.elapsed() < max_age
        {
            return Ok(m.clone());
        }
        let mut slot = self.metadata.write().await;
        if let Some((m, at)) = &*slot
            && at.elapsed() < max_age
        {
            return Ok(m.clone());
        }
        let issuer = IssuerUrl::new(self.issuer.clone()).map_err(|e| unavailable("issuer", e))?;
        let m = CoreProviderMetadata::discover_async(issuer, &self.http)
            .await
            .map_err(|e| unavailable("discovery failed", e))?;
        tracing::info!(provider = %self.settings.name, issuer = %self.issuer, "discovered identity provider");
        *slot = Some((m.clone(), Instant::now()));
        Ok(m)
    }

    fn client(
        &self,
        metadata: CoreProviderMetadata,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        ProviderError,
    > {
        let redirect = RedirectUrl::new(self.settings.callback_url.clone())
            .map_err(|e| unavailable("callback URL", e))?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            self.settings.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect))
    }

    /// The ID token's claims after every check, with `refresh` fetching the
    /// keys again first.
    async fn verify(
        &self,
        token: &openidconnect::core::CoreTokenResponse,
        nonce: &str,
        refresh: bool,
    ) -> Result<CoreIdTokenClaims, ProviderError> {
        let client = self.client(self.metadata(refresh).await?)?;
        let id_token = token
            .id_token()
            .ok_or_else(|| rejected("token response", "no ID token"))?;
        let verifier = client.id_token_verifier();
        let claims = id_token
            .claims(&verifier, &Nonce::new(nonce.to_owned()))
            .map_err(|e| rejected("ID token", e))?;
        if let Some(expected) = claims.access_token_hash() {
            let alg = id_token
                .signing_alg()
                .map_err(|e| rejected("ID token", e))?;
            let key = id_token
                .signing_key(&verifier)
                .map_err(|e| rejected("ID token", e))?;
            let actual = AccessTokenHash::from_token(token.access_token(), alg, key)
                .map_err(|e| rejected("access token hash", e))?;
            if actual != *expected {
                return Err(rejected("ID token", "the access token hash does not match"));
            }
        }
        Ok(claims.clone())
    }
}

#[async_trait]
impl IdentityProvider for Oidc {
    fn name(&self) -> &ProviderName {
        &self.settings.name
    }

    fn display_name(&self) -> &str {
        &self.settings.display_name
    }

    fn link_by_verified_email(&self) -> bool {
        self.settings.link_by_verified_email
    }

    async fn authorize_url(&self, request: &AuthorizeRequest) -> Result<String, ProviderError> {
        let client = self.client(self.metadata(false).await?)?;
        let (state, nonce) = (request.state.clone(), request.nonce.clone());
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            request.pkce_verifier.clone(),
        ));
        let mut auth = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .set_pkce_challenge(challenge);
        for scope in &self.settings.scopes {
            if scope != "openid" {
                auth = auth.add_scope(Scope::new(scope.clone()));
            }
        }
        Ok(auth.url().0.to_string())
    }

    async fn exchange(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<ProviderIdentity, ProviderError> {
        let client = self.client(self.metadata(false).await?)?;
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| unavailable("token endpoint", e))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let claims = match self.verify(&token, nonce, false).await {
            // Keys rotate: a key the cache lacks is looked up once more.
            Err(ProviderError::Rejected(why)) if why.contains("Signature") => {
                self.verify(&token, nonce, true).await?
            }
            other => other?,
        };
        let mut email = claims.email().map(|e| e.as_str().to_owned());
        let mut email_verified = claims.email_verified().unwrap_or(false);
        if email.is_none()
            && let Ok(request) =
                client.user_info(token.access_token().clone(), Some(claims.subject().clone()))
        {
            let info: UserInfoClaims<EmptyAdditionalClaims, CoreGenderClaim> = request
                .request_async(&self.http)
                .await
                .map_err(|e| unavailable("userinfo", e))?;
            email = info.email().map(|e| e.as_str().to_owned());
            email_verified = info.email_verified().unwrap_or(false);
        }
        Ok(ProviderIdentity {
            subject: claims.subject().as_str().to_owned(),
            email: email.and_then(|e| Email::parse(&e).ok()),
            email_verified,
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_owned()),
            preferred_username: claims.preferred_username().map(|u| u.as_str().to_owned()),
            tokens: tokens_of(&token),
        })
    }
}

/// A plain OAuth 2.0 provider with a userinfo endpoint.
struct OAuth2 {
    settings: ProviderSettings,
    http: reqwest::Client,
    authorize_url: String,
    token_url: String,
    userinfo_url: String,
    subject_field: String,
    email_field: String,
    emails_verified: bool,
}

impl OAuth2 {
    fn client(
        &self,
    ) -> Result<
        oauth2::basic::BasicClient<
            oauth2::EndpointSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointNotSet,
            oauth2::EndpointSet,
        >,
        ProviderError,
    > {
        let bad = |e| unavailable("provider endpoints", e);
        let mut client =
            oauth2::basic::BasicClient::new(ClientId::new(self.settings.client_id.clone()))
                .set_auth_uri(AuthUrl::new(self.authorize_url.clone()).map_err(bad)?)
                .set_token_uri(TokenUrl::new(self.token_url.clone()).map_err(bad)?)
                .set_redirect_uri(
                    RedirectUrl::new(self.settings.callback_url.clone()).map_err(bad)?,
                );
        if let Some(secret) = &self.settings.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.clone()));
        }
        Ok(client)
    }
}

/// A JSON field as a string: strings as they are, numbers in decimal (ids).
fn field(info: &serde_json::Value, name: &str) -> Option<String> {
    match info.get(name)? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[async_trait]
impl IdentityProvider for OAuth2 {
    fn name(&self) -> &ProviderName {
        &self.settings.name
    }

    fn display_name(&self) -> &str {
        &self.settings.display_name
    }

    fn link_by_verified_email(&self) -> bool {
        self.settings.link_by_verified_email
    }

    async fn authorize_url(&self, request: &AuthorizeRequest) -> Result<String, ProviderError> {
        let state = request.state.clone();
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            request.pkce_verifier.clone(),
        ));
        let client = self.client()?;
        let mut auth = client
            .authorize_url(move || CsrfToken::new(state))
            .set_pkce_challenge(challenge);
        for scope in &self.settings.scopes {
            auth = auth.add_scope(Scope::new(scope.clone()));
        }
        Ok(auth.url().0.to_string())
    }

    async fn exchange(
        &self,
        code: &str,
        pkce_verifier: &str,
        _nonce: &str,
    ) -> Result<ProviderIdentity, ProviderError> {
        let token = self
            .client()?
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let response = self
            .http
            .get(&self.userinfo_url)
            .bearer_auth(token.access_token().secret())
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| unavailable("userinfo", e))?;
        if !response.status().is_success() {
            return Err(rejected("userinfo", response.status()));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| unavailable("userinfo", e))?;
        let info: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| unavailable("userinfo", e))?;
        let subject =
            field(&info, &self.subject_field).ok_or_else(|| rejected("userinfo", "no subject"))?;
        let email = field(&info, &self.email_field).and_then(|e| Email::parse(&e).ok());
        let email_verified = match info.get("email_verified") {
            Some(serde_json::Value::Bool(v)) => v.to_owned(),
            _ => self.emails_verified,
        };
        Ok(ProviderIdentity {
            subject,
            email,
            email_verified,
            name: field(&info, "name"),
            preferred_username: field(&info, "preferred_username")
                .or_else(|| field(&info, "login")),
            tokens: tokens_of(&token),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
