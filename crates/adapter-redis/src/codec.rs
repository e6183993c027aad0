//! Records as Redis hashes of strings: times as RFC 3339 (UTC, milliseconds)
//! plus `…Ms` integer twins where scripts compare them, ids as hyphenated
//! UUIDs, flags as `0`/`1`, JSON as text, absent values as missing fields.
//! Lists use sorted sets of `<ms, 15 digits>:<id>` members at score 0, read
//! backwards by lex order: newest first, ties by id, exact cursors.

use std::collections::HashMap;

use domain::{PageRequest, StoreError};
use fred::types::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::error::corrupt;

/// Milliseconds since the epoch (0 before it).
pub(crate) fn ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000_000)).unwrap_or(i64::MAX)
}

/// RFC 3339 text.
pub(crate) fn ts(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// A sorted-set member ordering by time, then id.
pub(crate) fn member(t: OffsetDateTime, id: Uuid) -> String {
    format!("{:015}:{id}", ms(t).max(0))
}

/// The exclusive upper bound for the page after `cursor`, or `+`.
pub(crate) fn bound(page: &PageRequest) -> String {
    page.cursor()
        .map_or_else(|| "+".to_owned(), |c| format!("({}", member(c.at, c.id)))
}

/// A record's fields, built in order.
#[derive(Debug, Default)]
pub(crate) struct Record(Vec<(&'static str, String)>);

impl Record {
    /// Sets a field.
    pub(crate) fn set(&mut self, name: &'static str, value: impl Into<String>) -> &mut Self {
        self.0.push((name, value.into()));
        self
    }
    /// Sets a field when `value` is present (absent fields are not written).
    pub(crate) fn opt(
        &mut self,
        name: &'static str,
        value: Option<impl Into<String>>,
    ) -> &mut Self {
        if let Some(v) = value {
            self.0.push((name, v.into()));
        }
        self
    }
    /// A time and its `…Ms` twin.
    pub(crate) fn time(
        &mut self,
        name: &'static str,
        ms_name: &'static str,
        t: OffsetDateTime,
    ) -> &mut Self {
        self.set(name, ts(t)).set(ms_name, ms(t).to_string())
    }
    /// A flag.
    pub(crate) fn flag(&mut self, name: &'static str, v: bool) -> &mut Self {
        self.set(name, if v { "1" } else { "0" })
    }
    /// Field/value pairs as script arguments.
    pub(crate) fn args(&self) -> Vec<String> {
        self.0
            .iter()
            .flat_map(|(k, v)| [(*k).to_owned(), v.clone()])
            .collect()
    }
}

/// Reads a stored record, naming the entity in errors.
pub(crate) struct Fields {
    map: HashMap<String, String>,
    what: &'static str,
}

impl Fields {
    /// Fields of a record of kind `what`.
    pub(crate) fn new(map: HashMap<String, String>, what: &'static str) -> Self {
        Self { map, what }
    }

    fn bad(&self, key: &str) -> StoreError {
        corrupt(self.what, key)
    }

    /// An optional string (missing or empty is `None`).
    pub(crate) fn opt_str(&self, key: &str) -> Option<&str> {
        self.map
            .get(key)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }
    /// A required string.
    pub(crate) fn str(&self, key: &str) -> Result<&str, StoreError> {
        self.map
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| self.bad(key))
    }
    /// An optional owned string.
    pub(crate) fn opt_string(&self, key: &str) -> Option<String> {
        self.opt_str(key).map(str::to_owned)
    }
    /// A required UUID.
    pub(crate) fn uuid(&self, key: &str) -> Result<Uuid, StoreError> {
        Uuid::parse_str(self.str(key)?).map_err(|_| self.bad(key))
    }
    /// An optional UUID.
    pub(crate) fn opt_uuid(&self, key: &str) -> Result<Option<Uuid>, StoreError> {
        self.opt_str(key)
            .map(|s| Uuid::parse_str(s).map_err(|_| self.bad(key)))
            .transpose()
    }
    /// A required time.
    pub(crate) fn time(&self, key: &str) -> Result<OffsetDateTime, StoreError> {
        OffsetDateTime::parse(self.str(key)?, &Rfc3339).map_err(|_| self.bad(key))
    }
    /// An optional time.
    pub(crate) fn opt_time(&self, key: &str) -> Result<Option<OffsetDateTime>, StoreError> {
        self.opt_str(key)
            .map(|s| OffsetDateTime::parse(s, &Rfc3339).map_err(|_| self.bad(key)))
            .transpose()
    }
    /// A flag (missing is false).
    pub(crate) fn flag(&self, key: &str) -> bool {
        self.opt_str(key) == Some("1")
    }
    /// An integer (missing is 0).
    pub(crate) fn i64(&self, key: &str) -> Result<i64, StoreError> {
        self.opt_str(key)
            .map_or(Ok(0), |s| s.parse().map_err(|_| self.bad(key)))
    }
    /// A non-negative integer (missing is 0).
    pub(crate) fn u64(&self, key: &str) -> Result<u64, StoreError> {
        u64::try_from(self.i64(key)?).map_err(|_| self.bad(key))
    }
    /// JSON text.
    pub(crate) fn json(&self, key: &str) -> Result<Option<serde_json::Value>, StoreError> {
        self.opt_str(key)
            .map(|s| serde_json::from_str(s).map_err(|_| self.bad(key)))
            .transpose()
    }
}

/// A flat `[field, value, …]` reply (HGETALL inside a script) as a map.
pub(crate) fn pairs(value: Value) -> Result<HashMap<String, String>, StoreError> {
    let items = match value {
        Value::Array(items) => items,
        Value::Map(map) => {
            return Ok(map
                .inner()
                .into_iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_string()?)))
                .collect());
        }
        Value::Null => return Ok(HashMap::new()),
        _ => return Err(StoreError::msg("unexpected reply shape from a script")),
    };
    let mut map = HashMap::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        let (Some(k), Some(v)) = (k.as_string(), v.as_string()) else {
            return Err(StoreError::msg("non-text field in a record"));
        };
        map.insert(k, v);
    }
    Ok(map)
}

/// A script reply holding a list of records.
pub(crate) fn records(value: Value) -> Result<Vec<HashMap<String, String>>, StoreError> {
    match value {
        Value::Array(items) => items.into_iter().map(pairs).collect(),
        Value::Null => Ok(Vec::new()),
        _ => Err(StoreError::msg("unexpected reply shape from a list script")),
    }
}
