//! Errors of connecting and migrating, and the mapping of driver errors to domain errors.

use domain::StoreError;

/// Why the database could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// The URL names no engine this adapter supports.
    #[error("unsupported database URL: expected sqlite:… or postgres://…")]
    UnsupportedUrl,
    /// Connecting failed.
    #[error("cannot connect to the database")]
    Connect(#[source] sqlx::Error),
    /// A migration failed.
    #[error("database migration failed")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// SQLite extended result codes and PostgreSQL SQLSTATEs we act on.
const UNIQUE_CODES: &[&str] = &["2067", "1555", "23505"];
const FOREIGN_KEY_CODES: &[&str] = &["787", "23503"];

/// What a failed statement violated.
pub(crate) enum Violation {
    /// A unique constraint; its name where the engine reports it (PostgreSQL).
    Unique(Option<String>),
    /// A foreign key.
    ForeignKey,
}

/// Classifies a driver error by code.
pub(crate) fn violation(e: &sqlx::Error) -> Option<Violation> {
    let sqlx::Error::Database(db) = e else {
        return None;
    };
    let code = db.code()?;
    if UNIQUE_CODES.contains(&code.as_ref()) {
        Some(Violation::Unique(db.constraint().map(str::to_owned)))
    } else if FOREIGN_KEY_CODES.contains(&code.as_ref()) {
        Some(Violation::ForeignKey)
    } else {
        None
    }
}

/// Wraps a driver error with what was being done. A database that cannot
/// be reached (see [`is_unreachable`]) gives an unavailable [`StoreError`].
pub(crate) fn store(context: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| {
        if is_unreachable(&e) {
            StoreError::unavailable(context, e)
        } else {
            StoreError::with_source(context, e)
        }
    }
}

/// The outcome of an insert a unique constraint may refuse: that refusal is
/// [`domain::InsertError::Conflict`], anything else a failure of `doing`.
pub(crate) fn inserted<T>(
    result: Result<T, sqlx::Error>,
    doing: &'static str,
) -> Result<(), domain::InsertError> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if matches!(violation(&e), Some(Violation::Unique(_))) => {
            Err(domain::InsertError::Conflict)
        }
        Err(e) => Err(store(doing)(e).into()),
    }
}

/// The outcome of a write whose foreign key must find its parent row: a
/// missing parent is `missing`, anything else a failure of `doing`.
pub(crate) fn with_parent<T, E: From<StoreError>>(
    result: Result<T, sqlx::Error>,
    doing: &'static str,
    missing: E,
) -> Result<(), E> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if matches!(violation(&e), Some(Violation::ForeignKey)) => Err(missing),
        Err(e) => Err(store(doing)(e).into()),
    }
}

/// PostgreSQL SQLSTATEs that mean the server is going away or not taking
/// connections: class 08 (connection exception), 57P01-57P03 (shutdown,
/// crash recovery, starting up) and 53300 (too many connections).
const UNREACHABLE_STATES: &[&str] = &["57P01", "57P02", "57P03", "53300"];

/// Whether `e` says the database could not be reached: no connection could
/// be had within the acquire timeout, the connection broke, or the server is
/// shutting down or starting up. Decided by error kind and SQLSTATE.
pub(crate) fn is_unreachable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db
            .code()
            .is_some_and(|c| c.starts_with("08") || UNREACHABLE_STATES.contains(&c.as_ref())),
        _ => false,
    }
}

/// A stored value that does not parse back into a domain value.
pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::msg(format!("stored {what} is invalid"))
}
