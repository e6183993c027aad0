//! Sessions: sign-in with lockout, access tokens with a sliding expiry,
//! single-use refresh tokens with reuse detection, single-use tokens for
//! other purposes, and the announcements of changes to authentication that
//! caches of authenticated principals listen to.

mod changes;
mod errors;
mod jwt;
mod records;
pub(crate) mod service;

pub use changes::*;
pub use errors::*;
pub use jwt::*;
pub use records::*;
pub use service::*;

#[cfg(test)]
mod jwt_tests;
