//! `UserRepository`.

use crate::engine::{DbTime, col, col_time, col_time_opt};

use super::{Db, Store, Ts};

impl Store {
    fn user_row(row: &<Db as sqlx::Database>::Row) -> Result<domain::User, domain::StoreError> {
        use crate::error::corrupt;
        use sqlx::types::Json;
        Ok(domain::User {
            id: domain::UserId::from_uuid(col(row, "id")?),
            email: domain::Email::from_stored(&col::<String, _>(row, "email")?)
                .map_err(|_| corrupt("email"))?,
            username: domain::Username::parse(&col::<String, _>(row, "username")?)
                .map_err(|_| corrupt("username"))?,
            password_hash: col::<Option<String>, _>(row, "password_hash")?
                .map(domain::PasswordHash::new),
            verified: col(row, "verified")?,
            locked: col(row, "locked")?,
            locked_until: col_time_opt::<Ts, _>(row, "locked_until")?,
            failed_logins: u32::try_from(col::<i64, _>(row, "failed_logins")?).unwrap_or(u32::MAX),
            profile: domain::Profile {
                full_name: col(row, "full_name")?,
                bio: col(row, "bio")?,
                avatar: col(row, "avatar")?,
                website: col(row, "website")?,
                location: col(row, "location")?,
            },
            preferences: col::<Json<serde_json::Map<String, serde_json::Value>>, _>(
                row,
                "preferences",
            )?
            .0,
            active_content_session_id: col::<Option<uuid::Uuid>, _>(
                row,
                "active_content_session_id",
            )?
            .map(domain::ContentSessionId::from_uuid),
            created_at: col_time::<Ts, _>(row, "created_at")?,
            updated_at: col_time::<Ts, _>(row, "updated_at")?,
            security_changed_at: col_time::<Ts, _>(row, "security_changed_at")?,
            suspension: match col::<Option<String>, _>(row, "suspension_reason")? {
                Some(reason) => Some(domain::Suspension {
                    reason: domain::SuspensionReason::from_stored(reason),
                    since: col_time_opt::<Ts, _>(row, "suspended_at")?
                        .ok_or_else(|| corrupt("suspended_at"))?,
                    until: col_time_opt::<Ts, _>(row, "suspended_until")?,
                }),
                None => None,
            },
            plan: match col::<Option<String>, _>(row, "plan_name")? {
                Some(name) => Some(domain::PlanAssignment {
                    name: domain::PlanName::from_stored(name),
                    since: col_time_opt::<Ts, _>(row, "plan_since")?
                        .ok_or_else(|| corrupt("plan_since"))?,
                    until: col_time_opt::<Ts, _>(row, "plan_until")?,
                }),
                None => None,
            },
            last_accessed_at: col_time_opt::<Ts, _>(row, "last_accessed_at")?,
            last_active_at: col_time_opt::<Ts, _>(row, "last_active_at")?,
            origin: col::<Option<String>, _>(row, "origin")?
                .as_deref()
                .map(domain::UserOrigin::from_stored)
                .transpose()?,
        })
    }

    /// Which unique key a failed insert or update of `user` hit: by
    /// constraint name where the engine reports it, else by looking.
    async fn user_clash(
        &self,
        err: sqlx::Error,
        user: &domain::User,
    ) -> Result<UserClash, domain::StoreError> {
        let Some(crate::error::Violation::Unique(name)) = crate::error::violation(&err) else {
            return Err(crate::error::store("writing user")(err));
        };
        match name.as_deref() {
            Some("ix_users_email") => return Ok(UserClash::Email),
            Some("ix_users_username") => return Ok(UserClash::Username),
            Some(_) => return Err(crate::error::store("writing user")(err)),
            None => {}
        }
        let taken = |sql: &'static str, value: String| {
            let pool = self.pool().clone();
            async move {
                sqlx::query(sql)
                    .bind(value)
                    .bind(user.id.as_uuid())
                    .fetch_optional(&pool)
                    .await
                    .map(|r| r.is_some())
                    .map_err(crate::error::store("checking user uniqueness"))
            }
        };
        if taken(
            "SELECT 1 FROM users WHERE email_normalized = $1 AND id <> $2",
            user.email.normalized().into(),
        )
        .await?
        {
            Ok(UserClash::Email)
        } else if taken(
            "SELECT 1 FROM users WHERE username = $1 AND id <> $2",
            user.username.as_str().into(),
        )
        .await?
        {
            Ok(UserClash::Username)
        } else {
            Err(crate::error::store("writing user")(err))
        }
    }
}

#[async_trait::async_trait]
impl domain::UserRepository for Store {
    async fn create(&self, u: &domain::User) -> Result<(), domain::InsertUserError> {
        use sqlx::types::Json;
        let result = sqlx::query(
            "INSERT INTO users (id, email, email_normalized, username, password_hash, verified, locked, \
             locked_until, failed_logins, full_name, bio, avatar, preferences, \
             active_content_session_id, created_at, updated_at, last_accessed_at, security_changed_at, \
             suspension_reason, suspended_at, suspended_until, plan_name, plan_since, plan_until, \
             last_active_at, origin, website, location) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
             $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)",
        )
        .bind(u.id.as_uuid())
        .bind(u.email.as_str())
        .bind(u.email.normalized())
        .bind(u.username.as_str())
        .bind(u.password_hash.as_ref().map(|h| h.as_str()))
        .bind(u.verified)
        .bind(u.locked)
        .bind(u.locked_until.map(<Ts>::to_db))
        .bind(i64::from(u.failed_logins))
        .bind(u.profile.full_name.as_deref())
        .bind(u.profile.bio.as_deref())
        .bind(u.profile.avatar.as_deref())
        .bind(Json(&u.preferences))
        .bind(u.active_content_session_id.map(|c| c.as_uuid()))
        .bind(<Ts>::to_db(u.created_at))
        .bind(<Ts>::to_db(u.updated_at))
        .bind(u.last_accessed_at.map(<Ts>::to_db))
        .bind(<Ts>::to_db(u.security_changed_at))
        .bind(u.suspension.as_ref().map(|s| s.reason.as_str().to_owned()))
        .bind(u.suspension.as_ref().map(|s| <Ts>::to_db(s.since)))
        .bind(u.suspension.as_ref().and_then(|s| s.until.map(<Ts>::to_db)))
        .bind(u.plan.as_ref().map(|p| p.name.as_str().to_owned()))
        .bind(u.plan.as_ref().map(|p| <Ts>::to_db(p.since)))
        .bind(u.plan.as_ref().and_then(|p| p.until.map(<Ts>::to_db)))
        .bind(u.last_active_at.map(<Ts>::to_db))
        .bind(u.origin.as_ref().map(domain::UserOrigin::to_stored))
        .bind(u.profile.website.as_deref())
        .bind(u.profile.location.as_deref())
        .execute(self.pool())
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match self.user_clash(e, u).await? {
                UserClash::Email => Err(domain::InsertUserError::EmailTaken),
                UserClash::Username => Err(domain::InsertUserError::UsernameTaken),
            },
        }
    }

    async fn get(&self, id: domain::UserId) -> Result<Option<domain::User>, domain::StoreError> {
        sqlx::query("SELECT * FROM users WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("reading user"))?
            .as_ref()
            .map(Self::user_row)
            .transpose()
    }

    async fn find_by_email(
        &self,
        email: &domain::Email,
    ) -> Result<Option<domain::User>, domain::StoreError> {
        sqlx::query("SELECT * FROM users WHERE email_normalized = $1")
            .bind(email.normalized())
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("reading user by email"))?
            .as_ref()
            .map(Self::user_row)
            .transpose()
    }

    async fn find_by_username(
        &self,
        username: &domain::Username,
    ) -> Result<Option<domain::User>, domain::StoreError> {
        sqlx::query("SELECT * FROM users WHERE username = $1")
            .bind(username.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("reading user by username"))?
            .as_ref()
            .map(Self::user_row)
            .transpose()
    }

    async fn update_fields(
        &self,
        id: domain::UserId,
        c: &domain::UserChanges,
    ) -> Result<domain::FieldsUpdate, domain::WriteError> {
        use sqlx::types::Json;
        // One UPDATE that sets the named columns only; conditions go
        // in its WHERE, so a failed one writes nothing.
        let mut q = sqlx::QueryBuilder::<Db>::new("UPDATE users SET id = id");
        if let Some(hash) = &c.password_hash {
            q.push(", password_hash = ")
                .push_bind(hash.as_ref().map(|h| h.as_str().to_owned()));
        }
        if let Some(verified) = c.verified {
            q.push(", verified = ").push_bind(verified);
        }
        if let Some(locked) = c.locked {
            q.push(", locked = ").push_bind(locked);
        }
        for (column, value) in [
            ("full_name", &c.full_name),
            ("bio", &c.bio),
            ("avatar", &c.avatar),
            ("website", &c.website),
            ("location", &c.location),
        ] {
            if let Some(value) = value {
                q.push(format_args!(", {column} = "))
                    .push_bind(value.clone());
            }
        }
        if let Some(swap) = &c.preferences {
            q.push(", preferences = ").push_bind(Json(swap.to.clone()));
        }
        match c.active_content_session {
            Some(domain::ActiveSessionChange::Set(active)) => {
                q.push(", active_content_session_id = ")
                    .push_bind(active.map(|a| a.as_uuid()));
            }
            Some(domain::ActiveSessionChange::ClearIf(_)) => {
                q.push(", active_content_session_id = NULL");
            }
            None => {}
        }
        if let Some(at) = c.updated_at {
            q.push(", updated_at = ").push_bind(<Ts>::to_db(at));
        }
        if let Some(at) = c.security_changed_at {
            q.push(", security_changed_at = ")
                .push_bind(<Ts>::to_db(at));
        }
        if let Some(suspension) = &c.suspension {
            let s = suspension.as_ref();
            q.push(", suspension_reason = ")
                .push_bind(s.map(|s| s.reason.as_str().to_owned()))
                .push(", suspended_at = ")
                .push_bind(s.map(|s| <Ts>::to_db(s.since)))
                .push(", suspended_until = ")
                .push_bind(s.and_then(|s| s.until.map(<Ts>::to_db)));
        }
        if let Some(plan) = &c.plan {
            let p = plan.as_ref();
            q.push(", plan_name = ")
                .push_bind(p.map(|p| p.name.as_str().to_owned()))
                .push(", plan_since = ")
                .push_bind(p.map(|p| <Ts>::to_db(p.since)))
                .push(", plan_until = ")
                .push_bind(p.and_then(|p| p.until.map(<Ts>::to_db)));
        }
        q.push(" WHERE id = ").push_bind(id.as_uuid());
        if let Some(swap) = &c.preferences {
            q.push(" AND preferences = ")
                .push_bind(Json(swap.from.clone()));
        }
        if let Some(domain::ActiveSessionChange::ClearIf(session)) = c.active_content_session {
            q.push(" AND active_content_session_id = ")
                .push_bind(session.as_uuid());
        }
        let done = q
            .build()
            .execute(self.pool())
            .await
            .map_err(crate::error::store("updating user fields"))?;
        if done.rows_affected() > 0 {
            return Ok(domain::FieldsUpdate::Written);
        }
        let exists = sqlx::query("SELECT 1 FROM users WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("updating user fields"))?
            .is_some();
        if exists {
            Ok(domain::FieldsUpdate::ConditionFailed)
        } else {
            Err(domain::WriteError::NotFound)
        }
    }

    async fn increment_failed_logins(&self, id: domain::UserId) -> Result<u32, domain::WriteError> {
        let row: Option<(i64,)> = sqlx::query_as(
            "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins",
        )
        .bind(id.as_uuid())
        .fetch_optional(self.pool())
        .await
        .map_err(crate::error::store("counting a failed login"))?;
        let (count,) = row.ok_or(domain::WriteError::NotFound)?;
        Ok(u32::try_from(count).unwrap_or(u32::MAX))
    }

    async fn set_locked_until(
        &self,
        id: domain::UserId,
        until: Option<time::OffsetDateTime>,
    ) -> Result<(), domain::WriteError> {
        let done = sqlx::query("UPDATE users SET locked_until = $2 WHERE id = $1")
            .bind(id.as_uuid())
            .bind(until.map(<Ts>::to_db))
            .execute(self.pool())
            .await
            .map_err(crate::error::store("locking user"))?;
        domain::WriteError::found(done.rows_affected())
    }

    async fn record_sign_in(
        &self,
        id: domain::UserId,
        at: time::OffsetDateTime,
    ) -> Result<(), domain::WriteError> {
        let done = sqlx::query(
            "UPDATE users SET failed_logins = 0, locked_until = NULL, last_accessed_at = $2 WHERE id = $1",
        )
        .bind(id.as_uuid())
        .bind(<Ts>::to_db(at))
        .execute(self.pool())
        .await
        .map_err(crate::error::store("recording sign-in"))?;
        domain::WriteError::found(done.rows_affected())
    }

    async fn mark_active(
        &self,
        ids: &[domain::UserId],
        at: time::OffsetDateTime,
    ) -> Result<(), domain::StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let at = <Ts>::to_db(at);
        let mut q = sqlx::QueryBuilder::<Db>::new("UPDATE users SET last_active_at = ");
        q.push_bind(at)
            .push(" WHERE (last_active_at IS NULL OR last_active_at < ")
            .push_bind(at)
            .push(") AND id IN (");
        let mut list = q.separated(", ");
        for id in ids {
            list.push_bind(id.as_uuid());
        }
        q.push(")");
        q.build()
            .execute(self.pool())
            .await
            .map_err(crate::error::store("marking users active"))?;
        Ok(())
    }

    async fn count(&self, filter: &domain::UserFilter) -> Result<u64, domain::StoreError> {
        let (conditions, args) = filter_sql(filter);
        let sql = format!("SELECT COUNT(*) FROM users WHERE TRUE{conditions}");
        let row = super::helpers::bind_args(sqlx::query(&sql), &args)
            .fetch_one(self.pool())
            .await
            .map_err(crate::error::store("counting users"))?;
        let n: i64 = sqlx::Row::try_get(&row, 0).map_err(crate::error::store("counting users"))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn list(
        &self,
        filter: &domain::UserFilter,
        page: domain::PageRequest,
    ) -> Result<domain::Page<domain::User>, domain::StoreError> {
        let (conditions, args) = filter_sql(filter);
        self.fetch_page(
            &format!("SELECT * FROM users WHERE TRUE{conditions}"),
            "",
            &args,
            page,
            "listing users",
            Self::user_row,
        )
        .await
    }

    async fn delete(&self, id: domain::UserId) -> Result<(), domain::WriteError> {
        domain::WriteError::found(
            self.exec_id(
                "DELETE FROM users WHERE id = $1",
                id.as_uuid(),
                "deleting user",
            )
            .await?,
        )
    }
}

/// Which unique key of `users` a write hit.
enum UserClash {
    Email,
    Username,
}

/// The conditions of `filter` (each ` AND …`) and their bind values, in
/// the terms of [`domain::UserFilter::matches`].
fn filter_sql(filter: &domain::UserFilter) -> (String, Vec<crate::repos::Arg>) {
    use crate::repos::Arg;
    use domain::UserStatus;
    if filter.is_empty() {
        return (String::new(), Vec::new());
    }
    // The time only where a condition reads it (an unused parameter has
    // no type to PostgreSQL).
    let mut args = Vec::new();
    if filter.status.is_some() || filter.plan.is_some() {
        args.push(Arg::Time(filter.at));
    }
    let at = "$1";
    let suspended = format!(
        "(suspension_reason IS NOT NULL AND (suspended_until IS NULL OR suspended_until > {at}))"
    );
    let locked = format!("(locked OR (locked_until IS NOT NULL AND locked_until > {at}))");
    let mut sql = String::new();
    if let Some(prefix) = &filter.prefix {
        // LIKE with `\`, `%` and `_` taken literally.
        let mut pattern = String::with_capacity(prefix.len() + 1);
        for c in prefix.chars() {
            if matches!(c, '\\' | '%' | '_') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('%');
        args.push(Arg::Text(pattern));
        let n = args.len();
        sql.push_str(&format!(
            " AND (email_normalized LIKE ${n} ESCAPE '\\' OR username LIKE ${n} ESCAPE '\\')"
        ));
    }
    if let Some(status) = filter.status {
        sql.push_str(" AND ");
        sql.push_str(&match status {
            UserStatus::Suspended => suspended,
            UserStatus::Locked => locked,
            UserStatus::Unverified => "NOT verified".to_owned(),
            UserStatus::Active => format!("verified AND NOT {suspended} AND NOT {locked}"),
        });
    }
    if let Some(plan) = &filter.plan {
        args.push(Arg::Text(plan.as_str().to_owned()));
        let n = args.len();
        let holds = format!("(plan_until IS NULL OR plan_until > {at})");
        sql.push_str(&if plan.is_free() {
            format!(" AND (plan_name IS NULL OR plan_name = ${n} OR NOT {holds})")
        } else {
            format!(" AND plan_name = ${n} AND {holds}")
        });
    }
    (sql, args)
}
