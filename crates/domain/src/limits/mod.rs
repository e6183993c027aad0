//! Rate limits and usage counters: fixed-window counters in a store, and the
//! buffered per-user request counts.

mod ports;
mod service;

pub use ports::*;
pub use service::*;
