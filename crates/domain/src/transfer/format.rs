//! The dump document: one JSON object per line. The first line is a
//! [`DumpHeader`], each following line a [`DumpRecord`], and the last line a
//! [`DumpTrailer`] with the count of each kind. A document without its
//! trailer, or whose counts differ from the lines before it, was cut short.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::DumpRecord;

/// The `format` of every dump's header.
pub const DUMP_FORMAT: &str = "portico-dump";

/// The version of the document this build writes and the newest it reads.
pub const DUMP_VERSION: u32 = 1;

/// The first line of a dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpHeader {
    /// Always [`DUMP_FORMAT`].
    pub format: String,
    /// The document's version ([`DUMP_VERSION`] when written by this build).
    pub version: u32,
    /// The Portico version that wrote it.
    pub portico: String,
    /// When the dump began.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl DumpHeader {
    /// A header for a dump this build writes now.
    pub fn new(portico: &str, created_at: OffsetDateTime) -> Self {
        Self {
            format: DUMP_FORMAT.to_owned(),
            version: DUMP_VERSION,
            portico: portico.to_owned(),
            created_at,
        }
    }

    /// Reads the first line, refusing what this build cannot load.
    pub fn parse(line: &str) -> Result<Self, FormatError> {
        let header: Self = serde_json::from_str(line).map_err(|_| FormatError::NotADump)?;
        if header.format != DUMP_FORMAT {
            return Err(FormatError::NotADump);
        }
        if header.version == 0 || header.version > DUMP_VERSION {
            return Err(FormatError::Version {
                found: header.version,
                newest: DUMP_VERSION,
                by: header.portico,
            });
        }
        Ok(header)
    }
}

/// The last line of a dump.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpTrailer {
    /// How many records of each kind the dump holds.
    pub counts: BTreeMap<String, u64>,
}

/// A line after the header.
#[derive(Debug, Clone, PartialEq)]
pub enum DumpLine {
    /// A record.
    DumpRecord(Box<DumpRecord>),
    /// The end, with the counts.
    End(DumpTrailer),
}

#[derive(Serialize, Deserialize)]
struct EndLine {
    end: DumpTrailer,
}

impl DumpLine {
    /// Reads line number `number` (1-based, for the error).
    pub fn parse(line: &str, number: u64) -> Result<Self, FormatError> {
        let bad = |e: serde_json::Error| FormatError::BadLine {
            number,
            reason: e.to_string(),
        };
        if line.trim_start().starts_with("{\"end\"") {
            let end: EndLine = serde_json::from_str(line).map_err(bad)?;
            return Ok(Self::End(end.end));
        }
        Ok(Self::DumpRecord(Box::new(
            serde_json::from_str(line).map_err(bad)?,
        )))
    }

    /// The trailer's line.
    pub fn end(trailer: &DumpTrailer) -> String {
        serde_json::to_string(&EndLine {
            end: trailer.clone(),
        })
        .unwrap_or_default()
    }
}

/// Why a document cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The first line is not a Portico dump header.
    #[error("not a Portico dump (the first line is not a portico-dump header)")]
    NotADump,
    /// A version this build does not read.
    #[error(
        "dump format version {found} (written by Portico {by}) is not one this build reads (newest: {newest}); use a Portico at least as new as the one that wrote it"
    )]
    Version {
        /// The document's version.
        found: u32,
        /// The newest this build reads.
        newest: u32,
        /// The Portico version that wrote it.
        by: String,
    },
    /// A line that is not a record or the trailer.
    #[error("line {number} is not a record: {reason}")]
    BadLine {
        /// The line's number.
        number: u64,
        /// What the parser said.
        reason: String,
    },
    /// Lines after the trailer.
    #[error("line {number} follows the end of the dump")]
    AfterEnd {
        /// The line's number.
        number: u64,
    },
    /// The document ends without its trailer.
    #[error("the dump is truncated: it ends after {records} records without its end line")]
    Truncated {
        /// Records read.
        records: u64,
    },
    /// The trailer's counts differ from the records read.
    #[error("the dump's counts do not match its records: expected {expected:?}, found {found:?}")]
    Counts {
        /// The trailer's counts.
        expected: BTreeMap<String, u64>,
        /// What was read.
        found: BTreeMap<String, u64>,
    },
}

/// Checks a whole document, line by line, without keeping it: the first
/// pass of a restore, so that nothing is written from a document that
/// turns out to be cut short or corrupt.
#[derive(Debug, Default)]
pub struct DumpValidator {
    header: Option<DumpHeader>,
    counts: BTreeMap<String, u64>,
    ended: bool,
    lines: u64,
}

impl DumpValidator {
    /// Feeds the next line; returns the record it holds, if any.
    pub fn line(&mut self, text: &str) -> Result<Option<DumpRecord>, FormatError> {
        self.lines += 1;
        if self.header.is_none() {
            self.header = Some(DumpHeader::parse(text)?);
            return Ok(None);
        }
        if self.ended {
            if text.trim().is_empty() {
                return Ok(None);
            }
            return Err(FormatError::AfterEnd { number: self.lines });
        }
        match DumpLine::parse(text, self.lines)? {
            DumpLine::DumpRecord(record) => {
                *self.counts.entry(record.kind().to_owned()).or_default() += 1;
                Ok(Some(*record))
            }
            DumpLine::End(trailer) => {
                let expected: BTreeMap<String, u64> =
                    trailer.counts.into_iter().filter(|(_, n)| *n > 0).collect();
                if expected != self.counts {
                    return Err(FormatError::Counts {
                        expected,
                        found: self.counts.clone(),
                    });
                }
                self.ended = true;
                Ok(None)
            }
        }
    }

    /// After the last line: the header and counts, or why the document is
    /// incomplete.
    pub fn finish(self) -> Result<(DumpHeader, BTreeMap<String, u64>), FormatError> {
        let records = self.counts.values().sum();
        match (self.header, self.ended) {
            (None, _) => Err(FormatError::NotADump),
            (Some(_), false) => Err(FormatError::Truncated { records }),
            (Some(header), true) => Ok((header, self.counts)),
        }
    }
}

/// `time::Date` as `YYYY-MM-DD` (for `#[serde(with)]`).
pub mod iso_date {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;
    use time::macros::format_description;

    const FORMAT: &[time::format_description::FormatItem<'static>] =
        format_description!("[year]-[month]-[day]");

    /// Writes the date.
    pub fn serialize<S: Serializer>(date: &Date, s: S) -> Result<S::Ok, S::Error> {
        let text = date.format(FORMAT).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    /// Reads the date.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let text = String::deserialize(d)?;
        Date::parse(&text, FORMAT).map_err(serde::de::Error::custom)
    }
}
