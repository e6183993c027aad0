//! Sign-in through identity providers (OAuth 2.0 / OpenID Connect): flows
//! bound to the browser that started them, links between users and their
//! identities, and one-time exchange codes in place of tokens in URLs.

mod ports;
mod provider_name;
mod service;

pub use ports::*;
pub use provider_name::{ProviderName, ProviderNameError};
pub use service::*;
