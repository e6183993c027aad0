//! Who a presented credential authenticates: an opaque access token, an
//! access JWT or an API key, resolved to a [`crate::Principal`], and the
//! sliding expiry of sessions (the rest of [`Authentication`] is in the
//! parent module).

use super::*;

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

impl Authentication {
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
