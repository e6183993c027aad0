use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a string is not an acceptable username.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    /// Fewer than 3 or more than 32 characters.
    #[error("username must be 3 to 32 characters long")]
    Length,
    /// A character outside `a-z 0-9 _ . -`, or not starting with a letter or digit.
    #[error(
        "username may contain only letters, digits, '_', '.' and '-', and must start with a letter or digit"
    )]
    Invalid,
}

/// A username: 3–32 of `a-z 0-9 _ . -`, starting with a letter or digit.
/// Parsing lowercases it, so usernames are unique regardless of case.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    /// Parses and lowercases a username.
    pub fn parse(input: &str) -> Result<Self, UsernameError> {
        let s = input.trim().to_lowercase();
        let len = s.chars().count();
        if !(3..=32).contains(&len) {
            return Err(UsernameError::Length);
        }
        let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c);
        if !s.chars().all(ok_char) || !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(UsernameError::Invalid);
        }
        Ok(Self(s))
    }

    /// The canonical (lowercase) username.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Username({})", self.0)
    }
}
impl TryFrom<String> for Username {
    type Error = UsernameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}
impl From<Username> for String {
    fn from(value: Username) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lowercases_and_checks_charset() {
        assert_eq!(Username::parse("Ann_Lee").unwrap().as_str(), "ann_lee");
        assert_eq!(Username::parse("ab"), Err(UsernameError::Length));
        assert_eq!(Username::parse(&"a".repeat(33)), Err(UsernameError::Length));
        assert_eq!(Username::parse("_ann"), Err(UsernameError::Invalid));
        assert_eq!(Username::parse("ann lee"), Err(UsernameError::Invalid));
        assert_eq!(Username::parse("ann/../x"), Err(UsernameError::Invalid));
    }

    proptest! {
        #[test]
        fn parsed_usernames_are_canonical(s in "\\PC{0,40}") {
            if let Ok(u) = Username::parse(&s) {
                prop_assert_eq!(Username::parse(u.as_str()).unwrap(), u.clone());
                prop_assert!(u.as_str().is_ascii());
            }
        }
    }
}
