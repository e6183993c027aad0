//! Sign-in with lockout, authentication of access tokens with a sliding
//! expiry, refresh rotation with reuse detection, and session management.

use time::OffsetDateTime;

use crate::accounts::guard::{Guess, PasswordGuard, Subject};
use crate::activity::{Happened, record};
use crate::{AccountPolicy, JwtAccess, Stores, System};
use crate::{ActivityKind, Actor, RequestOrigin};
use crate::{
    AuthChange, AuthSession, AuthSessionId, Email, Password, RefreshOutcome, RefreshToken,
    RefreshTokenId, StoreError, Token, User, UserId, Username, WriteError,
};
use crate::{AuthenticateError, RefreshError, RevokeSessionError, SignInError};

#[path = "manage.rs"]
mod manage;

/// A sign-in attempt.
#[derive(Debug, Clone)]
pub struct SignInRequest {
    /// Email or username.
    pub login: String,
    /// The password as typed.
    pub password: Password,
    /// The client's User-Agent header, as sent (parsed into a
    /// [`Device`](crate::Device) here).
    pub user_agent: Option<String>,
    /// Client IP.
    pub ip: Option<String>,
}

/// How a sign-in was completed (`sign_in.succeeded`'s `method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInMethod {
    /// Login and password, with no second factor.
    Password,
    /// Password, then a TOTP or backup code.
    Mfa,
    /// An identity provider.
    Provider,
    /// A refresh token.
    Refresh,
    /// A link or code mailed to the account's address.
    Email,
}

impl SignInMethod {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Mfa => "mfa",
            Self::Provider => "provider",
            Self::Refresh => "refresh",
            Self::Email => "email",
        }
    }
}

/// A new or refreshed session and its secrets (shown to the client once).
#[derive(Debug, Clone)]
pub struct IssuedSession {
    /// The session.
    pub session: AuthSession,
    /// Bearer/cookie token.
    pub access_token: Token,
    /// Single-use refresh token.
    pub refresh_token: Token,
    /// The access JWT standing for `access_token`, when JWTs are on
    /// ([`Authentication::with_jwt`]).
    pub jwt: Option<SignedJwt>,
}

/// An access JWT as issued.
#[derive(Clone)]
pub struct SignedJwt {
    /// The compact JWS.
    pub token: String,
    /// Its `exp`.
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for SignedJwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedJwt")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// What a request presents to authenticate: an opaque access token, or an
/// access JWT.
#[derive(Clone)]
pub enum Credential {
    /// An opaque access token.
    Session(Token),
    /// An access JWT (see [`JwtAccess`]).
    Jwt(String),
    /// An API key (see [`crate::ApiKeys`]).
    ApiKey(crate::ApiKeySecret),
}

impl Credential {
    /// Reads a presented bearer token or cookie: a JWT by its shape, else
    /// an opaque token; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.starts_with(crate::ApiKeySecret::PREFIX) {
            crate::ApiKeySecret::parse(text).ok().map(Self::ApiKey)
        } else if crate::looks_like_jwt(text) && text.len() <= 4096 {
            Some(Self::Jwt(text.to_owned()))
        } else {
            Token::parse(text).ok().map(Self::Session)
        }
    }

    /// SHA-256 of the credential, as a cache key.
    pub fn hash(&self) -> crate::TokenHash {
        match self {
            Self::Session(token) => token.hash(),
            Self::Jwt(jwt) => crate::TokenHash::of_text(jwt),
            Self::ApiKey(key) => key.hash(),
        }
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Session(_) => "Credential::Session(***)",
            Self::Jwt(_) => "Credential::Jwt(***)",
            Self::ApiKey(_) => "Credential::ApiKey(***)",
        })
    }
}

/// What a right password leads to.
// Made once per sign-in and taken apart at once: the size of the session
// variant (its parsed device) costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum SignedIn {
    /// A session: the user has no second factor.
    Session(IssuedSession),
    /// The user has TOTP on: no session yet, a code must follow with the
    /// challenge's token ([`crate::MultiFactor::sign_in`]).
    MfaRequired(crate::MfaChallenge),
}

/// Sign-in, authentication, refresh and session management.
#[derive(Clone)]
pub struct Authentication {
    stores: Stores,
    system: System,
    policy: AccountPolicy,
    jwt: Option<JwtAccess>,
}

impl Authentication {
    /// Builds the service.
    pub fn new(stores: Stores, system: System, policy: AccountPolicy) -> Self {
        Self {
            stores,
            system,
            policy,
            jwt: None,
        }
    }

    /// The same service issuing an access JWT with every session and
    /// refresh, and accepting those JWTs ([`Credential::Jwt`]).
    pub fn with_jwt(mut self, jwt: JwtAccess) -> Self {
        self.jwt = Some(jwt);
        self
    }

    /// The access JWT for `session` (whose token was just issued), when
    /// JWTs are on: the user's roles and plan as of `now`.
    pub(crate) async fn sign_jwt(
        &self,
        session: &AuthSession,
        now: OffsetDateTime,
    ) -> Result<Option<SignedJwt>, StoreError> {
        let Some(jwt) = &self.jwt else {
            return Ok(None);
        };
        let roles = self.stores.roles.roles_of(session.user_id).await?;
        let plan = match self.stores.users.get(session.user_id).await? {
            Some(user) => {
                crate::plans::plan_of(&self.stores, &self.policy.default_plan, &user, now).await?
            }
            None => self.policy.default_plan.clone(),
        };
        let claims = jwt.claims(
            session,
            roles.iter().map(|r| r.name.as_str().to_owned()).collect(),
            plan.name.as_str().to_owned(),
            now,
        );
        Ok(Some(SignedJwt {
            token: jwt.signer.sign(&claims)?,
            expires_at: OffsetDateTime::from_unix_timestamp(claims.exp).unwrap_or(now),
        }))
    }

    async fn find_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        if login.contains('@') {
            match Email::parse(login) {
                Ok(email) => self.stores.users.find_by_email(&email).await,
                Err(_) => Ok(None),
            }
        } else {
            match Username::parse(login) {
                Ok(name) => self.stores.users.find_by_username(&name).await,
                Err(_) => Ok(None),
            }
        }
    }

    /// Checks the password and opens a session. Past `security.lockout_attempts`
    /// failures within `security.lockout_minutes` the account is locked for
    /// that client; while locked the password is not even checked.
    /// A user with TOTP on gets a challenge instead of a session.
    pub async fn sign_in(&self, request: SignInRequest) -> Result<SignedIn, SignInError> {
        // Shed before the account is even looked up while hashing is saturated.
        self.guard().admit().map_err(SignInError::Unexpected)?;
        let now = self.system.now();
        let user = self
            .find_login(&request.login)
            .await
            .map_err(SignInError::Unexpected)?;
        // An address that registered and has not verified yet has no
        // account, only a candidate: its own password is told apart from a
        // wrong one. (A username is not the candidate's until it verifies,
        // so only the address finds it.)
        let candidate = match (&user, request.login.contains('@')) {
            (None, true) => match Email::parse(&request.login) {
                Ok(email) => self
                    .stores
                    .candidates
                    .find_by_email(&email, now)
                    .await
                    .map_err(SignInError::Unexpected)?,
                Err(_) => None,
            },
            _ => None,
        };
        let subject = match (&user, &candidate) {
            (Some(user), _) => Subject::User(user),
            (None, Some(c)) => Subject::Candidate(&request.login, &c.password_hash),
            (None, None) => Subject::Unknown(&request.login),
        };
        let guess = self
            .guard()
            .check(subject, request.ip.as_deref(), &request.password)
            .await
            .map_err(SignInError::Unexpected)?;
        let origin = RequestOrigin {
            ip: request.ip.clone(),
            device: Some(self.system.device(request.user_agent.as_deref())),
        };
        let failed = |user: &User, reason: &'static str| {
            Happened::new(
                ActivityKind::SignInFailed,
                user.id,
                Actor::User(user.id),
                &origin,
            )
            .with("reason", reason)
        };
        let user = match (guess, user) {
            (Guess::Right, Some(user)) => user,
            (Guess::LockedOut { until }, user) => {
                if let Some(user) = &user {
                    self.record(failed(user, "locked")).await?;
                }
                return Err(SignInError::LockedOut { until });
            }
            (Guess::Right, None) if candidate.is_some() => return Err(SignInError::NotVerified),
            (Guess::Wrong, Some(user)) => {
                self.record(failed(&user, "password")).await?;
                return Err(SignInError::InvalidCredentials);
            }
            (Guess::Right | Guess::Wrong, _) => return Err(SignInError::InvalidCredentials),
        };
        if user.locked {
            self.record(failed(&user, "locked")).await?;
            return Err(SignInError::Locked);
        }
        if let Some(suspension) = user.suspended_at(now) {
            self.record(failed(&user, "suspended")).await?;
            return Err(SignInError::Suspended(suspension.clone()));
        }
        if !user.verified {
            return Err(SignInError::NotVerified);
        }
        let mfa = crate::MultiFactor::new(
            self.stores.clone(),
            self.system.clone(),
            self.policy.clone(),
        );
        if let Some(challenge) = mfa
            .after_password(&user, now)
            .await
            .map_err(SignInError::Unexpected)?
        {
            return Ok(SignedIn::MfaRequired(challenge));
        }
        self.guard()
            .clear(&user, request.ip.as_deref())
            .await
            .map_err(SignInError::Unexpected)?;
        self.finish_sign_in(
            &user,
            origin.device,
            request.ip,
            now,
            SignInMethod::Password,
        )
        .await
        .map(SignedIn::Session)
    }

    /// Writes an event of a sign-in.
    async fn record(&self, happened: Happened<'_>) -> Result<(), SignInError> {
        record(&self.stores, &self.system, happened)
            .await
            .map_err(SignInError::Unexpected)
    }

    /// The end of every sign-in, once every factor is proven: records it
    /// on the user, opens a session, and writes `sign_in.succeeded`.
    pub(crate) async fn finish_sign_in(
        &self,
        user: &User,
        device: Option<crate::Device>,
        ip: Option<String>,
        now: OffsetDateTime,
        method: SignInMethod,
    ) -> Result<IssuedSession, SignInError> {
        if let Some(device) = &device {
            crate::devices::alert_if_new(
                &self.stores,
                &self.system,
                &self.policy,
                user,
                device,
                ip.as_deref(),
                now,
            )
            .await
            .map_err(SignInError::Unexpected)?;
        }
        self.stores
            .users
            .record_sign_in(user.id, now)
            .await
            .map_err(write_err)?;
        self.stores.announce(AuthChange::User(user.id)).await;
        let origin = RequestOrigin {
            ip: ip.clone(),
            device: device.clone(),
        };
        let issued = self
            .open_session(user.id, device, ip, now)
            .await
            .map_err(SignInError::Unexpected)?;
        self.record(
            Happened::new(
                ActivityKind::SignInSucceeded,
                user.id,
                Actor::User(user.id),
                &origin,
            )
            .with("method", method.as_str())
            .with("session_id", issued.session.id.to_string()),
        )
        .await?;
        Ok(issued)
    }

    /// The password checks under the guessing limits.
    pub(crate) fn guard(&self) -> PasswordGuard<'_> {
        PasswordGuard::new(&self.stores, &self.system, &self.policy)
    }

    /// Opens a session for a user whose identity was already established.
    pub async fn open_session(
        &self,
        user_id: UserId,
        device: Option<crate::Device>,
        ip: Option<String>,
        now: OffsetDateTime,
    ) -> Result<IssuedSession, StoreError> {
        let access_token = self.system.tokens.generate();
        let session = AuthSession {
            id: AuthSessionId::from_uuid(self.system.ids.new_id()),
            user_id,
            token_hash: access_token.hash(),
            device,
            ip: ip.map(|ip| ip.chars().take(64).collect()),
            created_at: now,
            last_accessed_at: now,
            expires_at: now + self.policy.session_idle_ttl,
            refresh_expires_at: now + self.policy.refresh_ttl,
            revoked_at: None,
        };
        self.stores.sessions.create(&session).await?;
        let refresh_token = self.issue_refresh_token(&session, now).await?;
        let jwt = self.sign_jwt(&session, now).await?;
        Ok(IssuedSession {
            session,
            access_token,
            refresh_token,
            jwt,
        })
    }

    async fn issue_refresh_token(
        &self,
        session: &AuthSession,
        now: OffsetDateTime,
    ) -> Result<Token, StoreError> {
        let token = self.system.tokens.generate();
        let record = RefreshToken {
            id: RefreshTokenId::from_uuid(self.system.ids.new_id()),
            session_id: session.id,
            user_id: session.user_id,
            token_hash: token.hash(),
            created_at: now,
            expires_at: session.refresh_expires_at,
            used_at: None,
        };
        self.stores.sessions.add_refresh_token(&record).await?;
        Ok(token)
    }

    /// Resolves an access token to its user and session, sliding the session's
    /// expiry (written at most once per `touch_interval`).
    /// Whether `session` still authenticates: not revoked or expired, and
    /// its user exists and is not locked. Long-lived responses (the
    /// notification stream) ask this to end when the session does, on
    /// whichever instance it was revoked.
    pub async fn session_is_live(&self, session: AuthSessionId) -> Result<bool, StoreError> {
        let now = self.system.now();
        let Some(s) = self.stores.sessions.get(session).await? else {
            return Ok(false);
        };
        if s.revoked_at.is_some() || s.expires_at <= now {
            return Ok(false);
        }
        Ok(self
            .stores
            .users
            .get(s.user_id)
            .await?
            .is_some_and(|u| !u.locked && u.suspended_at(now).is_none()))
    }

    /// Resolves `token` to its principal, then extends the session's idle
    /// expiry when it is due ([`Authentication::touch`]).
    pub async fn authenticate(&self, token: &Token) -> Result<crate::Principal, AuthenticateError> {
        self.authenticate_credential(&Credential::Session(token.clone()))
            .await
    }

    /// [`Authentication::authenticate`] for any [`Credential`].
    pub async fn authenticate_credential(
        &self,
        credential: &Credential,
    ) -> Result<crate::Principal, AuthenticateError> {
        let mut principal = self.resolve_credential(credential).await?;
        if self.touch_due(&principal) {
            self.touch(&mut principal).await?;
        }
        Ok(principal)
    }

    /// Who `token` authenticates, read from the stores without writing
    /// anything: an active session, its user (not locked) and the user's
    /// roles. A server that caches the result must drop it on the
    /// [`AuthChange`](crate::AuthChange)s that concern it and check
    /// [`Principal::is_current`](crate::Principal::is_current) on each use.
    pub async fn resolve(&self, token: &Token) -> Result<crate::Principal, AuthenticateError> {
        self.resolve_credential(&Credential::Session(token.clone()))
            .await
    }

    /// [`Authentication::resolve`] for any [`Credential`]. A JWT needs JWTs
    /// on, a signature by a key the signer holds, this issuer, an `exp`
    /// still ahead, and its session active with the access token its `jti`
    /// names (so a refresh, which rotates that token, ends it here too);
    /// the principal is current only until `exp`.
    pub async fn resolve_credential(
        &self,
        credential: &Credential,
    ) -> Result<crate::Principal, AuthenticateError> {
        let now = self.system.now();
        let (hash, claims) = match credential {
            Credential::ApiKey(secret) => return self.resolve_key(secret, now).await,
            Credential::Session(token) => (token.hash(), None),
            Credential::Jwt(text) => {
                let claims = self
                    .jwt
                    .as_ref()
                    .and_then(|jwt| jwt.accept(text, now))
                    .ok_or(AuthenticateError::Unauthenticated)?;
                (
                    crate::TokenHash::from_stored(claims.jti.clone()),
                    Some(claims),
                )
            }
        };
        let session = self
            .stores
            .sessions
            .find_active_by_token(&hash, now)
            .await
            .map_err(AuthenticateError::Unexpected)?
            .ok_or(AuthenticateError::Unauthenticated)?;
        if claims
            .as_ref()
            .is_some_and(|c| c.sid != session.id || c.sub != session.user_id)
        {
            return Err(AuthenticateError::Unauthenticated);
        }
        let (user, roles, plan) = self.acting_user(session.user_id, now).await?;
        let principal = crate::Principal::new(user, session, roles, plan);
        Ok(match claims {
            Some(c) => principal.until(
                OffsetDateTime::from_unix_timestamp(c.exp)
                    .map_err(|_| AuthenticateError::Unauthenticated)?,
            ),
            None => principal,
        })
    }

    /// The user a credential acts as, if it may act at `now` (it exists
    /// and is neither locked nor suspended), with its roles and plan.
    async fn acting_user(
        &self,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> Result<(User, Vec<crate::Role>, std::sync::Arc<crate::Plan>), AuthenticateError> {
        let user = self
            .stores
            .users
            .get(user_id)
            .await
            .map_err(AuthenticateError::Unexpected)?
            .ok_or(AuthenticateError::Unauthenticated)?;
        if user.locked || user.suspended_at(now).is_some() {
            return Err(AuthenticateError::Unauthenticated);
        }
        let roles = self
            .stores
            .roles
            .roles_of(user.id)
            .await
            .map_err(AuthenticateError::Unexpected)?;
        let plan = crate::plans::plan_of(&self.stores, &self.policy.default_plan, &user, now)
            .await
            .map_err(AuthenticateError::Unexpected)?;
        Ok((user, roles, plan))
    }

    /// Who an API key acts as: its user (not locked or suspended) with
    /// the key's grant, as a principal whose session is the key (its id,
    /// hash, creation, last use and expiry), so that caches and the
    /// revocation feed treat it as they treat a session.
    async fn resolve_key(
        &self,
        secret: &crate::ApiKeySecret,
        now: OffsetDateTime,
    ) -> Result<crate::Principal, AuthenticateError> {
        let key = self
            .stores
            .api_keys
            .find_by_hash(&secret.hash())
            .await
            .map_err(AuthenticateError::Unexpected)?
            .filter(|k| k.is_live(now))
            .ok_or(AuthenticateError::Unauthenticated)?;
        let (user, roles, plan) = self.acting_user(key.user_id, now).await?;
        // A key without an expiry: a session end no request reaches.
        let end = key
            .expires_at
            .unwrap_or(now + time::Duration::days(365 * 100));
        let session = AuthSession {
            id: crate::apikeys::key_session(key.id),
            user_id: user.id,
            token_hash: key.key_hash.clone(),
            device: None,
            ip: None,
            created_at: key.created_at,
            // Never used: the first use is recorded at once.
            last_accessed_at: key.last_used_at.unwrap_or(OffsetDateTime::UNIX_EPOCH),
            expires_at: end,
            refresh_expires_at: end,
            revoked_at: None,
        };
        Ok(
            crate::Principal::new(user, session, roles, plan).through_key(
                crate::kernel::principal::ApiKeyGrant {
                    id: key.id,
                    permissions: key.permissions,
                },
            ),
        )
    }

    /// Whether the session of `principal` was last extended longer than the
    /// policy's `touch_interval` ago.
    pub fn touch_due(&self, principal: &crate::Principal) -> bool {
        self.system.now() - principal.session.last_accessed_at >= self.policy.touch_interval
    }

    /// Extends the idle expiry of the session of `principal` (never past its
    /// refresh expiry) and records the access; at most once per
    /// `touch_interval` when called through [`Authentication::authenticate`].
    /// A session that is gone meanwhile is `Unauthenticated`.
    pub async fn touch(&self, principal: &mut crate::Principal) -> Result<(), AuthenticateError> {
        let now = self.system.now();
        if let Some(key) = principal.api_key() {
            // A key has no idle expiry: only its last use is recorded.
            self.stores
                .api_keys
                .record_use(key, now)
                .await
                .map_err(AuthenticateError::Unexpected)?;
            std::sync::Arc::make_mut(&mut principal.session).last_accessed_at = now;
            return Ok(());
        }
        let session = std::sync::Arc::make_mut(&mut principal.session);
        let expires_at = (now + self.policy.session_idle_ttl).min(session.refresh_expires_at);
        match self
            .stores
            .sessions
            .touch(session.id, now, expires_at)
            .await
        {
            Ok(()) => {
                session.last_accessed_at = now;
                session.expires_at = expires_at;
                Ok(())
            }
            Err(WriteError::NotFound) => Err(AuthenticateError::Unauthenticated),
            Err(WriteError::Store(e)) => Err(AuthenticateError::Unexpected(e)),
        }
    }
}

/// Ends the user's pending provider-link flows: a flow started in a
/// session does not outlive it (a thief's flow dies with the sign-out,
/// revocation or new password that ends the thief's session).
pub(crate) async fn cancel_link_flows(stores: &Stores, user_id: UserId) -> Result<(), StoreError> {
    stores.oauth_flows.delete_for_user(user_id).await.map(drop)
}

fn write_err(e: WriteError) -> SignInError {
    match e {
        // The user vanished between look-up and write: treat as unknown.
        WriteError::NotFound => SignInError::InvalidCredentials,
        WriteError::Store(e) => SignInError::Unexpected(e),
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
