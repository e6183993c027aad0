//! Plain OAuth 2.0: explicit endpoints, the code exchanged with PKCE, the identity from a userinfo URL.

use async_trait::async_trait;
use domain::{
    AuthorizeRequest, Email, IdentityProvider, ProviderError, ProviderIdentity, ProviderName,
};
use openidconnect::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenUrl, reqwest,
};

use crate::{ProviderSettings, rejected, token_error, tokens_of, unavailable};

/// A plain OAuth 2.0 provider with a userinfo endpoint.
pub(crate) struct OAuth2 {
    pub(crate) settings: ProviderSettings,
    pub(crate) http: reqwest::Client,
    pub(crate) authorize_url: String,
    pub(crate) token_url: String,
    pub(crate) userinfo_url: String,
    pub(crate) subject_field: String,
    pub(crate) email_field: String,
    pub(crate) emails_verified: bool,
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
pub(crate) fn field(info: &serde_json::Value, name: &str) -> Option<String> {
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
