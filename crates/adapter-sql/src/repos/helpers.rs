//! Query helpers shared by every port: `exec_id`, `purge_batch` and
//! `fetch_page`.

use crate::engine::DbTime;

use super::{Db, Store, Ts};

impl Store {
    /// Runs `sql` with `$1` bound to `id`; returns how many rows it changed.
    pub(crate) async fn exec_id(
        &self,
        sql: &str,
        id: uuid::Uuid,
        what: &'static str,
    ) -> Result<u64, domain::StoreError> {
        sqlx::query(sql)
            .bind(id)
            .execute(self.pool())
            .await
            .map(|d| d.rows_affected())
            .map_err(crate::error::store(what))
    }

    /// Deletes at most `limit` rows of `table` that are `expired` (a
    /// condition on `$1`, the time `now`), chosen by their key columns
    /// `key` (`id`, or `a, b, c`): one short statement per batch.
    pub(crate) async fn purge_batch(
        &self,
        table: &str,
        key: &str,
        expired: &str,
        now: time::OffsetDateTime,
        limit: u32,
        what: &'static str,
    ) -> Result<u64, domain::StoreError> {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE ({key}) IN \
             (SELECT {key} FROM {table} WHERE {expired} LIMIT $2)"
        ))
        .bind(<Ts>::to_db(now))
        .bind(i64::from(limit))
        .execute(self.pool())
        .await
        .map(|d| d.rows_affected())
        .map_err(crate::error::store(what))
    }

    /// Runs `select` (whose conditions use `$1..` for `args`) with the
    /// cursor condition, order and limit appended, and decodes one page.
    /// `alias` qualifies `created_at`/`id` when `select` names its table.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn fetch_page<T>(
        &self,
        select: &str,
        alias: &str,
        args: &[crate::repos::Arg],
        page: domain::PageRequest,
        what: &'static str,
        decode: fn(&<Db as sqlx::Database>::Row) -> Result<T, domain::StoreError>,
    ) -> Result<domain::Page<T>, domain::StoreError>
    where
        T: domain::Listed,
    {
        let tail = crate::repos::page_tail(alias, page.cursor().is_some(), args.len() + 1);
        let sql = format!("{select}{tail}");
        let mut q = bind_args(sqlx::query(&sql), args);
        if let Some(c) = page.cursor() {
            q = q.bind(<Ts>::to_db(c.at)).bind(c.id);
        }
        self.fetch_overfetched(q, page, what, decode).await
    }

    /// Runs `q` with the page's overfetching limit bound last, and decodes
    /// one page of its rows.
    pub(crate) async fn fetch_overfetched<'q, T>(
        &self,
        q: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>,
        page: domain::PageRequest,
        what: &'static str,
        decode: fn(&<Db as sqlx::Database>::Row) -> Result<T, domain::StoreError>,
    ) -> Result<domain::Page<T>, domain::StoreError>
    where
        T: domain::Listed,
    {
        let rows = q
            .bind(crate::repos::overfetch(page))
            .fetch_all(self.pool())
            .await
            .map_err(crate::error::store(what))?;
        let items = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        Ok(domain::Page::from_overfetch(items, page))
    }
}

/// `q` with `args` bound in order.
pub(crate) fn bind_args<'q>(
    mut q: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>,
    args: &'q [crate::repos::Arg],
) -> sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>> {
    for arg in args {
        q = match arg {
            crate::repos::Arg::Id(id) => q.bind(*id),
            crate::repos::Arg::Time(t) => q.bind(<Ts>::to_db(*t)),
            crate::repos::Arg::Text(s) => q.bind(s.as_str()),
        };
    }
    q
}
