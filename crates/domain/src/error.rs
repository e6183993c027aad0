//! The opaque infrastructure error every port returns when its backing system fails.

use std::error::Error as StdError;

/// An infrastructure failure behind a port: a lost connection, a timeout, a row
/// that cannot be decoded. Callers cannot act on it beyond retrying or reporting;
/// it carries the source chain for logs.
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
pub struct StoreError {
    context: String,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl StoreError {
    /// A failure described only by a message.
    pub fn msg(context: impl Into<String>) -> Self {
        Self {
            context: context.into(),
            source: None,
        }
    }

    /// A failure caused by `source`, with a short description of what was attempted.
    pub fn with_source(
        context: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Self {
            context: context.into(),
            source: Some(Box::new(source)),
        }
    }
}

/// Error of a write to an existing record.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// No record with that key exists (or it has expired).
    #[error("not found")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Error of creating a record that has a unique key.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// A record with the same unique key already exists.
    #[error("already exists")]
    Conflict,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
