//! `ApiKeyRepository`.

use sqlx::types::Json;

use crate::engine::{DbTime, col, col_time, col_time_opt};

use super::{Db, Store, Ts};

const KEY: &str = "SELECT id, user_id, name, prefix, key_hash, permissions, created_at, \
                   expires_at, last_used_at FROM api_keys";

impl Store {
    fn api_key_row(
        row: &<Db as sqlx::Database>::Row,
    ) -> Result<domain::ApiKey, domain::StoreError> {
        let permissions = col::<Option<Json<Vec<String>>>, _>(row, "permissions")?
            .map(|list| {
                list.0
                    .iter()
                    .map(|p| {
                        domain::Permission::parse(p)
                            .map_err(|_| crate::error::corrupt("api_keys.permissions"))
                    })
                    .collect::<Result<_, _>>()
            })
            .transpose()?;
        Ok(domain::ApiKey {
            id: domain::ApiKeyId::from_uuid(col(row, "id")?),
            user_id: domain::UserId::from_uuid(col(row, "user_id")?),
            name: domain::ApiKeyName::from_stored(col::<String, _>(row, "name")?),
            prefix: col(row, "prefix")?,
            key_hash: domain::TokenHash::from_stored(col::<String, _>(row, "key_hash")?),
            permissions,
            created_at: col_time::<Ts, _>(row, "created_at")?,
            expires_at: col_time_opt::<Ts, _>(row, "expires_at")?,
            last_used_at: col_time_opt::<Ts, _>(row, "last_used_at")?,
        })
    }
}

#[async_trait::async_trait]
impl domain::ApiKeyRepository for Store {
    async fn insert(&self, k: &domain::ApiKey) -> Result<(), domain::StoreError> {
        let permissions = k
            .permissions
            .as_ref()
            .map(|p| Json(p.iter().map(|p| p.as_str().to_owned()).collect::<Vec<_>>()));
        sqlx::query(
            "INSERT INTO api_keys (id, user_id, name, prefix, key_hash, permissions, created_at, \
             expires_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(k.id.as_uuid())
        .bind(k.user_id.as_uuid())
        .bind(k.name.as_str())
        .bind(&k.prefix)
        .bind(k.key_hash.as_str())
        .bind(permissions)
        .bind(<Ts>::to_db(k.created_at))
        .bind(k.expires_at.map(<Ts>::to_db))
        .bind(k.last_used_at.map(<Ts>::to_db))
        .execute(self.pool())
        .await
        .map_err(crate::error::store("inserting API key"))?;
        Ok(())
    }

    async fn find_by_hash(
        &self,
        key_hash: &domain::TokenHash,
    ) -> Result<Option<domain::ApiKey>, domain::StoreError> {
        sqlx::query(&format!("{KEY} WHERE key_hash = $1"))
            .bind(key_hash.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("reading API key"))?
            .as_ref()
            .map(Self::api_key_row)
            .transpose()
    }

    async fn list_for_user(
        &self,
        user_id: domain::UserId,
    ) -> Result<Vec<domain::ApiKey>, domain::StoreError> {
        let rows = sqlx::query(&format!(
            "{KEY} WHERE user_id = $1 ORDER BY created_at DESC, id DESC"
        ))
        .bind(user_id.as_uuid())
        .fetch_all(self.pool())
        .await
        .map_err(crate::error::store("listing API keys"))?;
        rows.iter().map(Self::api_key_row).collect()
    }

    async fn delete(
        &self,
        user_id: domain::UserId,
        id: domain::ApiKeyId,
    ) -> Result<(), domain::WriteError> {
        let done = sqlx::query("DELETE FROM api_keys WHERE id = $1 AND user_id = $2")
            .bind(id.as_uuid())
            .bind(user_id.as_uuid())
            .execute(self.pool())
            .await
            .map_err(crate::error::store("deleting API key"))?;
        domain::WriteError::found(done.rows_affected())
    }

    async fn delete_for_user(&self, user_id: domain::UserId) -> Result<u64, domain::StoreError> {
        let done = sqlx::query("DELETE FROM api_keys WHERE user_id = $1")
            .bind(user_id.as_uuid())
            .execute(self.pool())
            .await
            .map_err(crate::error::store("deleting a user's API keys"))?;
        Ok(done.rows_affected())
    }

    async fn record_use(
        &self,
        id: domain::ApiKeyId,
        at: time::OffsetDateTime,
    ) -> Result<(), domain::StoreError> {
        // Forward only, in one statement: concurrent writers keep the latest.
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $2 \
             WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)",
        )
        .bind(id.as_uuid())
        .bind(<Ts>::to_db(at))
        .execute(self.pool())
        .await
        .map_err(crate::error::store("recording an API key's use"))?;
        Ok(())
    }
}
