//! What every feature shares: typed ids, cursor pages, store errors, secret
//! tokens and sealed secrets, the small outside-world ports (clock, ids,
//! randomness), string keys, the authenticated [`Principal`], and the
//! [`Stores`] and [`System`] a service is built from.

#[macro_use]
pub(crate) mod macros;

pub mod error;
pub mod ids;
pub mod keys;
#[macro_use]
pub mod layer;
pub mod page;
pub mod principal;
pub mod secrets;
pub mod stores;
pub mod system;
pub mod token;

pub use error::{InsertError, StoreError, WriteError};
pub use ids::*;
pub use keys::{IdempotencyKey, KeyError, ObjectKey, StorageKey};
pub use layer::{CallLayer, Layered, Port, PortCall, PortResult, StoreFailure};
pub use page::{Cursor, Listed, Page, PageError, PageRequest};
pub use principal::{Denied, NeedsSession, Principal, ReadError};
pub use secrets::{Sealed, Sealer};
pub use stores::*;
pub use system::*;
pub use token::{Token, TokenError, TokenHash};

/// Lowercase hex of a digest.
pub(crate) fn hex_digest(bytes: &[u8]) -> String {
    token::hex(bytes)
}
