//! Why upload operations fail: one enum per operation, each
//! with only the failures that operation can have.

use crate::StoreError;

/// Why reading or cancelling an upload request failed.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// No such request for this user.
    #[error("upload not found")]
    NotFound,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why preparing an upload failed.
#[derive(Debug, thiserror::Error)]
pub enum PrepareUploadError {
    /// The content type is not a media type `type/subtype` (RFC 6838
    /// names, no parameters, no spaces or control characters).
    #[error("content type is not a media type of the form type/subtype")]
    InvalidContentType,
    /// A declared size of zero bytes.
    #[error("an upload has at least one byte")]
    Empty,
    /// Larger than the configured limit.
    #[error("upload is larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: u64,
    },
    /// Content type not accepted.
    #[error("content type is not allowed")]
    ContentTypeNotAllowed,
    /// Another request uses that object key.
    #[error("object key already in use")]
    KeyTaken,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why the one PUT of an upload URL was refused.
#[derive(Debug, thiserror::Error)]
pub enum PutError {
    /// No request references the object any more (cancelled or swept).
    #[error("the upload request is gone")]
    NoLongerPending,
    /// The upload URL was already used: its one PUT succeeded or is under way.
    #[error("the object was already uploaded through this URL")]
    AlreadyUploaded,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why completing an upload failed.
#[derive(Debug, thiserror::Error)]
pub enum CompleteUploadError {
    /// See [`UploadError::NotFound`].
    #[error("upload not found")]
    NotFound,
    /// The request expired before completion.
    #[error("upload request expired")]
    Expired,
    /// Completion was asked but nothing was uploaded.
    #[error("object has not been uploaded")]
    ObjectMissing,
    /// The stored object is larger than the size declared.
    #[error("uploaded object is larger than declared")]
    SizeMismatch,
    /// The stored object's content type differs from the declared one.
    #[error("uploaded object has another content type")]
    TypeMismatch,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why a download URL was refused.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// See [`UploadError::NotFound`].
    #[error("upload not found")]
    NotFound,
    /// The upload is not completed.
    #[error("upload is not completed")]
    NotCompleted,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

unexpected_from_store!(
    UploadError,
    PrepareUploadError,
    PutError,
    CompleteUploadError,
    DownloadError,
);
// The request check an operation starts with fails it the same way.
narrows!(UploadError::{NotFound, Unexpected} => CompleteUploadError, DownloadError);
