//! `IdentityLinkRepository` and `OAuthFlowRepository`.

use async_trait::async_trait;
use domain::*;
use time::OffsetDateTime;

use super::MemoryStore;
use super::state::count;

#[async_trait]
impl IdentityLinkRepository for MemoryStore {
    async fn link(&self, link: &IdentityLink) -> Result<(), LinkError> {
        let mut state = self.state();
        let key = (link.user_id, link.provider.clone());
        let taken = state
            .links
            .values()
            .any(|l| l.provider == link.provider && l.subject == link.subject);
        if taken || state.links.contains_key(&key) {
            return Err(LinkError::Conflict);
        }
        state.links.insert(key, link.clone());
        Ok(())
    }

    async fn find(
        &self,
        provider: &ProviderName,
        subject: &str,
    ) -> Result<Option<IdentityLink>, StoreError> {
        Ok(self
            .state()
            .links
            .values()
            .find(|l| &l.provider == provider && l.subject == subject)
            .cloned())
    }

    async fn list_for_user(&self, user_id: UserId) -> Result<Vec<IdentityLink>, StoreError> {
        Ok(self
            .state()
            .links
            .values()
            .filter(|l| l.user_id == user_id)
            .cloned()
            .collect())
    }

    async fn store_tokens(
        &self,
        user_id: UserId,
        provider: &ProviderName,
        tokens: Option<Sealed>,
        expire_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let Some(link) = state.links.get_mut(&(user_id, provider.clone())) else {
            return Ok(false);
        };
        link.tokens = tokens;
        link.tokens_expire_at = expire_at;
        Ok(true)
    }

    async fn reseal(
        &self,
        user_id: UserId,
        provider: &ProviderName,
        old: &Sealed,
        new: &Sealed,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let Some(link) = state
            .links
            .get_mut(&(user_id, provider.clone()))
            .filter(|l| l.tokens.as_ref() == Some(old))
        else {
            return Ok(false);
        };
        link.tokens = Some(new.clone());
        Ok(true)
    }

    async fn unlink(
        &self,
        user_id: UserId,
        provider: &ProviderName,
        keep_one: bool,
    ) -> Result<Unlinked, StoreError> {
        let mut state = self.state();
        let key = (user_id, provider.clone());
        if !state.links.contains_key(&key) {
            return Ok(Unlinked::NotLinked);
        }
        if keep_one && state.links.keys().filter(|(u, _)| *u == user_id).count() == 1 {
            return Ok(Unlinked::LastLink);
        }
        state.links.remove(&key);
        Ok(Unlinked::Removed)
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let mut state = self.state();
        let before = state.links.len();
        state.links.retain(|(u, _), _| *u != user_id);
        Ok(count(before - state.links.len()))
    }

    async fn list_after(
        &self,
        after: Option<(UserId, ProviderName)>,
        limit: u32,
    ) -> Result<Vec<IdentityLink>, StoreError> {
        let state = self.state();
        let links: Box<dyn Iterator<Item = &IdentityLink>> = match after {
            Some(after) => Box::new(
                state
                    .links
                    .range((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))
                    .map(|(_, l)| l),
            ),
            None => Box::new(state.links.values()),
        };
        Ok(links.take(limit as usize).cloned().collect())
    }
}

#[async_trait]
impl OAuthFlowRepository for MemoryStore {
    async fn insert(&self, flow: &OAuthFlow) -> Result<(), StoreError> {
        self.state()
            .flows
            .insert(flow.state_hash.clone(), flow.clone());
        Ok(())
    }

    async fn take(
        &self,
        state_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<OAuthFlow>, StoreError> {
        let mut state = self.state();
        match state.flows.get(state_hash) {
            Some(flow) if now < flow.expires_at => Ok(state.flows.remove(state_hash)),
            _ => Ok(None),
        }
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let mut state = self.state();
        let before = state.flows.len();
        state.flows.retain(|_, f| f.linking_user != Some(user_id));
        Ok(count(before - state.flows.len()))
    }

    async fn purge_expired(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError> {
        Ok(super::state::purge(&mut self.state().flows, limit, |f| {
            f.expires_at <= now
        }))
    }
}
