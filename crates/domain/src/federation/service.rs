//! Sign-in through identity providers (OAuth 2.0 / OpenID Connect): the
//! flow's state, PKCE verifier and nonce kept server-side, the allow-list of
//! front-end return addresses, linking by (provider, subject) or by a
//! verified email, creation of a user otherwise, one-time exchange codes in
//! place of tokens in URLs, and the rule that unlinking never takes away a
//! user's last way to sign in.
//!
//! Against a thief of a session or of a callback URL:
//! - A flow is bound to the browser that started it: starting one hands
//!   out a secret for that browser (the server sets it as a short-lived
//!   cookie) and the flow is stored under the hash of its `state` and that
//!   secret together, so a callback URL opened in another browser (a
//!   victim's, for a login CSRF) finds no flow.
//! - A `redirect_uri` may not carry `code`, `linked`, `error` or `state` in
//!   its query (they would come before the real ones) nor control
//!   characters.
//! - Linking asks for the password again (or, for an account without one,
//!   a sign-in within the last few minutes); sign-out, a revoked session
//!   and a new password cancel pending link flows; the owner is told by
//!   mail when a provider is linked.
//! - An account an administrator marked unverified does not sign in
//!   through a provider, as it does not with a password.

use super::errors::*;
use super::redirect::redirect_allowed;
use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use crate::accounts::guard::{PasswordGuard, Reask};
use crate::{AccountPolicy, Authentication, Principal, SignInError, SignedIn, Stores, System};
use crate::{
    AuthorizeRequest, IdentityProvider, OAuthFlow, Password, ProviderError, ProviderName,
    StoreError, Token, TokenPurpose, Unlinked, UserId,
};

/// Lifetimes and the return-address allow-list of provider sign-in.
#[derive(Debug, Clone)]
pub struct FederationPolicy {
    /// Front-end addresses a flow may return to: a `redirect_uri` is
    /// accepted when, without its query, it equals one of them exactly.
    pub redirect_allowlist: Vec<String>,
    /// How long a flow waits for its callback.
    pub flow_ttl: Duration,
    /// How long a one-time exchange code lives.
    pub exchange_ttl: Duration,
    /// How recent a sign-in must be to link a provider to an account that
    /// has no password to ask for.
    pub link_reauth_window: Duration,
}

impl Default for FederationPolicy {
    fn default() -> Self {
        Self {
            redirect_allowlist: Vec::new(),
            flow_ttl: Duration::minutes(10),
            exchange_ttl: Duration::seconds(60),
            link_reauth_window: Duration::minutes(5),
        }
    }
}

/// A flow that started: where to send the browser, and the secret only
/// that browser may carry back (the server sets it as a cookie named by
/// `cookie_id`).
#[derive(Debug, Clone)]
pub struct BegunFlow {
    /// The provider's authorization URL.
    pub authorize_url: String,
    /// The secret the callback must present with the flow's `state`.
    pub browser_secret: Token,
    /// Names the flow's cookie: [`flow_cookie_id`] of its `state`.
    pub cookie_id: String,
    /// When the flow (and so its cookie) expires.
    pub expires_at: OffsetDateTime,
}

/// A short, non-secret name for the flow whose `state` is `state`, so
/// that a browser can hold the secrets of several flows at once (two tabs)
/// and a callback finds its own: 16 hex characters of the state's hash.
/// `None` for a malformed state.
pub fn flow_cookie_id(state: &str) -> Option<String> {
    let state = Token::parse(state).ok()?;
    Some(state.hash().as_str()[..16].to_owned())
}

/// A configured provider, as listed to front ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderInfo {
    /// The configured name (in paths).
    pub name: ProviderName,
    /// What a button shows.
    pub display_name: String,
}

/// Sign-in and account links through identity providers.
#[derive(Clone)]
pub struct Federation {
    pub(super) stores: Stores,
    pub(super) system: System,
    pub(super) accounts: AccountPolicy,
    pub(super) policy: FederationPolicy,
    pub(super) providers: Vec<Arc<dyn IdentityProvider>>,
}

/// `uri` with `key=value` appended to its query (values here are tokens,
/// provider names and error kinds: nothing that needs escaping).
fn with_query(uri: &str, key: &str, value: &str) -> String {
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{key}={value}")
}

impl Federation {
    /// Builds the service over the configured providers.
    pub fn new(
        stores: Stores,
        system: System,
        accounts: AccountPolicy,
        policy: FederationPolicy,
        providers: Vec<Arc<dyn IdentityProvider>>,
    ) -> Self {
        Self {
            stores,
            system,
            accounts,
            policy,
            providers,
        }
    }

    /// The configured providers, in configuration order.
    pub fn providers(&self) -> Vec<ProviderInfo> {
        self.providers
            .iter()
            .map(|p| ProviderInfo {
                name: p.name().clone(),
                display_name: p.display_name().to_owned(),
            })
            .collect()
    }

    fn provider(&self, name: &str) -> Option<&Arc<dyn IdentityProvider>> {
        self.providers.iter().find(|p| p.name().as_str() == name)
    }

    /// Whether `redirect_uri` may end a flow: no fragment, whitespace or
    /// control character, none of the keys the callback adds to its query
    /// (`code`, `linked`, `error`, `state`), and without its query equal to
    /// an address of the policy's redirect allowlist.
    pub fn redirect_allowed(&self, redirect_uri: &str) -> bool {
        redirect_allowed(&self.policy.redirect_allowlist, redirect_uri)
    }

    /// Starts a sign-in flow: stores its state, verifier and nonce, bound
    /// to the browser that starts it, and answers the provider's URL with
    /// the browser's secret.
    pub async fn begin(
        &self,
        provider: &str,
        redirect_uri: &str,
    ) -> Result<BegunFlow, BeginFlowError> {
        self.start(provider, redirect_uri, None).await
    }

    /// Starts a flow that links `provider` to the signed-in `principal`.
    /// It asks for the account's password (checked under the guessing
    /// limits), or for an account without one, a sign-in within
    /// `link_reauth_window`: a stolen access token alone does not link an
    /// identity of the thief's.
    pub async fn begin_link(
        &self,
        principal: &Principal,
        provider: &str,
        redirect_uri: &str,
        password: Option<&Password>,
        ip: Option<&str>,
    ) -> Result<BegunFlow, BeginFlowError> {
        let user = principal.account()?;
        PasswordGuard::new(&self.stores, &self.system, &self.accounts)
            .reauthenticate(principal, password, ip, self.policy.link_reauth_window)
            .await
            .map_err(|e| match e {
                Reask::Required => BeginFlowError::ReauthenticationRequired,
                Reask::WrongPassword => BeginFlowError::WrongPassword,
                Reask::LockedOut { until } => BeginFlowError::LockedOut { until },
                Reask::Store(e) => BeginFlowError::Unexpected(e),
            })?;
        self.start(provider, redirect_uri, Some(user.id)).await
    }

    async fn start(
        &self,
        provider: &str,
        redirect_uri: &str,
        linking: Option<UserId>,
    ) -> Result<BegunFlow, BeginFlowError> {
        let provider = self
            .provider(provider)
            .ok_or(BeginFlowError::UnknownProvider)?;
        if !self.redirect_allowed(redirect_uri) {
            return Err(BeginFlowError::RedirectNotAllowed);
        }
        if let Some(user) = linking {
            let links = self.stores.identity_links.list_for_user(user).await?;
            if links.iter().any(|l| &l.provider == provider.name()) {
                return Err(BeginFlowError::AlreadyLinked);
            }
        }
        let now = self.system.now();
        let expires_at = now + self.policy.flow_ttl;
        let state = self.system.tokens.generate();
        let browser_secret = self.system.tokens.generate();
        let request = AuthorizeRequest {
            state: state.expose().to_owned(),
            nonce: self.system.tokens.generate().expose().to_owned(),
            pkce_verifier: self.system.tokens.generate().expose().to_owned(),
        };
        let url = provider
            .authorize_url(&request)
            .await
            .map_err(BeginFlowError::Provider)?;
        self.stores
            .oauth_flows
            .insert(&OAuthFlow {
                state_hash: state.hash_with(&browser_secret),
                provider: provider.name().clone(),
                pkce_verifier: request.pkce_verifier,
                nonce: request.nonce,
                redirect_uri: redirect_uri.to_owned(),
                linking_user: linking,
                created_at: now,
                expires_at,
            })
            .await?;
        Ok(BegunFlow {
            authorize_url: url,
            cookie_id: state.hash().as_str()[..16].to_owned(),
            browser_secret,
            expires_at,
        })
    }

    /// The provider's callback: takes the flow named by `state` and the
    /// `browser_secret` of the browser that started it (once), checks the
    /// provider's answer and signs in, creates or links the user. `code` is
    /// the provider's code, or `Err` with the provider's error when it sent
    /// one instead. Without the right secret no flow is found.
    pub async fn callback(
        &self,
        provider: &str,
        state: &str,
        browser_secret: Option<&str>,
        code: Result<&str, &str>,
    ) -> Result<CallbackOutcome, CallbackError> {
        let now = self.system.now();
        let state = Token::parse(state).map_err(|_| CallbackError::InvalidState)?;
        let secret = browser_secret
            .and_then(|s| Token::parse(s).ok())
            .ok_or(CallbackError::InvalidState)?;
        let flow = self
            .stores
            .oauth_flows
            .take(&state.hash_with(&secret), now)
            .await?
            .ok_or(CallbackError::InvalidState)?;
        let provider = match self.provider(provider) {
            Some(p) if p.name() == &flow.provider => p.clone(),
            _ => return Err(CallbackError::InvalidState),
        };
        let result = match code {
            Err(error) => Err(FlowFailed::with(FlowFailure::AccessDenied, error)),
            Ok(code) => match provider
                .exchange(code, &flow.pkce_verifier, &flow.nonce)
                .await
            {
                Err(ProviderError::Rejected(why)) => {
                    Err(FlowFailed::with(FlowFailure::ProviderRejected, why))
                }
                Err(ProviderError::Unavailable(why)) => {
                    Err(FlowFailed::with(FlowFailure::ProviderUnavailable, why))
                }
                Ok(identity) => self.settle(&*provider, &flow, identity, now).await,
            },
        };
        if let Ok(CallbackSuccess::Linked(user) | CallbackSuccess::Created(user)) = &result {
            self.record(
                crate::ActivityKind::ProviderLinked,
                *user,
                flow.provider.as_str(),
            )
            .await?;
        }
        let redirect_to = match &result {
            Ok(CallbackSuccess::Linked(_)) => {
                with_query(&flow.redirect_uri, "linked", flow.provider.as_str())
            }
            Ok(CallbackSuccess::SignedIn(user) | CallbackSuccess::Created(user)) => {
                let code = self.exchange_code(*user, now).await?;
                with_query(&flow.redirect_uri, "code", code.expose())
            }
            Err(failed) => with_query(&flow.redirect_uri, "error", failed.kind.as_str()),
        };
        Ok(CallbackOutcome {
            redirect_to,
            result,
        })
    }

    /// Turns a one-time exchange code into a session, or into a second-factor
    /// challenge when the user has TOTP on (as a password sign-in does).
    pub async fn exchange(
        &self,
        auth: &Authentication,
        code: &Token,
        user_agent: Option<String>,
        ip: Option<String>,
    ) -> Result<SignedIn, ExchangeError> {
        let now = self.system.now();
        let token = self
            .stores
            .one_time_tokens
            .consume(&code.hash(), TokenPurpose::OAuthExchange, now)
            .await?
            .ok_or(ExchangeError::InvalidCode)?;
        let user = self
            .stores
            .users
            .get(token.user_id)
            .await?
            .ok_or(ExchangeError::InvalidCode)?;
        if user.locked {
            return Err(ExchangeError::Locked);
        }
        if let Some(suspension) = user.suspended_at(now) {
            return Err(ExchangeError::Suspended(suspension.clone()));
        }
        if !user.verified {
            return Err(ExchangeError::NotVerified);
        }
        let device = Some(self.system.device(user_agent.as_deref()));
        auth.second_step_or_session(&user, device, ip, now, crate::SignInMethod::Provider, false)
            .await
            .map_err(|e| match e {
                SignInError::Unexpected(e) => ExchangeError::Unexpected(e),
                _ => ExchangeError::InvalidCode,
            })
    }

    /// Writes the event of a link or unlink by the user.
    async fn record(
        &self,
        kind: crate::ActivityKind,
        user: UserId,
        provider: &str,
    ) -> Result<(), StoreError> {
        let happened = crate::activity::Happened::new(
            kind,
            user,
            crate::Actor::User(user),
            &crate::activity::NO_ORIGIN,
        )
        .with("provider", provider);
        crate::activity::record(&self.stores, &self.system, happened).await
    }

    /// The user's links, in provider order, without their tokens.
    pub async fn links(&self, user: UserId) -> Result<Vec<crate::IdentityLinkExport>, StoreError> {
        crate::federation::links_of(&self.stores, user).await
    }

    /// Removes the user's link with `provider`, unless it is their last way
    /// to sign in (no password, no passkey and no other link).
    pub async fn unlink(&self, caller: &Principal, provider: &str) -> Result<(), UnlinkError> {
        let user = caller.account()?;
        let provider = ProviderName::parse(provider).map_err(|_| UnlinkError::NotLinked)?;
        let keep_one = user.password_hash.is_none()
            && self
                .stores
                .passkeys
                .list_for_user(user.id)
                .await?
                .is_empty();
        match self
            .stores
            .identity_links
            .unlink(user.id, &provider, keep_one)
            .await?
        {
            Unlinked::Removed => Ok(self
                .record(
                    crate::ActivityKind::ProviderUnlinked,
                    user.id,
                    provider.as_str(),
                )
                .await?),
            Unlinked::NotLinked => Err(UnlinkError::NotLinked),
            Unlinked::LastLink => Err(UnlinkError::LastWay),
        }
    }
}

/// `user`'s links, in provider order, without their tokens.
pub(crate) async fn links_of(
    stores: &Stores,
    user: UserId,
) -> Result<Vec<crate::IdentityLinkExport>, StoreError> {
    let links = stores.identity_links.list_for_user(user).await?;
    Ok(links.into_iter().map(Into::into).collect())
}
