//! `CandidateRepository` and `SessionRepository`.

use crate::engine::{DbTime, col, col_time, col_time_opt};

use super::{Db, Store, Ts};

impl Store {
    fn candidate_row(
        row: &<Db as sqlx::Database>::Row,
    ) -> Result<domain::RegistrationCandidate, domain::StoreError> {
        use crate::error::corrupt;
        Ok(domain::RegistrationCandidate {
            email: domain::Email::from_stored(&col::<String, _>(row, "email")?)
                .map_err(|_| corrupt("email"))?,
            username: domain::Username::parse(&col::<String, _>(row, "username")?)
                .map_err(|_| corrupt("username"))?,
            role: domain::RoleName::parse(&col::<String, _>(row, "role")?)
                .map_err(|_| corrupt("role"))?,
            password_hash: domain::PasswordHash::new(col::<String, _>(row, "password_hash")?),
            token_hash: domain::TokenHash::from_stored(col::<String, _>(row, "token_hash")?),
            created_at: col_time::<Ts, _>(row, "created_at")?,
            expires_at: col_time::<Ts, _>(row, "expires_at")?,
            origin: col::<Option<String>, _>(row, "origin")?
                .as_deref()
                .map(domain::UserOrigin::from_stored)
                .transpose()?,
        })
    }

    fn session_row(
        row: &<Db as sqlx::Database>::Row,
    ) -> Result<domain::AuthSession, domain::StoreError> {
        Ok(domain::AuthSession {
            id: domain::AuthSessionId::from_uuid(col(row, "id")?),
            user_id: domain::UserId::from_uuid(col(row, "user_id")?),
            token_hash: domain::TokenHash::from_stored(col::<String, _>(row, "token_hash")?),
            device: col::<Option<String>, _>(row, "device")?
                .as_deref()
                .map(domain::Device::from_stored),
            ip: col(row, "ip")?,
            created_at: col_time::<Ts, _>(row, "created_at")?,
            last_accessed_at: col_time::<Ts, _>(row, "last_accessed_at")?,
            expires_at: col_time::<Ts, _>(row, "expires_at")?,
            refresh_expires_at: col_time::<Ts, _>(row, "refresh_expires_at")?,
            revoked_at: col_time_opt::<Ts, _>(row, "revoked_at")?,
        })
    }

    fn refresh_row(
        row: &<Db as sqlx::Database>::Row,
    ) -> Result<domain::RefreshToken, domain::StoreError> {
        Ok(domain::RefreshToken {
            id: domain::RefreshTokenId::from_uuid(col(row, "id")?),
            session_id: domain::AuthSessionId::from_uuid(col(row, "session_id")?),
            user_id: domain::UserId::from_uuid(col(row, "user_id")?),
            token_hash: domain::TokenHash::from_stored(col::<String, _>(row, "token_hash")?),
            created_at: col_time::<Ts, _>(row, "created_at")?,
            expires_at: col_time::<Ts, _>(row, "expires_at")?,
            used_at: col_time_opt::<Ts, _>(row, "used_at")?,
        })
    }
}

#[async_trait::async_trait]
impl domain::CandidateRepository for Store {
    async fn put(&self, c: &domain::RegistrationCandidate) -> Result<(), domain::StoreError> {
        sqlx::query(
            "INSERT INTO registration_candidates \
             (email_normalized, email, username, role, password_hash, token_hash, created_at, expires_at, \
             origin) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (email_normalized) DO UPDATE SET email = excluded.email, \
             username = excluded.username, role = excluded.role, password_hash = excluded.password_hash, \
             token_hash = excluded.token_hash, created_at = excluded.created_at, \
             expires_at = excluded.expires_at, origin = excluded.origin",
        )
        .bind(c.email.normalized())
        .bind(c.email.as_str())
        .bind(c.username.as_str())
        .bind(c.role.as_str())
        .bind(c.password_hash.as_str())
        .bind(c.token_hash.as_str())
        .bind(<Ts>::to_db(c.created_at))
        .bind(<Ts>::to_db(c.expires_at))
        .bind(c.origin.as_ref().map(domain::UserOrigin::to_stored))
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(crate::error::store("storing registration candidate"))
    }

    async fn take(
        &self,
        token_hash: &domain::TokenHash,
        now: time::OffsetDateTime,
    ) -> Result<Option<domain::RegistrationCandidate>, domain::StoreError> {
        sqlx::query(
            "DELETE FROM registration_candidates WHERE token_hash = $1 AND expires_at > $2 RETURNING *",
        )
        .bind(token_hash.as_str())
        .bind(<Ts>::to_db(now))
        .fetch_optional(self.pool())
        .await
        .map_err(crate::error::store("taking registration candidate"))?
        .as_ref()
        .map(Self::candidate_row)
        .transpose()
    }

    async fn find_by_email(
        &self,
        email: &domain::Email,
        now: time::OffsetDateTime,
    ) -> Result<Option<domain::RegistrationCandidate>, domain::StoreError> {
        sqlx::query(
            "SELECT * FROM registration_candidates WHERE email_normalized = $1 AND expires_at > $2",
        )
        .bind(email.normalized())
        .bind(<Ts>::to_db(now))
        .fetch_optional(self.pool())
        .await
        .map_err(crate::error::store("finding registration candidate"))?
        .as_ref()
        .map(Self::candidate_row)
        .transpose()
    }

    async fn purge_expired(
        &self,
        now: time::OffsetDateTime,
        limit: u32,
    ) -> Result<u64, domain::StoreError> {
        self.purge_batch(
            "registration_candidates",
            "email_normalized",
            "expires_at <= $1",
            now,
            limit,
            "purging registration candidates",
        )
        .await
    }
}

#[async_trait::async_trait]
impl domain::SessionRepository for Store {
    async fn create(&self, s: &domain::AuthSession) -> Result<(), domain::StoreError> {
        sqlx::query(
            "INSERT INTO auth_sessions (id, user_id, token_hash, device, ip, created_at, last_accessed_at, \
             expires_at, refresh_expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(s.id.as_uuid())
        .bind(s.user_id.as_uuid())
        .bind(s.token_hash.as_str())
        .bind(s.device.as_ref().map(domain::Device::to_stored))
        .bind(s.ip.as_deref())
        .bind(<Ts>::to_db(s.created_at))
        .bind(<Ts>::to_db(s.last_accessed_at))
        .bind(<Ts>::to_db(s.expires_at))
        .bind(<Ts>::to_db(s.refresh_expires_at))
        .bind(s.revoked_at.map(<Ts>::to_db))
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(crate::error::store("creating session"))
    }

    async fn get(
        &self,
        id: domain::AuthSessionId,
    ) -> Result<Option<domain::AuthSession>, domain::StoreError> {
        sqlx::query("SELECT * FROM auth_sessions WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("reading session"))?
            .as_ref()
            .map(Self::session_row)
            .transpose()
    }

    async fn find_active_by_token(
        &self,
        token_hash: &domain::TokenHash,
        now: time::OffsetDateTime,
    ) -> Result<Option<domain::AuthSession>, domain::StoreError> {
        sqlx::query(
            "SELECT * FROM auth_sessions WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash.as_str())
        .bind(<Ts>::to_db(now))
        .fetch_optional(self.pool())
        .await
        .map_err(crate::error::store("authenticating session"))?
        .as_ref()
        .map(Self::session_row)
        .transpose()
    }

    async fn touch(
        &self,
        id: domain::AuthSessionId,
        at: time::OffsetDateTime,
        expires_at: time::OffsetDateTime,
    ) -> Result<(), domain::WriteError> {
        let done = sqlx::query(
            "UPDATE auth_sessions SET last_accessed_at = $2, expires_at = $3 \
             WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id.as_uuid())
        .bind(<Ts>::to_db(at))
        .bind(<Ts>::to_db(expires_at))
        .execute(self.pool())
        .await
        .map_err(crate::error::store("touching session"))?;
        domain::WriteError::found(done.rows_affected())
    }

    async fn rotate(
        &self,
        id: domain::AuthSessionId,
        token_hash: &domain::TokenHash,
        at: time::OffsetDateTime,
        expires_at: time::OffsetDateTime,
        refresh_expires_at: time::OffsetDateTime,
    ) -> Result<(), domain::WriteError> {
        let done = sqlx::query(
            "UPDATE auth_sessions SET token_hash = $2, last_accessed_at = $3, expires_at = $4, \
             refresh_expires_at = $5 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id.as_uuid())
        .bind(token_hash.as_str())
        .bind(<Ts>::to_db(at))
        .bind(<Ts>::to_db(expires_at))
        .bind(<Ts>::to_db(refresh_expires_at))
        .execute(self.pool())
        .await
        .map_err(crate::error::store("rotating session"))?;
        domain::WriteError::found(done.rows_affected())
    }

    async fn list_active(
        &self,
        user_id: domain::UserId,
        now: time::OffsetDateTime,
    ) -> Result<Vec<domain::AuthSession>, domain::StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM auth_sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
             ORDER BY created_at DESC, id DESC",
        )
        .bind(user_id.as_uuid())
        .bind(<Ts>::to_db(now))
        .fetch_all(self.pool())
        .await
        .map_err(crate::error::store("listing sessions"))?;
        rows.iter().map(Self::session_row).collect()
    }

    async fn revoke(
        &self,
        user_id: domain::UserId,
        id: domain::AuthSessionId,
        at: time::OffsetDateTime,
    ) -> Result<(), domain::WriteError> {
        let done = sqlx::query(
            "UPDATE auth_sessions SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
        )
        .bind(id.as_uuid())
        .bind(user_id.as_uuid())
        .bind(<Ts>::to_db(at))
        .execute(self.pool())
        .await
        .map_err(crate::error::store("revoking session"))?;
        domain::WriteError::found(done.rows_affected())
    }

    async fn revoke_all(
        &self,
        user_id: domain::UserId,
        at: time::OffsetDateTime,
    ) -> Result<u64, domain::StoreError> {
        sqlx::query(
            "UPDATE auth_sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(user_id.as_uuid())
        .bind(<Ts>::to_db(at))
        .execute(self.pool())
        .await
        .map(|d| d.rows_affected())
        .map_err(crate::error::store("revoking sessions"))
    }

    async fn add_refresh_token(&self, t: &domain::RefreshToken) -> Result<(), domain::StoreError> {
        sqlx::query(
            "INSERT INTO refresh_tokens (id, session_id, user_id, token_hash, created_at, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(t.id.as_uuid())
        .bind(t.session_id.as_uuid())
        .bind(t.user_id.as_uuid())
        .bind(t.token_hash.as_str())
        .bind(<Ts>::to_db(t.created_at))
        .bind(<Ts>::to_db(t.expires_at))
        .bind(t.used_at.map(<Ts>::to_db))
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(crate::error::store("storing refresh token"))
    }

    async fn use_refresh_token(
        &self,
        token_hash: &domain::TokenHash,
        now: time::OffsetDateTime,
    ) -> Result<domain::RefreshOutcome, domain::StoreError> {
        let fresh = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $2 \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING *",
        )
        .bind(token_hash.as_str())
        .bind(<Ts>::to_db(now))
        .fetch_optional(self.pool())
        .await
        .map_err(crate::error::store("using refresh token"))?;
        if let Some(row) = fresh {
            return Ok(domain::RefreshOutcome::Fresh(Self::refresh_row(&row)?));
        }
        let existing = sqlx::query("SELECT * FROM refresh_tokens WHERE token_hash = $1")
            .bind(token_hash.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("reading refresh token"))?;
        match existing.as_ref().map(Self::refresh_row).transpose()? {
            Some(t) if t.expires_at > now && t.used_at.is_some() => {
                Ok(domain::RefreshOutcome::Reused(t))
            }
            _ => Ok(domain::RefreshOutcome::Invalid),
        }
    }

    async fn purge_expired(
        &self,
        now: time::OffsetDateTime,
        limit: u32,
    ) -> Result<u64, domain::StoreError> {
        self.purge_batch(
            "auth_sessions",
            "id",
            "refresh_expires_at <= $1",
            now,
            limit,
            "purging sessions",
        )
        .await
    }

    async fn delete_for_user(&self, user_id: domain::UserId) -> Result<u64, domain::StoreError> {
        self.exec_id(
            "DELETE FROM auth_sessions WHERE user_id = $1",
            user_id.as_uuid(),
            "deleting sessions",
        )
        .await
    }

    async fn count_active(
        &self,
        now: time::OffsetDateTime,
    ) -> Result<Option<u64>, domain::StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM auth_sessions WHERE revoked_at IS NULL AND expires_at > $1",
        )
        .bind(<Ts>::to_db(now))
        .fetch_one(self.pool())
        .await
        .map_err(crate::error::store("counting active sessions"))?;
        Ok(Some(u64::try_from(n).unwrap_or(0)))
    }
}
