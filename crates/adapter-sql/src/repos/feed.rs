//! `NotificationFeed` and the engine-specific half of creating a notification.
//!
//! PostgreSQL announces each new notification with `pg_notify` inside the
//! inserting transaction (so it is delivered exactly when the row commits)
//! and subscribers `LISTEN` on the schema's channel. SQLite has no
//! notifications between processes: subscribers poll the `created_at` index
//! twice a second, re-reading a short window back so that rows committed
//! slightly out of time order are not missed.

use std::time::Duration;

use async_trait::async_trait;
use domain::{
    FeedEvent, FeedSubscription, NotificationId, PollSource, PolledRow, Poller, StoreError, UserId,
};
use sqlx::postgres::PgListener;
use sqlx::{Row, SqlitePool};
use uuid::Uuid;

use crate::engine::{PgStore, SqliteStore};
use crate::error::store;

/// How often a SQLite subscriber looks for new rows when it found none.
const POLL_EVERY: Duration = Duration::from_millis(500);
/// How far back each poll re-reads, for rows committed out of order.
const LOOKBACK: time::Duration = time::Duration::seconds(5);
/// Rows read per poll.
const POLL_BATCH: u32 = 500;

impl SqliteStore {
    pub(crate) async fn insert_and_announce(
        &self,
        n: &domain::Notification,
    ) -> Result<(), StoreError> {
        Self::insert_notification(self.pool(), n).await
    }
}

impl PgStore {
    pub(crate) async fn insert_and_announce(
        &self,
        n: &domain::Notification,
    ) -> Result<(), StoreError> {
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(store("creating notification"))?;
        Self::insert_notification(&mut *tx, n).await?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(self.channel())
            .bind(format!("{} {}", n.user_id, n.id))
            .execute(&mut *tx)
            .await
            .map_err(store("announcing notification"))?;
        tx.commit().await.map_err(store("creating notification"))
    }
}

#[async_trait]
impl domain::NotificationFeed for PgStore {
    async fn subscribe(&self) -> Result<Box<dyn FeedSubscription>, StoreError> {
        let mut listener = PgListener::connect_with(self.pool())
            .await
            .map_err(store("listening for notifications"))?;
        listener
            .listen(self.channel())
            .await
            .map_err(store("listening for notifications"))?;
        Ok(Box::new(PgSubscription(listener)))
    }
}

struct PgSubscription(PgListener);

#[async_trait]
impl FeedSubscription for PgSubscription {
    async fn next(&mut self) -> Result<FeedEvent, StoreError> {
        loop {
            let n = self
                .0
                .recv()
                .await
                .map_err(store("receiving notification announcements"))?;
            if let Some(event) = parse_payload(n.payload()) {
                return Ok(event);
            }
        }
    }
}

/// `"<user id> <notification id>"`.
fn parse_payload(payload: &str) -> Option<FeedEvent> {
    let (user, id) = payload.split_once(' ')?;
    Some(FeedEvent {
        user_id: UserId::from_uuid(Uuid::parse_str(user).ok()?),
        id: NotificationId::from_uuid(Uuid::parse_str(id).ok()?),
    })
}

#[async_trait]
impl domain::NotificationFeed for SqliteStore {
    async fn subscribe(&self) -> Result<Box<dyn FeedSubscription>, StoreError> {
        let source = SqliteSource {
            pool: self.pool().clone(),
        };
        Ok(Box::new(Poller::start(source, LOOKBACK, POLL_BATCH).await?))
    }
}

/// The notifications table, read the way a [`Poller`] needs.
struct SqliteSource {
    pool: SqlitePool,
}

impl SqliteSource {
    /// The rows (id, user_id, created_at) `query` returns.
    async fn rows<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    ) -> Result<Vec<PolledRow>, StoreError> {
        use crate::engine::{DbTime, col};
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(store("polling for notifications"))?;
        rows.iter()
            .map(|row| {
                let event = FeedEvent {
                    user_id: UserId::from_uuid(col(row, "user_id")?),
                    id: NotificationId::from_uuid(col(row, "id")?),
                };
                Ok((event, col::<i64, _>(row, "created_at")?.into_time()?))
            })
            .collect()
    }
}

#[async_trait]
impl PollSource for SqliteSource {
    async fn newest(&mut self) -> Result<time::OffsetDateTime, StoreError> {
        use crate::engine::DbTime;
        let newest: Option<i64> =
            sqlx::query("SELECT MAX(created_at) AS newest FROM notifications")
                .fetch_one(&self.pool)
                .await
                .map_err(store("listening for notifications"))?
                .try_get("newest")
                .map_err(store("listening for notifications"))?;
        newest.map_or(Ok(time::OffsetDateTime::UNIX_EPOCH), i64::into_time)
    }

    async fn after(
        &mut self,
        (at, id): (time::OffsetDateTime, Uuid),
        batch: u32,
    ) -> Result<Vec<PolledRow>, StoreError> {
        use crate::engine::DbTime;
        self.rows(
            sqlx::query(
                "SELECT id, user_id, created_at FROM notifications \
                 WHERE (created_at, id) > ($1, $2) ORDER BY created_at, id LIMIT $3",
            )
            .bind(i64::to_db(at))
            .bind(id)
            .bind(i64::from(batch)),
        )
        .await
    }

    async fn between(
        &mut self,
        from: time::OffsetDateTime,
        to: time::OffsetDateTime,
        batch: u32,
    ) -> Result<Vec<PolledRow>, StoreError> {
        use crate::engine::DbTime;
        self.rows(
            sqlx::query(
                "SELECT id, user_id, created_at FROM notifications \
                 WHERE created_at > $1 AND created_at <= $2 ORDER BY created_at DESC LIMIT $3",
            )
            .bind(i64::to_db(from))
            .bind(i64::to_db(to))
            .bind(i64::from(batch)),
        )
        .await
    }

    async fn pause(&mut self) {
        tokio::time::sleep(POLL_EVERY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips_and_junk_is_skipped() {
        let user = Uuid::from_u128(1);
        let id = Uuid::from_u128(2);
        assert_eq!(
            parse_payload(&format!("{user} {id}")),
            Some(FeedEvent {
                user_id: UserId::from_uuid(user),
                id: NotificationId::from_uuid(id)
            })
        );
        assert_eq!(parse_payload("nonsense"), None);
        assert_eq!(parse_payload(&format!("{user} x")), None);
    }
}
