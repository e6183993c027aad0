//! Port implementations. Each file defines one macro holding a port family's
//! implementation and expands it for both engines with [`for_each_engine`].

/// Expands `$m!(store type, sqlx database, time representation)` for each engine.
macro_rules! for_each_engine {
    ($m:ident) => {
        $m!(crate::engine::SqliteStore, sqlx::Sqlite, i64);
        $m!(crate::engine::PgStore, sqlx::Postgres, time::OffsetDateTime);
    };
}

/// A leading bind value of a paged query.
pub(crate) enum Arg {
    /// An id.
    Id(uuid::Uuid),
    /// An instant, encoded the engine's way.
    Time(time::OffsetDateTime),
}

/// Query helpers shared by every port: `exec_id` and `fetch_page`.
macro_rules! impl_helpers {
    ($store:ty, $db:ty, $ts:ty) => {
        impl $store {
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
                decode: fn(&<$db as sqlx::Database>::Row) -> Result<T, domain::StoreError>,
            ) -> Result<domain::Page<T>, domain::StoreError>
            where
                T: domain::Listed,
            {
                use crate::engine::DbTime;
                let tail = crate::repos::page_tail(alias, page.cursor().is_some(), args.len() + 1);
                let sql = format!("{select}{tail}");
                let mut q = sqlx::query(&sql);
                for arg in args {
                    q = match arg {
                        crate::repos::Arg::Id(id) => q.bind(*id),
                        crate::repos::Arg::Time(t) => q.bind(<$ts>::to_db(*t)),
                    };
                }
                if let Some(c) = page.cursor() {
                    q = q.bind(<$ts>::to_db(c.at)).bind(c.id);
                }
                let rows = q
                    .bind(crate::repos::overfetch(page))
                    .fetch_all(self.pool())
                    .await
                    .map_err(crate::error::store(what))?;
                let items = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
                Ok(domain::Page::from_overfetch(items, page))
            }
        }
    };
}

for_each_engine!(impl_helpers);

mod accounts;
mod content;
mod feed;
mod leases;
mod mail_queue;
mod notifications;
mod payments;
mod rate_limit;
mod rbac;
mod uploads;
mod users;

/// `ORDER BY … LIMIT` tail of a newest-first page query, with the cursor
/// condition when resuming. `first` is the number of the first cursor
/// parameter (`$first` = created_at, `$first+1` = id, then the limit).
fn page_tail(table_alias: &str, resume: bool, first: usize) -> String {
    let p = |c: &str| {
        if table_alias.is_empty() {
            c.to_owned()
        } else {
            format!("{table_alias}.{c}")
        }
    };
    let (created, id) = (p("created_at"), p("id"));
    if resume {
        format!(
            " AND ({created}, {id}) < (${first}, ${second}) ORDER BY {created} DESC, {id} DESC LIMIT ${third}",
            second = first + 1,
            third = first + 2
        )
    } else {
        format!(" ORDER BY {created} DESC, {id} DESC LIMIT ${first}")
    }
}

/// Rows to fetch for a page: one more than asked, to know whether another page exists.
fn overfetch(page: domain::PageRequest) -> i64 {
    i64::from(page.limit()) + 1
}
