//! Sign-in without a password: a link and a code mailed to the account's
//! address ([`EmailSignIn`]), and passkeys ([`Passkeys`]).
//!
//! The flow lives in the single-use token store, as three records under
//! one flow id (the `flow_id` the request answers with):
//!
//! - the **flow** itself, under the hash of the flow id: whoever consumes
//!   it first signs in, so the first use of the link or the code voids
//!   both; wrong codes are counted on it, and the fifth voids it;
//! - the **code**, under the hash of the flow id with the 6-digit code;
//! - the **link**, under the hash of the flow id with a 256-bit secret;
//!   the link carries both (`<flow id>.<secret>`).
//!
//! A code or link proves only its own flow (its hash binds the flow id),
//! and neither works once the flow record is gone. Nothing is written and
//! nothing mailed for an address without an account, and the answer is
//! the same.

pub(crate) mod email;
pub(crate) mod passkey;

pub use email::*;
pub use passkey::*;

#[cfg(test)]
mod tests;
