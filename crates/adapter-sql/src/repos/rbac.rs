//! `RoleRepository`.

use crate::engine::{DbTime, col, col_time};

use super::{Db, Store, Ts};

impl Store {
    fn role_row(row: &<Db as sqlx::Database>::Row) -> Result<domain::Role, domain::StoreError> {
        use sqlx::types::Json;
        let permissions = col::<Json<Vec<String>>, _>(row, "permissions")?
            .0
            .iter()
            .map(|p| domain::Permission::parse(p).map_err(|_| crate::error::corrupt("permission")))
            .collect::<Result<_, _>>()?;
        Ok(domain::Role {
            name: domain::RoleName::parse(&col::<String, _>(row, "name")?)
                .map_err(|_| crate::error::corrupt("role name"))?,
            description: col(row, "description")?,
            permissions,
            created_at: col_time::<Ts, _>(row, "created_at")?,
            updated_at: col_time::<Ts, _>(row, "updated_at")?,
        })
    }
}

#[async_trait::async_trait]
impl domain::RoleRepository for Store {
    async fn create(&self, r: &domain::Role) -> Result<(), domain::InsertError> {
        let permissions: Vec<&str> = r.permissions.iter().map(|p| p.as_str()).collect();
        let result = sqlx::query(
            "INSERT INTO roles (name, description, permissions, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(r.name.as_str())
        .bind(r.description.as_deref())
        .bind(sqlx::types::Json(permissions))
        .bind(<Ts>::to_db(r.created_at))
        .bind(<Ts>::to_db(r.updated_at))
        .execute(self.pool())
        .await;
        crate::error::inserted(result, "creating role")
    }

    async fn get(
        &self,
        name: &domain::RoleName,
    ) -> Result<Option<domain::Role>, domain::StoreError> {
        sqlx::query("SELECT * FROM roles WHERE name = $1")
            .bind(name.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("reading role"))?
            .as_ref()
            .map(Self::role_row)
            .transpose()
    }

    async fn list(&self) -> Result<Vec<domain::Role>, domain::StoreError> {
        let rows = sqlx::query("SELECT * FROM roles ORDER BY name")
            .fetch_all(self.pool())
            .await
            .map_err(crate::error::store("listing roles"))?;
        rows.iter().map(Self::role_row).collect()
    }

    async fn update_fields(
        &self,
        name: &domain::RoleName,
        c: &domain::RoleChanges,
    ) -> Result<(), domain::WriteError> {
        let mut q = sqlx::QueryBuilder::<Db>::new("UPDATE roles SET updated_at = ");
        q.push_bind(<Ts>::to_db(c.updated_at));
        if let Some(description) = &c.description {
            q.push(", description = ").push_bind(description.clone());
        }
        if let Some(permissions) = &c.permissions {
            let list: Vec<String> = permissions.iter().map(|p| p.as_str().to_owned()).collect();
            q.push(", permissions = ")
                .push_bind(sqlx::types::Json(list));
        }
        q.push(" WHERE name = ").push_bind(name.as_str().to_owned());
        let done = q
            .build()
            .execute(self.pool())
            .await
            .map_err(crate::error::store("updating role"))?;
        domain::WriteError::found(done.rows_affected())
    }

    async fn delete(&self, name: &domain::RoleName) -> Result<(), domain::WriteError> {
        // Grants go with the role (ON DELETE CASCADE).
        let done = sqlx::query("DELETE FROM roles WHERE name = $1")
            .bind(name.as_str())
            .execute(self.pool())
            .await
            .map_err(crate::error::store("deleting role"))?;
        domain::WriteError::found(done.rows_affected())
    }

    async fn grant(
        &self,
        user_id: domain::UserId,
        role: &domain::RoleName,
        at: time::OffsetDateTime,
    ) -> Result<(), domain::GrantWriteError> {
        let result = sqlx::query(
            "INSERT INTO user_roles (user_id, role_name, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, role_name) DO NOTHING",
        )
        .bind(user_id.as_uuid())
        .bind(role.as_str())
        .bind(<Ts>::to_db(at))
        .execute(self.pool())
        .await;
        crate::error::with_parent(
            result,
            "granting role",
            domain::GrantWriteError::RoleNotFound,
        )
    }

    async fn revoke(
        &self,
        user_id: domain::UserId,
        role: &domain::RoleName,
    ) -> Result<(), domain::WriteError> {
        let done = sqlx::query("DELETE FROM user_roles WHERE user_id = $1 AND role_name = $2")
            .bind(user_id.as_uuid())
            .bind(role.as_str())
            .execute(self.pool())
            .await
            .map_err(crate::error::store("revoking role"))?;
        domain::WriteError::found(done.rows_affected())
    }

    async fn revoke_unless_last(
        &self,
        user_id: domain::UserId,
        role: &domain::RoleName,
    ) -> Result<domain::LastHolder, domain::WriteError> {
        let store = crate::error::store("revoking role");
        let mut tx = self.pool().begin().await.map_err(&store)?;
        // PostgreSQL: hold the role's row so that concurrent
        // revocations count the holders one after another (each
        // DELETE below then sees the others' commits). SQLite runs one
        // writer at a time, so its single statement is enough.
        if <Db as sqlx::Database>::NAME == "PostgreSQL" {
            sqlx::query("SELECT name FROM roles WHERE name = $1 FOR UPDATE")
                .bind(role.as_str())
                .fetch_optional(&mut *tx)
                .await
                .map_err(&store)?;
        }
        let done = sqlx::query(
            "DELETE FROM user_roles WHERE user_id = $1 AND role_name = $2 \
             AND (SELECT COUNT(*) FROM user_roles WHERE role_name = $2) > 1",
        )
        .bind(user_id.as_uuid())
        .bind(role.as_str())
        .execute(&mut *tx)
        .await
        .map_err(&store)?;
        let outcome = if done.rows_affected() > 0 {
            Ok(domain::LastHolder::Revoked)
        } else {
            let held =
                sqlx::query("SELECT 1 FROM user_roles WHERE user_id = $1 AND role_name = $2")
                    .bind(user_id.as_uuid())
                    .bind(role.as_str())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(&store)?
                    .is_some();
            if held {
                Ok(domain::LastHolder::Kept)
            } else {
                Err(domain::WriteError::NotFound)
            }
        };
        tx.commit().await.map_err(&store)?;
        outcome
    }

    async fn roles_of(
        &self,
        user_id: domain::UserId,
    ) -> Result<Vec<domain::Role>, domain::StoreError> {
        let rows = sqlx::query(
            "SELECT r.* FROM roles r JOIN user_roles g ON g.role_name = r.name WHERE g.user_id = $1 \
             ORDER BY r.name",
        )
        .bind(user_id.as_uuid())
        .fetch_all(self.pool())
        .await
        .map_err(crate::error::store("reading user roles"))?;
        rows.iter().map(Self::role_row).collect()
    }

    async fn delete_for_user(&self, user_id: domain::UserId) -> Result<u64, domain::StoreError> {
        self.exec_id(
            "DELETE FROM user_roles WHERE user_id = $1",
            user_id.as_uuid(),
            "deleting grants",
        )
        .await
    }
}
