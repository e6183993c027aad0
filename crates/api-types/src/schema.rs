//! Schema helpers: enumerations whose values come from the domain (so the
//! document cannot list a value the server does not send or take), and the
//! `null`-means-clear deserializer of optional fields.

use serde::{Deserialize, Deserializer};
use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

/// A string schema that takes only `values`.
pub fn names(
    values: impl IntoIterator<Item = &'static str>,
    nullable: bool,
    description: &str,
) -> Object {
    let mut values: Vec<serde_json::Value> = values.into_iter().map(Into::into).collect();
    let kind = if nullable {
        values.push(serde_json::Value::Null);
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::Type(Type::String)
    };
    ObjectBuilder::new()
        .schema_type(kind)
        .enum_values(Some(values))
        .description(Some(description))
        .build()
}

/// `low`, `normal` or `high`.
pub fn urgency_schema() -> Object {
    names(
        domain::Urgency::ALL.map(|u| u.as_str()),
        false,
        "How urgent: `low`, `normal` or `high`.",
    )
}

/// [`urgency_schema`], optional.
pub fn optional_urgency_schema() -> Object {
    names(
        domain::Urgency::ALL.map(|u| u.as_str()),
        true,
        "`low`, `normal` (default when absent or null) or `high`.",
    )
}

/// A payment's status.
pub fn payment_status_schema() -> Object {
    names(
        domain::PaymentStatus::ALL.map(|s| s.as_str()),
        false,
        "Where the payment stands: `pending` moves to `succeeded`, `failed` or `cancelled`; \
         `succeeded` may move to `refunded`.",
    )
}

/// An upload request's status.
pub fn upload_status_schema() -> Object {
    names(
        domain::UploadStatus::ALL.map(|s| s.as_str()),
        false,
        "`pending` until completed, then `completed`.",
    )
}

/// `ok` (alive) or `ready` (every store answers).
pub fn health_status_schema() -> Object {
    names(
        ["ok", "ready"],
        false,
        "`ok` (alive) or `ready` (every store answers).",
    )
}

/// `Some(None)` for an explicit `null`, `None` (with `#[serde(default)]`)
/// when the field is absent.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
