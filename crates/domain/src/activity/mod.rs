//! The activity log: what happened to an account and who did it — the
//! user, an administrator, or the system — with the IP address and device
//! where there was a request. Events are written by the services that make
//! the change (an embedder calling the domain gets them too), kept for the
//! configured retention, purged by a job, part of a user's export, and
//! deleted with the account except for one `account.deleted` event that
//! holds only the user's id.

mod ports;
mod service;

pub use ports::*;
pub use service::*;

#[cfg(test)]
mod tests;
