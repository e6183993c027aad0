//! Portico's HTTP server: actix-web over the [`runtime`] (the domain
//! services and what runs beside them), and the `portico` command.
//!
//! Layout:
//! - [`startup`]: [`startup::Application`] builds from a config, binds, runs
//!   until stopped.
//! - [`routes`]: handlers per area, with OpenAPI annotations ([`openapi`]);
//!   the request and response types are the `api-types` crate's.
//! - [`auth`]: bearer and cookie authentication, CSRF, client IP, rate limits.
//! - [`problem`] and [`errors`]: RFC 9457 problems and the one mapping from
//!   domain errors to them.
//! - [`pages`] (Portico's own mail-link pages), [`cli`] (the `portico` command).

pub mod auth;
mod body_rate;
pub mod cli;
pub mod console;
pub mod errors;
pub mod exchanges;
mod headers;
mod json_text;
pub mod openapi;
pub mod pages;
pub mod payment_providers;
pub mod problem;
pub mod routes;
pub mod startup;
pub mod state;
pub mod upload_slots;

pub use runtime::config::Config;

// The runtime's parts under their old names, for the handlers and tests.
pub use runtime::{backends, config, jobs, keys, live, metrics, objects, principals, proxies};
pub use startup::Application;

/// Installs the global `tracing` subscriber: `RUST_LOG` or `log.level`,
/// text or JSON lines on standard output. Does nothing when one is already
/// installed.
///
/// Logging never blocks a request and never fails one: lines go through a
/// bounded queue to a writer thread that drops lines when the queue is full
/// (a reader that stopped reading) and ignores a closed or broken output
/// (`portico serve | head`). Keep the returned guard until exit: dropping it
/// flushes what is queued.
pub fn init_tracing(config: &Config) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(config.log.level.clone()));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(64 * 1024)
        .thread_name("portico-log")
        .finish(ForgivingStdout);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours for a person at a terminal, never into files or pipes.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_writer(writer)
        // Its fallback for a failed write is `eprintln!`, which panics
        // when standard error is closed too.
        .log_internal_errors(false);
    let installed = if config.log.json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    installed.ok().map(|()| guard)
}

/// Standard output that reports every write as done: a closed pipe or a
/// full disk loses log lines, never the server.
struct ForgivingStdout;

impl std::io::Write for ForgivingStdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stdout().lock().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stdout().lock().flush();
        Ok(())
    }
}
