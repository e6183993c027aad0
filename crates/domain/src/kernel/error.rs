//! The opaque infrastructure error every port returns when its backing system fails.

use std::error::Error as StdError;

/// An infrastructure failure behind a port: a lost connection, a timeout, a row
/// that cannot be decoded. Callers cannot act on it beyond retrying or reporting;
/// it carries the source chain for logs.
///
/// One distinction is kept because callers act on it: [`StoreError::is_unavailable`]
/// says the store could not be reached at all (refused or dropped connection,
/// connect or command timeout, no server selectable). That is a transient
/// outage a client should retry later (the HTTP server answers 503 with
/// `Retry-After`), not a defect. Adapters decide it from their driver's error
/// kind, never from message text.
#[derive(Debug, thiserror::Error)]
#[error("{context}")]
pub struct StoreError {
    context: String,
    unavailable: bool,
    busy: bool,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl StoreError {
    /// A failure described only by a message.
    pub fn msg(context: impl Into<String>) -> Self {
        Self {
            context: context.into(),
            unavailable: false,
            busy: false,
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
            unavailable: false,
            busy: false,
            source: Some(Box::new(source)),
        }
    }

    /// The store could not be reached: `source` is the connection failure or
    /// timeout. The operation may or may not have taken effect.
    pub fn unavailable(
        context: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        Self {
            context: context.into(),
            unavailable: true,
            busy: false,
            source: Some(Box::new(source)),
        }
    }

    /// The dependency is there but saturated: it refused the work at once
    /// rather than make the caller wait longer than it allows. Nothing was
    /// done; the caller should retry shortly (the HTTP server answers 503
    /// `overloaded` with `Retry-After`).
    pub fn busy(context: impl Into<String>) -> Self {
        Self {
            context: context.into(),
            unavailable: false,
            busy: true,
            source: None,
        }
    }

    /// Whether the work was refused because the dependency is saturated.
    pub fn is_busy(&self) -> bool {
        self.busy
    }

    /// Whether the store was unreachable (an outage to retry after), rather
    /// than a failure of the operation itself.
    pub fn is_unavailable(&self) -> bool {
        self.unavailable
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

impl WriteError {
    /// `NotFound` when a write changed (or matched) no record, for adapters
    /// whose drivers report a count.
    pub fn found(count: impl Into<i128>) -> Result<(), Self> {
        if count.into() == 0 {
            Err(Self::NotFound)
        } else {
            Ok(())
        }
    }
}

/// Error of creating a record that has a unique key.
#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    /// A record with the same unique key already exists.
    #[error("already exists")]
    Conflict,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
