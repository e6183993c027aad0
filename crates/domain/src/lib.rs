//! Portico's domain: the rules of accounts, permissions, content sessions,
//! notifications, uploads and payments, with no I/O and no framework.
//!
//! Layout:
//! - [`values`]: value objects that parse (`Email`, `Username`, `Password`,
//!   `Money`, `ObjectKey`, `StorageKey`, `RoleName`, `Permission`, `Token`, …).
//! - [`ids`]: typed UUID identifiers.
//! - [`ports`]: the traits adapters implement — one repository per entity
//!   family (with the entities they store) plus `Clock`, `IdGenerator`,
//!   `TokenGenerator`, `PasswordHasher`, `Mailer`, `ObjectStore` and `RateLimiter`.
//!   Each method's rustdoc says what an adapter MUST do; the `contract-tests`
//!   crate checks every such sentence against a real adapter.
//! - [`services`]: the use cases. Each method returns an error enum of the
//!   outcomes its caller acts on, plus `Unexpected` for infrastructure failures.
//! - [`page`]: cursor pagination shared by every list.
//!
//! With the `mock` feature every port gets a mockall mock (`MockUserRepository`, …).

pub mod error;
pub mod ids;
pub mod page;
pub mod ports;
pub mod services;
pub mod values;

pub use error::{CreateError, StoreError, WriteError};
pub use ids::*;
pub use page::{Cursor, Listed, Page, PageError, PageRequest};
pub use ports::*;
pub use values::*;

/// Drops sub-millisecond precision and converts to UTC. Stores keep at least
/// milliseconds (MongoDB's BSON dates keep exactly that), so every time the
/// domain writes is truncated first and reads back equal from any adapter.
pub fn truncate_to_millis(t: time::OffsetDateTime) -> time::OffsetDateTime {
    let millis = t.millisecond();
    t.replace_millisecond(millis)
        .unwrap_or(t)
        .to_offset(time::UtcOffset::UTC)
}
