//! `UploadRepository`.

use crate::engine::{DbTime, col, col_time, col_time_opt};

use super::{Db, Store, Ts};

impl Store {
    fn upload_row(
        row: &<Db as sqlx::Database>::Row,
    ) -> Result<domain::UploadRequest, domain::StoreError> {
        use crate::error::corrupt;
        let unsigned = |v: i64| u64::try_from(v).map_err(|_| corrupt("upload size"));
        Ok(domain::UploadRequest {
            id: domain::UploadId::from_uuid(col(row, "id")?),
            user_id: domain::UserId::from_uuid(col(row, "user_id")?),
            object_key: domain::ObjectKey::parse(&col::<String, _>(row, "object_key")?)
                .map_err(|_| corrupt("object key"))?,
            content_type: col(row, "content_type")?,
            max_size: unsigned(col(row, "max_size")?)?,
            status: domain::UploadStatus::parse(&col::<String, _>(row, "status")?)
                .ok_or_else(|| corrupt("upload status"))?,
            created_at: col_time::<Ts, _>(row, "created_at")?,
            expires_at: col_time::<Ts, _>(row, "expires_at")?,
            completed_at: col_time_opt::<Ts, _>(row, "completed_at")?,
            size: col::<Option<i64>, _>(row, "size")?
                .map(unsigned)
                .transpose()?,
        })
    }
}

#[async_trait::async_trait]
impl domain::UploadRepository for Store {
    async fn create(&self, r: &domain::UploadRequest) -> Result<(), domain::InsertError> {
        let signed = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let result = sqlx::query(
            "INSERT INTO upload_requests (id, user_id, object_key, content_type, max_size, status, \
             created_at, expires_at, completed_at, size) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(r.id.as_uuid())
        .bind(r.user_id.as_uuid())
        .bind(r.object_key.as_str())
        .bind(r.content_type.as_str())
        .bind(signed(r.max_size))
        .bind(r.status.as_str())
        .bind(<Ts>::to_db(r.created_at))
        .bind(<Ts>::to_db(r.expires_at))
        .bind(r.completed_at.map(<Ts>::to_db))
        .bind(r.size.map(signed))
        .execute(self.pool())
        .await;
        crate::error::inserted(result, "creating upload request")
    }

    async fn get(
        &self,
        id: domain::UploadId,
    ) -> Result<Option<domain::UploadRequest>, domain::StoreError> {
        sqlx::query("SELECT * FROM upload_requests WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("reading upload request"))?
            .as_ref()
            .map(Self::upload_row)
            .transpose()
    }

    async fn list_for_user(
        &self,
        user_id: domain::UserId,
        page: domain::PageRequest,
    ) -> Result<domain::Page<domain::UploadRequest>, domain::StoreError> {
        let args = [crate::repos::Arg::Id(user_id.as_uuid())];
        let select = "SELECT * FROM upload_requests WHERE user_id = $1";
        self.fetch_page(
            select,
            "",
            &args,
            page,
            "listing upload requests",
            Self::upload_row,
        )
        .await
    }

    async fn complete(
        &self,
        id: domain::UploadId,
        size: u64,
        at: time::OffsetDateTime,
    ) -> Result<bool, domain::WriteError> {
        let done = sqlx::query(
            "UPDATE upload_requests SET status = 'completed', size = $2, completed_at = $3 \
             WHERE id = $1 AND status = 'pending'",
        )
        .bind(id.as_uuid())
        .bind(i64::try_from(size).unwrap_or(i64::MAX))
        .bind(<Ts>::to_db(at))
        .execute(self.pool())
        .await
        .map_err(crate::error::store("completing upload request"))?;
        if done.rows_affected() == 1 {
            return Ok(true);
        }
        let exists = sqlx::query("SELECT 1 FROM upload_requests WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("reading upload request"))?;
        if exists.is_some() {
            Ok(false)
        } else {
            Err(domain::WriteError::NotFound)
        }
    }

    async fn delete(&self, id: domain::UploadId) -> Result<(), domain::WriteError> {
        domain::WriteError::found(
            self.exec_id(
                "DELETE FROM upload_requests WHERE id = $1",
                id.as_uuid(),
                "deleting upload request",
            )
            .await?,
        )
    }

    async fn list_expired(
        &self,
        now: time::OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<domain::UploadRequest>, domain::StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM upload_requests WHERE status = 'pending' AND expires_at <= $1 \
             ORDER BY expires_at, id LIMIT $2",
        )
        .bind(<Ts>::to_db(now))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(crate::error::store("listing expired upload requests"))?;
        rows.iter().map(Self::upload_row).collect()
    }

    async fn references(&self, key: &domain::ObjectKey) -> Result<bool, domain::StoreError> {
        sqlx::query("SELECT 1 FROM upload_requests WHERE object_key = $1")
            .bind(key.as_str())
            .fetch_optional(self.pool())
            .await
            .map(|r| r.is_some())
            .map_err(crate::error::store("checking object references"))
    }

    async fn delete_for_user(&self, user_id: domain::UserId) -> Result<u64, domain::StoreError> {
        self.exec_id(
            "DELETE FROM upload_requests WHERE user_id = $1",
            user_id.as_uuid(),
            "deleting upload requests",
        )
        .await
    }
}
