//! The second factor: TOTP (RFC 6238) with single-use backup codes, its
//! enrolment, confirmation and removal, and the second step of a sign-in.

mod codes;
mod errors;
mod ports;
mod secrets;
mod service;
mod sign_in;
mod totp;

pub use codes::{BackupCode, CodeError, TotpCode};
pub use errors::*;
pub use ports::*;
pub use service::*;
pub use sign_in::*;
