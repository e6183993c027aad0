//! `ActivityRepository`.

use async_trait::async_trait;
use domain::*;
use time::OffsetDateTime;

use super::MemoryStore;
use super::state::{count, page_of};

#[async_trait]
impl ActivityRepository for MemoryStore {
    async fn append(&self, event: &ActivityEvent) -> Result<(), StoreError> {
        self.state()
            .activity
            .entry(event.id)
            .or_insert_with(|| event.clone());
        Ok(())
    }

    async fn list(
        &self,
        filter: &ActivityFilter,
        page: PageRequest,
    ) -> Result<Page<ActivityEvent>, StoreError> {
        let state = self.state();
        Ok(page_of(
            state.activity.values().filter(|e| filter.matches(e)),
            page,
        ))
    }

    async fn purge_before(&self, before: OffsetDateTime, limit: u32) -> Result<u64, StoreError> {
        let mut state = self.state();
        let mut old: Vec<(OffsetDateTime, ActivityEventId)> = state
            .activity
            .values()
            .filter(|e| e.at < before)
            .map(|e| (e.at, e.id))
            .collect();
        old.sort();
        old.truncate(limit as usize);
        for (_, id) in &old {
            state.activity.remove(id);
        }
        Ok(count(old.len()))
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let mut state = self.state();
        let before = state.activity.len();
        state.activity.retain(|_, e| e.user_id != user_id);
        Ok(count(before - state.activity.len()))
    }
}
