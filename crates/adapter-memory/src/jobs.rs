//! `LeaseRepository` and `MailQueue`.

use async_trait::async_trait;
use domain::*;
use time::{Duration, OffsetDateTime};

use super::MemoryStore;
use super::state::{Queued, count};

#[async_trait]
impl LeaseRepository for MemoryStore {
    async fn try_acquire(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        if let Some((current, until)) = state.leases.get(name)
            && current != holder
            && now < *until
        {
            return Ok(false);
        }
        state
            .leases
            .insert(name.to_owned(), (holder.to_owned(), now + ttl));
        Ok(true)
    }

    async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let mut state = self.state();
        if state.leases.get(name).is_some_and(|(h, _)| h == holder) {
            state.leases.remove(name);
        }
        Ok(())
    }
}

#[async_trait]
impl MailQueue for MemoryStore {
    async fn enqueue(&self, message: &QueuedMail) -> Result<(), StoreError> {
        self.state().mail.insert(
            message.id,
            Queued {
                mail: message.clone(),
                due_at: message.created_at,
            },
        );
        Ok(())
    }

    async fn claim(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        let mut state = self.state();
        let mut due: Vec<(OffsetDateTime, OffsetDateTime, QueuedMailId)> = state
            .mail
            .values()
            .filter(|q| q.due_at <= now)
            .map(|q| (q.due_at, q.mail.created_at, q.mail.id))
            .collect();
        due.sort();
        due.truncate(limit as usize);
        let mut claimed = Vec::with_capacity(due.len());
        for (_, _, id) in due {
            if let Some(q) = state.mail.get_mut(&id) {
                q.mail.attempts = q.mail.attempts.saturating_add(1);
                q.due_at = until;
                claimed.push(q.mail.clone());
            }
        }
        claimed.sort_by_key(|m| (m.created_at, m.id));
        Ok(claimed)
    }

    async fn retry_at(&self, id: QueuedMailId, at: OffsetDateTime) -> Result<(), WriteError> {
        let mut state = self.state();
        let queued = state.mail.get_mut(&id).ok_or(WriteError::NotFound)?;
        queued.due_at = at;
        Ok(())
    }

    async fn remove(&self, id: QueuedMailId) -> Result<(), StoreError> {
        self.state().mail.remove(&id);
        Ok(())
    }

    async fn count(&self) -> Result<u64, StoreError> {
        Ok(count(self.state().mail.len()))
    }
}
