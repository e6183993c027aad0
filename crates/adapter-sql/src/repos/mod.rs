//! Port implementations. Each file defines one macro holding a port family's
//! implementation and expands it for both engines with [`for_each_engine`].

/// Expands `$m!(store type, sqlx database, time representation)` for each engine.
macro_rules! for_each_engine {
    ($m:ident) => {
        $m!(crate::engine::SqliteStore, sqlx::Sqlite, i64);
        $m!(crate::engine::PgStore, sqlx::Postgres, time::OffsetDateTime);
    };
}

mod accounts;
mod content;
mod notifications;
mod payments;
mod rate_limit;
mod rbac;
mod uploads;
mod users;

/// `ORDER BY … LIMIT` tail of a newest-first page query, with the cursor
/// condition when resuming. `first` is the number of the first cursor
/// parameter (`$first` = created_at, `$first+1` = id, then the limit).
pub(crate) fn page_tail(table_alias: &str, resume: bool, first: usize) -> String {
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
pub(crate) fn overfetch(page: domain::PageRequest) -> i64 {
    i64::from(page.limit()) + 1
}
