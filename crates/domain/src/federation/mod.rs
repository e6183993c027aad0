//! Sign-in through identity providers (OAuth 2.0 / OpenID Connect): flows
//! bound to the browser that started them, links between users and their
//! identities, and one-time exchange codes in place of tokens in URLs.

mod errors;
mod ports;
mod provider_name;
pub(crate) mod redirect;
mod secrets;
mod service;
mod settle;

pub use errors::*;
pub use ports::*;
pub use provider_name::{ProviderName, ProviderNameError};

pub use service::*;

#[cfg(test)]
mod link_tests;
#[cfg(test)]
mod tests;
