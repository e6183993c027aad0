//! Runtime settings: a fixed, typed catalog of policy values (registration
//! open, the plan new accounts start on, the password minimum, the lockout,
//! new-device mail) and the app's own flags (`features.<name>`), which
//! administrators change while the server runs.
//!
//! The configuration file gives each key's default; changes are kept in one
//! versioned record ([`SettingsRepository`]), replaced by compare-and-set
//! on its version, so concurrent writers never lose each other's keys and
//! `If-Match` can refuse a stale edit. Every process keeps the values in
//! force in a [`LiveSettings`] that the rules read on each use; a change is
//! put in force at once where it was made, announced on the auth-change
//! feed to the other instances, and read again on a timer by each (the
//! fallback when an announcement is lost).

mod catalog;
mod ports;
mod service;

pub use catalog::*;
pub use ports::*;
pub use service::*;

#[cfg(test)]
mod tests;
