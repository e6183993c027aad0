//! Payments: money in minor units, beneficiaries whose shares sum to the
//! amount, idempotency keys, and the status machine providers move.

mod money;
mod ports;
mod service;

pub use money::{Currency, Money, MoneyError};
pub use ports::*;
pub use service::*;
