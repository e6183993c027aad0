//! Statistics: per-day figures of the accounts and their use (new,
//! active, verified and suspended users, sign-ins and failures, requests).
//!
//! Two kinds of figures, each cheap to keep:
//! - **counters**, added as things happen: accounts made and deleted,
//!   sign-ins and failed sign-ins (with their activity events), requests
//!   and first requests of a user's day (with the usage counters' flush);
//!   one atomic add per event or per flush, never a scan;
//! - **totals** (users, verified, suspended, active sessions), counted by
//!   the roll-up job (once across instances, every few minutes) and kept
//!   on the day's record: a day's totals are those of its last roll-up.
//!
//! A report reads at most 366 small day records; today's counters are
//! live, its totals those of the latest roll-up with today's new and
//! deleted accounts applied.

mod ports;
mod service;

pub use ports::*;
pub(crate) use service::count;
pub use service::*;

#[cfg(test)]
mod tests;
