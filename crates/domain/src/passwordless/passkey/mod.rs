//! Passkeys (WebAuthn): registration and sign-in ceremonies through the
//! [`PasskeyCeremony`] port, challenges kept in the store (single use, five
//! minutes, finishable on any instance), signature counters advanced by
//! compare-and-set so a cloned authenticator is refused, and the
//! last-way-to-sign-in rule shared with passwords and identity providers.

mod ceremony;
mod model;
mod service;

pub use ceremony::*;
pub use model::*;
pub use service::*;

#[cfg(test)]
mod tests;
