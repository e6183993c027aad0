//! `BlockRepository`: the `blocks` table.

use crate::engine::{DbTime, col, col_time};

use super::{Store, Ts};

#[async_trait::async_trait]
impl domain::BlockRepository for Store {
    async fn block(&self, b: &domain::Block) -> Result<bool, domain::StoreError> {
        let done = sqlx::query(
            "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
        )
        .bind(b.blocker_id.as_uuid())
        .bind(b.blocked_id.as_uuid())
        .bind(<Ts>::to_db(b.created_at))
        .execute(self.pool())
        .await
        .map_err(crate::error::store("blocking"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn unblock(
        &self,
        blocker_id: domain::UserId,
        blocked_id: domain::UserId,
    ) -> Result<bool, domain::StoreError> {
        let done = sqlx::query("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
            .bind(blocker_id.as_uuid())
            .bind(blocked_id.as_uuid())
            .execute(self.pool())
            .await
            .map_err(crate::error::store("unblocking"))?;
        Ok(done.rows_affected() > 0)
    }

    async fn is_blocked(
        &self,
        blocker_id: domain::UserId,
        blocked_id: domain::UserId,
    ) -> Result<bool, domain::StoreError> {
        Ok(
            sqlx::query("SELECT 1 FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
                .bind(blocker_id.as_uuid())
                .bind(blocked_id.as_uuid())
                .fetch_optional(self.pool())
                .await
                .map_err(crate::error::store("reading block"))?
                .is_some(),
        )
    }

    async fn list(
        &self,
        blocker_id: domain::UserId,
    ) -> Result<Vec<domain::Block>, domain::StoreError> {
        sqlx::query(
            "SELECT * FROM blocks WHERE blocker_id = $1 ORDER BY created_at DESC, blocked_id DESC",
        )
        .bind(blocker_id.as_uuid())
        .fetch_all(self.pool())
        .await
        .map_err(crate::error::store("listing blocks"))?
        .iter()
        .map(|row| {
            Ok(domain::Block {
                blocker_id: domain::UserId::from_uuid(col(row, "blocker_id")?),
                blocked_id: domain::UserId::from_uuid(col(row, "blocked_id")?),
                created_at: col_time::<Ts, _>(row, "created_at")?,
            })
        })
        .collect()
    }

    async fn forget_user(&self, user_id: domain::UserId) -> Result<u64, domain::StoreError> {
        self.exec_id(
            "DELETE FROM blocks WHERE blocker_id = $1 OR blocked_id = $1",
            user_id.as_uuid(),
            "forgetting blocks",
        )
        .await
    }
}
