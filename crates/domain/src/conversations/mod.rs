//! Conversations between users: direct (two users, one per pair) and
//! groups (up to fifty), with messages, replies, read positions, leaving,
//! tombstones for removed messages; and blocks between users.
//!
//! Each message takes the conversation's next sequence number from the
//! store, which orders the conversation and makes unread counts the
//! difference of two numbers (the conversation's last sequence number and
//! the participant's read position) rather than a count of messages.

mod blocks;
mod model;
mod ports;
mod service;

pub use model::*;
pub use ports::*;
pub use service::*;

#[cfg(test)]
mod tests;
