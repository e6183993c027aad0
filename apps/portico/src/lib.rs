//! Portico's HTTP server: actix-web over the `domain` services.
//!
//! Layout:
//! - [`config`]: defaults, TOML file, `PORTICO_*` environment overrides.
//! - [`startup`]: [`startup::Application`] builds from a config, binds, runs
//!   until stopped; [`backends`] connects the stores and picks one per port group.
//! - [`routes`]: handlers per area, with request and response types
//!   ([`dto`] holds the shared ones) and OpenAPI annotations ([`openapi`]).
//! - [`auth`]: bearer and cookie authentication, CSRF, client IP, rate limits.
//! - [`problem`] and [`errors`]: RFC 9457 problems and the one mapping from
//!   domain errors to them.
//! - [`mail`] (outbox or SMTP), [`objects`] (local disk or S3), [`metrics`] and
//!   [`timed`] (Prometheus), [`cli`] (the `portico` command).
//! - [`live`] (the notification stream's fan-out) and [`jobs`] (upload sweep
//!   and purge under leases).

pub mod auth;
pub mod backends;
pub mod cli;
pub mod config;
pub mod dto;
pub mod errors;
pub mod jobs;
pub mod live;
pub mod mail;
pub mod metrics;
pub mod objects;
pub mod openapi;
pub mod problem;
pub mod routes;
pub mod startup;
pub mod state;
pub mod timed;

pub use config::Config;
pub use startup::Application;

/// Installs the global `tracing` subscriber: `RUST_LOG` or `log.level`,
/// text or JSON lines. Does nothing when one is already installed.
pub fn init_tracing(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(config.log.level.clone()));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = if config.log.json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
