//! `ActivityRepository`: one row per event, newest-first indexes per user
//! and overall.

use crate::engine::{DbTime, col, col_time};

use super::{Db, Store, Ts};

impl Store {
    fn activity_row(
        row: &<Db as sqlx::Database>::Row,
    ) -> Result<domain::ActivityEvent, domain::StoreError> {
        use crate::error::corrupt;
        use sqlx::types::Json;
        let actor_id =
            col::<Option<uuid::Uuid>, _>(row, "actor_id")?.map(domain::UserId::from_uuid);
        let kind: String = col(row, "kind")?;
        let actor_kind: String = col(row, "actor_kind")?;
        Ok(domain::ActivityEvent {
            id: domain::ActivityEventId::from_uuid(col(row, "id")?),
            kind: domain::ActivityKind::parse(&kind).ok_or_else(|| corrupt("kind"))?,
            at: col_time::<Ts, _>(row, "at")?,
            user_id: domain::UserId::from_uuid(col(row, "user_id")?),
            actor: domain::Actor::from_stored(&actor_kind, actor_id)
                .ok_or_else(|| corrupt("actor_kind"))?,
            ip: col(row, "ip")?,
            device: col::<Option<String>, _>(row, "device")?
                .as_deref()
                .map(domain::Device::from_stored),
            details: col::<Json<serde_json::Map<String, serde_json::Value>>, _>(row, "details")?.0,
        })
    }
}

#[async_trait::async_trait]
impl domain::ActivityRepository for Store {
    async fn append(&self, e: &domain::ActivityEvent) -> Result<(), domain::StoreError> {
        sqlx::query(
            "INSERT INTO activity_events (id, kind, at, user_id, actor_kind, actor_id, ip, device, details) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
        )
        .bind(e.id.as_uuid())
        .bind(e.kind.as_str())
        .bind(<Ts>::to_db(e.at))
        .bind(e.user_id.as_uuid())
        .bind(e.actor.kind())
        .bind(e.actor.user_id().map(|u| u.as_uuid()))
        .bind(e.ip.as_deref())
        .bind(e.device.as_ref().map(domain::Device::to_stored))
        .bind(sqlx::types::Json(&e.details))
        .execute(self.pool())
        .await
        .map_err(crate::error::store("appending an activity event"))?;
        Ok(())
    }

    async fn list(
        &self,
        f: &domain::ActivityFilter,
        page: domain::PageRequest,
    ) -> Result<domain::Page<domain::ActivityEvent>, domain::StoreError> {
        let mut q = sqlx::QueryBuilder::<Db>::new("SELECT * FROM activity_events WHERE TRUE");
        if let Some(user) = f.user_id {
            q.push(" AND user_id = ").push_bind(user.as_uuid());
        }
        if let Some(actor) = f.actor_id {
            q.push(" AND actor_id = ").push_bind(actor.as_uuid());
        }
        if let Some(kind) = f.kind {
            q.push(" AND kind = ").push_bind(kind.as_str());
        }
        if let Some(from) = f.from {
            q.push(" AND at >= ").push_bind(<Ts>::to_db(from));
        }
        if let Some(to) = f.to {
            q.push(" AND at < ").push_bind(<Ts>::to_db(to));
        }
        if let Some(c) = page.cursor() {
            q.push(" AND (at, id) < (")
                .push_bind(<Ts>::to_db(c.at))
                .push(", ")
                .push_bind(c.id)
                .push(")");
        }
        q.push(" ORDER BY at DESC, id DESC LIMIT ")
            .push_bind(i64::from(page.limit()) + 1);
        let rows = q
            .build()
            .fetch_all(self.pool())
            .await
            .map_err(crate::error::store("listing activity events"))?;
        let items = rows
            .iter()
            .map(Self::activity_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(domain::Page::from_overfetch(items, page))
    }

    async fn purge_before(
        &self,
        before: time::OffsetDateTime,
        limit: u32,
    ) -> Result<u64, domain::StoreError> {
        let done = sqlx::query(
            "DELETE FROM activity_events WHERE id IN \
             (SELECT id FROM activity_events WHERE at < $1 ORDER BY at, id LIMIT $2)",
        )
        .bind(<Ts>::to_db(before))
        .bind(i64::from(limit))
        .execute(self.pool())
        .await
        .map_err(crate::error::store("purging activity events"))?;
        Ok(done.rows_affected())
    }

    async fn delete_for_user(&self, user_id: domain::UserId) -> Result<u64, domain::StoreError> {
        let done = sqlx::query("DELETE FROM activity_events WHERE user_id = $1")
            .bind(user_id.as_uuid())
            .execute(self.pool())
            .await
            .map_err(crate::error::store("deleting a user's activity events"))?;
        Ok(done.rows_affected())
    }
}
