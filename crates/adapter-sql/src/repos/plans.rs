//! `PlanRepository`.

use crate::engine::{DbTime, col, col_time};

use super::{Db, Store, Ts};

/// A limit as the engine keeps it (a signed 64-bit integer).
fn limit_to_db(limit: Option<u64>) -> Option<i64> {
    limit.map(|l| i64::try_from(l).unwrap_or(i64::MAX))
}

impl Store {
    fn plan_row(row: &<Db as sqlx::Database>::Row) -> Result<domain::Plan, domain::StoreError> {
        use sqlx::types::Json;
        let limit = |column: &'static str| -> Result<Option<u64>, domain::StoreError> {
            col::<Option<i64>, _>(row, column)?
                .map(|l| u64::try_from(l).map_err(|_| crate::error::corrupt(column)))
                .transpose()
        };
        Ok(domain::Plan {
            name: domain::PlanName::from_stored(col::<String, _>(row, "name")?),
            display_name: domain::PlanDisplayName::from_stored(col::<String, _>(
                row,
                "display_name",
            )?),
            daily_limit: limit("daily_limit")?,
            monthly_limit: limit("monthly_limit")?,
            features: col::<Json<Vec<String>>, _>(row, "features")?
                .0
                .into_iter()
                .map(domain::Feature::from_stored)
                .collect(),
            created_at: col_time::<Ts, _>(row, "created_at")?,
            updated_at: col_time::<Ts, _>(row, "updated_at")?,
        })
    }
}

fn feature_list(features: &[domain::Feature]) -> sqlx::types::Json<Vec<&str>> {
    sqlx::types::Json(features.iter().map(domain::Feature::as_str).collect())
}

#[async_trait::async_trait]
impl domain::PlanRepository for Store {
    async fn create(&self, p: &domain::Plan) -> Result<(), domain::InsertPlanError> {
        let result = sqlx::query(
            "INSERT INTO plans (name, display_name, daily_limit, monthly_limit, features, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(p.name.as_str())
        .bind(p.display_name.as_str())
        .bind(limit_to_db(p.daily_limit))
        .bind(limit_to_db(p.monthly_limit))
        .bind(feature_list(&p.features))
        .bind(<Ts>::to_db(p.created_at))
        .bind(<Ts>::to_db(p.updated_at))
        .execute(self.pool())
        .await;
        crate::error::inserted(result, "creating plan").map_err(|e| match e {
            domain::InsertError::Conflict => domain::InsertPlanError::Duplicate,
            domain::InsertError::Store(e) => domain::InsertPlanError::Store(e),
        })
    }

    async fn get(
        &self,
        name: &domain::PlanName,
    ) -> Result<Option<domain::Plan>, domain::StoreError> {
        sqlx::query("SELECT * FROM plans WHERE name = $1")
            .bind(name.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("reading plan"))?
            .as_ref()
            .map(Self::plan_row)
            .transpose()
    }

    async fn list(&self) -> Result<Vec<domain::Plan>, domain::StoreError> {
        let rows = sqlx::query("SELECT * FROM plans ORDER BY name")
            .fetch_all(self.pool())
            .await
            .map_err(crate::error::store("listing plans"))?;
        rows.iter().map(Self::plan_row).collect()
    }

    async fn update(
        &self,
        name: &domain::PlanName,
        c: &domain::PlanChanges,
    ) -> Result<(), domain::WriteError> {
        // `name = name` keeps the statement valid when nothing is named.
        let mut q = sqlx::QueryBuilder::<Db>::new("UPDATE plans SET name = name");
        if let Some(display_name) = &c.display_name {
            q.push(", display_name = ")
                .push_bind(display_name.as_str().to_owned());
        }
        if let Some(limit) = c.daily_limit {
            q.push(", daily_limit = ").push_bind(limit_to_db(limit));
        }
        if let Some(limit) = c.monthly_limit {
            q.push(", monthly_limit = ").push_bind(limit_to_db(limit));
        }
        if let Some(features) = &c.features {
            let list: Vec<String> = features.iter().map(|f| f.as_str().to_owned()).collect();
            q.push(", features = ").push_bind(sqlx::types::Json(list));
        }
        if let Some(at) = c.updated_at {
            q.push(", updated_at = ").push_bind(<Ts>::to_db(at));
        }
        q.push(" WHERE name = ").push_bind(name.as_str().to_owned());
        let done = q
            .build()
            .execute(self.pool())
            .await
            .map_err(crate::error::store("updating plan"))?;
        domain::WriteError::found(done.rows_affected())
    }

    async fn delete(&self, name: &domain::PlanName) -> Result<(), domain::WriteError> {
        let done = sqlx::query("DELETE FROM plans WHERE name = $1")
            .bind(name.as_str())
            .execute(self.pool())
            .await
            .map_err(crate::error::store("deleting plan"))?;
        domain::WriteError::found(done.rows_affected())
    }
}
