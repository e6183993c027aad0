//! `UserRepository` and `CandidateRepository`.

use async_trait::async_trait;
use domain::*;
use time::OffsetDateTime;

use super::MemoryStore;
use super::state::page_of;

#[async_trait]
impl UserRepository for MemoryStore {
    async fn create(&self, user: &User) -> Result<(), InsertUserError> {
        let mut state = self.state();
        let email = user.email.normalized();
        if state.users.values().any(|u| u.email.normalized() == email) {
            return Err(InsertUserError::EmailTaken);
        }
        if state.users.values().any(|u| u.username == user.username) {
            return Err(InsertUserError::UsernameTaken);
        }
        state.users.insert(user.id, user.clone());
        Ok(())
    }

    async fn get(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self.state().users.get(&id).cloned())
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError> {
        let email = email.normalized();
        Ok(self
            .state()
            .users
            .values()
            .find(|u| u.email.normalized() == email)
            .cloned())
    }

    async fn find_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        Ok(self
            .state()
            .users
            .values()
            .find(|u| &u.username == username)
            .cloned())
    }

    async fn update_fields(
        &self,
        id: UserId,
        changes: &UserChanges,
    ) -> Result<FieldsUpdate, WriteError> {
        let mut state = self.state();
        let user = state.users.get_mut(&id).ok_or(WriteError::NotFound)?;
        if let Some(swap) = &changes.preferences
            && user.preferences != swap.from
        {
            return Ok(FieldsUpdate::ConditionFailed);
        }
        if let Some(ActiveSessionChange::ClearIf(session)) = changes.active_content_session
            && user.active_content_session_id != Some(session)
        {
            return Ok(FieldsUpdate::ConditionFailed);
        }
        if let Some(hash) = &changes.password_hash {
            user.password_hash.clone_from(hash);
        }
        if let Some(verified) = changes.verified {
            user.verified = verified;
        }
        if let Some(locked) = changes.locked {
            user.locked = locked;
        }
        if let Some(name) = &changes.full_name {
            user.profile.full_name.clone_from(name);
        }
        if let Some(bio) = &changes.bio {
            user.profile.bio.clone_from(bio);
        }
        if let Some(avatar) = &changes.avatar {
            user.profile.avatar.clone_from(avatar);
        }
        if let Some(website) = &changes.website {
            user.profile.website.clone_from(website);
        }
        if let Some(location) = &changes.location {
            user.profile.location.clone_from(location);
        }
        if let Some(swap) = &changes.preferences {
            user.preferences.clone_from(&swap.to);
        }
        match changes.active_content_session {
            Some(ActiveSessionChange::Set(session)) => user.active_content_session_id = session,
            Some(ActiveSessionChange::ClearIf(_)) => user.active_content_session_id = None,
            None => {}
        }
        if let Some(at) = changes.updated_at {
            user.updated_at = at;
        }
        if let Some(at) = changes.security_changed_at {
            user.security_changed_at = at;
        }
        if let Some(suspension) = &changes.suspension {
            user.suspension.clone_from(suspension);
        }
        if let Some(plan) = &changes.plan {
            user.plan.clone_from(plan);
        }
        Ok(FieldsUpdate::Written)
    }

    async fn increment_failed_logins(&self, id: UserId) -> Result<u32, WriteError> {
        let mut state = self.state();
        let user = state.users.get_mut(&id).ok_or(WriteError::NotFound)?;
        user.failed_logins = user.failed_logins.saturating_add(1);
        Ok(user.failed_logins)
    }

    async fn set_locked_until(
        &self,
        id: UserId,
        until: Option<OffsetDateTime>,
    ) -> Result<(), WriteError> {
        let mut state = self.state();
        let user = state.users.get_mut(&id).ok_or(WriteError::NotFound)?;
        user.locked_until = until;
        Ok(())
    }

    async fn record_sign_in(&self, id: UserId, at: OffsetDateTime) -> Result<(), WriteError> {
        let mut state = self.state();
        let user = state.users.get_mut(&id).ok_or(WriteError::NotFound)?;
        user.failed_logins = 0;
        user.locked_until = None;
        user.last_accessed_at = Some(at);
        Ok(())
    }

    async fn mark_active(&self, ids: &[UserId], at: OffsetDateTime) -> Result<(), StoreError> {
        let mut state = self.state();
        for id in ids {
            if let Some(user) = state.users.get_mut(id)
                && user.last_active_at.is_none_or(|t| t < at)
            {
                user.last_active_at = Some(at);
            }
        }
        Ok(())
    }

    async fn count(&self, filter: &UserFilter) -> Result<u64, StoreError> {
        let state = self.state();
        Ok(state.users.values().filter(|u| filter.matches(u)).count() as u64)
    }

    async fn list(&self, filter: &UserFilter, page: PageRequest) -> Result<Page<User>, StoreError> {
        let state = self.state();
        Ok(page_of(
            state.users.values().filter(|u| filter.matches(u)),
            page,
        ))
    }

    async fn delete(&self, id: UserId) -> Result<(), WriteError> {
        self.state()
            .users
            .remove(&id)
            .map(drop)
            .ok_or(WriteError::NotFound)
    }
}

#[async_trait]
impl CandidateRepository for MemoryStore {
    async fn put(&self, candidate: &RegistrationCandidate) -> Result<(), StoreError> {
        self.state()
            .candidates
            .insert(candidate.email.normalized().to_owned(), candidate.clone());
        Ok(())
    }

    async fn take(
        &self,
        token_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<RegistrationCandidate>, StoreError> {
        let mut state = self.state();
        let Some(email) = state
            .candidates
            .iter()
            .find(|(_, c)| &c.token_hash == token_hash && now < c.expires_at)
            .map(|(email, _)| email.clone())
        else {
            return Ok(None);
        };
        Ok(state.candidates.remove(&email))
    }

    async fn find_by_email(
        &self,
        email: &Email,
        now: OffsetDateTime,
    ) -> Result<Option<RegistrationCandidate>, StoreError> {
        Ok(self
            .state()
            .candidates
            .get(email.normalized())
            .filter(|c| now < c.expires_at)
            .cloned())
    }

    async fn purge_expired(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError> {
        Ok(super::state::purge(
            &mut self.state().candidates,
            limit,
            |c| c.expires_at <= now,
        ))
    }
}
