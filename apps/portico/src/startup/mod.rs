//! Start-up as a library: build an [`Application`] from a configuration,
//! read its bound address, run it until a shutdown signal or
//! [`Application::handle`]'s `stop`. Graceful shutdown stops accepting and
//! drains in-flight requests for up to `server.shutdown_timeout_secs`.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{Condition, from_fn};
use actix_web::{App, HttpServer, web};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use runtime::backends::Backends;
use runtime::config::Config;
use runtime::live::Live;
use runtime::metrics::Metrics;
use runtime::{Background, Runtime, RuntimeError};

use crate::routes::{self, RouteTable};
use crate::state::AppState;

mod middleware;

use middleware::{cors, limit_per_ip, observe, refused_preflight};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A store, the mailer, hashing, object storage or the preparation of
    /// the stores failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// A store is unreachable.
    #[error(transparent)]
    Connect(#[from] runtime::backends::ConnectError),
    /// The HTTP layer's own settings are invalid.
    #[error("{0}")]
    Setup(String),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Stops a running [`Application`]: ends the live notification streams,
/// then stops the server (gracefully: in-flight requests finish).
#[derive(Clone)]
pub struct StopHandle {
    server: ServerHandle,
    /// The listener of `server.metrics_listen`, if any.
    metrics: Option<ServerHandle>,
    live: Arc<Live>,
}

impl StopHandle {
    /// Stops the server; with `graceful`, in-flight requests may finish
    /// within `server.shutdown_timeout_secs`.
    pub async fn stop(&self, graceful: bool) {
        self.live.close();
        self.server.stop(graceful).await;
        if let Some(metrics) = &self.metrics {
            metrics.stop(graceful).await;
        }
    }
}

/// A bound, ready-to-run server.
pub struct Application {
    server: Server,
    addr: SocketAddr,
    /// Stores this application connected itself, closed when it stops.
    owned: Option<Backends>,
    /// The runtime's background work, stopped after the server.
    background: Background,
    live: Arc<Live>,
    /// The mail queue the worker drains.
    mail_queue: Arc<dyn domain::MailQueue>,
    /// The `server.metrics_listen` server: its address, handle and task.
    metrics: Option<(
        SocketAddr,
        ServerHandle,
        tokio::task::JoinHandle<std::io::Result<()>>,
    )>,
}

impl Application {
    /// Connects the configured stores and builds the server.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let backends = Backends::connect(&config).await?;
        let mut app = Self::with_backends(config, backends.clone()).await?;
        app.owned = Some(backends);
        Ok(app)
    }

    /// Builds the server over stores that are already connected. They stay
    /// open when the server stops: their owner closes them.
    pub async fn with_backends(config: Config, backends: Backends) -> Result<Self, StartError> {
        Self::with_backends_and_log(config, backends, None).await
    }

    /// Like [`Self::with_backends`], recording every response into `log`
    /// when one is given (see [`crate::exchanges`]).
    pub async fn with_backends_and_log(
        mut config: Config,
        backends: Backends,
        log: Option<crate::exchanges::ExchangeLog>,
    ) -> Result<Self, StartError> {
        let listener =
            TcpListener::bind(config.server.listen).map_err(|source| StartError::Bind {
                addr: config.server.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.server.listen,
            source,
        })?;
        // Links and upload URLs name the bound port (port 0 picks one).
        if config.server.public_url.is_empty() {
            config.server.public_url = format!("http://{addr}");
        }
        let runtime = Runtime::build(&config, &backends, Arc::new(Metrics::default()))?;
        runtime.prepare(&config).await?;
        let background = runtime.spawn_background(&config);
        let live = runtime.live.clone();
        let mail_queue = runtime.mail_queue.clone();
        let state = Arc::new(AppState::new(runtime, &config).map_err(|e| StartError::Setup(e.0))?);
        let state = web::Data::from(state);
        let state_for_metrics = state.clone();
        // Built once: the route table comes from it and /openapi.json serves it.
        let api = crate::openapi::document_for(&config.public_url());
        let routes = web::Data::new(Arc::new(RouteTable::from_openapi(&api)));
        let limit = config.server.body_limit_bytes;
        let body_rate = crate::body_rate::BodyRate {
            grace: std::time::Duration::from_secs(config.server.body_grace_secs),
            min_rate: config.server.body_min_bytes_per_sec,
        };
        let origins = config.server.cors_origins.clone();
        let docs = config.server.docs;
        let console = config.server.console;
        let pages = crate::pages::configure(&config);
        let workers = match config.server.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let server = HttpServer::new(move || {
            let (app, _) = App::new()
                .into_utoipa_app()
                .app_data(state.clone())
                .app_data(routes.clone())
                .app_data(routes::json_config(limit))
                .app_data(routes::payload_config(limit))
                .app_data(routes::path_config())
                .app_data(routes::query_config())
                .configure(routes::configure)
                .split_for_parts();
            let docs = docs.then(|| {
                (
                    SwaggerUi::new("/docs/{_:.*}")
                        .external_url_unchecked("/openapi.json", api.clone()),
                    web::redirect("/docs", "/docs/"),
                )
            });
            app.configure(|cfg| {
                if let Some((ui, redirect)) = docs {
                    // The front door: `/` leads to the API's pages.
                    cfg.service(ui)
                        .service(redirect)
                        .service(web::redirect("/", "/docs/"));
                }
            })
            .configure(pages.clone())
            .configure(|cfg| {
                if console {
                    crate::console::configure(cfg);
                }
            })
            .default_service(web::to(routes::fallback))
            .wrap(from_fn(limit_per_ip))
            .wrap(Condition::new(!origins.is_empty(), cors(&origins)))
            .wrap(from_fn({
                let origins: Arc<[String]> = origins.clone().into();
                move |req, next| refused_preflight(origins.clone(), req, next)
            }))
            .wrap(from_fn(move |req, next| {
                crate::json_text::refuse_nul(limit, req, next)
            }))
            .wrap(from_fn(move |req, next| body_rate.enforce(req, next)))
            .wrap(from_fn(crate::headers::secure))
            .wrap(from_fn(observe))
            // Off in production: no layer at all without a log.
            .wrap(Condition::new(
                log.is_some(),
                from_fn({
                    let log = log.clone();
                    move |req, next| crate::exchanges::record(log.clone(), req, next)
                }),
            ))
        })
        .workers(workers)
        // Signals are handled in `run_until_stopped`, which ends the live
        // streams before the graceful stop.
        .disable_signals()
        .shutdown_timeout(config.server.shutdown_timeout_secs)
        .client_request_timeout(std::time::Duration::from_millis(
            config.server.request_head_timeout_ms,
        ))
        .client_disconnect_timeout(std::time::Duration::from_millis(1000))
        .max_connections((config.server.max_connections / workers).max(1))
        .listen(listener)
        .map_err(|source| StartError::Bind { addr, source })?
        .run();
        tracing::info!(%addr, workers, "listening");
        for line in where_things_are(&config) {
            tracing::info!("{line}");
        }
        let metrics = match config.server.metrics_listen {
            Some(at) => Some(metrics_server(at, state_for_metrics)?),
            None => None,
        };
        Ok(Self {
            server,
            addr,
            owned: None,
            background,
            live,
            mail_queue,
            metrics,
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The queue of mail waiting to be sent (empty once the worker has
    /// delivered everything).
    pub fn mail_queue(&self) -> Arc<dyn domain::MailQueue> {
        self.mail_queue.clone()
    }

    /// The bound address of `server.metrics_listen`, when it is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(addr, _, _)| *addr)
    }

    /// A handle to stop the server: `handle.stop(true)` drains in-flight requests.
    pub fn handle(&self) -> StopHandle {
        StopHandle {
            server: self.server.handle(),
            metrics: self.metrics.as_ref().map(|(_, handle, _)| handle.clone()),
            live: self.live.clone(),
        }
    }

    /// Serves until SIGINT/SIGTERM or a stop through [`Self::handle`], then
    /// closes the stores it connected itself.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.handle();
        let signals = tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down");
            handle.stop(true).await;
        });
        let result = self.server.await;
        signals.abort();
        if let Some((_, handle, task)) = self.metrics {
            handle.stop(true).await;
            let _ = task.await;
        }
        // No request counts any more: write the usage counted since the
        // last flush, then stop the listeners, the mail worker and the jobs,
        // so nothing uses the stores after this returns.
        self.background.stop().await;
        if let Some(backends) = &self.owned {
            backends.close().await;
        }
        tracing::info!("stopped");
        result
    }
}

/// What a newcomer looks for in the start-up log, in words: the API and
/// its docs, the data and outbox folders, the store of each port group,
/// and who may call from a browser.
pub fn where_things_are(config: &Config) -> Vec<String> {
    use runtime::config::{Backend, MailTransport, redact_url};
    let base = config.public_url();
    let mut out = vec![if config.server.docs {
        format!("API at {base}/v1, its docs at {base}/docs")
    } else {
        format!("API at {base}/v1 (docs are off: server.docs = false)")
    }];
    if config.server.console {
        out.push(format!(
            "admin console at {base}/admin (for accounts holding console:access)"
        ));
    }
    let absolute = |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let data = absolute(&config.server.data_dir);
    out.push(match config.mail.transport {
        MailTransport::Outbox => format!(
            "data folder {}; mail is written as files to {}",
            data.display(),
            absolute(&config.outbox_dir()).display()
        ),
        MailTransport::Smtp => format!(
            "data folder {}; mail goes to {}",
            data.display(),
            redact_url(&config.mail.smtp_url)
        ),
    });
    let s = &config.stores;
    let groups = [
        ("durable", s.durable),
        ("sessions", s.sessions()),
        ("rate_limits", s.rate_limits()),
        ("uploads", s.uploads()),
    ];
    for backend in [Backend::Sql, Backend::Mongodb, Backend::Redis] {
        let names: Vec<&str> = groups
            .iter()
            .filter(|(_, b)| *b == backend)
            .map(|(n, _)| *n)
            .collect();
        if names.is_empty() {
            continue;
        }
        let at = match backend {
            Backend::Sql => redact_url(&config.database_url()),
            Backend::Mongodb => format!(
                "{} (database {})",
                redact_url(&config.mongodb.url),
                config.mongodb.database
            ),
            Backend::Redis => redact_url(&config.redis.url),
        };
        out.push(format!("stores: {} in {at}", names.join(", ")));
    }
    out.push(if config.server.cors_origins.is_empty() {
        "CORS: browsers on other origins may not call the API \
         (allow a front end with server.cors_origins, e.g. [\"http://localhost:5173\"])"
            .to_owned()
    } else {
        format!(
            "CORS: browsers on {} may call the API",
            config.server.cors_origins.join(", ")
        )
    });
    out
}

/// A one-worker server of `GET /metrics` alone on `at`, spawned.
fn metrics_server(
    at: SocketAddr,
    state: web::Data<AppState>,
) -> Result<
    (
        SocketAddr,
        ServerHandle,
        tokio::task::JoinHandle<std::io::Result<()>>,
    ),
    StartError,
> {
    let bind = |source| StartError::Bind { addr: at, source };
    let listener = TcpListener::bind(at).map_err(bind)?;
    let addr = listener.local_addr().map_err(bind)?;
    let server = HttpServer::new(move || {
        App::new().app_data(state.clone()).route(
            "/metrics",
            web::get().to(|state: web::Data<AppState>| async move {
                routes::ops::render_metrics(&state)
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .map_err(bind)?
    .run();
    tracing::info!(%addr, "serving metrics");
    let handle = server.handle();
    Ok((addr, handle, tokio::spawn(server)))
}

/// SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
