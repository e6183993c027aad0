//! Health and readiness.

use serde::Serialize;
use utoipa::ToSchema;

/// A health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` (alive) or `ready` (every store answers).
    #[schema(schema_with = crate::schema::health_status_schema)]
    pub status: &'static str,
    /// Per checked store: `ok`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<String>,
}
