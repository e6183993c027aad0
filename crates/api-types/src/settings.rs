//! Runtime settings and the app's flags.

use std::collections::BTreeMap;

use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// One setting of the catalog.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingView {
    /// The key (`password.min_length`).
    #[schema(example = "password.min_length")]
    pub key: String,
    /// The value in force (a boolean, a whole number or a plan's name).
    #[schema(example = 12)]
    pub value: serde_json::Value,
    /// The value from the configuration file, in force while nobody set one.
    #[schema(example = 10)]
    pub default: serde_json::Value,
    /// `bool`, `integer` or `plan` (the name of a plan that exists).
    #[serde(rename = "type")]
    #[schema(example = "integer")]
    pub kind: String,
    /// Of an `integer`: the smallest value allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    /// Of an `integer`: the largest value allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// What it does.
    #[schema(example = "Fewest characters a new password may have.")]
    pub description: String,
    /// When it was last set (`null`: it holds its default).
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub updated_at: Option<OffsetDateTime>,
    /// Who set it.
    pub updated_by: Option<Uuid>,
}

impl From<domain::SettingItem> for SettingView {
    fn from(i: domain::SettingItem) -> Self {
        let (min, max) = match i.kind {
            domain::SettingType::Integer { min, max } => (Some(min), Some(max)),
            domain::SettingType::Bool | domain::SettingType::Plan => (None, None),
        };
        Self {
            key: i.key,
            value: i.value,
            default: i.default,
            kind: i.kind.name().to_owned(),
            min,
            max,
            description: i.description,
            updated_at: i.updated_at,
            updated_by: i.updated_by.map(|id| id.as_uuid()),
        }
    }
}

/// Every setting, at one version.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsView {
    /// Bumped by every change; send it back as `If-Match` to change only
    /// what you read.
    pub version: u64,
    /// Every key of the catalog, sorted.
    pub items: Vec<SettingView>,
}

impl From<domain::SettingsView> for SettingsView {
    fn from(v: domain::SettingsView) -> Self {
        Self {
            version: v.version,
            items: v.items.into_iter().map(SettingView::from).collect(),
        }
    }
}

/// A change: `{key: value, …}` over the keys of `GET /v1/settings` (the
/// `features.*` ones are the deployment's); `null` puts a key back to its
/// default. A key that is not in the catalog is refused (422 naming it).
#[derive(Debug, ToSchema)]
#[schema(example = json!({"registration.open": false, "password.min_length": 12}))]
pub struct SettingsPatch(pub BTreeMap<String, serde_json::Value>);

/// The app's flags (`features.<name>`), by name.
pub type FeaturesView = BTreeMap<String, bool>;
