//! `[oauth]`: identity providers for sign-in and the front-end addresses a
//! provider flow may return to.

use std::collections::BTreeMap;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::accounts::redacted;

/// Sign-in through identity providers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuthConfig {
    /// The providers, by name (`[oauth.providers.google]`); the name is the
    /// `{provider}` of the routes. Listed to front ends in name order.
    pub providers: BTreeMap<String, OAuthProviderConfig>,
    /// Front-end URLs a flow may return to (`redirect_uri`): compared
    /// exactly, after the query is set aside. Empty: no flow can start.
    pub redirect_allowlist: Vec<String>,
    /// How long a flow waits for the provider's callback, in seconds.
    pub flow_ttl_secs: u64,
    /// How long the one-time exchange code of a finished flow works, in seconds.
    pub exchange_ttl_secs: u64,
    /// Connect timeout of each call to a provider, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Whole-request timeout of each call to a provider, in milliseconds.
    pub request_timeout_ms: u64,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        Self {
            providers: BTreeMap::new(),
            redirect_allowlist: Vec::new(),
            flow_ttl_secs: 600,
            exchange_ttl_secs: 60,
            connect_timeout_ms: 3000,
            request_timeout_ms: 10_000,
        }
    }
}

/// One provider: `issuer` for OpenID Connect (discovery), or the three
/// endpoints of a plain OAuth 2.0 provider.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OAuthProviderConfig {
    /// What a sign-in button shows. Empty: the name.
    pub display_name: String,
    /// OpenID Connect issuer (`https://accounts.google.com`); https, or
    /// http for a loopback address only.
    pub issuer: String,
    /// Plain OAuth 2.0: the authorization endpoint.
    pub authorize_url: String,
    /// Plain OAuth 2.0: the token endpoint.
    pub token_url: String,
    /// Plain OAuth 2.0: the endpoint answering the user for an access token.
    pub userinfo_url: String,
    /// Plain OAuth 2.0: the userinfo field with the stable user id
    /// (default `sub`; GitHub: `id`).
    pub subject_field: String,
    /// Plain OAuth 2.0: the userinfo field with the email (default `email`).
    pub email_field: String,
    /// Plain OAuth 2.0: the provider reports only verified addresses.
    pub emails_verified: bool,
    /// The client id registered at the provider.
    pub client_id: String,
    /// The client secret (confidential clients).
    #[serde(serialize_with = "redacted")]
    pub client_secret: SecretString,
    /// Scopes to ask for. Empty: `openid email profile` for OpenID Connect,
    /// none for plain OAuth 2.0.
    pub scopes: Vec<String>,
    /// Whether a first sign-in links to an existing account with the same
    /// address when the provider says it verified it. Off: such a sign-in
    /// is refused (`?error=account_exists`), and the owner links the
    /// provider from `/v1/me/providers` instead.
    pub link_by_verified_email: bool,
}

impl OAuthConfig {
    /// Checks names, the choice of endpoints and the allow-list.
    pub(super) fn validate(&self) -> Result<(), String> {
        for (name, p) in &self.providers {
            let at = format!("oauth.providers.{name}");
            domain::ProviderName::parse(name).map_err(|e| format!("{at}: {e}"))?;
            if p.client_id.is_empty() {
                return Err(format!("{at}.client_id is required"));
            }
            let plain = [&p.authorize_url, &p.token_url, &p.userinfo_url];
            match (p.issuer.is_empty(), plain.iter().all(|u| u.is_empty())) {
                (false, true) => {}
                (true, false) if plain.iter().all(|u| !u.is_empty()) => {}
                (false, false) => {
                    return Err(format!(
                        "{at}: set either issuer (OpenID Connect) or authorize_url, token_url and userinfo_url (OAuth 2.0), not both"
                    ));
                }
                _ => {
                    return Err(format!(
                        "{at}: set issuer (OpenID Connect) or all of authorize_url, token_url and userinfo_url (OAuth 2.0)"
                    ));
                }
            }
        }
        for url in &self.redirect_allowlist {
            let ok = (url.starts_with("https://") || url.starts_with("http://"))
                && !url.contains(['?', '#'])
                && !url.chars().any(char::is_whitespace);
            if !ok {
                return Err(format!(
                    "oauth.redirect_allowlist: {url:?} must be an http(s) URL without query or fragment"
                ));
            }
        }
        if self.flow_ttl_secs == 0 || self.exchange_ttl_secs == 0 {
            return Err("oauth.flow_ttl_secs and exchange_ttl_secs must be positive".into());
        }
        Ok(())
    }

    /// The settings of every provider, with callbacks under `public_url`.
    pub fn providers(
        &self,
        public_url: &str,
    ) -> Result<Vec<std::sync::Arc<dyn domain::IdentityProvider>>, String> {
        self.providers
            .iter()
            .map(|(name, p)| {
                let kind = if p.issuer.is_empty() {
                    adapter_oauth::ProviderKind::OAuth2 {
                        authorize_url: p.authorize_url.clone(),
                        token_url: p.token_url.clone(),
                        userinfo_url: p.userinfo_url.clone(),
                        subject_field: or(&p.subject_field, "sub"),
                        email_field: or(&p.email_field, "email"),
                        emails_verified: p.emails_verified,
                    }
                } else {
                    adapter_oauth::ProviderKind::Oidc {
                        issuer: p.issuer.clone(),
                    }
                };
                let scopes = if p.scopes.is_empty() && !p.issuer.is_empty() {
                    vec!["openid".into(), "email".into(), "profile".into()]
                } else {
                    p.scopes.clone()
                };
                let secret = p.client_secret.expose_secret();
                adapter_oauth::provider(adapter_oauth::ProviderSettings {
                    name: domain::ProviderName::parse(name)
                        .map_err(|e| format!("oauth.providers.{name}: {e}"))?,
                    display_name: or(&p.display_name, name),
                    kind,
                    client_id: p.client_id.clone(),
                    client_secret: (!secret.is_empty()).then(|| secret.to_owned()),
                    scopes,
                    link_by_verified_email: p.link_by_verified_email,
                    callback_url: format!("{public_url}/v1/oauth/{name}/callback"),
                    connect_timeout: Duration::from_millis(self.connect_timeout_ms),
                    request_timeout: Duration::from_millis(self.request_timeout_ms),
                })
                .map_err(|e| format!("oauth.providers.{name}: {e}"))
            })
            .collect()
    }

    /// The domain's policy.
    pub fn policy(&self) -> domain::FederationPolicy {
        domain::FederationPolicy {
            redirect_allowlist: self.redirect_allowlist.clone(),
            flow_ttl: time::Duration::seconds(i64::try_from(self.flow_ttl_secs).unwrap_or(600)),
            exchange_ttl: time::Duration::seconds(
                i64::try_from(self.exchange_ttl_secs).unwrap_or(60),
            ),
            ..domain::FederationPolicy::default()
        }
    }
}

fn or(value: &str, default: &str) -> String {
    if value.is_empty() {
        default.to_owned()
    } else {
        value.to_owned()
    }
}
