//! `OneTimeTokenRepository`: single-use tokens (verification, reset,
//! deletion, email sign-in) under the hash of the token and its purpose.

use crate::engine::{DbTime, col, col_time};

use super::{Db, Store, Ts};

impl Store {
    fn one_time_row(
        row: &<Db as sqlx::Database>::Row,
    ) -> Result<domain::OneTimeToken, domain::StoreError> {
        Ok(domain::OneTimeToken {
            token_hash: domain::TokenHash::from_stored(col::<String, _>(row, "token_hash")?),
            purpose: domain::TokenPurpose::parse(&col::<String, _>(row, "purpose")?)
                .ok_or_else(|| crate::error::corrupt("token purpose"))?,
            user_id: domain::UserId::from_uuid(col(row, "user_id")?),
            created_at: col_time::<Ts, _>(row, "created_at")?,
            expires_at: col_time::<Ts, _>(row, "expires_at")?,
        })
    }
}

#[async_trait::async_trait]
impl domain::OneTimeTokenRepository for Store {
    async fn insert(&self, t: &domain::OneTimeToken) -> Result<(), domain::StoreError> {
        sqlx::query(
            "INSERT INTO one_time_tokens (token_hash, purpose, user_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(t.token_hash.as_str())
        .bind(t.purpose.as_str())
        .bind(t.user_id.as_uuid())
        .bind(<Ts>::to_db(t.created_at))
        .bind(<Ts>::to_db(t.expires_at))
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(crate::error::store("storing token"))
    }

    async fn consume(
        &self,
        token_hash: &domain::TokenHash,
        purpose: domain::TokenPurpose,
        now: time::OffsetDateTime,
    ) -> Result<Option<domain::OneTimeToken>, domain::StoreError> {
        sqlx::query(
            "DELETE FROM one_time_tokens WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3 \
             RETURNING *",
        )
        .bind(token_hash.as_str())
        .bind(purpose.as_str())
        .bind(<Ts>::to_db(now))
        .fetch_optional(self.pool())
        .await
        .map_err(crate::error::store("consuming token"))?
        .as_ref()
        .map(Self::one_time_row)
        .transpose()
    }

    async fn find(
        &self,
        token_hash: &domain::TokenHash,
        purpose: domain::TokenPurpose,
        now: time::OffsetDateTime,
    ) -> Result<Option<domain::OneTimeToken>, domain::StoreError> {
        sqlx::query(
            "SELECT * FROM one_time_tokens WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3",
        )
        .bind(token_hash.as_str())
        .bind(purpose.as_str())
        .bind(<Ts>::to_db(now))
        .fetch_optional(self.pool())
        .await
        .map_err(crate::error::store("reading token"))?
        .as_ref()
        .map(Self::one_time_row)
        .transpose()
    }

    async fn spend_try(
        &self,
        token_hash: &domain::TokenHash,
        purpose: domain::TokenPurpose,
        now: time::OffsetDateTime,
    ) -> Result<Option<u32>, domain::StoreError> {
        let tries: Option<i64> = sqlx::query_scalar(
            "UPDATE one_time_tokens SET tries = tries + 1 \
             WHERE token_hash = $1 AND purpose = $2 AND expires_at > $3 RETURNING tries",
        )
        .bind(token_hash.as_str())
        .bind(purpose.as_str())
        .bind(<Ts>::to_db(now))
        .fetch_optional(self.pool())
        .await
        .map_err(crate::error::store("counting a token try"))?;
        Ok(tries.map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
    }

    async fn delete_for_user(
        &self,
        user_id: domain::UserId,
        purpose: Option<domain::TokenPurpose>,
    ) -> Result<u64, domain::StoreError> {
        let q = match purpose {
            Some(p) => {
                sqlx::query("DELETE FROM one_time_tokens WHERE user_id = $1 AND purpose = $2")
                    .bind(user_id.as_uuid())
                    .bind(p.as_str())
            }
            None => sqlx::query("DELETE FROM one_time_tokens WHERE user_id = $1")
                .bind(user_id.as_uuid()),
        };
        q.execute(self.pool())
            .await
            .map(|d| d.rows_affected())
            .map_err(crate::error::store("deleting tokens"))
    }

    async fn purge_expired(
        &self,
        now: time::OffsetDateTime,
        limit: u32,
    ) -> Result<u64, domain::StoreError> {
        self.purge_batch(
            "one_time_tokens",
            "token_hash",
            "expires_at <= $1",
            now,
            limit,
            "purging tokens",
        )
        .await
    }
}
