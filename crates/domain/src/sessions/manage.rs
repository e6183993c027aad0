//! Refresh rotation with reuse detection, and the user's sessions: list,
//! revoke one, revoke all (the rest of [`Authentication`] is in the parent
//! module).

use super::*;

impl Authentication {
    /// Exchanges a refresh token for a new access and refresh token. A token
    /// presented a second time revokes its whole session (family).
    pub async fn refresh(&self, refresh_token: &Token) -> Result<IssuedSession, RefreshError> {
        let now = self.system.now();
        let sessions = &self.stores.sessions;
        let used = match sessions.use_refresh_token(&refresh_token.hash(), now).await {
            Ok(RefreshOutcome::Fresh(t)) => t,
            Ok(RefreshOutcome::Reused(t)) => {
                record(
                    &self.stores,
                    &self.system,
                    Happened::new(
                        ActivityKind::SessionRefreshReused,
                        t.user_id,
                        Actor::System,
                        &crate::activity::NO_ORIGIN,
                    )
                    .with("session_id", t.session_id.to_string()),
                )
                .await
                .map_err(RefreshError::Unexpected)?;
                match sessions.revoke(t.user_id, t.session_id, now).await {
                    Ok(()) => {
                        self.stores
                            .announce(AuthChange::Session(t.session_id))
                            .await
                    }
                    Err(WriteError::NotFound) => {}
                    Err(WriteError::Store(e)) => return Err(RefreshError::Unexpected(e)),
                }
                cancel_link_flows(&self.stores, t.user_id)
                    .await
                    .map_err(RefreshError::Unexpected)?;
                return Err(RefreshError::Reused);
            }
            Ok(RefreshOutcome::Invalid) => return Err(RefreshError::Invalid),
            Err(e) => return Err(RefreshError::Unexpected(e)),
        };
        let user = self
            .stores
            .users
            .get(used.user_id)
            .await
            .map_err(RefreshError::Unexpected)?;
        // A suspension ended the session; its refresh token is told why.
        if let Some(suspension) = user.as_ref().and_then(|u| u.suspended_at(now)) {
            return Err(RefreshError::Suspended(suspension.clone()));
        }
        let session = sessions
            .get(used.session_id)
            .await
            .map_err(RefreshError::Unexpected)?
            .filter(|s| s.revoked_at.is_none() && s.refresh_expires_at > now)
            .ok_or(RefreshError::Invalid)?;
        if user.is_none_or(|u| u.locked || u.id != session.user_id) {
            return Err(RefreshError::Invalid);
        }
        let mut session = session;
        let access_token = self.system.tokens.generate();
        session.token_hash = access_token.hash();
        session.last_accessed_at = now;
        session.expires_at = now + self.policy.session_idle_ttl;
        session.refresh_expires_at = now + self.policy.refresh_ttl;
        match sessions
            .rotate(
                session.id,
                &session.token_hash,
                now,
                session.expires_at,
                session.refresh_expires_at,
            )
            .await
        {
            // The old access token no longer authenticates.
            Ok(()) => self.stores.announce(AuthChange::Session(session.id)).await,
            Err(WriteError::NotFound) => return Err(RefreshError::Invalid),
            Err(WriteError::Store(e)) => return Err(RefreshError::Unexpected(e)),
        }
        let refresh_token = self
            .issue_refresh_token(&session, now)
            .await
            .map_err(RefreshError::Unexpected)?;
        let origin = RequestOrigin {
            ip: session.ip.clone(),
            device: session.device.clone(),
        };
        record(
            &self.stores,
            &self.system,
            Happened::new(
                ActivityKind::SignInSucceeded,
                session.user_id,
                Actor::User(session.user_id),
                &origin,
            )
            .with("method", SignInMethod::Refresh.as_str())
            .with("session_id", session.id.to_string()),
        )
        .await
        .map_err(RefreshError::Unexpected)?;
        let jwt = self
            .sign_jwt(&session, now)
            .await
            .map_err(RefreshError::Unexpected)?;
        Ok(IssuedSession {
            session,
            access_token,
            refresh_token,
            jwt,
        })
    }

    /// The user's active sessions, newest first.
    pub async fn list_sessions(&self, user_id: UserId) -> Result<Vec<AuthSession>, StoreError> {
        self.stores
            .sessions
            .list_active(user_id, self.system.now())
            .await
    }

    /// Revokes one of the user's sessions (also used for sign-out). The
    /// user's pending provider-link flows end with it.
    pub async fn revoke_session(
        &self,
        caller: &crate::Principal,
        id: AuthSessionId,
    ) -> Result<(), RevokeSessionError> {
        let user_id = caller.account()?.id;
        match self
            .stores
            .sessions
            .revoke(user_id, id, self.system.now())
            .await
        {
            Ok(()) => self.stores.announce(AuthChange::Session(id)).await,
            Err(WriteError::NotFound) => return Err(RevokeSessionError::NotFound),
            Err(WriteError::Store(e)) => return Err(RevokeSessionError::Unexpected(e)),
        }
        record(
            &self.stores,
            &self.system,
            Happened::new(
                ActivityKind::SessionRevoked,
                user_id,
                Actor::User(user_id),
                &crate::activity::NO_ORIGIN,
            )
            .with("session_id", id.to_string()),
        )
        .await
        .map_err(RevokeSessionError::Unexpected)?;
        cancel_link_flows(&self.stores, user_id)
            .await
            .map_err(RevokeSessionError::Unexpected)
    }

    /// Revokes every session of the user (and their pending provider-link
    /// flows); returns how many sessions.
    pub async fn revoke_all_sessions(&self, user_id: UserId) -> Result<u64, StoreError> {
        let n = self
            .stores
            .sessions
            .revoke_all(user_id, self.system.now())
            .await?;
        self.stores.announce(AuthChange::User(user_id)).await;
        cancel_link_flows(&self.stores, user_id).await?;
        Ok(n)
    }
}
