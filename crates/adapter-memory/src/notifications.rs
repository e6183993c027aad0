//! `NotificationRepository`; each new notification is also announced on the
//! store's feed (see `feeds`).

use async_trait::async_trait;
use domain::*;
use time::OffsetDateTime;

use super::MemoryStore;
use super::state::{count, page_of};

/// Whether `n` is still visible at `now`.
fn alive(n: &Notification, now: OffsetDateTime) -> bool {
    n.expires_at.is_none_or(|at| now < at)
}

#[async_trait]
impl NotificationRepository for MemoryStore {
    async fn create(&self, notification: &Notification) -> Result<(), StoreError> {
        // Announced under the lock, so that a subscription that started
        // before this call hears of it and one that starts after does not.
        let mut state = self.state();
        state
            .notifications
            .insert(notification.id, notification.clone());
        // No subscriber is not a failure.
        let _ = self.shared.notifications.send(FeedEvent {
            user_id: notification.user_id,
            id: notification.id,
        });
        Ok(())
    }

    async fn get(
        &self,
        user_id: UserId,
        id: NotificationId,
        now: OffsetDateTime,
    ) -> Result<Option<Notification>, StoreError> {
        Ok(self
            .state()
            .notifications
            .get(&id)
            .filter(|n| n.user_id == user_id && alive(n, now))
            .cloned())
    }

    async fn list(
        &self,
        user_id: UserId,
        unseen_only: bool,
        now: OffsetDateTime,
        page: PageRequest,
    ) -> Result<Page<Notification>, StoreError> {
        let state = self.state();
        Ok(page_of(
            state.notifications.values().filter(|n| {
                n.user_id == user_id && alive(n, now) && !(unseen_only && n.seen_at.is_some())
            }),
            page,
        ))
    }

    async fn mark_seen(
        &self,
        user_id: UserId,
        id: NotificationId,
        at: OffsetDateTime,
    ) -> Result<(), WriteError> {
        let mut state = self.state();
        let n = state
            .notifications
            .get_mut(&id)
            .filter(|n| n.user_id == user_id)
            .ok_or(WriteError::NotFound)?;
        n.seen_at.get_or_insert(at);
        Ok(())
    }

    async fn mark_all_seen(&self, user_id: UserId, at: OffsetDateTime) -> Result<u64, StoreError> {
        let mut state = self.state();
        let mut changed = 0;
        for n in state.notifications.values_mut() {
            if n.user_id == user_id && n.seen_at.is_none() {
                n.seen_at = Some(at);
                changed += 1;
            }
        }
        Ok(changed)
    }

    async fn set_response(
        &self,
        user_id: UserId,
        id: NotificationId,
        data: &serde_json::Value,
    ) -> Result<(), WriteError> {
        let mut state = self.state();
        let n = state
            .notifications
            .get_mut(&id)
            .filter(|n| n.user_id == user_id)
            .ok_or(WriteError::NotFound)?;
        n.response_data = Some(data.clone());
        Ok(())
    }

    async fn delete(&self, user_id: UserId, id: NotificationId) -> Result<(), WriteError> {
        let mut state = self.state();
        match state.notifications.get(&id) {
            Some(n) if n.user_id == user_id => {
                state.notifications.remove(&id);
                Ok(())
            }
            _ => Err(WriteError::NotFound),
        }
    }

    async fn purge_expired(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError> {
        Ok(super::state::purge(
            &mut self.state().notifications,
            limit,
            |n| !alive(n, now),
        ))
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let mut state = self.state();
        let before = state.notifications.len();
        state.notifications.retain(|_, n| n.user_id != user_id);
        Ok(count(before - state.notifications.len()))
    }
}
