//! Roles and permissions: named roles holding permissions, grants to users,
//! and the rule that nobody hands out what they do not hold.

mod errors;
mod names;
mod ports;
mod service;

pub use errors::*;
pub use names::{NameError, Permission, RoleName};
pub use ports::*;
pub use service::*;
