//! Work that runs once across instances: leases, and the purge of expired
//! records.

mod maintenance;
mod ports;

pub use maintenance::*;
pub use ports::*;
