use std::fmt;

/// Why a password does not meet the policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Fewer characters than the policy asks (`password.min_length`, and
    /// never fewer than [`Password::MIN_CHARS`]).
    #[error("password must be at least {min} characters long")]
    TooShort {
        /// The fewest characters allowed.
        min: usize,
    },
    /// More than [`Password::MAX_CHARS`] characters.
    #[error("password must be at most 128 characters long")]
    TooLong,
    /// Made of a single repeated character.
    #[error("password is too simple")]
    TooSimple,
}

/// A plaintext password that meets the fixed part of the policy
/// ([`Password::MIN_CHARS`]–[`Password::MAX_CHARS`] characters, not one
/// repeated character); the services check the runtime minimum
/// (`password.min_length`, 10 by default) with [`Password::check_length`].
/// Its `Debug` never shows the text.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Fewest characters any password may have (the lowest
    /// `password.min_length` may be set to).
    pub const MIN_CHARS: usize = 8;
    /// Most characters a password may have (bounds hashing cost).
    pub const MAX_CHARS: usize = 128;

    /// Checks a new password against the policy.
    pub fn new(input: impl Into<String>) -> Result<Self, PasswordError> {
        let s: String = input.into();
        let n = s.chars().count();
        if n < Self::MIN_CHARS {
            return Err(PasswordError::TooShort {
                min: Self::MIN_CHARS,
            });
        }
        if n > Self::MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        let mut chars = s.chars();
        let first = chars.next();
        if chars.all(|c| Some(c) == first) {
            return Err(PasswordError::TooSimple);
        }
        Ok(Self(s))
    }

    /// [`Password::new`], and at least `min` characters.
    pub fn with_min_length(input: impl Into<String>, min: usize) -> Result<Self, PasswordError> {
        let password = Self::new(input)?;
        password.check_length(min)?;
        Ok(password)
    }

    /// Whether the password has at least `min` characters (the runtime
    /// `password.min_length`).
    pub fn check_length(&self, min: usize) -> Result<(), PasswordError> {
        if self.0.chars().count() < min {
            return Err(PasswordError::TooShort { min });
        }
        Ok(())
    }

    /// Wraps a password typed at sign-in without checking the policy (old
    /// passwords may predate it); only the length cap applies, to bound hashing.
    pub fn for_sign_in(input: impl Into<String>) -> Result<Self, PasswordError> {
        let s: String = input.into();
        if s.chars().count() > Self::MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        Ok(Self(s))
    }

    /// The plaintext, for a hasher.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A password hash in PHC string format (for example `$argon2id$v=19$…`).
/// Its `Debug` does not print it.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a stored hash string.
    pub fn new(phc: impl Into<String>) -> Self {
        Self(phc.into())
    }
    /// The PHC string, for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_edges() {
        assert_eq!(
            Password::new("a".repeat(7)).unwrap_err(),
            PasswordError::TooShort { min: 8 }
        );
        assert_eq!(
            Password::new("a".repeat(10)).unwrap_err(),
            PasswordError::TooSimple
        );
        assert!(Password::new("abcdefgh").is_ok());
        assert!(Password::new("abcdefghij").is_ok());
        // The runtime minimum on top of the fixed one.
        assert_eq!(
            Password::with_min_length("abcdefghi", 10).unwrap_err(),
            PasswordError::TooShort { min: 10 }
        );
        assert!(Password::with_min_length("abcdefghij", 10).is_ok());
        assert_eq!(
            Password::with_min_length("abcdefg", 4).unwrap_err(),
            PasswordError::TooShort { min: 8 }
        );
        assert!(Password::new("é".repeat(5) + "abcde").is_ok());
        assert_eq!(
            Password::new("ab".repeat(65)).unwrap_err(),
            PasswordError::TooLong
        );
        assert!(Password::new("ab".repeat(64)).is_ok());
    }

    #[test]
    fn debug_never_shows_secrets() {
        let p = Password::new("correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
        let h = PasswordHash::new("$argon2id$secret");
        assert!(!format!("{h:?}").contains("secret"));
    }
}
