//! `StatsRepository`: `daily_stats`, one row per day keyed by its
//! `YYYY-MM-DD` date; adds are one upsert that sums.

use crate::engine::col;

use super::{Db, Store};

use domain::day_key;

/// A count column (never negative).
fn count(row: &<Db as sqlx::Database>::Row, name: &str) -> Result<u64, domain::StoreError> {
    u64::try_from(col::<i64, _>(row, name)?).map_err(|_| crate::error::corrupt(name))
}

/// A signed count from a `u64` (the sums never come near `i64::MAX`).
fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store {
    fn day_row(row: &<Db as sqlx::Database>::Row) -> Result<domain::DayStats, domain::StoreError> {
        let day: String = col(row, "day")?;
        let date = domain::parse_day(&day).ok_or_else(|| crate::error::corrupt("day"))?;
        let totals = if col::<bool, _>(row, "rolled_up")? {
            Some(domain::Totals {
                users_total: count(row, "users_total")?,
                users_verified: count(row, "users_verified")?,
                users_suspended: count(row, "users_suspended")?,
                sessions_active: col::<Option<i64>, _>(row, "sessions_active")?
                    .map(|n| u64::try_from(n).map_err(|_| crate::error::corrupt("sessions_active")))
                    .transpose()?,
            })
        } else {
            None
        };
        Ok(domain::DayStats {
            date,
            counts: domain::DayCounts {
                users_new: count(row, "users_new")?,
                users_deleted: count(row, "users_deleted")?,
                users_active: count(row, "users_active")?,
                sign_ins: count(row, "sign_ins")?,
                sign_in_failures: count(row, "sign_in_failures")?,
                requests: count(row, "requests")?,
            },
            totals,
        })
    }
}

#[async_trait::async_trait]
impl domain::StatsRepository for Store {
    async fn add(&self, date: time::Date, c: &domain::DayCounts) -> Result<(), domain::StoreError> {
        sqlx::query(
            "INSERT INTO daily_stats (day, users_new, users_deleted, users_active, sign_ins, \
             sign_in_failures, requests) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (day) DO UPDATE SET \
             users_new = daily_stats.users_new + excluded.users_new, \
             users_deleted = daily_stats.users_deleted + excluded.users_deleted, \
             users_active = daily_stats.users_active + excluded.users_active, \
             sign_ins = daily_stats.sign_ins + excluded.sign_ins, \
             sign_in_failures = daily_stats.sign_in_failures + excluded.sign_in_failures, \
             requests = daily_stats.requests + excluded.requests",
        )
        .bind(day_key(date))
        .bind(signed(c.users_new))
        .bind(signed(c.users_deleted))
        .bind(signed(c.users_active))
        .bind(signed(c.sign_ins))
        .bind(signed(c.sign_in_failures))
        .bind(signed(c.requests))
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(crate::error::store("adding to the day's statistics"))
    }

    async fn set_totals(
        &self,
        date: time::Date,
        t: &domain::Totals,
    ) -> Result<(), domain::StoreError> {
        sqlx::query(
            "INSERT INTO daily_stats (day, rolled_up, users_total, users_verified, users_suspended, \
             sessions_active) VALUES ($1, TRUE, $2, $3, $4, $5) \
             ON CONFLICT (day) DO UPDATE SET rolled_up = TRUE, \
             users_total = excluded.users_total, users_verified = excluded.users_verified, \
             users_suspended = excluded.users_suspended, sessions_active = excluded.sessions_active",
        )
        .bind(day_key(date))
        .bind(signed(t.users_total))
        .bind(signed(t.users_verified))
        .bind(signed(t.users_suspended))
        .bind(t.sessions_active.map(signed))
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(crate::error::store("setting the day's totals"))
    }

    async fn days(
        &self,
        from: time::Date,
        to: time::Date,
    ) -> Result<Vec<domain::DayStats>, domain::StoreError> {
        sqlx::query("SELECT * FROM daily_stats WHERE day >= $1 AND day <= $2 ORDER BY day")
            .bind(day_key(from))
            .bind(day_key(to))
            .fetch_all(self.pool())
            .await
            .map_err(crate::error::store("reading daily statistics"))?
            .iter()
            .map(Self::day_row)
            .collect()
    }
}
