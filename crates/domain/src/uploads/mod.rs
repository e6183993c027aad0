//! Uploads: pre-authorised uploads to object storage, their completion and
//! the sweep of what expired, and the object-storage port.

mod errors;
mod objects;
mod ports;
mod service;

pub use errors::*;
pub use objects::*;
pub use ports::*;
pub use service::*;
