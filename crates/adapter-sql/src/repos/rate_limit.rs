//! `RateLimiter`: one row per (key, window length, window start), incremented
//! by an atomic upsert.

use crate::engine::DbTime;

use super::{Store, Ts};

#[async_trait::async_trait]
impl domain::RateLimiter for Store {
    async fn hit(
        &self,
        key: &str,
        window: domain::Window,
        now: time::OffsetDateTime,
    ) -> Result<domain::WindowCount, domain::StoreError> {
        let bounds = window.bounds(now);
        let start = bounds.map_or(0, |(s, _)| s.unix_timestamp());
        let (count,): (i64,) = sqlx::query_as(
            "INSERT INTO rate_limit_counters (key, window_seconds, window_start, count, expires_at) \
             VALUES ($1, $2, $3, 1, $4) ON CONFLICT (key, window_seconds, window_start) \
             DO UPDATE SET count = rate_limit_counters.count + 1 RETURNING count",
        )
        .bind(key)
        .bind(i64::from(window.seconds()))
        .bind(start)
        .bind(bounds.map(|(_, end)| <Ts>::to_db(end)))
        .fetch_one(self.pool())
        .await
        .map_err(crate::error::store("counting a hit"))?;
        Ok(domain::WindowCount {
            count: u64::try_from(count).unwrap_or(0),
            resets_at: bounds.map(|(_, end)| end),
        })
    }

    async fn hit_many(
        &self,
        key: &str,
        windows: &[domain::Window],
        now: time::OffsetDateTime,
    ) -> Result<Vec<domain::WindowCount>, domain::StoreError> {
        let mut rows: Vec<(i64, i64, Option<time::OffsetDateTime>)> = windows
            .iter()
            .map(|w| {
                let bounds = w.bounds(now);
                (
                    i64::from(w.seconds()),
                    bounds.map_or(0, |(s, _)| s.unix_timestamp()),
                    bounds.map(|(_, end)| end),
                )
            })
            .collect();
        // Rows in one statement are locked in a fixed order (no
        // deadlock between two callers), and each at most once
        // (PostgreSQL refuses to upsert one row twice in a statement).
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        rows.sort_by_key(|r| r.0);
        if rows.windows(2).any(|pair| pair[0].0 == pair[1].0) {
            return domain::hit_in_turn(self, key, windows, now).await;
        }
        let values = (0..rows.len())
            .map(|i| {
                format!(
                    "(${}, ${}, ${}, 1, ${})",
                    4 * i + 1,
                    4 * i + 2,
                    4 * i + 3,
                    4 * i + 4
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO rate_limit_counters (key, window_seconds, window_start, count, expires_at) \
             VALUES {values} ON CONFLICT (key, window_seconds, window_start) \
             DO UPDATE SET count = rate_limit_counters.count + 1 RETURNING window_seconds, count"
        );
        let mut query = sqlx::query_as::<_, (i64, i64)>(&sql);
        for (seconds, start, end) in &rows {
            query = query
                .bind(key)
                .bind(*seconds)
                .bind(*start)
                .bind(end.map(<Ts>::to_db));
        }
        let counted = query
            .fetch_all(self.pool())
            .await
            .map_err(crate::error::store("counting hits"))?;
        windows
            .iter()
            .map(|w| {
                let seconds = i64::from(w.seconds());
                let (_, count) = counted.iter().find(|(s, _)| *s == seconds).ok_or_else(|| {
                    domain::StoreError::msg(format!("no count returned for the {seconds} s window"))
                })?;
                Ok(domain::WindowCount {
                    count: u64::try_from(*count).unwrap_or(0),
                    resets_at: w.bounds(now).map(|(_, end)| end),
                })
            })
            .collect()
    }

    async fn peek(
        &self,
        key: &str,
        window: domain::Window,
        now: time::OffsetDateTime,
    ) -> Result<u64, domain::StoreError> {
        let start = window.bounds(now).map_or(0, |(s, _)| s.unix_timestamp());
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT count FROM rate_limit_counters WHERE key = $1 AND window_seconds = $2 AND window_start = $3",
        )
        .bind(key)
        .bind(i64::from(window.seconds()))
        .bind(start)
        .fetch_optional(self.pool())
        .await
        .map_err(crate::error::store("reading a counter"))?;
        Ok(row.map_or(0, |(c,)| u64::try_from(c).unwrap_or(0)))
    }

    async fn add_batch(
        &self,
        additions: &[domain::Addition],
        windows: &[domain::Window],
    ) -> Result<Vec<Vec<domain::WindowCount>>, domain::StoreError> {
        let (counters, slots) = domain::fold_additions(additions, windows);
        let mut values = vec![0_u64; counters.len()];
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(crate::error::store("adding counts"))?;
        // 5 parameters a row, well under either engine's limit per statement.
        for (chunk_no, chunk) in counters.chunks(500).enumerate() {
            let rows = (0..chunk.len())
                .map(|i| {
                    let p = 5 * i;
                    format!(
                        "(${}, ${}, ${}, ${}, ${})",
                        p + 1,
                        p + 2,
                        p + 3,
                        p + 4,
                        p + 5
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO rate_limit_counters (key, window_seconds, window_start, count, expires_at) \
                 VALUES {rows} ON CONFLICT (key, window_seconds, window_start) \
                 DO UPDATE SET count = rate_limit_counters.count + excluded.count \
                 RETURNING key, window_seconds, window_start, count"
            );
            let mut query = sqlx::query_as::<_, (String, i64, i64, i64)>(&sql);
            for c in chunk {
                query = query
                    .bind(&c.key)
                    .bind(i64::from(c.window_seconds))
                    .bind(c.window_start.unix_timestamp())
                    .bind(i64::try_from(c.n).unwrap_or(i64::MAX))
                    .bind(c.window_end.map(<Ts>::to_db));
            }
            let returned = query
                .fetch_all(&mut *tx)
                .await
                .map_err(crate::error::store("adding counts"))?;
            let base = chunk_no * 500;
            for (key, seconds, start, count) in returned {
                let at = chunk
                    .iter()
                    .position(|c| {
                        c.key == key
                            && i64::from(c.window_seconds) == seconds
                            && c.window_start.unix_timestamp() == start
                    })
                    .ok_or_else(|| domain::StoreError::msg("an added count came back unasked"))?;
                values[base + at] = u64::try_from(count).unwrap_or(0);
            }
        }
        tx.commit()
            .await
            .map_err(crate::error::store("adding counts"))?;
        Ok(domain::unfold_counts(&counters, &slots, &values))
    }

    async fn give_back(
        &self,
        key: &str,
        window: domain::Window,
        now: time::OffsetDateTime,
    ) -> Result<(), domain::StoreError> {
        let start = window.bounds(now).map_or(0, |(s, _)| s.unix_timestamp());
        sqlx::query(
            "UPDATE rate_limit_counters SET count = count - 1 \
             WHERE key = $1 AND window_seconds = $2 AND window_start = $3 AND count > 0",
        )
        .bind(key)
        .bind(i64::from(window.seconds()))
        .bind(start)
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(crate::error::store("giving back a hit"))
    }

    async fn forget(&self, key: &str) -> Result<(), domain::StoreError> {
        sqlx::query("DELETE FROM rate_limit_counters WHERE key = $1")
            .bind(key)
            .execute(self.pool())
            .await
            .map(|_| ())
            .map_err(crate::error::store("forgetting counters"))
    }

    async fn purge_expired(
        &self,
        now: time::OffsetDateTime,
        limit: u32,
    ) -> Result<u64, domain::StoreError> {
        self.purge_batch(
            "rate_limit_counters",
            "key, window_seconds, window_start",
            "expires_at IS NOT NULL AND expires_at <= $1",
            now,
            limit,
            "purging counters",
        )
        .await
    }
}
