//! `PasskeyRepository` and `PasskeyChallengeRepository`.

use crate::engine::{DbTime, col, col_time, col_time_opt};

use super::{Db, Store, Ts};

const PASSKEY: &str = "SELECT id, user_id, credential_id, credential, counter, name, created_at, \
                       last_used_at FROM passkeys";

impl Store {
    fn passkey_row(
        row: &<Db as sqlx::Database>::Row,
    ) -> Result<domain::Passkey, domain::StoreError> {
        let counter = col::<i64, _>(row, "counter")?;
        Ok(domain::Passkey {
            id: domain::PasskeyId::from_uuid(col(row, "id")?),
            user_id: domain::UserId::from_uuid(col(row, "user_id")?),
            credential_id: domain::CredentialId::from_stored(col::<String, _>(
                row,
                "credential_id",
            )?),
            credential: col(row, "credential")?,
            counter: u32::try_from(counter)
                .map_err(|_| crate::error::corrupt("passkeys.counter"))?,
            name: domain::PasskeyName::from_stored(col::<String, _>(row, "name")?),
            created_at: col_time::<Ts, _>(row, "created_at")?,
            last_used_at: col_time_opt::<Ts, _>(row, "last_used_at")?,
        })
    }

    async fn delete_passkey_keeping_one(
        &self,
        user_id: domain::UserId,
        id: domain::PasskeyId,
    ) -> Result<domain::PasskeyRemoved, domain::StoreError> {
        let store = crate::error::store("deleting a passkey");
        let mut tx = self.pool().begin().await.map_err(&store)?;
        // Writing every passkey row of the user first: a parallel delete of
        // the same user waits here and then counts what this one left.
        let count = sqlx::query("UPDATE passkeys SET name = name WHERE user_id = $1")
            .bind(user_id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(&store)?
            .rows_affected();
        let found = sqlx::query("SELECT 1 FROM passkeys WHERE id = $1 AND user_id = $2")
            .bind(id.as_uuid())
            .bind(user_id.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(&store)?
            .is_some();
        let outcome = if !found {
            domain::PasskeyRemoved::NotFound
        } else if count < 2 {
            domain::PasskeyRemoved::LastOne
        } else {
            sqlx::query("DELETE FROM passkeys WHERE id = $1")
                .bind(id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(&store)?;
            domain::PasskeyRemoved::Removed
        };
        tx.commit().await.map_err(&store)?;
        Ok(outcome)
    }
}

#[async_trait::async_trait]
impl domain::PasskeyRepository for Store {
    async fn insert(&self, p: &domain::Passkey) -> Result<bool, domain::StoreError> {
        let result = sqlx::query(
            "INSERT INTO passkeys (id, user_id, credential_id, credential, counter, name, \
             created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(p.id.as_uuid())
        .bind(p.user_id.as_uuid())
        .bind(p.credential_id.as_str())
        .bind(&p.credential)
        .bind(i64::from(p.counter))
        .bind(p.name.as_str())
        .bind(<Ts>::to_db(p.created_at))
        .bind(p.last_used_at.map(<Ts>::to_db))
        .execute(self.pool())
        .await;
        match crate::error::inserted(result, "storing a passkey") {
            Ok(()) => Ok(true),
            Err(domain::InsertError::Conflict) => Ok(false),
            Err(domain::InsertError::Store(e)) => Err(e),
        }
    }

    async fn find_by_credential(
        &self,
        credential_id: &domain::CredentialId,
    ) -> Result<Option<domain::Passkey>, domain::StoreError> {
        sqlx::query(&format!("{PASSKEY} WHERE credential_id = $1"))
            .bind(credential_id.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("reading a passkey"))?
            .as_ref()
            .map(Self::passkey_row)
            .transpose()
    }

    async fn list_for_user(
        &self,
        user_id: domain::UserId,
    ) -> Result<Vec<domain::Passkey>, domain::StoreError> {
        let rows = sqlx::query(&format!(
            "{PASSKEY} WHERE user_id = $1 ORDER BY created_at, id"
        ))
        .bind(user_id.as_uuid())
        .fetch_all(self.pool())
        .await
        .map_err(crate::error::store("listing passkeys"))?;
        rows.iter().map(Self::passkey_row).collect()
    }

    async fn rename(
        &self,
        user_id: domain::UserId,
        id: domain::PasskeyId,
        name: &domain::PasskeyName,
    ) -> Result<(), domain::WriteError> {
        let done = sqlx::query("UPDATE passkeys SET name = $3 WHERE id = $1 AND user_id = $2")
            .bind(id.as_uuid())
            .bind(user_id.as_uuid())
            .bind(name.as_str())
            .execute(self.pool())
            .await
            .map_err(crate::error::store("renaming a passkey"))?;
        domain::WriteError::found(done.rows_affected())
    }

    async fn delete(
        &self,
        user_id: domain::UserId,
        id: domain::PasskeyId,
        keep_one: bool,
    ) -> Result<domain::PasskeyRemoved, domain::StoreError> {
        if keep_one {
            return self.delete_passkey_keeping_one(user_id, id).await;
        }
        let done = sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
            .bind(id.as_uuid())
            .bind(user_id.as_uuid())
            .execute(self.pool())
            .await
            .map_err(crate::error::store("deleting a passkey"))?;
        Ok(if done.rows_affected() == 0 {
            domain::PasskeyRemoved::NotFound
        } else {
            domain::PasskeyRemoved::Removed
        })
    }

    async fn record_use(
        &self,
        id: domain::PasskeyId,
        counter: u32,
        credential: &str,
        at: time::OffsetDateTime,
    ) -> Result<bool, domain::StoreError> {
        // The compare-and-set in one statement.
        let done = sqlx::query(
            "UPDATE passkeys SET counter = $2, credential = $3, last_used_at = $4 \
             WHERE id = $1 AND (counter < $2 OR (counter = 0 AND $2 = 0))",
        )
        .bind(id.as_uuid())
        .bind(i64::from(counter))
        .bind(credential)
        .bind(<Ts>::to_db(at))
        .execute(self.pool())
        .await
        .map_err(crate::error::store("recording a passkey's use"))?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_for_user(&self, user_id: domain::UserId) -> Result<u64, domain::StoreError> {
        let done = sqlx::query("DELETE FROM passkeys WHERE user_id = $1")
            .bind(user_id.as_uuid())
            .execute(self.pool())
            .await
            .map_err(crate::error::store("deleting a user's passkeys"))?;
        Ok(done.rows_affected())
    }
}

#[async_trait::async_trait]
impl domain::PasskeyChallengeRepository for Store {
    async fn insert(&self, c: &domain::PasskeyChallenge) -> Result<(), domain::StoreError> {
        sqlx::query(
            "INSERT INTO passkey_challenges (id, user_id, state, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(c.id.as_uuid())
        .bind(c.user_id.map(|u| u.as_uuid()))
        .bind(&c.state)
        .bind(<Ts>::to_db(c.expires_at))
        .execute(self.pool())
        .await
        .map(drop)
        .map_err(crate::error::store("storing a passkey challenge"))
    }

    async fn take(
        &self,
        id: domain::PasskeyChallengeId,
        now: time::OffsetDateTime,
    ) -> Result<Option<domain::PasskeyChallenge>, domain::StoreError> {
        let row = sqlx::query(
            "DELETE FROM passkey_challenges WHERE id = $1 AND expires_at > $2 \
             RETURNING id, user_id, state, expires_at",
        )
        .bind(id.as_uuid())
        .bind(<Ts>::to_db(now))
        .fetch_optional(self.pool())
        .await
        .map_err(crate::error::store("taking a passkey challenge"))?;
        row.map(|row| {
            Ok(domain::PasskeyChallenge {
                id: domain::PasskeyChallengeId::from_uuid(col(&row, "id")?),
                user_id: col::<Option<uuid::Uuid>, _>(&row, "user_id")?
                    .map(domain::UserId::from_uuid),
                state: col(&row, "state")?,
                expires_at: col_time::<Ts, _>(&row, "expires_at")?,
            })
        })
        .transpose()
    }

    async fn purge_expired(
        &self,
        now: time::OffsetDateTime,
        limit: u32,
    ) -> Result<u64, domain::StoreError> {
        self.purge_batch(
            "passkey_challenges",
            "id",
            "expires_at <= $1",
            now,
            limit,
            "purging passkey challenges",
        )
        .await
    }
}
