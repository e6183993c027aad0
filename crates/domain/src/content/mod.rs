//! Content sessions: a user's named sessions with key/value data and
//! messages (from the owner, the assistant or the system), and the active one.

mod errors;
mod ports;
mod service;

pub use errors::*;
pub use ports::*;
pub use service::*;
