use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a string is not an acceptable email address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Empty after trimming.
    #[error("email is empty")]
    Empty,
    /// Longer than 254 characters (RFC 5321 path limit).
    #[error("email is longer than 254 characters")]
    TooLong,
    /// Not of the form `local@domain.tld`, or contains spaces or control characters.
    #[error("email is not a valid address")]
    Invalid,
}

/// An email address as the user typed it (trimmed). Equality, hashing and
/// uniqueness use [`Email::normalized`], its lowercase form: `Ann@X.org` and
/// `ann@x.org` are the same account.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email {
    raw: String,
    normalized: String,
}

impl Email {
    /// Parses an address as strictly as the mailer takes it, so that an
    /// address Portico accepts can always be mailed: one `@`; a local part
    /// of at most 64 characters in the dot-atom form of RFC 5322 (letters,
    /// digits and ``!#$%&'*+/=?^_`{|}~-``, and dots that neither start nor
    /// end it nor follow one another; letters beyond ASCII as RFC 6531
    /// allows); a domain of at least two labels of letters, digits and
    /// hyphens (not at either end), each at most 63 characters; no
    /// whitespace, quotes, brackets, commas or control characters; 254
    /// characters at most.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let email = Self::from_stored(input)?;
        let (local, domain) = email.raw.rsplit_once('@').ok_or(EmailError::Invalid)?;
        let atext = |c: char| {
            c.is_ascii_alphanumeric()
                || "!#$%&'*+/=?^_`{|}~-".contains(c)
                || (!c.is_ascii() && c.is_alphanumeric())
        };
        let dot_atom = local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(atext));
        let label = |l: &str| {
            l.chars().count() <= 63
                && l.chars().all(|c| {
                    c == '-' || c.is_ascii_alphanumeric() || (!c.is_ascii() && c.is_alphanumeric())
                })
        };
        if !dot_atom || !domain.split('.').all(label) {
            return Err(EmailError::Invalid);
        }
        Ok(email)
    }

    /// An address read back from a store: the looser rules of earlier
    /// versions (one `@`, a non-empty local part of at most 64 characters,
    /// a domain with at least one dot and no empty label, no whitespace or
    /// control characters, 254 characters at most), so that a record
    /// written before [`Email::parse`] grew strict still reads. Input from
    /// clients goes through [`Email::parse`].
    pub fn from_stored(input: &str) -> Result<Self, EmailError> {
        let raw = input.trim();
        if raw.is_empty() {
            return Err(EmailError::Empty);
        }
        if raw.chars().count() > 254 {
            return Err(EmailError::TooLong);
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::Invalid);
        }
        let (local, domain) = raw.rsplit_once('@').ok_or(EmailError::Invalid)?;
        if local.is_empty() || local.chars().count() > 64 || local.contains('@') {
            return Err(EmailError::Invalid);
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels
                .iter()
                .any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-'))
        {
            return Err(EmailError::Invalid);
        }
        Ok(Self {
            raw: raw.to_owned(),
            normalized: raw.to_lowercase(),
        })
    }

    /// The address as given.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The lowercase form that uniqueness and look-ups use.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        self.normalized == other.normalized
    }
}
impl Eq for Email {}
impl std::hash::Hash for Email {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.normalized.hash(state);
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.raw)
    }
}
impl TryFrom<String> for Email {
    type Error = EmailError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}
impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_ordinary_addresses_and_normalizes_case() {
        let e = Email::parse("  Ann.Lee+tag@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "Ann.Lee+tag@Example.COM");
        assert_eq!(e.normalized(), "ann.lee+tag@example.com");
        assert_eq!(e, Email::parse("ann.lee+TAG@example.com").unwrap());
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            "",
            "   ",
            "plain",
            "@x.org",
            "a@",
            "a@x",
            "a@.org",
            "a@x..org",
            "a b@x.org",
            "a@-x.org",
            "evil>,<victim@example.org",
            "\"quoted\"@example.org",
            "a,b@example.org",
            "a<b@example.org",
            "a(b)@example.org",
            "a[b]@example.org",
            "a;b@example.org",
            "a:b@example.org",
            "a\\b@example.org",
            ".a@example.org",
            "a.@example.org",
            "a..b@example.org",
            "a@exa_mple.org",
            "a@exa mple.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        let long = format!("{}@example.org", "a".repeat(250));
        assert_eq!(Email::parse(&long).unwrap_err(), EmailError::TooLong);
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_roundtrips(s in "\\PC{0,80}") {
            if let Ok(e) = Email::parse(&s) {
                let again = Email::parse(e.as_str()).unwrap();
                prop_assert_eq!(again.normalized(), e.normalized());
                prop_assert!(e.as_str().contains('@'));
            }
        }

        #[test]
        fn generated_valid_addresses_parse(local in "[a-z0-9_+-]{1,10}(\\.[a-z0-9_+-]{1,10}){0,2}", dom in "[a-z0-9]{1,20}", tld in "[a-z]{2,6}") {
            let addr = format!("{local}@{dom}.{tld}");
            prop_assert!(Email::parse(&addr).is_ok());
        }
    }
}
