//! The bounded names of plans: the plan's key, what people are shown, and
//! the features an app gates on.

use std::fmt;

/// Why a plan's name, display name or feature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PlanTextError {
    /// Empty, or too long.
    #[error("must be 1 to {0} characters")]
    Length(usize),
    /// A character outside what the field allows.
    #[error("{0}")]
    Characters(&'static str),
}

/// A plan's key: 1 to 40 of `a-z 0-9 _ -`, starting with a letter or digit
/// (it appears in URLs and in the `plan` filter).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct PlanName(String);

impl PlanName {
    /// The built-in default plan.
    pub const FREE: &'static str = "free";
    /// The longest name, in characters.
    pub const MAX_CHARS: usize = 40;

    /// Parses a name given by a caller (case is folded to lowercase).
    pub fn parse(input: &str) -> Result<Self, PlanTextError> {
        let s = input.trim().to_ascii_lowercase();
        if s.is_empty() || s.len() > Self::MAX_CHARS {
            return Err(PlanTextError::Length(Self::MAX_CHARS));
        }
        let ok = s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
            && s.starts_with(|c: char| c.is_ascii_alphanumeric());
        if !ok {
            return Err(PlanTextError::Characters(
                "must be lowercase letters, digits, `_` and `-`, starting with a letter or digit",
            ));
        }
        Ok(Self(s))
    }

    /// The built-in default plan's name.
    pub fn free() -> Self {
        Self(Self::FREE.to_owned())
    }

    /// A name read back from a store, as it was written.
    pub fn from_stored(stored: impl Into<String>) -> Self {
        Self(stored.into())
    }

    /// Whether this is the built-in default plan.
    pub fn is_free(&self) -> bool {
        self.0 == Self::FREE
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a plan is called where people see it: 1 to 100 characters, no
/// control characters.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct PlanDisplayName(String);

impl PlanDisplayName {
    /// The longest display name, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Parses a display name.
    pub fn parse(input: &str) -> Result<Self, PlanTextError> {
        let s = input.trim();
        if s.is_empty() || s.chars().count() > Self::MAX_CHARS {
            return Err(PlanTextError::Length(Self::MAX_CHARS));
        }
        if s.chars().any(char::is_control) {
            return Err(PlanTextError::Characters(
                "must not hold control characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// A display name read back from a store.
    pub fn from_stored(stored: impl Into<String>) -> Self {
        Self(stored.into())
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A capability a plan gives, which the app gates on (`export`,
/// `priority-support`, `ai.long-context`): 1 to 64 of `a-z 0-9 _ - . :`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Feature(String);

impl Feature {
    /// The longest feature, in characters.
    pub const MAX_CHARS: usize = 64;
    /// The most features one plan lists.
    pub const MAX_PER_PLAN: usize = 50;

    /// Parses a feature (case is folded to lowercase).
    pub fn parse(input: &str) -> Result<Self, PlanTextError> {
        let s = input.trim().to_ascii_lowercase();
        if s.is_empty() || s.len() > Self::MAX_CHARS {
            return Err(PlanTextError::Length(Self::MAX_CHARS));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.:".contains(c))
        {
            return Err(PlanTextError::Characters(
                "must be lowercase letters, digits, `_`, `-`, `.` and `:`",
            ));
        }
        Ok(Self(s))
    }

    /// A feature read back from a store.
    pub fn from_stored(stored: impl Into<String>) -> Self {
        Self(stored.into())
    }

    /// The feature.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! plan_text_impls {
    ($($t:ident),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($t), "({:?})"), self.0)
            }
        }
    )*};
}

plan_text_impls!(PlanName, PlanDisplayName, Feature);

/// Parses a list of features: each valid, at most
/// [`Feature::MAX_PER_PLAN`], duplicates dropped, sorted.
pub fn parse_features<'a>(
    input: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Feature>, PlanTextError> {
    let mut features = input
        .into_iter()
        .map(Feature::parse)
        .collect::<Result<Vec<_>, _>>()?;
    features.sort();
    features.dedup();
    if features.len() > Feature::MAX_PER_PLAN {
        return Err(PlanTextError::Characters("at most 50 features per plan"));
    }
    Ok(features)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_bounded_keys() {
        assert_eq!(PlanName::parse(" Pro ").unwrap().as_str(), "pro");
        assert!(PlanName::parse("team-2_x").is_ok());
        assert_eq!(PlanName::parse(""), Err(PlanTextError::Length(40)));
        assert_eq!(
            PlanName::parse(&"a".repeat(41)),
            Err(PlanTextError::Length(40))
        );
        assert!(matches!(
            PlanName::parse("-pro"),
            Err(PlanTextError::Characters(_))
        ));
        assert!(matches!(
            PlanName::parse("pro plan"),
            Err(PlanTextError::Characters(_))
        ));
        assert!(PlanName::parse("free").unwrap().is_free());
    }

    #[test]
    fn display_names_are_one_line() {
        assert_eq!(PlanDisplayName::parse(" Pro ").unwrap().as_str(), "Pro");
        assert!(PlanDisplayName::parse("a\tb").is_err());
        assert!(PlanDisplayName::parse(&"é".repeat(100)).is_ok());
        assert!(PlanDisplayName::parse(&"é".repeat(101)).is_err());
    }

    #[test]
    fn features_are_sorted_unique_and_bounded() {
        let f = parse_features(["export", "AI.long", "export"]).unwrap();
        let names: Vec<&str> = f.iter().map(Feature::as_str).collect();
        assert_eq!(names, ["ai.long", "export"]);
        assert!(parse_features(["bad feature"]).is_err());
        let many: Vec<String> = (0..51).map(|i| format!("f{i}")).collect();
        assert!(parse_features(many.iter().map(String::as_str)).is_err());
        let fifty: Vec<String> = (0..50).map(|i| format!("f{i}")).collect();
        assert!(parse_features(fifty.iter().map(String::as_str)).is_ok());
    }
}
