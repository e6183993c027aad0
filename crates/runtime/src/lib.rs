//! Portico's runtime: everything that runs around the domain and needs no
//! web framework. An embedder can build the same service Portico's server
//! runs, from the same configuration, with no HTTP at all.
//!
//! - [`config`]: defaults, a TOML file, `PORTICO_*` environment overrides.
//! - [`backends`]: connects the configured stores (SQL, MongoDB, Redis) and
//!   picks one per port group.
//! - [`services`]: [`Runtime`], the one wiring of the domain services over
//!   those stores, with the production clock, ids, tokens, hashing threads,
//!   keyring, mailer and object store.
//! - [`timed`] and [`breaker`]: every store call timed into [`metrics`],
//!   cut off at `stores.call_timeout_ms`, and refused at once while its
//!   store is known to be down.
//! - [`principals`]: the cache of authenticated principals, the feed that
//!   keeps every instance's cache current, and the listener.
//! - [`settings`]: the follower that keeps the runtime settings in force
//!   here current (the feed's announcements, and a poll).
//! - [`live`]: the in-process fan-out of the notification feed.
//! - [`background`]: what every instance runs beside its requests
//!   ([`jobs`], [`mail_worker`], the keyring watcher of [`keys`]).
//! - [`objects`] (local disk or S3), [`proxies`] (which forwarded hop is the
//!   client).

pub mod backends;
pub mod background;
pub mod backups;
pub mod breaker;
pub mod config;
pub mod dumps;
pub mod jobs;
pub mod jwt_keys;
pub mod keys;
pub mod live;
pub mod mail_worker;
pub mod metrics;
pub mod objects;
pub mod plan_cache;
pub mod principals;
pub mod proxies;
pub mod services;
pub mod settings;
pub mod timed;
pub mod webhooks;

pub use background::Background;
pub use config::Config;
pub use services::{Runtime, RuntimeError};

/// Writes `error` and every `source()` below it on one line.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        // Wrappers that print their source already (`#[error("{0}")]`,
        // `transparent`) would say it twice.
        let part = e.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = e.source();
    }
    text
}
