//! API keys for scripts and integrations: a bearer key acting as its user
//! with at most the permissions it names (and never more than the user's
//! roles give at the time of the request), unable to manage the account
//! ([`crate::NeedsSession`]), dead with its user's lock, suspension or
//! deletion, counted toward the user's quotas like any request.

mod model;
mod service;

pub use model::*;
pub use service::*;

#[cfg(test)]
mod tests;
