//! API keys.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// A new API key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyBody {
    /// What you call it: 1 to 100 characters.
    #[schema(example = "CI deploys")]
    pub name: String,
    /// What it may do, each a permission you hold; absent or `null`:
    /// whatever your roles give at each request.
    #[serde(default)]
    pub permissions: Option<Vec<String>>,
    /// When it stops working (RFC 3339, in the future, within three
    /// years); absent or `null`: never.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// An API key (never the key itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    /// Its id.
    pub id: Uuid,
    /// What its owner calls it.
    #[schema(example = "CI deploys")]
    pub name: String,
    /// The key's first characters, to tell keys apart.
    #[schema(example = "pk_3f9a1c2b")]
    pub prefix: String,
    /// What it may do (within the user's roles); `null`: whatever the
    /// user's roles give.
    pub permissions: Option<Vec<String>>,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it stops working; `null`: never.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// When it was last used (to the minute); `null`: never.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

impl From<domain::ApiKey> for ApiKeyView {
    fn from(k: domain::ApiKey) -> Self {
        Self {
            id: k.id.as_uuid(),
            name: k.name.as_str().to_owned(),
            prefix: k.prefix,
            permissions: k
                .permissions
                .map(|p| p.iter().map(|p| p.as_str().to_owned()).collect()),
            created_at: k.created_at,
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
        }
    }
}

/// A key just made: send `key` as `Authorization: Bearer <key>`. It is
/// shown this once; Portico keeps only its hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKeyView {
    /// Its id.
    pub id: Uuid,
    /// What its owner calls it.
    #[schema(example = "CI deploys")]
    pub name: String,
    /// The key.
    #[schema(example = "pk_3f9a1c2b7d4e…")]
    pub key: String,
    /// The key's first characters, as lists show them.
    #[schema(example = "pk_3f9a1c2b")]
    pub prefix: String,
    /// What it may do (within the user's roles); `null`: whatever the
    /// user's roles give.
    pub permissions: Option<Vec<String>>,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it stops working; `null`: never.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

impl From<domain::CreatedApiKey> for CreatedApiKeyView {
    fn from(c: domain::CreatedApiKey) -> Self {
        let view = ApiKeyView::from(c.key);
        Self {
            id: view.id,
            name: view.name,
            key: c.secret.expose().to_owned(),
            prefix: view.prefix,
            permissions: view.permissions,
            created_at: view.created_at,
            expires_at: view.expires_at,
        }
    }
}

/// A user's API keys, newest first (at most 50: one page).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    /// The keys.
    pub items: Vec<ApiKeyView>,
    /// Always `null`: every key is on this page.
    pub next_cursor: Option<String>,
}
