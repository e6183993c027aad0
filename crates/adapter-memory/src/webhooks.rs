//! `WebhookRepository` and `WebhookQueue`.

use async_trait::async_trait;
use domain::*;
use time::OffsetDateTime;

use super::MemoryStore;
use super::state::count;

#[async_trait]
impl WebhookRepository for MemoryStore {
    async fn create(&self, endpoint: &WebhookEndpoint) -> Result<(), StoreError> {
        self.state().webhooks.insert(endpoint.id, endpoint.clone());
        Ok(())
    }

    async fn get(&self, id: WebhookId) -> Result<Option<WebhookEndpoint>, StoreError> {
        Ok(self.state().webhooks.get(&id).cloned())
    }

    async fn list(&self) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let mut all: Vec<WebhookEndpoint> = self.state().webhooks.values().cloned().collect();
        all.sort_by_key(|e| (e.created_at, e.id));
        Ok(all)
    }

    async fn update(
        &self,
        id: WebhookId,
        change: &WebhookChange,
    ) -> Result<WebhookEndpoint, WriteError> {
        let mut state = self.state();
        let endpoint = state.webhooks.get_mut(&id).ok_or(WriteError::NotFound)?;
        if let Some(url) = &change.url {
            endpoint.url = url.clone();
        }
        if let Some(events) = &change.events {
            endpoint.events = events.clone();
        }
        if let Some(description) = &change.description {
            endpoint.description = description.clone();
        }
        if let Some(enabled) = change.enabled {
            endpoint.enabled = enabled;
            if enabled {
                endpoint.failing_since = None;
            }
        }
        Ok(endpoint.clone())
    }

    async fn delete(&self, id: WebhookId) -> Result<(), WriteError> {
        let mut state = self.state();
        state.webhooks.remove(&id).ok_or(WriteError::NotFound)?;
        state.webhook_attempts.retain(|a| a.endpoint_id != id);
        Ok(())
    }

    async fn record_failure(
        &self,
        id: WebhookId,
        at: OffsetDateTime,
    ) -> Result<OffsetDateTime, WriteError> {
        let mut state = self.state();
        let endpoint = state.webhooks.get_mut(&id).ok_or(WriteError::NotFound)?;
        Ok(*endpoint.failing_since.get_or_insert(at))
    }

    async fn record_success(&self, id: WebhookId) -> Result<(), StoreError> {
        if let Some(endpoint) = self.state().webhooks.get_mut(&id) {
            endpoint.failing_since = None;
        }
        Ok(())
    }

    async fn disable_failing(
        &self,
        id: WebhookId,
        since: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        match state.webhooks.get_mut(&id) {
            Some(e) if e.enabled && e.failing_since == Some(since) => {
                e.enabled = false;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn log_attempt(&self, attempt: &WebhookAttempt) -> Result<(), StoreError> {
        self.state().webhook_attempts.push(attempt.clone());
        Ok(())
    }

    async fn attempts(&self, id: WebhookId, limit: u32) -> Result<Vec<WebhookAttempt>, StoreError> {
        let state = self.state();
        let mut mine: Vec<WebhookAttempt> = state
            .webhook_attempts
            .iter()
            .filter(|a| a.endpoint_id == id)
            .cloned()
            .collect();
        mine.sort_by_key(|a| std::cmp::Reverse((a.at, a.attempt)));
        mine.truncate(limit as usize);
        Ok(mine)
    }

    async fn purge_attempts_before(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<u64, StoreError> {
        let mut state = self.state();
        let mut left = limit as usize;
        state.webhook_attempts.retain(|a| {
            if left > 0 && a.at < before {
                left -= 1;
                false
            } else {
                true
            }
        });
        Ok(count(limit as usize - left))
    }
}

#[async_trait]
impl WebhookQueue for MemoryStore {
    async fn enqueue(&self, delivery: &WebhookDelivery) -> Result<(), StoreError> {
        self.state()
            .webhook_queue
            .insert(delivery.id, (delivery.clone(), delivery.created_at));
        Ok(())
    }

    async fn claim(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let mut state = self.state();
        let mut due: Vec<(OffsetDateTime, OffsetDateTime, WebhookDeliveryId)> = state
            .webhook_queue
            .values()
            .filter(|(_, due_at)| *due_at <= now)
            .map(|(d, due_at)| (*due_at, d.created_at, d.id))
            .collect();
        due.sort();
        due.truncate(limit as usize);
        let mut claimed = Vec::with_capacity(due.len());
        for (_, _, id) in due {
            if let Some((d, due_at)) = state.webhook_queue.get_mut(&id) {
                d.attempts = d.attempts.saturating_add(1);
                *due_at = until;
                claimed.push(d.clone());
            }
        }
        claimed.sort_by_key(|d| (d.created_at, d.id));
        Ok(claimed)
    }

    async fn retry_at(&self, id: WebhookDeliveryId, at: OffsetDateTime) -> Result<(), WriteError> {
        let mut state = self.state();
        let (_, due_at) = state
            .webhook_queue
            .get_mut(&id)
            .ok_or(WriteError::NotFound)?;
        *due_at = at;
        Ok(())
    }

    async fn remove(&self, id: WebhookDeliveryId) -> Result<(), StoreError> {
        self.state().webhook_queue.remove(&id);
        Ok(())
    }

    async fn count(&self) -> Result<u64, StoreError> {
        Ok(count(self.state().webhook_queue.len()))
    }
}
