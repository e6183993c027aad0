//! Upload requests, prepared uploads and downloads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use domain::*;

/// An upload request.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadView {
    /// Unique id, assigned at creation; it also orders items created in the same millisecond.
    pub id: Uuid,
    /// Where the object goes: `users/<user id>/<name>`.
    pub object_key: String,
    /// Declared content type.
    pub content_type: String,
    /// Largest accepted size (the declared size), in bytes.
    pub max_size: u64,
    /// `pending` or `completed`.
    #[schema(schema_with = crate::schema::upload_status_schema)]
    pub status: UploadStatus,
    /// When it was created (RFC 3339, UTC); lists are newest first by this.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// A pending request expires then.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// When it was completed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    /// Size of the stored object, once completed.
    pub size: Option<u64>,
}

impl From<UploadRequest> for UploadView {
    fn from(r: UploadRequest) -> Self {
        Self {
            id: r.id.as_uuid(),
            object_key: r.object_key.as_str().to_owned(),
            content_type: r.content_type,
            max_size: r.max_size,
            status: r.status,
            created_at: r.created_at,
            expires_at: r.expires_at,
            completed_at: r.completed_at,
            size: r.size,
        }
    }
}

page_of!(UploadPage, UploadView, "upload requests");

/// An upload to prepare.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUpload {
    /// Name of the object under the caller's folder (`A-Z a-z 0-9 . _ - = + /`,
    /// no `..`); a random one when absent.
    pub object_key: Option<String>,
    /// Content type of the bytes to come; must be allowed by configuration.
    pub content_type: String,
    /// Size in bytes; at most the configured limit.
    pub size: u64,
}

/// A prepared upload: send the bytes to `upload_url`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUpload {
    /// The request.
    #[serde(flatten)]
    pub upload: UploadView,
    /// Where to send the bytes.
    pub upload_url: String,
    /// The HTTP method (`PUT`).
    pub method: String,
    /// Headers to send with the bytes.
    pub headers: BTreeMap<String, String>,
}

/// Where to download from.
#[derive(Debug, Serialize, ToSchema)]
pub struct Download {
    /// A time-limited URL of the object.
    pub url: String,
}
