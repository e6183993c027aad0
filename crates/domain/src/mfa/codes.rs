//! Values of the second factor: a TOTP code as typed, a backup code, and a
//! sealed (encrypted) secret as stores keep it.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::{TokenHash, UserId};

/// Why a presented code is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// A TOTP code is six digits.
    #[error("a TOTP code is six digits")]
    Totp,
    /// A backup code is 20 hexadecimal characters (dashes and spaces ignored).
    #[error("a backup code is 20 hexadecimal characters")]
    Backup,
}

/// A six-digit TOTP code as typed (RFC 6238, 6 digits). Spaces are ignored,
/// so "123 456" parses.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpCode(String);

impl TotpCode {
    /// Parses a typed code.
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(digits))
        } else {
            Err(CodeError::Totp)
        }
    }
    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TotpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpCode(***)")
    }
}

/// A single-use backup code: 80 random bits as 20 lowercase hex characters,
/// shown in groups of four (`3f9a-0c1d-…`). Stores keep only
/// [`BackupCode::hash`], salted with the user's id.
#[derive(Clone, PartialEq, Eq)]
pub struct BackupCode(String);

impl BackupCode {
    /// Hex characters in a code.
    pub const LEN: usize = 20;

    /// Parses a typed code: case, dashes and spaces do not matter.
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let hex: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if hex.len() == Self::LEN && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(hex))
        } else {
            Err(CodeError::Backup)
        }
    }

    /// A code made of the first 20 hex characters of fresh randomness.
    pub(crate) fn from_random(hex: &str) -> Self {
        Self(hex[..Self::LEN].to_owned())
    }

    /// The code as shown once to the user, in dash-separated groups of four.
    pub fn display(&self) -> String {
        let groups: Vec<&str> = (0..Self::LEN)
            .step_by(4)
            .map(|i| &self.0[i..i + 4])
            .collect();
        groups.join("-")
    }

    /// What stores keep: SHA-256 over the user's id and the code, so equal
    /// codes of two users hash apart. 80 random bits need no slow hash.
    pub fn hash(&self, user: UserId) -> TokenHash {
        let mut digest = Sha256::new();
        digest.update(b"portico-backup-code:");
        digest.update(user.as_uuid().as_bytes());
        digest.update(self.0.as_bytes());
        TokenHash::from_stored(crate::kernel::hex_digest(&digest.finalize()))
    }
}

impl fmt::Debug for BackupCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BackupCode(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Sealed;

    #[test]
    fn totp_codes_are_six_digits() {
        assert_eq!(TotpCode::parse("123 456").unwrap().as_str(), "123456");
        for bad in ["12345", "1234567", "12345a", "", "１２３４５６"] {
            assert_eq!(TotpCode::parse(bad), Err(CodeError::Totp), "{bad}");
        }
    }

    #[test]
    fn backup_codes_ignore_case_and_dashes_and_hash_per_user() {
        let code = BackupCode::parse("3F9A-0c1d-22b4-9e00-aaaa").unwrap();
        assert_eq!(code.display(), "3f9a-0c1d-22b4-9e00-aaaa");
        assert_eq!(BackupCode::parse(&code.display()).unwrap(), code);
        assert_eq!(
            BackupCode::parse("3f9a0c1d22b49e00aaa"),
            Err(CodeError::Backup)
        );
        assert_eq!(
            BackupCode::parse("3f9a0c1d22b49e00aaag"),
            Err(CodeError::Backup)
        );
        let (a, b) = (
            UserId::from_uuid(uuid::Uuid::from_u128(1)),
            UserId::from_uuid(uuid::Uuid::from_u128(2)),
        );
        assert_ne!(code.hash(a), code.hash(b));
        assert_eq!(code.hash(a), code.hash(a));
    }

    #[test]
    fn a_sealed_value_names_its_key_and_hides_the_rest() {
        let s = Sealed::from_stored("k2:00ff");
        assert_eq!(s.key_id(), "k2");
        assert_eq!(format!("{s:?}"), "Sealed(k2:…)");
    }
}
