//! Why content-session operations fail: one enum per operation, each
//! with only the failures that operation can have.

use crate::{StoreError, WriteError};

/// Why an operation on one content session failed: reading, deleting or
/// choosing it, and listing its data or messages.
#[derive(Debug, thiserror::Error)]
pub enum ContentSessionError {
    /// No such session, or it belongs to someone else (not told apart, so ids do not leak).
    #[error("content session not found")]
    NotFound,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why creating a content session failed.
#[derive(Debug, thiserror::Error)]
pub enum CreateSessionError {
    /// The name is longer than the limit.
    #[error("the name is longer than {max} characters")]
    NameTooLong {
        /// The limit, in characters.
        max: usize,
    },
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why renaming a content session failed.
#[derive(Debug, thiserror::Error)]
pub enum RenameError {
    /// See [`ContentSessionError::NotFound`].
    #[error("content session not found")]
    NotFound,
    /// The name is longer than the limit.
    #[error("the name is longer than {max} characters")]
    NameTooLong {
        /// The limit, in characters.
        max: usize,
    },
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why storing a value under a storage key failed.
#[derive(Debug, thiserror::Error)]
pub enum PutDataError {
    /// See [`ContentSessionError::NotFound`].
    #[error("content session not found")]
    NotFound,
    /// The value's JSON is larger than the limit.
    #[error("the value is larger than {max} bytes")]
    ValueTooLarge {
        /// The limit, in bytes of JSON.
        max: usize,
    },
    /// The key is new and the session already holds the most keys allowed.
    #[error("the session holds the most storage keys allowed ({max})")]
    KeyLimit {
        /// The limit, in keys.
        max: usize,
    },
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why reading or removing the value under a storage key failed.
#[derive(Debug, thiserror::Error)]
pub enum DataKeyError {
    /// See [`ContentSessionError::NotFound`].
    #[error("content session not found")]
    NotFound,
    /// The session holds nothing under the key.
    #[error("no such storage key in the session")]
    KeyNotFound,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why posting a message failed.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// Posting as assistant or system needs `content:post_as`.
    #[error(transparent)]
    Forbidden(#[from] crate::Denied),
    /// See [`ContentSessionError::NotFound`].
    #[error("content session not found")]
    NotFound,
    /// The text is empty or only white space.
    #[error("the message is empty")]
    Empty,
    /// The text is longer than the limit.
    #[error("the message is longer than {max} characters")]
    TooLong {
        /// The limit, in characters.
        max: usize,
    },
    /// The reply's parent is not a message of this session.
    #[error("parent message not found in this session")]
    ParentNotFound,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

unexpected_from_store!(
    ContentSessionError,
    CreateSessionError,
    RenameError,
    PutDataError,
    DataKeyError,
    PostError,
);
// A write that finds no row means the session went meanwhile.
narrows!(WriteError::{NotFound, Store} => ContentSessionError, RenameError, PutDataError, DataKeyError, PostError);
// The session check an operation starts with fails it the same way.
narrows!(ContentSessionError::{NotFound, Unexpected} => RenameError, PutDataError, DataKeyError, PostError);
