//! Port implementations. Each file is written once against the aliases
//! `Store`, `Db` (the sqlx database) and `Ts` (how the engine stores an
//! instant) and compiled twice, once in each engine's module below, so the
//! two engines share every query and differ only where the aliases do.

/// A leading bind value of a paged query.
pub(crate) enum Arg {
    /// An id.
    Id(uuid::Uuid),
    /// An instant, encoded the engine's way.
    Time(time::OffsetDateTime),
    /// A string.
    Text(String),
}

mod auth_changes;
mod feed;

mod postgres;
mod sqlite;

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
