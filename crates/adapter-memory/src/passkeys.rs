//! `PasskeyRepository` and `PasskeyChallengeRepository`.

use async_trait::async_trait;
use domain::*;
use time::OffsetDateTime;

use super::MemoryStore;

#[async_trait]
impl PasskeyRepository for MemoryStore {
    async fn insert(&self, passkey: &Passkey) -> Result<bool, StoreError> {
        let mut state = self.state();
        if state
            .passkeys
            .values()
            .any(|p| p.credential_id == passkey.credential_id)
        {
            return Ok(false);
        }
        state.passkeys.insert(passkey.id, passkey.clone());
        Ok(true)
    }

    async fn find_by_credential(
        &self,
        credential_id: &CredentialId,
    ) -> Result<Option<Passkey>, StoreError> {
        Ok(self
            .state()
            .passkeys
            .values()
            .find(|p| &p.credential_id == credential_id)
            .cloned())
    }

    async fn list_for_user(&self, user_id: UserId) -> Result<Vec<Passkey>, StoreError> {
        let mut passkeys: Vec<Passkey> = self
            .state()
            .passkeys
            .values()
            .filter(|p| p.user_id == user_id)
            .cloned()
            .collect();
        passkeys.sort_by_key(|p| (p.created_at, p.id));
        Ok(passkeys)
    }

    async fn rename(
        &self,
        user_id: UserId,
        id: PasskeyId,
        name: &PasskeyName,
    ) -> Result<(), WriteError> {
        match self.state().passkeys.get_mut(&id) {
            Some(p) if p.user_id == user_id => {
                p.name = name.clone();
                Ok(())
            }
            _ => Err(WriteError::NotFound),
        }
    }

    async fn delete(
        &self,
        user_id: UserId,
        id: PasskeyId,
        keep_one: bool,
    ) -> Result<PasskeyRemoved, StoreError> {
        let mut state = self.state();
        if state.passkeys.get(&id).is_none_or(|p| p.user_id != user_id) {
            return Ok(PasskeyRemoved::NotFound);
        }
        let count = state
            .passkeys
            .values()
            .filter(|p| p.user_id == user_id)
            .count();
        if keep_one && count < 2 {
            return Ok(PasskeyRemoved::LastOne);
        }
        state.passkeys.remove(&id);
        Ok(PasskeyRemoved::Removed)
    }

    async fn record_use(
        &self,
        id: PasskeyId,
        counter: u32,
        credential: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        match self.state().passkeys.get_mut(&id) {
            Some(p) if counter > p.counter || (counter == 0 && p.counter == 0) => {
                p.counter = counter;
                p.credential = credential.to_owned();
                p.last_used_at = Some(at);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let mut state = self.state();
        let before = state.passkeys.len();
        state.passkeys.retain(|_, p| p.user_id != user_id);
        Ok((before - state.passkeys.len()) as u64)
    }
}

#[async_trait]
impl PasskeyChallengeRepository for MemoryStore {
    async fn insert(&self, challenge: &PasskeyChallenge) -> Result<(), StoreError> {
        self.state()
            .passkey_challenges
            .insert(challenge.id, challenge.clone());
        Ok(())
    }

    async fn take(
        &self,
        id: PasskeyChallengeId,
        now: OffsetDateTime,
    ) -> Result<Option<PasskeyChallenge>, StoreError> {
        Ok(self
            .state()
            .passkey_challenges
            .remove(&id)
            .filter(|c| c.expires_at > now))
    }

    async fn purge_expired(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError> {
        Ok(super::state::purge(
            &mut self.state().passkey_challenges,
            limit,
            |c| c.expires_at <= now,
        ))
    }
}
