use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a string is not an acceptable provider name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a provider name is 1 to 32 of a-z, 0-9, '_' and '-', starting with a letter")]
pub struct ProviderNameError;

/// The name an identity provider is configured under (`google`, `github`):
/// 1–32 of `a-z 0-9 _ -`, starting with a letter. It appears in paths
/// (`/v1/oauth/{provider}/…`) and in the stored links, so it is kept to
/// characters that need no escaping anywhere.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProviderName(String);

impl ProviderName {
    /// Parses a provider name (exactly as given: no case folding, so the
    /// configuration and the URL agree).
    pub fn parse(input: &str) -> Result<Self, ProviderNameError> {
        let ok = (1..=32).contains(&input.len())
            && input.starts_with(|c: char| c.is_ascii_lowercase())
            && input
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if ok {
            Ok(Self(input.to_owned()))
        } else {
            Err(ProviderNameError)
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProviderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for ProviderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProviderName({})", self.0)
    }
}
impl TryFrom<String> for ProviderName {
    type Error = ProviderNameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}
impl From<ProviderName> for String {
    fn from(value: ProviderName) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_path_safe() {
        for good in ["google", "github", "a", "corp-sso", "okta_2"] {
            assert!(ProviderName::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Google",
            "1password",
            "-x",
            "a/b",
            "a b",
            "é",
            &"a".repeat(33),
        ] {
            assert!(ProviderName::parse(bad).is_err(), "{bad}");
        }
    }
}
