//! The settings record and its repository: one versioned record, replaced
//! whole by compare-and-set on its version.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::{StoreError, UserId};

/// The settings record as a store keeps it: a version and a text body the
/// domain writes and reads ([`SettingsRecord`]); adapters store both as
/// they are.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredSettings {
    /// Starts at 1 with the first save; each save adds one.
    pub version: u64,
    /// The values set (JSON), opaque to the store.
    pub body: String,
}

/// Why settings could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveSettingsError {
    /// The stored version is not the one expected: someone saved first.
    #[error("the settings changed since they were read")]
    Stale,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_failure!(SaveSettingsError);

/// Keeps the runtime settings: one record, versioned.
#[portico_macros::port("settings")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait SettingsRepository: Send + Sync {
    /// The record, or `None` before the first save. MUST return what the
    /// last successful [`SettingsRepository::save`] wrote, version and
    /// body byte for byte, to any caller once that save has returned
    /// (read-your-write, also from another connection).
    async fn load(&self) -> Result<Option<StoredSettings>, StoreError>;

    /// Replaces the record with `next` if the stored version is `expected`
    /// (0: no record yet), atomically. MUST return `Stale`, changing
    /// nothing, when the stored version differs (or, with `expected` 0,
    /// when a record exists): of N concurrent saves from one version,
    /// exactly one succeeds. `next.version` is `expected + 1`.
    async fn save(&self, expected: u64, next: &StoredSettings) -> Result<(), SaveSettingsError>;
}

/// One value set through the API, with who set it and when.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingEntry {
    /// The value, as given (checked against the catalog when read).
    pub value: Value,
    /// When it was set.
    pub updated_at: OffsetDateTime,
    /// Who set it (`None`: not through the API).
    pub updated_by: Option<UserId>,
}

/// The settings record decoded: the values set, by key. Keys the catalog
/// no longer has, and values it no longer accepts, are kept here (and
/// written back on the next save) but not used.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SettingsRecord {
    /// The version it was read at (0: nothing stored).
    pub version: u64,
    /// The values set.
    pub entries: BTreeMap<String, SettingEntry>,
}

impl SettingsRecord {
    /// Reads a stored record; entries that cannot be read are skipped (a
    /// body that is not a JSON object reads as no entries).
    pub fn decode(stored: &StoredSettings) -> Self {
        let mut entries = BTreeMap::new();
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&stored.body) {
            for (key, entry) in map {
                let Some(value) = entry.get("value").cloned() else {
                    continue;
                };
                let updated_at = entry
                    .get("at")
                    .and_then(Value::as_i64)
                    .and_then(|ms| {
                        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
                    })
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                let updated_by = entry
                    .get("by")
                    .and_then(Value::as_str)
                    .and_then(|id| id.parse().ok());
                entries.insert(
                    key,
                    SettingEntry {
                        value,
                        updated_at,
                        updated_by,
                    },
                );
            }
        }
        Self {
            version: stored.version,
            entries,
        }
    }

    /// The record to store as version `version`.
    pub fn encode(&self, version: u64) -> StoredSettings {
        let map: Map<String, Value> = self
            .entries
            .iter()
            .map(|(key, e)| {
                let ms = e.updated_at.unix_timestamp_nanos() / 1_000_000;
                let mut entry = Map::new();
                entry.insert("value".into(), e.value.clone());
                entry.insert("at".into(), Value::from(i64::try_from(ms).unwrap_or(0)));
                entry.insert(
                    "by".into(),
                    e.updated_by
                        .map_or(Value::Null, |id| Value::String(id.to_string())),
                );
                (key.clone(), Value::Object(entry))
            })
            .collect();
        StoredSettings {
            version,
            body: Value::Object(map).to_string(),
        }
    }
}
