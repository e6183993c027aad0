//! The `[backups]` section: scheduled dumps into the object store.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Scheduled backups: a dump of every store (zstd) written to the object
/// store under `backups/`, once across instances, keeping the newest
/// `keep`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupsConfig {
    /// How often: a number and a unit, `s`, `m`, `h` or `d` (`"24h"`).
    /// Empty (the default): no scheduled backups (`POST /v1/backups` and
    /// `portico dump` still work).
    pub every: String,
    /// How many backups to keep; older ones are deleted after each new one.
    pub keep: u32,
}

impl Default for BackupsConfig {
    fn default() -> Self {
        Self {
            every: String::new(),
            keep: 7,
        }
    }
}

impl BackupsConfig {
    /// The interval, `None` when scheduled backups are off.
    pub fn interval(&self) -> Result<Option<Duration>, String> {
        let text = self.every.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let bad =
            || format!("backups.every {text:?}: expected a number and s, m, h or d (\"24h\")");
        let (number, unit) = text.split_at(text.len() - 1);
        let n: u64 = number.trim().parse().map_err(|_| bad())?;
        let secs = match unit {
            "s" => n,
            "m" => n.saturating_mul(60),
            "h" => n.saturating_mul(3600),
            "d" => n.saturating_mul(86_400),
            _ => return Err(bad()),
        };
        if secs < 60 {
            return Err(format!("backups.every {text:?}: at least one minute"));
        }
        if self.keep == 0 {
            return Err("backups.keep must be at least 1".into());
        }
        Ok(Some(Duration::from_secs(secs)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every(text: &str) -> Result<Option<Duration>, String> {
        BackupsConfig {
            every: text.into(),
            keep: 7,
        }
        .interval()
    }

    #[test]
    fn intervals_read_as_a_number_and_a_unit() {
        assert_eq!(every(""), Ok(None));
        assert_eq!(every("24h"), Ok(Some(Duration::from_secs(86_400))));
        assert_eq!(every("90m"), Ok(Some(Duration::from_secs(5_400))));
        assert_eq!(every("2d"), Ok(Some(Duration::from_secs(172_800))));
        assert!(every("10s").unwrap_err().contains("at least one minute"));
        assert!(every("daily").is_err());
        assert!(every("h").is_err());
        assert!(every("-1h").is_err());
    }
}
