//! Value objects: private fields, a fallible `parse`/`new`, and once built, always valid.

mod email;
mod keys;
mod mfa;
mod money;
mod password;
mod provider;
mod rbac;
mod token;
mod username;

pub use email::{Email, EmailError};
pub use keys::{IdempotencyKey, KeyError, ObjectKey, StorageKey};
pub use mfa::{BackupCode, CodeError, Sealed, TotpCode};
pub use money::{Currency, Money, MoneyError};
pub use password::{Password, PasswordError, PasswordHash};
pub use provider::{ProviderName, ProviderNameError};
pub use rbac::{NameError, Permission, RoleName};
pub use token::{Token, TokenError, TokenHash};
/// Lowercase hex of a digest.
pub(crate) fn hex_digest(bytes: &[u8]) -> String {
    token::hex(bytes)
}
pub use username::{Username, UsernameError};
