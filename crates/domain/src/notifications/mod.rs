//! Notifications: a user's inbox with expiry, seen marks and responses, and
//! the feed that announces new ones to live streams on every instance.

mod feed;
mod ports;
mod service;

pub use feed::*;
pub use ports::*;
pub use service::*;
