//! Decoding the rows of conversations, participants and messages, and
//! the two steps leaving and joining share (the conversation's lock, the
//! deletion of an emptied conversation).

use crate::engine::{col, col_time, col_time_opt};

use super::{Db, Store, Ts};

type Row = <Db as sqlx::Database>::Row;

/// A stored sequence number (never negative) as the domain's.
pub(super) fn unseq(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl Store {
    pub(super) fn conversation_row(row: &Row) -> Result<domain::Conversation, domain::StoreError> {
        Ok(domain::Conversation {
            id: domain::ConversationId::from_uuid(col(row, "id")?),
            kind: domain::ConversationKind::parse(&col::<String, _>(row, "kind")?)
                .ok_or_else(|| crate::error::corrupt("conversation kind"))?,
            title: col(row, "title")?,
            created_by: domain::UserId::from_uuid(col(row, "created_by")?),
            created_at: col_time::<Ts, _>(row, "created_at")?,
            last_seq: unseq(col(row, "last_seq")?),
            last_activity_at: col_time::<Ts, _>(row, "last_activity_at")?,
            key: col(row, "conv_key")?,
        })
    }

    pub(super) fn participant_row(row: &Row) -> Result<domain::Participant, domain::StoreError> {
        Ok(domain::Participant {
            conversation_id: domain::ConversationId::from_uuid(col(row, "conversation_id")?),
            user_id: domain::UserId::from_uuid(col(row, "user_id")?),
            joined_at: col_time::<Ts, _>(row, "joined_at")?,
            read_seq: unseq(col(row, "read_seq")?),
            last_activity_at: col_time::<Ts, _>(row, "last_activity_at")?,
        })
    }

    /// A message from columns named `prefix` + the column's name.
    pub(super) fn conversation_message_cols(
        row: &Row,
        prefix: &str,
    ) -> Result<domain::ConversationMessage, domain::StoreError> {
        let c = |name: &str| format!("{prefix}{name}");
        Ok(domain::ConversationMessage {
            id: domain::MessageId::from_uuid(col(row, &c("id"))?),
            conversation_id: domain::ConversationId::from_uuid(col(row, &c("conversation_id"))?),
            seq: unseq(col(row, &c("seq"))?),
            sender_id: domain::UserId::from_uuid(col(row, &c("sender_id"))?),
            content: col(row, &c("content"))?,
            parent_id: col::<Option<uuid::Uuid>, _>(row, &c("parent_id"))?
                .map(domain::MessageId::from_uuid),
            created_at: col_time::<Ts, _>(row, &c("created_at"))?,
            deleted_at: col_time_opt::<Ts, _>(row, &c("deleted_at"))?,
        })
    }

    pub(super) fn conversation_message_row(
        row: &Row,
    ) -> Result<domain::ConversationMessage, domain::StoreError> {
        Self::conversation_message_cols(row, "")
    }

    pub(super) fn entry_row(row: &Row) -> Result<domain::ConversationEntry, domain::StoreError> {
        let last_message = match col::<Option<uuid::Uuid>, _>(row, "m_id")? {
            Some(_) => Some(Self::conversation_message_cols(row, "m_")?),
            None => None,
        };
        Ok(domain::ConversationEntry {
            conversation: Self::conversation_row(row)?,
            read_seq: unseq(col(row, "p_read_seq")?),
            last_activity_at: col_time::<Ts, _>(row, "p_last_activity_at")?,
            last_message,
        })
    }

    /// Holds the conversation's row until the transaction ends
    /// (PostgreSQL; SQLite's one writer needs no lock). `false` when it
    /// does not exist.
    pub(super) async fn lock_conversation(
        tx: &mut sqlx::Transaction<'_, Db>,
        id: domain::ConversationId,
        what: &'static str,
    ) -> Result<bool, domain::StoreError> {
        let sql = if <Db as sqlx::Database>::NAME == "PostgreSQL" {
            "SELECT id FROM conversations WHERE id = $1 FOR UPDATE"
        } else {
            "SELECT id FROM conversations WHERE id = $1"
        };
        Ok(sqlx::query(sql)
            .bind(id.as_uuid())
            .fetch_optional(&mut **tx)
            .await
            .map_err(crate::error::store(what))?
            .is_some())
    }

    /// Deletes the conversation when nobody takes part in it any more
    /// (its messages go with it).
    pub(super) async fn drop_if_empty(
        tx: &mut sqlx::Transaction<'_, Db>,
        id: domain::ConversationId,
        what: &'static str,
    ) -> Result<(), domain::StoreError> {
        sqlx::query(
            "DELETE FROM conversations WHERE id = $1 AND NOT EXISTS \
             (SELECT 1 FROM conversation_participants WHERE conversation_id = $1)",
        )
        .bind(id.as_uuid())
        .execute(&mut **tx)
        .await
        .map(|_| ())
        .map_err(crate::error::store(what))
    }
}
