//! Driver errors at the boundary: duplicate keys by code (11000), the rest
//! wrapped into the domain's opaque `StoreError`.

use domain::StoreError;
use mongodb::error::{ErrorKind, WriteFailure};

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum MongoError {
    /// The server is unreachable, the URL is invalid or authentication failed.
    #[error("cannot connect to MongoDB")]
    Connect(#[source] mongodb::error::Error),
    /// The indexes could not be created.
    #[error("cannot create MongoDB indexes")]
    Indexes(#[source] mongodb::error::Error),
}

/// MongoDB's duplicate key error code.
const DUPLICATE_KEY: i32 = 11000;

/// Whether `e` is a unique-index violation.
pub(crate) fn is_duplicate(e: &mongodb::error::Error) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
        ErrorKind::Command(c) => c.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(m) => m
            .write_errors
            .as_ref()
            .is_some_and(|errs| errs.iter().any(|w| w.code == DUPLICATE_KEY)),
        _ => false,
    }
}

/// Wraps a driver error with what was being done. A server that cannot be
/// reached (see [`is_unreachable`]) gives an unavailable [`StoreError`].
pub(crate) fn store(context: &'static str) -> impl Fn(mongodb::error::Error) -> StoreError {
    move |e| {
        if is_unreachable(&e) {
            StoreError::unavailable(context, e)
        } else {
            StoreError::with_source(context, e)
        }
    }
}

/// Whether `e` says no server could be reached: none selectable within the
/// server-selection timeout, a broken or timed-out connection, a pool cleared
/// after a network error, or a DNS failure. Decided by error kind.
pub(crate) fn is_unreachable(e: &mongodb::error::Error) -> bool {
    matches!(
        e.kind.as_ref(),
        ErrorKind::ServerSelection { .. }
            | ErrorKind::Io(_)
            | ErrorKind::ConnectionPoolCleared { .. }
            | ErrorKind::DnsResolve { .. }
    )
}

/// A document that does not have the shape this adapter writes.
pub(crate) fn corrupt(what: &str, field: &str) -> StoreError {
    StoreError::msg(format!(
        "{what}: field `{field}` is missing or has the wrong type"
    ))
}
