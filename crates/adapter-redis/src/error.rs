//! Driver errors at the boundary.

use domain::StoreError;

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// The URL is invalid or the server does not answer.
    #[error("cannot connect to Redis")]
    Connect(#[source] fred::error::Error),
    /// The key prefix is empty or contains `{`, `}` or `:`.
    #[error("invalid Redis key prefix {0:?}: use letters, digits, `_` or `-`")]
    Prefix(String),
}

/// Wraps a driver error with what was being done. Connection failures,
/// timeouts and commands cancelled by a lost connection mean the server
/// could not be reached: an unavailable [`StoreError`].
pub(crate) fn store(context: &'static str) -> impl Fn(fred::error::Error) -> StoreError {
    move |e| {
        if is_unreachable(&e) {
            StoreError::unavailable(context, e)
        } else {
            StoreError::with_source(context, e)
        }
    }
}

/// Whether `e` says the server could not be reached, by fred's error kind.
pub(crate) fn is_unreachable(e: &fred::error::Error) -> bool {
    use fred::error::ErrorKind as K;
    matches!(
        e.kind(),
        K::IO | K::Timeout | K::Canceled | K::Backpressure | K::Routing | K::Cluster
    )
}

/// A record that does not have the shape this adapter writes.
pub(crate) fn corrupt(what: &str, field: &str) -> StoreError {
    StoreError::msg(format!("{what}: field `{field}` is missing or malformed"))
}
