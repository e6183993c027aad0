//! `AuthChangeFeed`.
//!
//! PostgreSQL sends each change with `pg_notify` on the schema's auth
//! channel, and subscribers `LISTEN`; a lost connection is reported as a
//! broken subscription (changes sent meanwhile are gone), and the listener
//! reconnects on the next read. SQLite has nothing between processes: each
//! change is a row of `auth_changes` with an increasing `seq`, subscribers
//! poll for rows past the last one they read twice a second, and rows older
//! than an hour are removed as new ones arrive. SQLite runs one writer at a
//! time, so `seq` commits in order and a subscriber that finds a hole knows
//! it fell behind the clean-up.

use std::time::Duration;

use async_trait::async_trait;
use domain::{AuthChange, AuthChangeSubscription, StoreError};
use sqlx::postgres::PgListener;
use sqlx::{Row, SqlitePool};

use crate::engine::{DbTime, PgStore, SqliteStore};
use crate::error::store;

/// How often a SQLite subscriber looks for new changes.
const POLL_EVERY: Duration = Duration::from_millis(500);
/// How long SQLite keeps a change.
const KEEP: time::Duration = time::Duration::hours(1);
/// Rows read per poll.
const POLL_BATCH: i64 = 500;

#[async_trait]
impl domain::AuthChangeFeed for PgStore {
    async fn publish(&self, change: AuthChange) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(self.auth_channel())
            .bind(change.encode())
            .execute(self.pool())
            .await
            .map(|_| ())
            .map_err(store("announcing an auth change"))
    }

    async fn subscribe(&self) -> Result<Box<dyn AuthChangeSubscription>, StoreError> {
        let mut listener = PgListener::connect_with(self.pool())
            .await
            .map_err(store("listening for auth changes"))?;
        listener
            .listen(self.auth_channel())
            .await
            .map_err(store("listening for auth changes"))?;
        Ok(Box::new(PgChanges(listener)))
    }
}

struct PgChanges(PgListener);

#[async_trait]
impl AuthChangeSubscription for PgChanges {
    async fn next(&mut self) -> Result<AuthChange, StoreError> {
        loop {
            match self.0.try_recv().await {
                Ok(Some(n)) => {
                    if let Some(change) = AuthChange::decode(n.payload()) {
                        return Ok(change);
                    }
                }
                // The connection dropped; the next read reconnects.
                Ok(None) => {
                    return Err(StoreError::msg(
                        "auth change feed reconnected; changes may have been missed",
                    ));
                }
                Err(e) => return Err(store("receiving auth changes")(e)),
            }
        }
    }
}

#[async_trait]
impl domain::AuthChangeFeed for SqliteStore {
    async fn publish(&self, change: AuthChange) -> Result<(), StoreError> {
        let now = time::OffsetDateTime::now_utc();
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(store("announcing an auth change"))?;
        sqlx::query("DELETE FROM auth_changes WHERE at < $1")
            .bind(i64::to_db(now - KEEP))
            .execute(&mut *tx)
            .await
            .map_err(store("announcing an auth change"))?;
        sqlx::query("INSERT INTO auth_changes (change, at) VALUES ($1, $2)")
            .bind(change.encode())
            .bind(i64::to_db(now))
            .execute(&mut *tx)
            .await
            .map_err(store("announcing an auth change"))?;
        tx.commit()
            .await
            .map_err(store("announcing an auth change"))
    }

    async fn subscribe(&self) -> Result<Box<dyn AuthChangeSubscription>, StoreError> {
        let last: Option<i64> = sqlx::query("SELECT MAX(seq) AS last FROM auth_changes")
            .fetch_one(self.pool())
            .await
            .and_then(|row| row.try_get("last"))
            .map_err(store("listening for auth changes"))?;
        Ok(Box::new(SqliteChanges {
            pool: self.pool().clone(),
            last,
            queue: std::collections::VecDeque::new(),
        }))
    }
}

struct SqliteChanges {
    pool: SqlitePool,
    /// The `seq` of the last change read; `None` while the table has held
    /// none since the subscription started (the next row may have any `seq`).
    last: Option<i64>,
    queue: std::collections::VecDeque<AuthChange>,
}

#[async_trait]
impl AuthChangeSubscription for SqliteChanges {
    async fn next(&mut self) -> Result<AuthChange, StoreError> {
        loop {
            if let Some(change) = self.queue.pop_front() {
                return Ok(change);
            }
            let rows = sqlx::query(
                "SELECT seq, change FROM auth_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(self.last.unwrap_or(0))
            .bind(POLL_BATCH)
            .fetch_all(&self.pool)
            .await
            .map_err(store("polling for auth changes"))?;
            if rows.is_empty() {
                tokio::time::sleep(POLL_EVERY).await;
                continue;
            }
            for row in rows {
                let seq: i64 = row
                    .try_get("seq")
                    .map_err(store("polling for auth changes"))?;
                if self.last.is_some_and(|last| seq != last + 1) {
                    // Rows in between were cleaned up before this read them.
                    self.last = Some(seq - 1);
                    return Err(StoreError::msg(
                        "auth change feed fell behind; changes may have been missed",
                    ));
                }
                self.last = Some(seq);
                let text: String = row
                    .try_get("change")
                    .map_err(store("polling for auth changes"))?;
                self.queue.extend(AuthChange::decode(&text));
            }
        }
    }
}
