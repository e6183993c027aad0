//! `SessionRepository` and `OneTimeTokenRepository`.

use std::cmp::Reverse;

use async_trait::async_trait;
use domain::*;
use time::OffsetDateTime;

use super::MemoryStore;
use super::state::{State, count};

/// Removes the sessions `doomed` picks, with their refresh tokens.
fn remove_sessions(state: &mut State, doomed: impl Fn(&AuthSession) -> bool) -> u64 {
    let before = state.sessions.len();
    state.sessions.retain(|_, s| !doomed(s));
    let sessions = &state.sessions;
    state
        .refresh_tokens
        .retain(|_, t| sessions.contains_key(&t.session_id));
    count(before - state.sessions.len())
}

/// The session `id` unless it is unknown or revoked (`NotFound`).
fn unrevoked(state: &mut State, id: AuthSessionId) -> Result<&mut AuthSession, WriteError> {
    state
        .sessions
        .get_mut(&id)
        .filter(|s| s.revoked_at.is_none())
        .ok_or(WriteError::NotFound)
}

#[async_trait]
impl SessionRepository for MemoryStore {
    async fn create(&self, session: &AuthSession) -> Result<(), StoreError> {
        self.state().sessions.insert(session.id, session.clone());
        Ok(())
    }

    async fn get(&self, id: AuthSessionId) -> Result<Option<AuthSession>, StoreError> {
        Ok(self.state().sessions.get(&id).cloned())
    }

    async fn find_active_by_token(
        &self,
        token_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<AuthSession>, StoreError> {
        Ok(self
            .state()
            .sessions
            .values()
            .find(|s| &s.token_hash == token_hash && s.is_active(now))
            .cloned())
    }

    async fn touch(
        &self,
        id: AuthSessionId,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), WriteError> {
        let mut state = self.state();
        let session = unrevoked(&mut state, id)?;
        session.last_accessed_at = at;
        session.expires_at = expires_at;
        Ok(())
    }

    async fn rotate(
        &self,
        id: AuthSessionId,
        token_hash: &TokenHash,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
        refresh_expires_at: OffsetDateTime,
    ) -> Result<(), WriteError> {
        let mut state = self.state();
        let session = unrevoked(&mut state, id)?;
        session.token_hash = token_hash.clone();
        session.last_accessed_at = at;
        session.expires_at = expires_at;
        session.refresh_expires_at = refresh_expires_at;
        Ok(())
    }

    async fn list_active(
        &self,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<AuthSession>, StoreError> {
        let mut active: Vec<AuthSession> = self
            .state()
            .sessions
            .values()
            .filter(|s| s.user_id == user_id && s.is_active(now))
            .cloned()
            .collect();
        active.sort_by_key(|s| Reverse((s.created_at, s.id)));
        Ok(active)
    }

    async fn revoke(
        &self,
        user_id: UserId,
        id: AuthSessionId,
        at: OffsetDateTime,
    ) -> Result<(), WriteError> {
        let mut state = self.state();
        let session = state
            .sessions
            .get_mut(&id)
            .filter(|s| s.user_id == user_id && s.revoked_at.is_none())
            .ok_or(WriteError::NotFound)?;
        session.revoked_at = Some(at);
        Ok(())
    }

    async fn revoke_all(&self, user_id: UserId, at: OffsetDateTime) -> Result<u64, StoreError> {
        let mut state = self.state();
        let mut n = 0;
        for session in state.sessions.values_mut() {
            if session.user_id == user_id && session.revoked_at.is_none() {
                session.revoked_at = Some(at);
                n += 1;
            }
        }
        Ok(n)
    }

    async fn add_refresh_token(&self, token: &RefreshToken) -> Result<(), StoreError> {
        self.state()
            .refresh_tokens
            .insert(token.token_hash.clone(), token.clone());
        Ok(())
    }

    async fn use_refresh_token(
        &self,
        token_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<RefreshOutcome, StoreError> {
        let mut state = self.state();
        Ok(match state.refresh_tokens.get_mut(token_hash) {
            Some(token) if now < token.expires_at => {
                if token.used_at.is_some() {
                    RefreshOutcome::Reused(token.clone())
                } else {
                    token.used_at = Some(now);
                    RefreshOutcome::Fresh(token.clone())
                }
            }
            _ => RefreshOutcome::Invalid,
        })
    }

    async fn purge_expired(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError> {
        let mut guard = self.state();
        let state = &mut *guard;
        let n = super::state::purge(&mut state.sessions, limit, |s| s.refresh_expires_at <= now);
        let sessions = &state.sessions;
        state
            .refresh_tokens
            .retain(|_, t| sessions.contains_key(&t.session_id));
        Ok(n)
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        Ok(remove_sessions(&mut self.state(), |s| s.user_id == user_id))
    }

    async fn count_active(&self, now: OffsetDateTime) -> Result<Option<u64>, StoreError> {
        let state = self.state();
        Ok(Some(
            state.sessions.values().filter(|s| s.is_active(now)).count() as u64,
        ))
    }
}

#[async_trait]
impl OneTimeTokenRepository for MemoryStore {
    async fn insert(&self, token: &OneTimeToken) -> Result<(), StoreError> {
        self.state().one_time.insert(
            (token.token_hash.clone(), token.purpose),
            (token.clone(), 0),
        );
        Ok(())
    }

    async fn consume(
        &self,
        token_hash: &TokenHash,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<OneTimeToken>, StoreError> {
        let mut state = self.state();
        let key = (token_hash.clone(), purpose);
        match state.one_time.get(&key) {
            Some((token, _)) if now < token.expires_at => {
                Ok(state.one_time.remove(&key).map(|(token, _)| token))
            }
            _ => Ok(None),
        }
    }

    async fn find(
        &self,
        token_hash: &TokenHash,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<OneTimeToken>, StoreError> {
        Ok(self
            .state()
            .one_time
            .get(&(token_hash.clone(), purpose))
            .filter(|(token, _)| now < token.expires_at)
            .map(|(token, _)| token.clone()))
    }

    async fn spend_try(
        &self,
        token_hash: &TokenHash,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<u32>, StoreError> {
        let mut state = self.state();
        Ok(state
            .one_time
            .get_mut(&(token_hash.clone(), purpose))
            .filter(|(token, _)| now < token.expires_at)
            .map(|(_, tries)| {
                *tries = tries.saturating_add(1);
                *tries
            }))
    }

    async fn delete_for_user(
        &self,
        user_id: UserId,
        purpose: Option<TokenPurpose>,
    ) -> Result<u64, StoreError> {
        let mut state = self.state();
        let before = state.one_time.len();
        state.one_time.retain(|_, (token, _)| {
            !(token.user_id == user_id && purpose.is_none_or(|p| p == token.purpose))
        });
        Ok(count(before - state.one_time.len()))
    }

    async fn purge_expired(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError> {
        Ok(super::state::purge(
            &mut self.state().one_time,
            limit,
            |(token, _)| token.expires_at <= now,
        ))
    }
}
