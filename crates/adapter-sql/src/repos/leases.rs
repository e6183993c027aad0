//! `LeaseRepository`: one row per lease; taking it is a single upsert that
//! only overwrites an expired lease or the holder's own.

use crate::engine::DbTime;

use super::{Store, Ts};

#[async_trait::async_trait]
impl domain::LeaseRepository for Store {
    async fn try_acquire(
        &self,
        name: &str,
        holder: &str,
        now: time::OffsetDateTime,
        ttl: time::Duration,
    ) -> Result<bool, domain::StoreError> {
        let taken = sqlx::query(
            "INSERT INTO job_leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE job_leases.expires_at <= $4 OR job_leases.holder = excluded.holder",
        )
        .bind(name)
        .bind(holder)
        .bind(<Ts>::to_db(now + ttl))
        .bind(<Ts>::to_db(now))
        .execute(self.pool())
        .await
        .map_err(crate::error::store("taking lease"))?;
        Ok(taken.rows_affected() == 1)
    }

    async fn release(&self, name: &str, holder: &str) -> Result<(), domain::StoreError> {
        sqlx::query("DELETE FROM job_leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(self.pool())
            .await
            .map(|_| ())
            .map_err(crate::error::store("releasing lease"))
    }
}
