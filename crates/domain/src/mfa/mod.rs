//! The second factor: TOTP (RFC 6238) with single-use backup codes, its
//! enrolment, confirmation and removal, and the second step of a sign-in.

mod codes;
mod ports;
mod service;
mod totp;

pub use codes::{BackupCode, CodeError, TotpCode};
pub use ports::*;
pub use service::*;
