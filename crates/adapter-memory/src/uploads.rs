//! `UploadRepository`.

use async_trait::async_trait;
use domain::*;
use time::OffsetDateTime;

use super::MemoryStore;
use super::state::{count, page_of};

#[async_trait]
impl UploadRepository for MemoryStore {
    async fn create(&self, request: &UploadRequest) -> Result<(), InsertError> {
        let mut state = self.state();
        if state
            .uploads
            .values()
            .any(|u| u.object_key == request.object_key)
        {
            return Err(InsertError::Conflict);
        }
        state.uploads.insert(request.id, request.clone());
        Ok(())
    }

    async fn get(&self, id: UploadId) -> Result<Option<UploadRequest>, StoreError> {
        Ok(self.state().uploads.get(&id).cloned())
    }

    async fn list_for_user(
        &self,
        user_id: UserId,
        page: PageRequest,
    ) -> Result<Page<UploadRequest>, StoreError> {
        let state = self.state();
        Ok(page_of(
            state.uploads.values().filter(|u| u.user_id == user_id),
            page,
        ))
    }

    async fn complete(
        &self,
        id: UploadId,
        size: u64,
        at: OffsetDateTime,
    ) -> Result<bool, WriteError> {
        let mut state = self.state();
        let request = state.uploads.get_mut(&id).ok_or(WriteError::NotFound)?;
        if request.status != UploadStatus::Pending {
            return Ok(false);
        }
        request.status = UploadStatus::Completed;
        request.size = Some(size);
        request.completed_at = Some(at);
        Ok(true)
    }

    async fn delete(&self, id: UploadId) -> Result<(), WriteError> {
        self.state()
            .uploads
            .remove(&id)
            .map(drop)
            .ok_or(WriteError::NotFound)
    }

    async fn list_expired(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<UploadRequest>, StoreError> {
        let mut expired: Vec<UploadRequest> = self
            .state()
            .uploads
            .values()
            .filter(|u| u.status == UploadStatus::Pending && u.expires_at <= now)
            .cloned()
            .collect();
        expired.sort_by_key(|u| (u.expires_at, u.id));
        expired.truncate(limit as usize);
        Ok(expired)
    }

    async fn references(&self, key: &ObjectKey) -> Result<bool, StoreError> {
        Ok(self.state().uploads.values().any(|u| &u.object_key == key))
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let mut state = self.state();
        let before = state.uploads.len();
        state.uploads.retain(|_, u| u.user_id != user_id);
        Ok(count(before - state.uploads.len()))
    }
}
