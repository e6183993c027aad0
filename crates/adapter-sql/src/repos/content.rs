//! `ContentSessionRepository`.

use crate::engine::{DbTime, col, col_time};

use super::{Db, Store, Ts};

impl Store {
    fn content_row(
        row: &<Db as sqlx::Database>::Row,
    ) -> Result<domain::ContentSession, domain::StoreError> {
        Ok(domain::ContentSession {
            id: domain::ContentSessionId::from_uuid(col(row, "id")?),
            user_id: domain::UserId::from_uuid(col(row, "user_id")?),
            name: col(row, "name")?,
            unread_messages: col(row, "unread_messages")?,
            created_at: col_time::<Ts, _>(row, "created_at")?,
            last_accessed_at: col_time::<Ts, _>(row, "last_accessed_at")?,
        })
    }

    fn message_row(
        row: &<Db as sqlx::Database>::Row,
    ) -> Result<domain::Message, domain::StoreError> {
        let sender_id: Option<uuid::Uuid> = col(row, "sender_id")?;
        let sender = match (col::<String, _>(row, "sender_kind")?.as_str(), sender_id) {
            ("user", Some(id)) => domain::Sender::User(domain::UserId::from_uuid(id)),
            ("assistant", _) => domain::Sender::Assistant,
            ("system", _) => domain::Sender::System,
            _ => return Err(crate::error::corrupt("message sender")),
        };
        Ok(domain::Message {
            id: domain::MessageId::from_uuid(col(row, "id")?),
            content_session_id: domain::ContentSessionId::from_uuid(col(
                row,
                "content_session_id",
            )?),
            sender,
            content: col(row, "content")?,
            parent_id: col::<Option<uuid::Uuid>, _>(row, "parent_id")?
                .map(domain::MessageId::from_uuid),
            read: col(row, "is_read")?,
            created_at: col_time::<Ts, _>(row, "created_at")?,
        })
    }
}

#[async_trait::async_trait]
impl domain::ContentSessionRepository for Store {
    async fn create(&self, c: &domain::ContentSession) -> Result<(), domain::StoreError> {
        sqlx::query(
            "INSERT INTO content_sessions (id, user_id, name, unread_messages, created_at, last_accessed_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(c.id.as_uuid())
        .bind(c.user_id.as_uuid())
        .bind(c.name.as_deref())
        .bind(c.unread_messages)
        .bind(<Ts>::to_db(c.created_at))
        .bind(<Ts>::to_db(c.last_accessed_at))
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(crate::error::store("creating content session"))
    }

    async fn get(
        &self,
        id: domain::ContentSessionId,
    ) -> Result<Option<domain::ContentSession>, domain::StoreError> {
        sqlx::query("SELECT * FROM content_sessions WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("reading content session"))?
            .as_ref()
            .map(Self::content_row)
            .transpose()
    }

    async fn list_for_user(
        &self,
        user_id: domain::UserId,
        page: domain::PageRequest,
    ) -> Result<domain::Page<domain::ContentSession>, domain::StoreError> {
        let args = [crate::repos::Arg::Id(user_id.as_uuid())];
        let select = "SELECT * FROM content_sessions WHERE user_id = $1";
        self.fetch_page(
            select,
            "",
            &args,
            page,
            "listing content sessions",
            Self::content_row,
        )
        .await
    }

    async fn rename(
        &self,
        id: domain::ContentSessionId,
        name: Option<String>,
        at: time::OffsetDateTime,
    ) -> Result<(), domain::WriteError> {
        let done = sqlx::query(
            "UPDATE content_sessions SET name = $2, last_accessed_at = $3 WHERE id = $1",
        )
        .bind(id.as_uuid())
        .bind(name)
        .bind(<Ts>::to_db(at))
        .execute(self.pool())
        .await
        .map_err(crate::error::store("renaming content session"))?;
        domain::WriteError::found(done.rows_affected())
    }

    async fn delete(&self, id: domain::ContentSessionId) -> Result<(), domain::WriteError> {
        // Data and messages go with it (ON DELETE CASCADE).
        domain::WriteError::found(
            self.exec_id(
                "DELETE FROM content_sessions WHERE id = $1",
                id.as_uuid(),
                "deleting content session",
            )
            .await?,
        )
    }

    async fn put_data(
        &self,
        id: domain::ContentSessionId,
        key: &domain::StorageKey,
        value: &serde_json::Value,
    ) -> Result<(), domain::WriteError> {
        let result = sqlx::query(
            "INSERT INTO content_session_data (content_session_id, storage_key, value) VALUES ($1, $2, $3) \
             ON CONFLICT (content_session_id, storage_key) DO UPDATE SET value = excluded.value",
        )
        .bind(id.as_uuid())
        .bind(key.as_str())
        .bind(sqlx::types::Json(value))
        .execute(self.pool())
        .await;
        crate::error::with_parent(result, "storing session data", domain::WriteError::NotFound)
    }

    async fn put_data_within(
        &self,
        id: domain::ContentSessionId,
        key: &domain::StorageKey,
        value: &serde_json::Value,
        max_keys: usize,
    ) -> Result<domain::DataPut, domain::WriteError> {
        let store = crate::error::store("storing session data");
        let mut tx = self.pool().begin().await.map_err(&store)?;
        // PostgreSQL: hold the session's row, so that concurrent
        // writers count its keys one after another. SQLite runs one
        // writer at a time, so its single statement is enough.
        let exists = if <Db as sqlx::Database>::NAME == "PostgreSQL" {
            sqlx::query("SELECT id FROM content_sessions WHERE id = $1 FOR UPDATE")
                .bind(id.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(&store)?
                .is_some()
        } else {
            true
        };
        if !exists {
            return Err(domain::WriteError::NotFound);
        }
        let done = sqlx::query(
            "INSERT INTO content_session_data (content_session_id, storage_key, value) \
             SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM content_sessions WHERE id = $1) AND ( \
               EXISTS (SELECT 1 FROM content_session_data WHERE content_session_id = $1 AND storage_key = $2) \
               OR (SELECT COUNT(*) FROM content_session_data WHERE content_session_id = $1) < $4) \
             ON CONFLICT (content_session_id, storage_key) DO UPDATE SET value = excluded.value",
        )
        .bind(id.as_uuid())
        .bind(key.as_str())
        .bind(sqlx::types::Json(value))
        .bind(i64::try_from(max_keys).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await
        .map_err(&store)?;
        let outcome = if done.rows_affected() > 0 {
            Ok(domain::DataPut::Stored)
        } else {
            let session = sqlx::query("SELECT 1 FROM content_sessions WHERE id = $1")
                .bind(id.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(&store)?;
            if session.is_some() {
                Ok(domain::DataPut::KeyLimit)
            } else {
                Err(domain::WriteError::NotFound)
            }
        };
        tx.commit().await.map_err(&store)?;
        outcome
    }

    async fn get_data(
        &self,
        id: domain::ContentSessionId,
        key: &domain::StorageKey,
    ) -> Result<Option<serde_json::Value>, domain::StoreError> {
        let row: Option<(sqlx::types::Json<serde_json::Value>,)> = sqlx::query_as(
            "SELECT value FROM content_session_data WHERE content_session_id = $1 AND storage_key = $2",
        )
        .bind(id.as_uuid())
        .bind(key.as_str())
        .fetch_optional(self.pool())
        .await
        .map_err(crate::error::store("reading session data"))?;
        Ok(row.map(|(v,)| v.0))
    }

    async fn list_data(
        &self,
        id: domain::ContentSessionId,
    ) -> Result<std::collections::BTreeMap<domain::StorageKey, serde_json::Value>, domain::StoreError>
    {
        let rows: Vec<(String, sqlx::types::Json<serde_json::Value>)> = sqlx::query_as(
            "SELECT storage_key, value FROM content_session_data WHERE content_session_id = $1",
        )
        .bind(id.as_uuid())
        .fetch_all(self.pool())
        .await
        .map_err(crate::error::store("listing session data"))?;
        rows.into_iter()
            .map(|(k, v)| {
                domain::StorageKey::parse(&k)
                    .map(|k| (k, v.0))
                    .map_err(|_| crate::error::corrupt("storage key"))
            })
            .collect()
    }

    async fn delete_data(
        &self,
        id: domain::ContentSessionId,
        key: &domain::StorageKey,
    ) -> Result<(), domain::WriteError> {
        let done = sqlx::query(
            "DELETE FROM content_session_data WHERE content_session_id = $1 AND storage_key = $2",
        )
        .bind(id.as_uuid())
        .bind(key.as_str())
        .execute(self.pool())
        .await
        .map_err(crate::error::store("deleting session data"))?;
        domain::WriteError::found(done.rows_affected())
    }

    async fn add_message(
        &self,
        m: &domain::Message,
        mark_unread: bool,
    ) -> Result<(), domain::WriteError> {
        let (kind, sender_id) = match m.sender {
            domain::Sender::User(id) => ("user", Some(id.as_uuid())),
            domain::Sender::Assistant => ("assistant", None),
            domain::Sender::System => ("system", None),
        };
        let store = crate::error::store("adding message");
        let mut tx = self.pool().begin().await.map_err(&store)?;
        // The session row is written first so the transaction takes the write lock at once.
        let done = sqlx::query(
            "UPDATE content_sessions SET last_accessed_at = $2, \
             unread_messages = CASE WHEN $3 THEN TRUE ELSE unread_messages END WHERE id = $1",
        )
        .bind(m.content_session_id.as_uuid())
        .bind(<Ts>::to_db(m.created_at))
        .bind(mark_unread)
        .execute(&mut *tx)
        .await
        .map_err(&store)?;
        if done.rows_affected() == 0 {
            return Err(domain::WriteError::NotFound);
        }
        sqlx::query(
            "INSERT INTO messages (id, content_session_id, sender_kind, sender_id, content, parent_id, \
             is_read, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(m.id.as_uuid())
        .bind(m.content_session_id.as_uuid())
        .bind(kind)
        .bind(sender_id)
        .bind(m.content.as_str())
        .bind(m.parent_id.map(|p| p.as_uuid()))
        .bind(m.read)
        .bind(<Ts>::to_db(m.created_at))
        .execute(&mut *tx)
        .await
        .map_err(&store)?;
        tx.commit().await.map_err(&store)?;
        Ok(())
    }

    async fn get_message(
        &self,
        session: domain::ContentSessionId,
        id: domain::MessageId,
    ) -> Result<Option<domain::Message>, domain::StoreError> {
        sqlx::query("SELECT * FROM messages WHERE id = $1 AND content_session_id = $2")
            .bind(id.as_uuid())
            .bind(session.as_uuid())
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("reading message"))?
            .as_ref()
            .map(Self::message_row)
            .transpose()
    }

    async fn list_messages(
        &self,
        session: domain::ContentSessionId,
        page: domain::PageRequest,
    ) -> Result<domain::Page<domain::Message>, domain::StoreError> {
        let args = [crate::repos::Arg::Id(session.as_uuid())];
        let select = "SELECT * FROM messages WHERE content_session_id = $1";
        self.fetch_page(
            select,
            "",
            &args,
            page,
            "listing messages",
            Self::message_row,
        )
        .await
    }

    async fn mark_read(&self, id: domain::ContentSessionId) -> Result<(), domain::WriteError> {
        let store = crate::error::store("marking messages read");
        let mut tx = self.pool().begin().await.map_err(&store)?;
        let done = sqlx::query("UPDATE content_sessions SET unread_messages = FALSE WHERE id = $1")
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(&store)?;
        if done.rows_affected() == 0 {
            return Err(domain::WriteError::NotFound);
        }
        sqlx::query(
            "UPDATE messages SET is_read = TRUE WHERE content_session_id = $1 AND is_read = FALSE",
        )
        .bind(id.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(&store)?;
        tx.commit().await.map_err(&store)?;
        Ok(())
    }

    async fn delete_for_user(&self, user_id: domain::UserId) -> Result<u64, domain::StoreError> {
        self.exec_id(
            "DELETE FROM content_sessions WHERE user_id = $1",
            user_id.as_uuid(),
            "deleting content sessions",
        )
        .await
    }
}
