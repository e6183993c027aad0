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

#[path = "authenticate.rs"]
mod authenticate;
#[path = "manage.rs"]
mod manage;

pub use authenticate::Credential;

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
    /// A passkey (WebAuthn).
    Passkey,
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
            Self::Passkey => "passkey",
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

    /// The end of a sign-in whose first step held (a provider, a mailed
    /// code, a passkey): the second factor's challenge when the user has
    /// TOTP on and `second_factor_proven` is false, else the session. An
    /// error other than [`SignInError::Unexpected`] means the sign-in
    /// cannot go on (its caller says which way it failed).
    pub(crate) async fn second_step_or_session(
        &self,
        user: &User,
        device: Option<crate::Device>,
        ip: Option<String>,
        now: OffsetDateTime,
        method: SignInMethod,
        second_factor_proven: bool,
    ) -> Result<SignedIn, SignInError> {
        if !second_factor_proven {
            let mfa = crate::MultiFactor::new(
                self.stores.clone(),
                self.system.clone(),
                self.policy.clone(),
            );
            if let Some(challenge) = mfa
                .after_password(user, now)
                .await
                .map_err(SignInError::Unexpected)?
            {
                return Ok(SignedIn::MfaRequired(challenge));
            }
        }
        self.finish_sign_in(user, device, ip, now, method)
            .await
            .map(SignedIn::Session)
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
