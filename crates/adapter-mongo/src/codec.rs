//! Domain values to BSON and back: UUIDs as binary subtype 4, times as BSON
//! dates, JSON through serde (never as Extended JSON, so a user's `{"$date":
//! …}` stays a plain object), and cursor pagination newest first by
//! (`createdAt`, `_id`).

use domain::{PageRequest, StoreError};
use mongodb::bson::{self, Binary, Bson, DateTime, Document, doc, spec::BinarySubtype};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::corrupt;

/// A UUID as BSON binary subtype 4.
pub(crate) fn uuid(id: Uuid) -> Bson {
    Bson::Binary(Binary {
        subtype: BinarySubtype::Uuid,
        bytes: id.as_bytes().to_vec(),
    })
}

/// An optional UUID, `null` when absent.
pub(crate) fn opt_uuid(id: Option<Uuid>) -> Bson {
    id.map_or(Bson::Null, uuid)
}

/// A time as a BSON date (milliseconds; the domain keeps no finer precision).
pub(crate) fn time(t: OffsetDateTime) -> Bson {
    Bson::DateTime(millis(t))
}

/// A time as a BSON date value.
pub(crate) fn millis(t: OffsetDateTime) -> DateTime {
    let ms = t.unix_timestamp_nanos().div_euclid(1_000_000);
    DateTime::from_millis(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// An optional time, `null` when absent.
pub(crate) fn opt_time(t: Option<OffsetDateTime>) -> Bson {
    t.map_or(Bson::Null, time)
}

/// An optional string, `null` when absent.
pub(crate) fn opt_str(s: Option<&str>) -> Bson {
    s.map_or(Bson::Null, |s| Bson::String(s.to_owned()))
}

/// A JSON value as BSON (numbers become Int64 or Double).
pub(crate) fn json(value: &serde_json::Value) -> Result<Bson, StoreError> {
    bson::to_bson(value).map_err(|e| StoreError::with_source("JSON value to BSON", e))
}

/// BSON written by [`json`] back to JSON.
pub(crate) fn to_json(value: Bson) -> serde_json::Value {
    value.into_relaxed_extjson()
}

/// Reads the fields of one stored document, naming the entity in errors.
pub(crate) struct Fields<'a> {
    doc: &'a Document,
    what: &'static str,
}

impl<'a> Fields<'a> {
    /// Fields of `doc`, an entity of kind `what`.
    pub(crate) fn of(doc: &'a Document, what: &'static str) -> Self {
        Self { doc, what }
    }

    fn bad(&self, key: &str) -> StoreError {
        corrupt(self.what, key)
    }

    fn get(&self, key: &str) -> Option<&'a Bson> {
        self.doc.get(key).filter(|v| !matches!(v, Bson::Null))
    }

    /// A required UUID.
    pub(crate) fn uuid(&self, key: &str) -> Result<Uuid, StoreError> {
        self.opt_uuid(key)?.ok_or_else(|| self.bad(key))
    }

    /// An optional UUID.
    pub(crate) fn opt_uuid(&self, key: &str) -> Result<Option<Uuid>, StoreError> {
        match self.get(key) {
            None => Ok(None),
            Some(Bson::Binary(b)) if b.subtype == BinarySubtype::Uuid => Uuid::from_slice(&b.bytes)
                .map(Some)
                .map_err(|_| self.bad(key)),
            Some(_) => Err(self.bad(key)),
        }
    }

    /// A required time.
    pub(crate) fn time(&self, key: &str) -> Result<OffsetDateTime, StoreError> {
        self.opt_time(key)?.ok_or_else(|| self.bad(key))
    }

    /// An optional time.
    pub(crate) fn opt_time(&self, key: &str) -> Result<Option<OffsetDateTime>, StoreError> {
        match self.get(key) {
            None => Ok(None),
            Some(Bson::DateTime(d)) => OffsetDateTime::from_unix_timestamp_nanos(
                i128::from(d.timestamp_millis()) * 1_000_000,
            )
            .map(Some)
            .map_err(|_| self.bad(key)),
            Some(_) => Err(self.bad(key)),
        }
    }

    /// A required string.
    pub(crate) fn str(&self, key: &str) -> Result<&'a str, StoreError> {
        self.opt_str(key)?.ok_or_else(|| self.bad(key))
    }

    /// An optional string.
    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<&'a str>, StoreError> {
        match self.get(key) {
            None => Ok(None),
            Some(Bson::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.bad(key)),
        }
    }

    /// A boolean (absent reads as false).
    pub(crate) fn bool(&self, key: &str) -> Result<bool, StoreError> {
        match self.get(key) {
            None => Ok(false),
            Some(Bson::Boolean(b)) => Ok(*b),
            Some(_) => Err(self.bad(key)),
        }
    }

    /// An integer (Int32 or Int64; absent reads as 0).
    pub(crate) fn i64(&self, key: &str) -> Result<i64, StoreError> {
        match self.get(key) {
            None => Ok(0),
            Some(Bson::Int32(i)) => Ok(i64::from(*i)),
            Some(Bson::Int64(i)) => Ok(*i),
            Some(_) => Err(self.bad(key)),
        }
    }

    /// A non-negative integer.
    pub(crate) fn u64(&self, key: &str) -> Result<u64, StoreError> {
        u64::try_from(self.i64(key)?).map_err(|_| self.bad(key))
    }

    /// A subdocument (absent reads as empty).
    pub(crate) fn doc(&self, key: &str) -> Result<Document, StoreError> {
        match self.get(key) {
            None => Ok(Document::new()),
            Some(Bson::Document(d)) => Ok(d.clone()),
            Some(_) => Err(self.bad(key)),
        }
    }

    /// An array (absent reads as empty).
    pub(crate) fn array(&self, key: &str) -> Result<Vec<Bson>, StoreError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Bson::Array(a)) => Ok(a.clone()),
            Some(_) => Err(self.bad(key)),
        }
    }

    /// Any value, as JSON (`None` when absent or null).
    pub(crate) fn json(&self, key: &str) -> Option<serde_json::Value> {
        self.get(key).cloned().map(to_json)
    }
}

/// `filter` restricted to items after the page's cursor (newest first).
pub(crate) fn page_filter(filter: Document, page: &PageRequest) -> Document {
    match page.cursor() {
        None => filter,
        Some(c) => doc! {
            "$and": [
                filter,
                {"$or": [
                    {"createdAt": {"$lt": time(c.at)}},
                    {"createdAt": time(c.at), "_id": {"$lt": uuid(c.id)}},
                ]},
            ]
        },
    }
}

/// Newest first, ties by id.
pub(crate) fn newest_first() -> Document {
    doc! {"createdAt": -1, "_id": -1}
}

/// How many to fetch for a page: one more than its limit.
pub(crate) fn overfetch(page: &PageRequest) -> i64 {
    i64::from(page.limit()) + 1
}

/// An unsigned count as BSON Int64.
pub(crate) fn int(n: u64) -> Bson {
    Bson::Int64(i64::try_from(n).unwrap_or(i64::MAX))
}
