//! `ConversationRepository` (rows decoded in `conversation_rows.rs`).
//!
//! A post is one transaction that starts by raising the conversation's
//! `last_seq` (`UPDATE … RETURNING`): on PostgreSQL the row lock orders
//! concurrent posts of a conversation, on SQLite the write lock does, so
//! each takes a different number. Unread counts are `last_seq - read_seq`.

use crate::engine::{DbTime, col, col_time};

use super::conversation_rows::unseq;
use super::{Store, Ts};

fn seq(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

const MESSAGE_COLUMNS: &str = "m.id AS m_id, m.conversation_id AS m_conversation_id, m.seq AS m_seq, \
     m.sender_id AS m_sender_id, m.content AS m_content, m.parent_id AS m_parent_id, \
     m.created_at AS m_created_at, m.deleted_at AS m_deleted_at";

#[async_trait::async_trait]
impl domain::ConversationRepository for Store {
    async fn create(
        &self,
        c: &domain::Conversation,
        participants: &[domain::UserId],
    ) -> Result<bool, domain::StoreError> {
        let store = crate::error::store("creating conversation");
        let mut tx = self.pool().begin().await.map_err(&store)?;
        let done = sqlx::query(
            "INSERT INTO conversations (id, kind, title, created_by, created_at, last_seq, \
             last_activity_at, conv_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (conv_key) DO NOTHING",
        )
        .bind(c.id.as_uuid())
        .bind(c.kind.as_str())
        .bind(c.title.as_deref())
        .bind(c.created_by.as_uuid())
        .bind(<Ts>::to_db(c.created_at))
        .bind(seq(c.last_seq))
        .bind(<Ts>::to_db(c.last_activity_at))
        .bind(&c.key)
        .execute(&mut *tx)
        .await
        .map_err(&store)?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        for user in participants {
            sqlx::query(
                "INSERT INTO conversation_participants (conversation_id, user_id, joined_at, \
                 read_seq, last_activity_at) VALUES ($1, $2, $3, 0, $4)",
            )
            .bind(c.id.as_uuid())
            .bind(user.as_uuid())
            .bind(<Ts>::to_db(c.created_at))
            .bind(<Ts>::to_db(c.last_activity_at))
            .execute(&mut *tx)
            .await
            .map_err(&store)?;
        }
        tx.commit().await.map_err(&store)?;
        Ok(true)
    }

    async fn get(
        &self,
        id: domain::ConversationId,
    ) -> Result<Option<domain::Conversation>, domain::StoreError> {
        sqlx::query("SELECT * FROM conversations WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("reading conversation"))?
            .as_ref()
            .map(Self::conversation_row)
            .transpose()
    }

    async fn find_by_key(
        &self,
        key: &str,
    ) -> Result<Option<domain::Conversation>, domain::StoreError> {
        sqlx::query("SELECT * FROM conversations WHERE conv_key = $1")
            .bind(key)
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("reading conversation"))?
            .as_ref()
            .map(Self::conversation_row)
            .transpose()
    }

    async fn rename(
        &self,
        id: domain::ConversationId,
        title: Option<String>,
    ) -> Result<(), domain::WriteError> {
        let done = sqlx::query("UPDATE conversations SET title = $2 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(title)
            .execute(self.pool())
            .await
            .map_err(crate::error::store("renaming conversation"))?;
        domain::WriteError::found(done.rows_affected())
    }

    async fn join(
        &self,
        id: domain::ConversationId,
        users: &[domain::UserId],
        at: time::OffsetDateTime,
    ) -> Result<(), domain::WriteError> {
        let what = "joining conversation";
        let store = crate::error::store(what);
        let mut tx = self.pool().begin().await.map_err(&store)?;
        if !Self::lock_conversation(&mut tx, id, what).await? {
            return Err(domain::WriteError::NotFound);
        }
        for user in users {
            sqlx::query(
                "INSERT INTO conversation_participants (conversation_id, user_id, joined_at, \
                 read_seq, last_activity_at) \
                 SELECT id, $2, $3, last_seq, last_activity_at FROM conversations WHERE id = $1 \
                 ON CONFLICT (conversation_id, user_id) DO NOTHING",
            )
            .bind(id.as_uuid())
            .bind(user.as_uuid())
            .bind(<Ts>::to_db(at))
            .execute(&mut *tx)
            .await
            .map_err(&store)?;
        }
        tx.commit().await.map_err(&store)?;
        Ok(())
    }

    async fn participants(
        &self,
        id: domain::ConversationId,
    ) -> Result<Vec<domain::Participant>, domain::StoreError> {
        sqlx::query(
            "SELECT * FROM conversation_participants WHERE conversation_id = $1 \
             ORDER BY joined_at, user_id",
        )
        .bind(id.as_uuid())
        .fetch_all(self.pool())
        .await
        .map_err(crate::error::store("listing participants"))?
        .iter()
        .map(Self::participant_row)
        .collect()
    }

    async fn participant(
        &self,
        id: domain::ConversationId,
        user_id: domain::UserId,
    ) -> Result<Option<domain::Participant>, domain::StoreError> {
        sqlx::query(
            "SELECT * FROM conversation_participants WHERE conversation_id = $1 AND user_id = $2",
        )
        .bind(id.as_uuid())
        .bind(user_id.as_uuid())
        .fetch_optional(self.pool())
        .await
        .map_err(crate::error::store("reading participant"))?
        .as_ref()
        .map(Self::participant_row)
        .transpose()
    }

    async fn leave(
        &self,
        id: domain::ConversationId,
        user_id: domain::UserId,
    ) -> Result<bool, domain::StoreError> {
        let what = "leaving conversation";
        let store = crate::error::store(what);
        let mut tx = self.pool().begin().await.map_err(&store)?;
        if !Self::lock_conversation(&mut tx, id, what).await? {
            return Ok(false);
        }
        let done = sqlx::query(
            "DELETE FROM conversation_participants WHERE conversation_id = $1 AND user_id = $2",
        )
        .bind(id.as_uuid())
        .bind(user_id.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(&store)?;
        Self::drop_if_empty(&mut tx, id, what).await?;
        tx.commit().await.map_err(&store)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_for_user(
        &self,
        user_id: domain::UserId,
        page: domain::PageRequest,
    ) -> Result<domain::Page<domain::ConversationEntry>, domain::StoreError> {
        let resume = if page.cursor().is_some() {
            " AND (p.last_activity_at, p.conversation_id) < ($2, $3)"
        } else {
            ""
        };
        let limit = if page.cursor().is_some() { "$4" } else { "$2" };
        let sql = format!(
            "SELECT c.*, p.read_seq AS p_read_seq, p.last_activity_at AS p_last_activity_at, \
             {MESSAGE_COLUMNS} \
             FROM conversation_participants p \
             JOIN conversations c ON c.id = p.conversation_id \
             LEFT JOIN conversation_messages m ON m.conversation_id = c.id AND m.seq = c.last_seq \
             WHERE p.user_id = $1{resume} \
             ORDER BY p.last_activity_at DESC, p.conversation_id DESC LIMIT {limit}"
        );
        let mut q = sqlx::query(&sql).bind(user_id.as_uuid());
        if let Some(c) = page.cursor() {
            q = q.bind(<Ts>::to_db(c.at)).bind(c.id);
        }
        self.fetch_overfetched(q, page, "listing conversations", Self::entry_row)
            .await
    }

    async fn post(&self, m: &domain::ConversationMessage) -> Result<u64, domain::WriteError> {
        let store = crate::error::store("posting message");
        let mut tx = self.pool().begin().await.map_err(&store)?;
        let row = sqlx::query(
            "UPDATE conversations SET last_seq = last_seq + 1, last_activity_at = \
             CASE WHEN last_activity_at < $2 THEN $2 ELSE last_activity_at END \
             WHERE id = $1 RETURNING last_seq, last_activity_at",
        )
        .bind(m.conversation_id.as_uuid())
        .bind(<Ts>::to_db(m.created_at))
        .fetch_optional(&mut *tx)
        .await
        .map_err(&store)?
        .ok_or(domain::WriteError::NotFound)?;
        let number: i64 = col(&row, "last_seq")?;
        let at = col_time::<Ts, _>(&row, "last_activity_at")?;
        sqlx::query(
            "INSERT INTO conversation_messages (id, conversation_id, seq, sender_id, content, \
             parent_id, created_at, deleted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(m.id.as_uuid())
        .bind(m.conversation_id.as_uuid())
        .bind(number)
        .bind(m.sender_id.as_uuid())
        .bind(m.content.as_deref())
        .bind(m.parent_id.map(|p| p.as_uuid()))
        .bind(<Ts>::to_db(m.created_at))
        .bind(m.deleted_at.map(<Ts>::to_db))
        .execute(&mut *tx)
        .await
        .map_err(&store)?;
        sqlx::query(
            "UPDATE conversation_participants SET last_activity_at = $2 \
             WHERE conversation_id = $1 AND last_activity_at < $2",
        )
        .bind(m.conversation_id.as_uuid())
        .bind(<Ts>::to_db(at))
        .execute(&mut *tx)
        .await
        .map_err(&store)?;
        sqlx::query(
            "UPDATE conversation_participants SET read_seq = $3 \
             WHERE conversation_id = $1 AND user_id = $2 AND read_seq < $3",
        )
        .bind(m.conversation_id.as_uuid())
        .bind(m.sender_id.as_uuid())
        .bind(number)
        .execute(&mut *tx)
        .await
        .map_err(&store)?;
        tx.commit().await.map_err(&store)?;
        Ok(unseq(number))
    }

    async fn get_message(
        &self,
        id: domain::ConversationId,
        message_id: domain::MessageId,
    ) -> Result<Option<domain::ConversationMessage>, domain::StoreError> {
        sqlx::query("SELECT * FROM conversation_messages WHERE id = $1 AND conversation_id = $2")
            .bind(message_id.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("reading message"))?
            .as_ref()
            .map(Self::conversation_message_row)
            .transpose()
    }

    async fn list_messages(
        &self,
        id: domain::ConversationId,
        page: domain::PageRequest,
    ) -> Result<domain::Page<domain::ConversationMessage>, domain::StoreError> {
        // Resumes below the sequence number of the cursor's message (an
        // unknown one gives no rows: the comparison with NULL fails).
        let (resume, limit) = if page.cursor().is_some() {
            (
                " AND seq < (SELECT seq FROM conversation_messages \
                 WHERE id = $2 AND conversation_id = $1)",
                "$3",
            )
        } else {
            ("", "$2")
        };
        let sql = format!(
            "SELECT * FROM conversation_messages WHERE conversation_id = $1{resume} \
             ORDER BY seq DESC LIMIT {limit}"
        );
        let mut q = sqlx::query(&sql).bind(id.as_uuid());
        if let Some(c) = page.cursor() {
            q = q.bind(c.id);
        }
        self.fetch_overfetched(q, page, "listing messages", Self::conversation_message_row)
            .await
    }

    async fn mark_read(
        &self,
        id: domain::ConversationId,
        user_id: domain::UserId,
        number: u64,
    ) -> Result<(), domain::WriteError> {
        // One statement that only raises: concurrent calls end at the highest.
        let done = sqlx::query(
            "UPDATE conversation_participants SET read_seq = \
             CASE WHEN read_seq < $3 THEN $3 ELSE read_seq END \
             WHERE conversation_id = $1 AND user_id = $2",
        )
        .bind(id.as_uuid())
        .bind(user_id.as_uuid())
        .bind(seq(number))
        .execute(self.pool())
        .await
        .map_err(crate::error::store("marking conversation read"))?;
        domain::WriteError::found(done.rows_affected())
    }

    async fn remove_message(
        &self,
        id: domain::ConversationId,
        message_id: domain::MessageId,
        at: time::OffsetDateTime,
    ) -> Result<(), domain::WriteError> {
        let done = sqlx::query(
            "UPDATE conversation_messages SET content = NULL, deleted_at = COALESCE(deleted_at, $3) \
             WHERE id = $1 AND conversation_id = $2",
        )
        .bind(message_id.as_uuid())
        .bind(id.as_uuid())
        .bind(<Ts>::to_db(at))
        .execute(self.pool())
        .await
        .map_err(crate::error::store("removing message"))?;
        domain::WriteError::found(done.rows_affected())
    }

    async fn list_sent(
        &self,
        user_id: domain::UserId,
        page: domain::PageRequest,
    ) -> Result<domain::Page<domain::ConversationMessage>, domain::StoreError> {
        let args = [crate::repos::Arg::Id(user_id.as_uuid())];
        self.fetch_page(
            "SELECT * FROM conversation_messages WHERE sender_id = $1",
            "",
            &args,
            page,
            "listing sent messages",
            Self::conversation_message_row,
        )
        .await
    }

    async fn forget_user(
        &self,
        user_id: domain::UserId,
        at: time::OffsetDateTime,
    ) -> Result<u64, domain::StoreError> {
        let what = "forgetting a user's conversations";
        let store = crate::error::store(what);
        sqlx::query(
            "UPDATE conversation_messages SET content = NULL, deleted_at = $2 \
             WHERE sender_id = $1 AND content IS NOT NULL",
        )
        .bind(user_id.as_uuid())
        .bind(<Ts>::to_db(at))
        .execute(self.pool())
        .await
        .map_err(&store)?;
        let theirs: Vec<uuid::Uuid> = sqlx::query_scalar(
            "SELECT conversation_id FROM conversation_participants WHERE user_id = $1",
        )
        .bind(user_id.as_uuid())
        .fetch_all(self.pool())
        .await
        .map_err(&store)?;
        let mut left = 0;
        for id in theirs {
            let id = domain::ConversationId::from_uuid(id);
            if domain::ConversationRepository::leave(self, id, user_id).await? {
                left += 1;
            }
        }
        Ok(left)
    }
}
