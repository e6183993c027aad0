//! An account's standing: a suspension by an administrator, with a reason
//! the user is told and an optional end at which it lifts itself.

use std::fmt;

use time::OffsetDateTime;

/// Why an account is suspended: what the user is told when signing in.
/// 1 to 500 characters after trimming, no control characters (a line
/// break included: it is shown on one line).
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct SuspensionReason(String);

/// Why a reason was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SuspensionReasonError {
    /// Empty after trimming, or over 500 characters.
    #[error("must be 1 to 500 characters")]
    Length,
    /// A control character.
    #[error("must not hold control characters")]
    Control,
}

impl SuspensionReason {
    /// The longest reason, in characters.
    pub const MAX_CHARS: usize = 500;

    /// Parses a reason given by an administrator.
    pub fn parse(input: &str) -> Result<Self, SuspensionReasonError> {
        let s = input.trim();
        if s.is_empty() || s.chars().count() > Self::MAX_CHARS {
            return Err(SuspensionReasonError::Length);
        }
        if s.chars().any(char::is_control) {
            return Err(SuspensionReasonError::Control);
        }
        Ok(Self(s.to_owned()))
    }

    /// A reason read back from a store, as it was written.
    pub fn from_stored(stored: impl Into<String>) -> Self {
        Self(stored.into())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SuspensionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SuspensionReason({:?})", self.0)
    }
}

/// A suspension of an account by an administrator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Suspension {
    /// What the user is told.
    pub reason: SuspensionReason,
    /// When it began.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// When it lifts itself; `None`: until an administrator lifts it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub until: Option<OffsetDateTime>,
}

impl Suspension {
    /// Whether it holds at `now`: from `since`, and before `until` if set.
    pub fn active_at(&self, now: OffsetDateTime) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_bounded_one_line_text() {
        assert_eq!(
            SuspensionReason::parse("  Spam reports  ")
                .unwrap()
                .as_str(),
            "Spam reports"
        );
        assert_eq!(
            SuspensionReason::parse("   "),
            Err(SuspensionReasonError::Length)
        );
        assert_eq!(
            SuspensionReason::parse(&"x".repeat(501)),
            Err(SuspensionReasonError::Length)
        );
        assert!(SuspensionReason::parse(&"é".repeat(500)).is_ok());
        assert_eq!(
            SuspensionReason::parse("a\nb"),
            Err(SuspensionReasonError::Control)
        );
    }

    #[test]
    fn a_suspension_lifts_itself_at_its_end() {
        let t = time::macros::datetime!(2026-12-06 12:00 UTC);
        let s = Suspension {
            reason: SuspensionReason::parse("r").unwrap(),
            since: t,
            until: Some(t + time::Duration::hours(1)),
        };
        assert!(s.active_at(t));
        assert!(s.active_at(t + time::Duration::minutes(59)));
        assert!(!s.active_at(t + time::Duration::hours(1)));
        let open = Suspension { until: None, ..s };
        assert!(open.active_at(t + time::Duration::days(3650)));
    }
}

#[cfg(test)]
#[path = "standing_tests.rs"]
mod service_tests;
