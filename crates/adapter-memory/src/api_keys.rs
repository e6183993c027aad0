//! `ApiKeyRepository`.

use async_trait::async_trait;
use domain::*;
use time::OffsetDateTime;

use super::MemoryStore;

#[async_trait]
impl ApiKeyRepository for MemoryStore {
    async fn insert(&self, key: &ApiKey) -> Result<(), StoreError> {
        self.state().api_keys.insert(key.id, key.clone());
        Ok(())
    }

    async fn find_by_hash(&self, key_hash: &TokenHash) -> Result<Option<ApiKey>, StoreError> {
        Ok(self
            .state()
            .api_keys
            .values()
            .find(|k| &k.key_hash == key_hash)
            .cloned())
    }

    async fn list_for_user(&self, user_id: UserId) -> Result<Vec<ApiKey>, StoreError> {
        let mut keys: Vec<ApiKey> = self
            .state()
            .api_keys
            .values()
            .filter(|k| k.user_id == user_id)
            .cloned()
            .collect();
        keys.sort_by_key(|k| std::cmp::Reverse((k.created_at, k.id)));
        Ok(keys)
    }

    async fn delete(&self, user_id: UserId, id: ApiKeyId) -> Result<(), WriteError> {
        let mut state = self.state();
        match state.api_keys.get(&id) {
            Some(k) if k.user_id == user_id => {
                state.api_keys.remove(&id);
                Ok(())
            }
            _ => Err(WriteError::NotFound),
        }
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let mut state = self.state();
        let before = state.api_keys.len();
        state.api_keys.retain(|_, k| k.user_id != user_id);
        Ok((before - state.api_keys.len()) as u64)
    }

    async fn record_use(&self, id: ApiKeyId, at: OffsetDateTime) -> Result<(), StoreError> {
        if let Some(k) = self.state().api_keys.get_mut(&id)
            && k.last_used_at.is_none_or(|last| last < at)
        {
            k.last_used_at = Some(at);
        }
        Ok(())
    }
}
