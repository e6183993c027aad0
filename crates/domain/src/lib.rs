//! Portico's domain: the rules of accounts, sessions, second factors,
//! identity providers, permissions, content sessions, notifications,
//! uploads, payments and mail, with no I/O and no framework.
//!
//! Layout, by feature (each folder holds its values, records, ports and
//! services, and re-exports them here, so every name is `domain::Name`):
//! - [`kernel`]: what every feature shares: ids, pages, store errors,
//!   tokens, sealed secrets, the clock/id/token ports, the authenticated
//!   [`Principal`], and the [`Stores`] and [`System`] services are built from.
//! - [`accounts`], [`activity`], [`devices`], [`sessions`], [`mfa`], [`federation`], [`rbac`],
//!   [`content`], [`conversations`], [`notifications`], [`uploads`], [`payments`], [`mail`],
//!   [`limits`], [`plans`], [`stats`], [`settings`], [`jobs`], and
//!   [`transfer`] (dumping and loading every record through the ports).
//!
//! Ports are the traits adapters implement; each method's rustdoc says what
//! an adapter MUST do, and the `contract-tests` crate checks every such
//! sentence against a real adapter. Services (the use cases) return an
//! error enum of the outcomes their caller acts on, plus `Unexpected` for
//! infrastructure failures.
//!
//! With the `mock` feature every port gets a mockall mock (`MockUserRepository`, …).

#[macro_use]
pub mod kernel;

pub mod accounts;
pub mod activity;
pub mod apikeys;
pub mod content;
pub mod conversations;
pub mod devices;
pub mod federation;
pub mod jobs;
pub mod limits;
pub mod mail;
pub mod mfa;
pub mod notifications;
pub mod passwordless;
pub mod payments;
pub mod plans;
pub mod rbac;
pub mod sessions;
pub mod settings;
pub mod stats;
pub mod transfer;
pub mod uploads;
pub mod webhooks;

#[cfg(test)]
mod test_support;
// The in-memory adapter, compiled into the unit tests (see
// `test_support`), names this crate `domain` as it does outside.
#[cfg(test)]
extern crate self as domain;

pub use accounts::*;
pub use activity::*;
pub use apikeys::*;
pub use content::*;
pub use conversations::*;
pub use devices::*;
pub use federation::*;
pub use jobs::*;
pub use kernel::*;
pub use limits::*;
pub use mail::*;
pub use mfa::*;
pub use notifications::*;
pub use passwordless::*;
pub use payments::*;
pub use plans::*;
pub use rbac::*;
pub use sessions::*;
pub use settings::*;
pub use stats::*;
pub use transfer::*;
pub use uploads::*;
pub use webhooks::*;

/// Drops sub-millisecond precision and converts to UTC. Stores keep at least
/// milliseconds (MongoDB's BSON dates keep exactly that), so every time the
/// domain writes is truncated first and reads back equal from any adapter.
pub fn truncate_to_millis(t: time::OffsetDateTime) -> time::OffsetDateTime {
    let millis = t.millisecond();
    t.replace_millisecond(millis)
        .unwrap_or(t)
        .to_offset(time::UtcOffset::UTC)
}
