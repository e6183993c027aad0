//! `WebhookRepository` and `WebhookQueue`: an endpoint is one row whose
//! writes are single statements that change only their own columns (a
//! failure keeps the first `failing_since` with `COALESCE`; disabling is
//! conditional on it). The queue is claimed as the mail queue is: one
//! `UPDATE … RETURNING` that re-checks `due_at`.

use crate::engine::{DbTime, col, col_time, col_time_opt};

use super::{Db, Store, Ts};

const ENDPOINT: &str = "id, url, events, secret, description, enabled, failing_since, created_at";
const DELIVERY: &str = "id, endpoint_id, event_id, event_type, payload, attempts, created_at";

fn event_type(
    row: &<Db as sqlx::Database>::Row,
) -> Result<domain::WebhookEventType, domain::StoreError> {
    domain::WebhookEventType::parse(&col::<String, _>(row, "event_type")?)
        .ok_or_else(|| crate::error::corrupt("webhook event_type"))
}

impl Store {
    fn webhook_row(
        row: &<Db as sqlx::Database>::Row,
    ) -> Result<domain::WebhookEndpoint, domain::StoreError> {
        Ok(domain::WebhookEndpoint {
            id: domain::WebhookId::from_uuid(col(row, "id")?),
            url: domain::WebhookUrl::from_stored(&col::<String, _>(row, "url")?)?,
            events: domain::WebhookEvents::from_stored(&col::<String, _>(row, "events")?)?,
            secret: domain::Sealed::from_stored(col::<String, _>(row, "secret")?),
            description: col(row, "description")?,
            enabled: col(row, "enabled")?,
            failing_since: col_time_opt::<Ts, _>(row, "failing_since")?,
            created_at: col_time::<Ts, _>(row, "created_at")?,
        })
    }

    fn webhook_attempt_row(
        row: &<Db as sqlx::Database>::Row,
    ) -> Result<domain::WebhookAttempt, domain::StoreError> {
        let status: Option<i32> = col(row, "status")?;
        Ok(domain::WebhookAttempt {
            endpoint_id: domain::WebhookId::from_uuid(col(row, "endpoint_id")?),
            event_id: domain::WebhookEventId::from_uuid(col(row, "event_id")?),
            event_type: event_type(row)?,
            attempt: u32::try_from(col::<i64, _>(row, "attempt")?)
                .map_err(|_| crate::error::corrupt("webhook_attempts.attempt"))?,
            status: status
                .map(u16::try_from)
                .transpose()
                .map_err(|_| crate::error::corrupt("webhook_attempts.status"))?,
            error: col(row, "error")?,
            at: col_time::<Ts, _>(row, "at")?,
        })
    }

    fn webhook_delivery_row(
        row: &<Db as sqlx::Database>::Row,
    ) -> Result<domain::WebhookDelivery, domain::StoreError> {
        Ok(domain::WebhookDelivery {
            id: domain::WebhookDeliveryId::from_uuid(col(row, "id")?),
            endpoint_id: domain::WebhookId::from_uuid(col(row, "endpoint_id")?),
            event_id: domain::WebhookEventId::from_uuid(col(row, "event_id")?),
            event_type: event_type(row)?,
            payload: col(row, "payload")?,
            created_at: col_time::<Ts, _>(row, "created_at")?,
            attempts: u32::try_from(col::<i64, _>(row, "attempts")?)
                .map_err(|_| crate::error::corrupt("webhook_queue.attempts"))?,
        })
    }
}

#[async_trait::async_trait]
impl domain::WebhookRepository for Store {
    async fn create(&self, e: &domain::WebhookEndpoint) -> Result<(), domain::StoreError> {
        sqlx::query(&format!(
            "INSERT INTO webhooks ({ENDPOINT}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(e.id.as_uuid())
        .bind(e.url.as_str())
        .bind(e.events.to_stored())
        .bind(e.secret.as_str())
        .bind(&e.description)
        .bind(e.enabled)
        .bind(e.failing_since.map(<Ts>::to_db))
        .bind(<Ts>::to_db(e.created_at))
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(crate::error::store("storing a webhook endpoint"))
    }

    async fn get(
        &self,
        id: domain::WebhookId,
    ) -> Result<Option<domain::WebhookEndpoint>, domain::StoreError> {
        sqlx::query(&format!("SELECT {ENDPOINT} FROM webhooks WHERE id = $1"))
            .bind(id.as_uuid())
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("reading a webhook endpoint"))?
            .as_ref()
            .map(Self::webhook_row)
            .transpose()
    }

    async fn list(&self) -> Result<Vec<domain::WebhookEndpoint>, domain::StoreError> {
        sqlx::query(&format!(
            "SELECT {ENDPOINT} FROM webhooks ORDER BY created_at, id"
        ))
        .fetch_all(self.pool())
        .await
        .map_err(crate::error::store("listing webhook endpoints"))?
        .iter()
        .map(Self::webhook_row)
        .collect()
    }

    async fn update(
        &self,
        id: domain::WebhookId,
        change: &domain::WebhookChange,
    ) -> Result<domain::WebhookEndpoint, domain::WriteError> {
        let row = sqlx::query(&format!(
            "UPDATE webhooks SET url = COALESCE($2, url), events = COALESCE($3, events), \
             description = CASE WHEN $4 THEN $5 ELSE description END, \
             enabled = COALESCE($6, enabled), \
             failing_since = CASE WHEN $6 THEN NULL ELSE failing_since END \
             WHERE id = $1 RETURNING {ENDPOINT}"
        ))
        .bind(id.as_uuid())
        .bind(change.url.as_ref().map(|u| u.as_str().to_owned()))
        .bind(change.events.as_ref().map(domain::WebhookEvents::to_stored))
        .bind(change.description.is_some())
        .bind(change.description.clone().flatten())
        .bind(change.enabled)
        .fetch_optional(self.pool())
        .await
        .map_err(crate::error::store("changing a webhook endpoint"))?;
        Ok(Self::webhook_row(
            &row.ok_or(domain::WriteError::NotFound)?,
        )?)
    }

    async fn delete(&self, id: domain::WebhookId) -> Result<(), domain::WriteError> {
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(crate::error::store("deleting a webhook endpoint"))?;
        sqlx::query("DELETE FROM webhook_attempts WHERE endpoint_id = $1")
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(crate::error::store("deleting a webhook's log"))?;
        let done = sqlx::query("DELETE FROM webhooks WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(crate::error::store("deleting a webhook endpoint"))?;
        domain::WriteError::found(done.rows_affected())?;
        tx.commit()
            .await
            .map_err(crate::error::store("deleting a webhook endpoint"))?;
        Ok(())
    }

    async fn record_failure(
        &self,
        id: domain::WebhookId,
        at: time::OffsetDateTime,
    ) -> Result<time::OffsetDateTime, domain::WriteError> {
        let row = sqlx::query(
            "UPDATE webhooks SET failing_since = COALESCE(failing_since, $2) \
             WHERE id = $1 RETURNING failing_since",
        )
        .bind(id.as_uuid())
        .bind(<Ts>::to_db(at))
        .fetch_optional(self.pool())
        .await
        .map_err(crate::error::store("recording a webhook failure"))?
        .ok_or(domain::WriteError::NotFound)?;
        Ok(col_time::<Ts, _>(&row, "failing_since")?)
    }

    async fn record_success(&self, id: domain::WebhookId) -> Result<(), domain::StoreError> {
        self.exec_id(
            "UPDATE webhooks SET failing_since = NULL WHERE id = $1",
            id.as_uuid(),
            "recording a webhook success",
        )
        .await
        .map(|_| ())
    }

    async fn disable_failing(
        &self,
        id: domain::WebhookId,
        since: time::OffsetDateTime,
    ) -> Result<bool, domain::StoreError> {
        let done = sqlx::query(
            "UPDATE webhooks SET enabled = FALSE \
             WHERE id = $1 AND enabled = TRUE AND failing_since = $2",
        )
        .bind(id.as_uuid())
        .bind(<Ts>::to_db(since))
        .execute(self.pool())
        .await
        .map_err(crate::error::store("disabling a webhook endpoint"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn log_attempt(&self, a: &domain::WebhookAttempt) -> Result<(), domain::StoreError> {
        sqlx::query(
            "INSERT INTO webhook_attempts \
             (endpoint_id, event_id, event_type, attempt, status, error, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(a.endpoint_id.as_uuid())
        .bind(a.event_id.as_uuid())
        .bind(a.event_type.as_str())
        .bind(i64::from(a.attempt))
        .bind(a.status.map(i32::from))
        .bind(&a.error)
        .bind(<Ts>::to_db(a.at))
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(crate::error::store("logging a webhook attempt"))
    }

    async fn attempts(
        &self,
        id: domain::WebhookId,
        limit: u32,
    ) -> Result<Vec<domain::WebhookAttempt>, domain::StoreError> {
        sqlx::query(
            "SELECT endpoint_id, event_id, event_type, attempt, status, error, at \
             FROM webhook_attempts WHERE endpoint_id = $1 \
             ORDER BY at DESC, attempt DESC LIMIT $2",
        )
        .bind(id.as_uuid())
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(crate::error::store("listing webhook attempts"))?
        .iter()
        .map(Self::webhook_attempt_row)
        .collect()
    }

    async fn purge_attempts_before(
        &self,
        before: time::OffsetDateTime,
        limit: u32,
    ) -> Result<u64, domain::StoreError> {
        self.purge_batch(
            "webhook_attempts",
            "endpoint_id, event_id, attempt",
            "at < $1",
            before,
            limit,
            "purging webhook attempts",
        )
        .await
    }
}

#[async_trait::async_trait]
impl domain::WebhookQueue for Store {
    async fn enqueue(&self, d: &domain::WebhookDelivery) -> Result<(), domain::StoreError> {
        sqlx::query(
            "INSERT INTO webhook_queue \
             (id, endpoint_id, event_id, event_type, payload, attempts, due_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(d.id.as_uuid())
        .bind(d.endpoint_id.as_uuid())
        .bind(d.event_id.as_uuid())
        .bind(d.event_type.as_str())
        .bind(&d.payload)
        .bind(i64::from(d.attempts))
        .bind(<Ts>::to_db(d.created_at))
        .bind(<Ts>::to_db(d.created_at))
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(crate::error::store("queueing a webhook delivery"))
    }

    async fn claim(
        &self,
        now: time::OffsetDateTime,
        until: time::OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<domain::WebhookDelivery>, domain::StoreError> {
        let rows = sqlx::query(&format!(
            "UPDATE webhook_queue SET attempts = attempts + 1, due_at = $1 \
             WHERE due_at <= $2 AND id IN (SELECT id FROM webhook_queue WHERE due_at <= $2 \
             ORDER BY due_at, created_at, id LIMIT $3) RETURNING {DELIVERY}"
        ))
        .bind(<Ts>::to_db(until))
        .bind(<Ts>::to_db(now))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(crate::error::store("claiming webhook deliveries"))?;
        let mut claimed = rows
            .iter()
            .map(Self::webhook_delivery_row)
            .collect::<Result<Vec<_>, _>>()?;
        claimed.sort_by_key(|d| (d.created_at, d.id));
        Ok(claimed)
    }

    async fn retry_at(
        &self,
        id: domain::WebhookDeliveryId,
        at: time::OffsetDateTime,
    ) -> Result<(), domain::WriteError> {
        let done = sqlx::query("UPDATE webhook_queue SET due_at = $2 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(<Ts>::to_db(at))
            .execute(self.pool())
            .await
            .map_err(crate::error::store("rescheduling a webhook delivery"))?;
        domain::WriteError::found(done.rows_affected())
    }

    async fn remove(&self, id: domain::WebhookDeliveryId) -> Result<(), domain::StoreError> {
        self.exec_id(
            "DELETE FROM webhook_queue WHERE id = $1",
            id.as_uuid(),
            "removing a webhook delivery",
        )
        .await
        .map(|_| ())
    }

    async fn count(&self) -> Result<u64, domain::StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM webhook_queue")
            .fetch_one(self.pool())
            .await
            .map_err(crate::error::store("counting webhook deliveries"))?;
        Ok(u64::try_from(col::<i64, _>(&row, "n")?).unwrap_or(0))
    }
}
