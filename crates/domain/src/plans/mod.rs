//! Plans and quotas: named plans with daily and monthly request limits and
//! the features an app gates on, a user's assignment to one (with an
//! optional end), and the verdict on a request counted against them.
//!
//! The built-in default plan (`free`) is not stored: its limits and
//! features come from configuration ([`crate::AccountPolicy::default_plan`]),
//! and a user with no assignment, an ended one, or one naming a plan that
//! no longer exists is on it.

mod names;
mod ports;
mod quota;
mod service;

pub use names::*;
pub use ports::*;
pub use quota::*;
pub use service::*;

#[cfg(test)]
mod tests;
