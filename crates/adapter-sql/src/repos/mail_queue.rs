//! `MailQueue`: one row per message. A claim is one `UPDATE … RETURNING`
//! whose outer condition re-checks `due_at`, so of two concurrent claims
//! that picked the same row only the first moves it (PostgreSQL re-evaluates
//! the condition on the row it waited for; SQLite runs one writer at a time).

use crate::engine::{DbTime, col, col_time};

use super::{Db, Store, Ts};

impl Store {
    fn queued_mail_row(
        row: &<Db as sqlx::Database>::Row,
    ) -> Result<domain::QueuedMail, domain::StoreError> {
        domain::QueuedMail::from_stored(domain::StoredMail {
            id: col(row, "id")?,
            kind: col(row, "kind")?,
            to: col(row, "recipient")?,
            username: col(row, "username")?,
            token: col(row, "token")?,
            details: col(row, "details")?,
            attempts: col(row, "attempts")?,
            created_at: col_time::<Ts, _>(row, "created_at")?,
            expires_at: col_time::<Ts, _>(row, "expires_at")?,
        })
    }
}

#[async_trait::async_trait]
impl domain::MailQueue for Store {
    async fn enqueue(&self, m: &domain::QueuedMail) -> Result<(), domain::StoreError> {
        let fields = m.body.fields();
        sqlx::query(
            "INSERT INTO mail_queue \
             (id, kind, recipient, username, token, details, attempts, due_at, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(m.id.as_uuid())
        .bind(fields.kind.as_str())
        .bind(fields.to)
        .bind(fields.username)
        .bind(fields.token)
        .bind(fields.details)
        .bind(i64::from(m.attempts))
        .bind(<Ts>::to_db(m.created_at))
        .bind(<Ts>::to_db(m.created_at))
        .bind(<Ts>::to_db(m.expires_at))
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(crate::error::store("queueing mail"))
    }

    async fn claim(
        &self,
        now: time::OffsetDateTime,
        until: time::OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<domain::QueuedMail>, domain::StoreError> {
        let rows = sqlx::query(
            "UPDATE mail_queue SET attempts = attempts + 1, due_at = $1 \
             WHERE due_at <= $2 AND id IN (SELECT id FROM mail_queue WHERE due_at <= $2 \
             ORDER BY due_at, created_at, id LIMIT $3) \
             RETURNING id, kind, recipient, username, token, details, attempts, created_at, expires_at",
        )
        .bind(<Ts>::to_db(until))
        .bind(<Ts>::to_db(now))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(crate::error::store("claiming mail"))?;
        let mut claimed = rows
            .iter()
            .map(Self::queued_mail_row)
            .collect::<Result<Vec<_>, _>>()?;
        claimed.sort_by_key(|m| (m.created_at, m.id));
        Ok(claimed)
    }

    async fn retry_at(
        &self,
        id: domain::QueuedMailId,
        at: time::OffsetDateTime,
    ) -> Result<(), domain::WriteError> {
        let done = sqlx::query("UPDATE mail_queue SET due_at = $2 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(<Ts>::to_db(at))
            .execute(self.pool())
            .await
            .map_err(crate::error::store("rescheduling mail"))?;
        domain::WriteError::found(done.rows_affected())
    }

    async fn remove(&self, id: domain::QueuedMailId) -> Result<(), domain::StoreError> {
        self.exec_id(
            "DELETE FROM mail_queue WHERE id = $1",
            id.as_uuid(),
            "removing mail",
        )
        .await
        .map(|_| ())
    }

    async fn count(&self) -> Result<u64, domain::StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM mail_queue")
            .fetch_one(self.pool())
            .await
            .map_err(crate::error::store("counting queued mail"))?;
        Ok(u64::try_from(col::<i64, _>(&row, "n")?).unwrap_or(0))
    }
}
