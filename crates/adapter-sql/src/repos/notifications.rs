//! `NotificationRepository`.

use crate::engine::{DbTime, col, col_time, col_time_opt};

use super::{Db, Store, Ts};

impl Store {
    /// The INSERT of `n` on `conn`.
    pub(crate) async fn insert_notification<'c, E>(
        conn: E,
        n: &domain::Notification,
    ) -> Result<(), domain::StoreError>
    where
        E: sqlx::Executor<'c, Database = Db>,
    {
        sqlx::query(
            "INSERT INTO notifications (id, user_id, content_session_id, message_id, task_id, kind, \
             toast_message, image, urgency, persistent, seen_at, response_data, created_at, expires_at, \
             conversation_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(n.id.as_uuid())
        .bind(n.user_id.as_uuid())
        .bind(n.content_session_id.map(|c| c.as_uuid()))
        .bind(n.message_id.map(|m| m.as_uuid()))
        .bind(n.task_id.as_deref())
        .bind(n.kind.as_str())
        .bind(n.toast_message.as_deref())
        .bind(n.image.as_deref())
        .bind(n.urgency.as_str())
        .bind(n.persistent)
        .bind(n.seen_at.map(<Ts>::to_db))
        .bind(n.response_data.as_ref().map(sqlx::types::Json))
        .bind(<Ts>::to_db(n.created_at))
        .bind(n.expires_at.map(<Ts>::to_db))
        .bind(n.conversation_id.map(|c| c.as_uuid()))
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(crate::error::store("creating notification"))
    }

    fn notification_row(
        row: &<Db as sqlx::Database>::Row,
    ) -> Result<domain::Notification, domain::StoreError> {
        Ok(domain::Notification {
            id: domain::NotificationId::from_uuid(col(row, "id")?),
            user_id: domain::UserId::from_uuid(col(row, "user_id")?),
            content_session_id: col::<Option<uuid::Uuid>, _>(row, "content_session_id")?
                .map(domain::ContentSessionId::from_uuid),
            conversation_id: col::<Option<uuid::Uuid>, _>(row, "conversation_id")?
                .map(domain::ConversationId::from_uuid),
            message_id: col::<Option<uuid::Uuid>, _>(row, "message_id")?
                .map(domain::MessageId::from_uuid),
            task_id: col(row, "task_id")?,
            kind: col(row, "kind")?,
            toast_message: col(row, "toast_message")?,
            image: col(row, "image")?,
            urgency: domain::Urgency::parse(&col::<String, _>(row, "urgency")?)
                .ok_or_else(|| crate::error::corrupt("urgency"))?,
            persistent: col(row, "persistent")?,
            seen_at: col_time_opt::<Ts, _>(row, "seen_at")?,
            response_data: col::<Option<sqlx::types::Json<serde_json::Value>>, _>(
                row,
                "response_data",
            )?
            .map(|j| j.0),
            created_at: col_time::<Ts, _>(row, "created_at")?,
            expires_at: col_time_opt::<Ts, _>(row, "expires_at")?,
        })
    }
}

#[async_trait::async_trait]
impl domain::NotificationRepository for Store {
    async fn create(&self, n: &domain::Notification) -> Result<(), domain::StoreError> {
        // Each engine inserts and announces its own way (see `feed`).
        self.insert_and_announce(n).await
    }

    async fn get(
        &self,
        user_id: domain::UserId,
        id: domain::NotificationId,
        now: time::OffsetDateTime,
    ) -> Result<Option<domain::Notification>, domain::StoreError> {
        sqlx::query(
            "SELECT * FROM notifications WHERE id = $1 AND user_id = $2 \
             AND (expires_at IS NULL OR expires_at > $3)",
        )
        .bind(id.as_uuid())
        .bind(user_id.as_uuid())
        .bind(<Ts>::to_db(now))
        .fetch_optional(self.pool())
        .await
        .map_err(crate::error::store("reading notification"))?
        .as_ref()
        .map(Self::notification_row)
        .transpose()
    }

    async fn list(
        &self,
        user_id: domain::UserId,
        unseen_only: bool,
        now: time::OffsetDateTime,
        page: domain::PageRequest,
    ) -> Result<domain::Page<domain::Notification>, domain::StoreError> {
        let args = [
            crate::repos::Arg::Id(user_id.as_uuid()),
            crate::repos::Arg::Time(now),
        ];
        let select = if unseen_only {
            "SELECT * FROM notifications WHERE user_id = $1 AND (expires_at IS NULL OR expires_at > $2) \
             AND seen_at IS NULL"
        } else {
            "SELECT * FROM notifications WHERE user_id = $1 AND (expires_at IS NULL OR expires_at > $2)"
        };
        self.fetch_page(
            select,
            "",
            &args,
            page,
            "listing notifications",
            Self::notification_row,
        )
        .await
    }

    async fn mark_seen(
        &self,
        user_id: domain::UserId,
        id: domain::NotificationId,
        at: time::OffsetDateTime,
    ) -> Result<(), domain::WriteError> {
        let done = sqlx::query(
            "UPDATE notifications SET seen_at = COALESCE(seen_at, $3) WHERE id = $1 AND user_id = $2",
        )
        .bind(id.as_uuid())
        .bind(user_id.as_uuid())
        .bind(<Ts>::to_db(at))
        .execute(self.pool())
        .await
        .map_err(crate::error::store("marking notification seen"))?;
        domain::WriteError::found(done.rows_affected())
    }

    async fn mark_all_seen(
        &self,
        user_id: domain::UserId,
        at: time::OffsetDateTime,
    ) -> Result<u64, domain::StoreError> {
        sqlx::query("UPDATE notifications SET seen_at = $2 WHERE user_id = $1 AND seen_at IS NULL")
            .bind(user_id.as_uuid())
            .bind(<Ts>::to_db(at))
            .execute(self.pool())
            .await
            .map(|d| d.rows_affected())
            .map_err(crate::error::store("marking notifications seen"))
    }

    async fn set_response(
        &self,
        user_id: domain::UserId,
        id: domain::NotificationId,
        data: &serde_json::Value,
    ) -> Result<(), domain::WriteError> {
        let done = sqlx::query(
            "UPDATE notifications SET response_data = $3 WHERE id = $1 AND user_id = $2",
        )
        .bind(id.as_uuid())
        .bind(user_id.as_uuid())
        .bind(sqlx::types::Json(data))
        .execute(self.pool())
        .await
        .map_err(crate::error::store("storing notification response"))?;
        domain::WriteError::found(done.rows_affected())
    }

    async fn delete(
        &self,
        user_id: domain::UserId,
        id: domain::NotificationId,
    ) -> Result<(), domain::WriteError> {
        let done = sqlx::query("DELETE FROM notifications WHERE id = $1 AND user_id = $2")
            .bind(id.as_uuid())
            .bind(user_id.as_uuid())
            .execute(self.pool())
            .await
            .map_err(crate::error::store("deleting notification"))?;
        domain::WriteError::found(done.rows_affected())
    }

    async fn purge_expired(
        &self,
        now: time::OffsetDateTime,
        limit: u32,
    ) -> Result<u64, domain::StoreError> {
        self.purge_batch(
            "notifications",
            "id",
            "expires_at IS NOT NULL AND expires_at <= $1",
            now,
            limit,
            "purging notifications",
        )
        .await
    }

    async fn delete_for_user(&self, user_id: domain::UserId) -> Result<u64, domain::StoreError> {
        self.exec_id(
            "DELETE FROM notifications WHERE user_id = $1",
            user_id.as_uuid(),
            "deleting notifications",
        )
        .await
    }
}
