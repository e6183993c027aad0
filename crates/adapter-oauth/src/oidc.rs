//! OpenID Connect: discovery, the code flow with PKCE and a nonce, ID-token checks.

use std::time::Instant;

use async_trait::async_trait;
use domain::{
    AuthorizeRequest, Email, IdentityProvider, ProviderError, ProviderIdentity, ProviderName,
};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreGenderClaim, CoreIdTokenClaims, CoreProviderMetadata,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EmptyAdditionalClaims,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse, UserInfoClaims, reqwest,
};
use tokio::sync::RwLock;

use crate::{
    METADATA_TTL, ProviderSettings, REFETCH_AFTER, rejected, token_error, tokens_of, unavailable,
};

/// An OpenID Connect provider.
pub(crate) struct Oidc {
    pub(crate) issuer: String,
    pub(crate) settings: ProviderSettings,
    pub(crate) http: reqwest::Client,
    pub(crate) metadata: RwLock<Option<(CoreProviderMetadata, Instant)>>,
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
