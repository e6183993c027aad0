//! `MfaRepository`: one factor per user, every write conditioned on the
//! factor's id.

use async_trait::async_trait;
use domain::*;
use time::OffsetDateTime;

use super::MemoryStore;
use super::state::State;

/// The user's factor if it is `id` and confirmed.
fn confirmed(state: &mut State, user_id: UserId, id: MfaFactorId) -> Option<&mut MfaFactor> {
    state
        .mfa
        .get_mut(&user_id)
        .filter(|f| f.id == id && f.is_confirmed())
}

#[async_trait]
impl MfaRepository for MemoryStore {
    async fn begin(&self, factor: &MfaFactor) -> Result<bool, StoreError> {
        let mut state = self.state();
        if state
            .mfa
            .get(&factor.user_id)
            .is_some_and(MfaFactor::is_confirmed)
        {
            return Ok(false);
        }
        let mut pending = factor.clone();
        pending.confirmed_at = None;
        pending.backup_codes.clear();
        state.mfa.insert(factor.user_id, pending);
        Ok(true)
    }

    async fn get(&self, user_id: UserId) -> Result<Option<MfaFactor>, StoreError> {
        Ok(self.state().mfa.get(&user_id).cloned())
    }

    async fn confirm(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        step: i64,
        backup_codes: &[TokenHash],
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let Some(factor) = state
            .mfa
            .get_mut(&user_id)
            .filter(|f| f.id == id && !f.is_confirmed())
        else {
            return Ok(false);
        };
        factor.confirmed_at = Some(at);
        factor.last_step = Some(step);
        factor.backup_codes = backup_codes.to_vec();
        Ok(true)
    }

    async fn accept_step(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        step: i64,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let Some(factor) = state.mfa.get_mut(&user_id).filter(|f| {
            f.id == id && f.is_confirmed() && f.last_step.is_none_or(|last| last < step)
        }) else {
            return Ok(false);
        };
        factor.last_step = Some(step);
        Ok(true)
    }

    async fn use_backup_code(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        code: &TokenHash,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let Some(factor) = confirmed(&mut state, user_id, id) else {
            return Ok(false);
        };
        let before = factor.backup_codes.len();
        factor.backup_codes.retain(|c| c != code);
        Ok(factor.backup_codes.len() < before)
    }

    async fn replace_backup_codes(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        codes: &[TokenHash],
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let Some(factor) = confirmed(&mut state, user_id, id) else {
            return Ok(false);
        };
        factor.backup_codes = codes.to_vec();
        Ok(true)
    }

    async fn reseal(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        old: &Sealed,
        new: &Sealed,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let Some(factor) = state
            .mfa
            .get_mut(&user_id)
            .filter(|f| f.id == id && &f.secret == old)
        else {
            return Ok(false);
        };
        factor.secret = new.clone();
        Ok(true)
    }

    async fn delete(&self, user_id: UserId, id: MfaFactorId) -> Result<bool, StoreError> {
        let mut state = self.state();
        if state.mfa.get(&user_id).is_some_and(|f| f.id == id) {
            state.mfa.remove(&user_id);
            Ok(true)
        } else {
            Ok(false)
        }
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        Ok(u64::from(self.state().mfa.remove(&user_id).is_some()))
    }

    async fn list_after(
        &self,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<MfaFactor>, StoreError> {
        let mut factors: Vec<MfaFactor> = self
            .state()
            .mfa
            .values()
            .filter(|f| after.is_none_or(|after| f.user_id > after))
            .cloned()
            .collect();
        factors.sort_by_key(|f| f.user_id);
        factors.truncate(limit as usize);
        Ok(factors)
    }
}
