//! `MfaRepository`: a factor row per user and one row per unused backup
//! code. Each write is one conditional statement, or a transaction that
//! starts by writing the factor's row, which serialises writers of one
//! factor on both engines.

use crate::engine::{DbTime, col, col_time, col_time_opt};

use super::{Db, Store, Ts};

const FACTOR: &str =
    "SELECT user_id, id, secret, confirmed_at, last_step, created_at FROM mfa_factors";

impl Store {
    fn factor_row(
        row: &<Db as sqlx::Database>::Row,
    ) -> Result<domain::MfaFactor, domain::StoreError> {
        Ok(domain::MfaFactor {
            id: domain::MfaFactorId::from_uuid(col(row, "id")?),
            user_id: domain::UserId::from_uuid(col(row, "user_id")?),
            secret: domain::Sealed::from_stored(col::<String, _>(row, "secret")?),
            confirmed_at: col_time_opt::<Ts, _>(row, "confirmed_at")?,
            last_step: col(row, "last_step")?,
            backup_codes: Vec::new(),
            created_at: col_time::<Ts, _>(row, "created_at")?,
        })
    }

    /// `factor` with its backup codes read.
    async fn with_codes(
        &self,
        mut factor: domain::MfaFactor,
    ) -> Result<domain::MfaFactor, domain::StoreError> {
        let codes: Vec<(String,)> = sqlx::query_as(
            "SELECT code_hash FROM mfa_backup_codes WHERE factor_id = $1 ORDER BY code_hash",
        )
        .bind(factor.id.as_uuid())
        .fetch_all(self.pool())
        .await
        .map_err(crate::error::store("reading backup codes"))?;
        factor.backup_codes = codes
            .into_iter()
            .map(|(h,)| domain::TokenHash::from_stored(h))
            .collect();
        Ok(factor)
    }

    /// In one transaction: `lock` (an update of the factor's row that
    /// matches only when the write may go ahead), then the factor's backup
    /// codes replaced by `codes`. `false` when `lock` matched nothing.
    async fn write_codes<'q>(
        &self,
        lock: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>,
        id: domain::MfaFactorId,
        codes: &[domain::TokenHash],
    ) -> Result<bool, domain::StoreError> {
        let store = crate::error::store("writing backup codes");
        let mut tx = self.pool().begin().await.map_err(&store)?;
        if lock
            .execute(&mut *tx)
            .await
            .map_err(&store)?
            .rows_affected()
            == 0
        {
            return Ok(false);
        }
        sqlx::query("DELETE FROM mfa_backup_codes WHERE factor_id = $1")
            .bind(id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(&store)?;
        for code in codes {
            sqlx::query("INSERT INTO mfa_backup_codes (factor_id, code_hash) VALUES ($1, $2)")
                .bind(id.as_uuid())
                .bind(code.as_str())
                .execute(&mut *tx)
                .await
                .map_err(&store)?;
        }
        tx.commit().await.map_err(&store)?;
        Ok(true)
    }
}

#[async_trait::async_trait]
impl domain::MfaRepository for Store {
    async fn begin(&self, f: &domain::MfaFactor) -> Result<bool, domain::StoreError> {
        sqlx::query(
            "INSERT INTO mfa_factors (user_id, id, secret, confirmed_at, last_step, created_at) \
             VALUES ($1, $2, $3, NULL, NULL, $4) \
             ON CONFLICT (user_id) DO UPDATE SET id = excluded.id, secret = excluded.secret, \
             last_step = NULL, created_at = excluded.created_at \
             WHERE mfa_factors.confirmed_at IS NULL",
        )
        .bind(f.user_id.as_uuid())
        .bind(f.id.as_uuid())
        .bind(f.secret.as_str())
        .bind(<Ts>::to_db(f.created_at))
        .execute(self.pool())
        .await
        .map(|d| d.rows_affected() == 1)
        .map_err(crate::error::store("beginning an enrolment"))
    }

    async fn get(
        &self,
        user_id: domain::UserId,
    ) -> Result<Option<domain::MfaFactor>, domain::StoreError> {
        let row = sqlx::query(&format!("{FACTOR} WHERE user_id = $1"))
            .bind(user_id.as_uuid())
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("reading a factor"))?;
        match row {
            Some(row) => Ok(Some(self.with_codes(Self::factor_row(&row)?).await?)),
            None => Ok(None),
        }
    }

    async fn confirm(
        &self,
        user_id: domain::UserId,
        id: domain::MfaFactorId,
        step: i64,
        backup_codes: &[domain::TokenHash],
        at: time::OffsetDateTime,
    ) -> Result<bool, domain::StoreError> {
        let lock = sqlx::query(
            "UPDATE mfa_factors SET confirmed_at = $3, last_step = $4 \
             WHERE user_id = $1 AND id = $2 AND confirmed_at IS NULL",
        )
        .bind(user_id.as_uuid())
        .bind(id.as_uuid())
        .bind(<Ts>::to_db(at))
        .bind(step);
        self.write_codes(lock, id, backup_codes).await
    }

    async fn accept_step(
        &self,
        user_id: domain::UserId,
        id: domain::MfaFactorId,
        step: i64,
    ) -> Result<bool, domain::StoreError> {
        sqlx::query(
            "UPDATE mfa_factors SET last_step = $3 WHERE user_id = $1 AND id = $2 \
             AND confirmed_at IS NOT NULL AND (last_step IS NULL OR last_step < $3)",
        )
        .bind(user_id.as_uuid())
        .bind(id.as_uuid())
        .bind(step)
        .execute(self.pool())
        .await
        .map(|d| d.rows_affected() == 1)
        .map_err(crate::error::store("accepting a code"))
    }

    async fn use_backup_code(
        &self,
        user_id: domain::UserId,
        id: domain::MfaFactorId,
        code: &domain::TokenHash,
    ) -> Result<bool, domain::StoreError> {
        sqlx::query(
            "DELETE FROM mfa_backup_codes WHERE factor_id = $2 AND code_hash = $3 AND EXISTS \
             (SELECT 1 FROM mfa_factors WHERE user_id = $1 AND id = $2 AND confirmed_at IS NOT NULL)",
        )
        .bind(user_id.as_uuid())
        .bind(id.as_uuid())
        .bind(code.as_str())
        .execute(self.pool())
        .await
        .map(|d| d.rows_affected() == 1)
        .map_err(crate::error::store("using a backup code"))
    }

    async fn replace_backup_codes(
        &self,
        user_id: domain::UserId,
        id: domain::MfaFactorId,
        codes: &[domain::TokenHash],
    ) -> Result<bool, domain::StoreError> {
        // A write that changes nothing, to take the factor's row lock.
        let lock = sqlx::query(
            "UPDATE mfa_factors SET confirmed_at = confirmed_at \
             WHERE user_id = $1 AND id = $2 AND confirmed_at IS NOT NULL",
        )
        .bind(user_id.as_uuid())
        .bind(id.as_uuid());
        self.write_codes(lock, id, codes).await
    }

    async fn reseal(
        &self,
        user_id: domain::UserId,
        id: domain::MfaFactorId,
        old: &domain::Sealed,
        new: &domain::Sealed,
    ) -> Result<bool, domain::StoreError> {
        sqlx::query(
            "UPDATE mfa_factors SET secret = $4 WHERE user_id = $1 AND id = $2 AND secret = $3",
        )
        .bind(user_id.as_uuid())
        .bind(id.as_uuid())
        .bind(old.as_str())
        .bind(new.as_str())
        .execute(self.pool())
        .await
        .map(|d| d.rows_affected() == 1)
        .map_err(crate::error::store("re-sealing a factor"))
    }

    async fn delete(
        &self,
        user_id: domain::UserId,
        id: domain::MfaFactorId,
    ) -> Result<bool, domain::StoreError> {
        let lock = sqlx::query("DELETE FROM mfa_factors WHERE user_id = $1 AND id = $2")
            .bind(user_id.as_uuid())
            .bind(id.as_uuid());
        self.write_codes(lock, id, &[]).await
    }

    async fn delete_for_user(&self, user_id: domain::UserId) -> Result<u64, domain::StoreError> {
        let store = crate::error::store("deleting factors");
        let mut tx = self.pool().begin().await.map_err(&store)?;
        sqlx::query(
            "DELETE FROM mfa_backup_codes WHERE factor_id IN \
             (SELECT id FROM mfa_factors WHERE user_id = $1)",
        )
        .bind(user_id.as_uuid())
        .execute(&mut *tx)
        .await
        .map_err(&store)?;
        let gone = sqlx::query("DELETE FROM mfa_factors WHERE user_id = $1")
            .bind(user_id.as_uuid())
            .execute(&mut *tx)
            .await
            .map_err(&store)?
            .rows_affected();
        tx.commit().await.map_err(&store)?;
        Ok(gone)
    }

    async fn list_after(
        &self,
        after: Option<domain::UserId>,
        limit: u32,
    ) -> Result<Vec<domain::MfaFactor>, domain::StoreError> {
        let rows = match after {
            Some(after) => {
                sqlx::query(&format!(
                    "{FACTOR} WHERE user_id > $1 ORDER BY user_id LIMIT $2"
                ))
                .bind(after.as_uuid())
                .bind(i64::from(limit))
                .fetch_all(self.pool())
                .await
            }
            None => {
                sqlx::query(&format!("{FACTOR} ORDER BY user_id LIMIT $1"))
                    .bind(i64::from(limit))
                    .fetch_all(self.pool())
                    .await
            }
        }
        .map_err(crate::error::store("listing factors"))?;
        let mut factors = Vec::with_capacity(rows.len());
        for row in &rows {
            factors.push(self.with_codes(Self::factor_row(row)?).await?);
        }
        Ok(factors)
    }
}
