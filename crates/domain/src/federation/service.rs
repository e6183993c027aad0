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

use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use crate::accounts::guard::{Guess, PasswordGuard, Subject};
use crate::{AccountPolicy, Authentication, Principal, SignInError, SignedIn, Stores, System};
use crate::{
    AuthorizeRequest, Email, GrantWriteError, IdentityLink, IdentityProvider, InsertUserError,
    LinkError, Notice, OAuthFlow, OneTimeToken, Password, ProviderError, ProviderIdentity,
    ProviderName, ProviderTokens, StoreError, Token, TokenPurpose, Unlinked, User, UserId,
    Username,
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

/// Query keys a `redirect_uri` may not carry: the callback adds them, and a
/// front end reading the first `code` would read a planted one.
const RESERVED_QUERY_KEYS: [&str; 4] = ["code", "linked", "error", "state"];

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

/// Why a flow could not start.
#[derive(Debug, thiserror::Error)]
pub enum BeginFlowError {
    /// No provider is configured under that name.
    #[error("unknown identity provider")]
    UnknownProvider,
    /// The `redirect_uri` is not on the allow-list.
    #[error("redirect_uri is not allowed")]
    RedirectNotAllowed,
    /// The user links this provider already.
    #[error("provider already linked")]
    AlreadyLinked,
    /// The password given to link a provider is wrong.
    #[error("wrong password")]
    WrongPassword,
    /// Too many wrong passwords: no more checks until `until`.
    #[error("too many attempts")]
    LockedOut {
        /// When the password may be tried again.
        until: OffsetDateTime,
    },
    /// Linking needs the password (none was given), or for an account
    /// without one, a sign-in within the last few minutes.
    #[error("sign in again to link a provider")]
    ReauthenticationRequired,
    /// The provider could not build its URL (its discovery failed).
    #[error(transparent)]
    Provider(ProviderError),
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why a callback cannot even return to the front end: its `state` names
/// no flow in progress (unknown, used, expired or tampered with), so there
/// is no trusted address to send the browser to.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    /// Unknown, used or expired `state`, or one for another provider.
    #[error("unknown or expired sign-in flow")]
    InvalidState,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why a flow that reached its callback ended without a sign-in or link,
/// sent to the front end as `?error=<kind>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowFailure {
    /// The user declined at the provider, or the provider reported an error.
    AccessDenied,
    /// The provider's answer failed a check (ID token, nonce, code).
    ProviderRejected,
    /// The provider could not be reached.
    ProviderUnavailable,
    /// No usable verified email to create an account with.
    EmailUnverified,
    /// An account with this email exists and may not be linked by email.
    AccountExists,
    /// The identity is linked to another user, or the user links this
    /// provider to another identity already.
    AlreadyLinked,
    /// The account is locked.
    Locked,
    /// Portico failed.
    ServerError,
}

impl FlowFailure {
    /// The `error` query value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessDenied => "access_denied",
            Self::ProviderRejected => "provider_rejected",
            Self::ProviderUnavailable => "provider_unavailable",
            Self::EmailUnverified => "email_unverified",
            Self::AccountExists => "account_exists",
            Self::AlreadyLinked => "already_linked",
            Self::Locked => "account_locked",
            Self::ServerError => "server_error",
        }
    }
}

/// A flow that ended without a sign-in or link: the kind the front end
/// sees, and for the server's log what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowFailed {
    /// What the front end is told.
    pub kind: FlowFailure,
    /// What went wrong, for the log only (never sent to the browser).
    pub detail: Option<String>,
}

impl From<FlowFailure> for FlowFailed {
    fn from(kind: FlowFailure) -> Self {
        Self { kind, detail: None }
    }
}

impl FlowFailed {
    fn with(kind: FlowFailure, detail: impl std::fmt::Display) -> Self {
        Self {
            kind,
            detail: Some(detail.to_string()),
        }
    }

    fn server(e: StoreError) -> Self {
        Self::with(FlowFailure::ServerError, e)
    }
}

/// Where the callback sends the browser.
#[derive(Debug, Clone)]
pub struct CallbackOutcome {
    /// The flow's `redirect_uri` with `code`, `linked` or `error` added.
    pub redirect_to: String,
    /// What happened, for logs and metrics.
    pub result: Result<CallbackSuccess, FlowFailed>,
}

/// A callback that worked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackSuccess {
    /// The user signed in (an exchange code was issued).
    SignedIn(UserId),
    /// A new user was created and signed in.
    Created(UserId),
    /// The provider was linked to the signed-in user.
    Linked(UserId),
}

/// Why an exchange code did not sign in.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// Unknown, used or expired code.
    #[error("invalid or expired code")]
    InvalidCode,
    /// Locked by an administrator.
    #[error("account locked")]
    Locked,
    /// An administrator marked the address unverified.
    #[error("email not verified")]
    NotVerified,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why a link could not be removed.
#[derive(Debug, thiserror::Error)]
pub enum UnlinkError {
    /// The user has no link with that provider.
    #[error("provider not linked")]
    NotLinked,
    /// It is the user's last way to sign in (no password, no other link).
    #[error("the last way to sign in cannot be removed")]
    LastWay,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

unexpected_from_store!(BeginFlowError, CallbackError, ExchangeError, UnlinkError);

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
    stores: Stores,
    system: System,
    accounts: AccountPolicy,
    policy: FederationPolicy,
    providers: Vec<Arc<dyn IdentityProvider>>,
}

/// The context provider tokens are sealed under: whose and which link.
fn context(user: UserId, provider: &ProviderName) -> String {
    format!("oauth:{user}:{provider}")
}

/// `uri` with `key=value` appended to its query (values here are tokens,
/// provider names and error kinds: nothing that needs escaping).
fn with_query(uri: &str, key: &str, value: &str) -> String {
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{key}={value}")
}

/// A username to offer a new provider user: the provider's hint or the
/// address's local part, cut to the allowed characters.
fn username_base(identity: &ProviderIdentity, email: &Email) -> String {
    let hint = identity
        .preferred_username
        .clone()
        .unwrap_or_else(|| email.as_str().split('@').next().unwrap_or("").to_owned());
    let mut base: String = hint
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(*c))
        .skip_while(|c| !c.is_ascii_alphanumeric())
        .take(24)
        .collect();
    if base.len() < 3 {
        base = format!("user{base}");
    }
    base
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
    /// control character, none of the keys the callback adds in its query,
    /// and without its query equal to an allow-listed address.
    pub fn redirect_allowed(&self, redirect_uri: &str) -> bool {
        if redirect_uri.contains('#')
            || redirect_uri
                .chars()
                .any(|c| c.is_whitespace() || c.is_control())
        {
            return false;
        }
        let (base, query) = redirect_uri.split_once('?').unwrap_or((redirect_uri, ""));
        let reserved = query.split('&').any(|pair| {
            let key = percent_decoded(pair.split('=').next().unwrap_or(""));
            RESERVED_QUERY_KEYS
                .iter()
                .any(|r| key.eq_ignore_ascii_case(r))
        });
        !reserved && self.policy.redirect_allowlist.iter().any(|a| a == base)
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
        let user = &principal.user;
        match (&user.password_hash, password) {
            (Some(_), Some(password)) => {
                let guard = PasswordGuard::new(&self.stores, &self.system, &self.accounts);
                match guard.check(Subject::User(user), ip, password).await? {
                    Guess::Right => {}
                    Guess::Wrong => return Err(BeginFlowError::WrongPassword),
                    Guess::LockedOut { until } => {
                        return Err(BeginFlowError::LockedOut { until });
                    }
                }
            }
            (Some(_), None) => return Err(BeginFlowError::ReauthenticationRequired),
            (None, _) => {
                let signed_in_for = self.system.now() - principal.session.created_at;
                if signed_in_for > self.policy.link_reauth_window {
                    return Err(BeginFlowError::ReauthenticationRequired);
                }
            }
        }
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

    async fn exchange_code(&self, user: UserId, now: OffsetDateTime) -> Result<Token, StoreError> {
        let code = self.system.tokens.generate();
        self.stores
            .one_time_tokens
            .insert(&OneTimeToken {
                token_hash: code.hash(),
                purpose: TokenPurpose::OAuthExchange,
                user_id: user,
                created_at: now,
                expires_at: now + self.policy.exchange_ttl,
            })
            .await?;
        Ok(code)
    }

    /// A checked identity: the link it names, a new link, or a new user.
    async fn settle(
        &self,
        provider: &dyn IdentityProvider,
        flow: &OAuthFlow,
        identity: ProviderIdentity,
        now: OffsetDateTime,
    ) -> Result<CallbackSuccess, FlowFailed> {
        let links = &self.stores.identity_links;
        let existing = links
            .find(&flow.provider, &identity.subject)
            .await
            .map_err(FlowFailed::server)?;
        if let Some(user) = flow.linking_user {
            return match existing {
                Some(link) if link.user_id == user => Ok(CallbackSuccess::Linked(user)),
                Some(_) => Err(FlowFailure::AlreadyLinked.into()),
                None => {
                    let user = self.signable(user).await?;
                    self.link_existing(user, flow, &identity, now).await?;
                    Ok(CallbackSuccess::Linked(user))
                }
            };
        }
        if let Some(link) = existing {
            let user = self.signable(link.user_id).await?;
            self.store_tokens(user, &flow.provider, &identity.tokens)
                .await
                .map_err(FlowFailed::server)?;
            return Ok(CallbackSuccess::SignedIn(user));
        }
        let email = match (&identity.email, identity.email_verified) {
            (Some(email), true) => email.clone(),
            _ => return Err(FlowFailure::EmailUnverified.into()),
        };
        if let Some(user) = self
            .stores
            .users
            .find_by_email(&email)
            .await
            .map_err(FlowFailed::server)?
        {
            if !provider.link_by_verified_email() {
                return Err(FlowFailure::AccountExists.into());
            }
            let user = self.signable(user.id).await?;
            self.link_existing(user, flow, &identity, now).await?;
            return Ok(CallbackSuccess::SignedIn(user));
        }
        let user = self.create_user(&identity, email, now).await?;
        if let Err(failure) = self.link(user, flow, &identity, now).await {
            // A parallel callback of the same identity linked it first: the
            // user just made is nobody's.
            return match self.stores.users.delete(user).await {
                Ok(()) => Err(failure),
                Err(e) => Err(FlowFailed::with(
                    failure.kind,
                    format!("could not remove the unlinked new user {user}: {e}"),
                )),
            };
        }
        Ok(CallbackSuccess::Created(user))
    }

    /// `user` if it may sign in (exists, not locked by an administrator,
    /// not marked unverified by one).
    async fn signable(&self, user: UserId) -> Result<UserId, FlowFailed> {
        match self.stores.users.get(user).await {
            Ok(Some(u)) if u.locked => Err(FlowFailure::Locked.into()),
            Ok(Some(u)) if !u.verified => Err(FlowFailed::with(
                FlowFailure::EmailUnverified,
                format!("user {user} is marked unverified"),
            )),
            Ok(Some(u)) => Ok(u.id),
            Ok(None) => Err(FlowFailed::with(
                FlowFailure::ServerError,
                format!("linked user {user} is gone"),
            )),
            Err(e) => Err(FlowFailed::server(e)),
        }
    }

    fn seal_tokens(
        &self,
        user: UserId,
        provider: &ProviderName,
        tokens: &ProviderTokens,
    ) -> Result<crate::Sealed, StoreError> {
        let plain = serde_json::json!({
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
        });
        self.system
            .sealer
            .seal(&context(user, provider), plain.to_string().as_bytes())
    }

    async fn store_tokens(
        &self,
        user: UserId,
        provider: &ProviderName,
        tokens: &ProviderTokens,
    ) -> Result<(), StoreError> {
        let sealed = self.seal_tokens(user, provider, tokens)?;
        self.stores
            .identity_links
            .store_tokens(user, provider, Some(sealed), tokens.expires_at)
            .await
            .map(drop)
    }

    async fn link(
        &self,
        user: UserId,
        flow: &OAuthFlow,
        identity: &ProviderIdentity,
        now: OffsetDateTime,
    ) -> Result<(), FlowFailed> {
        let tokens = self
            .seal_tokens(user, &flow.provider, &identity.tokens)
            .map_err(FlowFailed::server)?;
        let link = IdentityLink {
            user_id: user,
            provider: flow.provider.clone(),
            subject: identity.subject.clone(),
            email: identity.email.clone(),
            tokens: Some(tokens),
            tokens_expire_at: identity.tokens.expires_at,
            created_at: now,
        };
        match self.stores.identity_links.link(&link).await {
            Ok(()) => Ok(()),
            Err(LinkError::Conflict) => Err(FlowFailure::AlreadyLinked.into()),
            Err(LinkError::Store(e)) => Err(FlowFailed::server(e)),
        }
    }

    /// Links the identity to an existing account and tells its owner by
    /// mail: every new way into an account is announced.
    async fn link_existing(
        &self,
        user: UserId,
        flow: &OAuthFlow,
        identity: &ProviderIdentity,
        now: OffsetDateTime,
    ) -> Result<(), FlowFailed> {
        self.link(user, flow, identity, now).await?;
        let owner = self
            .stores
            .users
            .get(user)
            .await
            .map_err(FlowFailed::server)?;
        if let Some(owner) = owner {
            let notice = Notice::ProviderLinked {
                provider: flow.provider.as_str().to_owned(),
            };
            crate::mail::delivery::notify(&self.stores, &self.system, &owner.email, notice)
                .await
                .map_err(FlowFailed::server)?;
        }
        Ok(())
    }

    /// A new verified user without a password, with the default role.
    async fn create_user(
        &self,
        identity: &ProviderIdentity,
        email: Email,
        now: OffsetDateTime,
    ) -> Result<UserId, FlowFailed> {
        let base = username_base(identity, &email);
        let mut attempt = 0;
        let user = loop {
            let name = if attempt == 0 {
                base.clone()
            } else {
                let suffix = &self.system.tokens.generate().hash();
                format!("{base}-{}", &suffix.as_str()[..6])
            };
            let username = Username::parse(&name)
                .map_err(|e| FlowFailed::with(FlowFailure::ServerError, e))?;
            let mut user = User::new_verified_without_password(
                UserId::from_uuid(self.system.ids.new_id()),
                email.clone(),
                username,
                now,
            );
            user.profile.full_name = identity.name.clone().map(|n| n.chars().take(200).collect());
            match self.stores.users.create(&user).await {
                Ok(()) => break user,
                Err(InsertUserError::UsernameTaken) if attempt < 5 => attempt += 1,
                Err(InsertUserError::EmailTaken) => return Err(FlowFailure::AccountExists.into()),
                Err(InsertUserError::UsernameTaken) => {
                    return Err(FlowFailed::with(
                        FlowFailure::ServerError,
                        format!("no free username near {base}"),
                    ));
                }
                Err(InsertUserError::Store(e)) => return Err(FlowFailed::server(e)),
            }
        };
        match self
            .stores
            .roles
            .grant(user.id, &self.accounts.default_role, now)
            .await
        {
            Ok(()) => Ok(user.id),
            Err(GrantWriteError::RoleNotFound) => Err(FlowFailed::server(StoreError::msg(
                format!("role {} does not exist", self.accounts.default_role),
            ))),
            Err(GrantWriteError::Store(e)) => Err(FlowFailed::server(e)),
        }
    }

    /// Turns a one-time exchange code into a session, or into a second-factor
    /// challenge when the user has TOTP on (as a password sign-in does).
    pub async fn exchange(
        &self,
        auth: &Authentication,
        code: &Token,
        device: Option<String>,
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
        if !user.verified {
            return Err(ExchangeError::NotVerified);
        }
        let mfa = crate::MultiFactor::new(
            self.stores.clone(),
            self.system.clone(),
            self.accounts.clone(),
        );
        if let Some(challenge) = mfa.after_password(&user, now).await? {
            return Ok(SignedIn::MfaRequired(challenge));
        }
        match auth.finish_sign_in(&user, device, ip, now).await {
            Ok(session) => Ok(SignedIn::Session(session)),
            Err(SignInError::Unexpected(e)) => Err(ExchangeError::Unexpected(e)),
            Err(_) => Err(ExchangeError::InvalidCode),
        }
    }

    /// The user's links, in provider order, without their tokens.
    pub async fn links(&self, user: UserId) -> Result<Vec<crate::IdentityLinkExport>, StoreError> {
        let links = self.stores.identity_links.list_for_user(user).await?;
        Ok(links.into_iter().map(Into::into).collect())
    }

    /// Removes the user's link with `provider`, unless it is their last way
    /// to sign in (no password and no other link).
    pub async fn unlink(&self, user: &User, provider: &str) -> Result<(), UnlinkError> {
        let provider = ProviderName::parse(provider).map_err(|_| UnlinkError::NotLinked)?;
        let keep_one = user.password_hash.is_none();
        match self
            .stores
            .identity_links
            .unlink(user.id, &provider, keep_one)
            .await?
        {
            Unlinked::Removed => Ok(()),
            Unlinked::NotLinked => Err(UnlinkError::NotLinked),
            Unlinked::LastLink => Err(UnlinkError::LastWay),
        }
    }

    /// How many stored provider tokens are sealed under the key `key_id`
    /// (a key may be retired only when none is).
    pub async fn count_sealed_under(&self, key_id: &str) -> Result<u64, StoreError> {
        let mut count = 0;
        let mut after = None;
        loop {
            let page = self
                .stores
                .identity_links
                .list_after(after.clone(), 100)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some((last.user_id, last.provider.clone()));
            count += page
                .iter()
                .filter(|l| l.tokens.as_ref().is_some_and(|t| t.key_id() == key_id))
                .count() as u64;
        }
        Ok(count)
    }

    /// Seals every stored provider token that is not under the current key
    /// anew, one compare-and-set per link. `progress` hears about each page.
    pub async fn reseal_all(
        &self,
        mut progress: impl FnMut(crate::ResealReport),
    ) -> Result<crate::ResealReport, StoreError> {
        let mut report = crate::ResealReport::default();
        let mut after = None;
        loop {
            let page = self
                .stores
                .identity_links
                .list_after(after.clone(), 100)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some((last.user_id, last.provider.clone()));
            for link in &page {
                report.seen += 1;
                let Some(old) = &link.tokens else { continue };
                if self.system.sealer.is_current(old) {
                    continue;
                }
                let ctx = context(link.user_id, &link.provider);
                let plain = self.system.sealer.open(&ctx, old)?;
                let new = self.system.sealer.seal(&ctx, &plain)?;
                if self
                    .stores
                    .identity_links
                    .reseal(link.user_id, &link.provider, old, &new)
                    .await?
                {
                    report.resealed += 1;
                }
            }
            progress(report);
        }
        Ok(report)
    }
}

/// `text` with its `%XX` escapes (and `+`, as forms write a space)
/// decoded; a `%` that starts no escape is kept as it is.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        let escape = match bytes.get(i..i + 3) {
            Some([b'%', h, l]) => hex(*h).zip(hex(*l)),
            _ => None,
        };
        if let Some((h, l)) = escape {
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
