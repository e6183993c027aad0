//! Start-up as a library: build an [`Application`] from a configuration,
//! read its bound address, run it until a shutdown signal or
//! [`Application::handle`]'s `stop`. Graceful shutdown stops accepting and
//! drains in-flight requests for up to `server.shutdown_timeout_secs`.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{Condition, Next, from_fn};
use actix_web::{App, HttpServer, web};
use domain::services::{
    AccountPolicy, AdminBootstrap, Authentication, ContentSessions, MailDelivery, Maintenance,
    Notifications, Passwords, Payments, Profiles, RateLimits, Rbac, Registration, System, Uploads,
    UserAdmin,
};
use secrecy::ExposeSecret;
use tracing::Instrument;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::backends::{Backends, ConnectError};
use crate::config::Config;
use crate::live::Live;
use crate::mail::{LettreMailer, MailSetupError};
use crate::metrics::Metrics;
use crate::objects::ObjectsSetupError;
use crate::openapi::ApiDoc;
use crate::routes::{self, RouteTable};
use crate::state::{AppState, Settings};
use crate::timed;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A store is unreachable.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// Mail is misconfigured.
    #[error(transparent)]
    Mail(#[from] MailSetupError),
    /// Password hashing parameters are invalid.
    #[error(transparent)]
    Hashing(#[from] platform::InvalidParams),
    /// Object storage cannot be opened.
    #[error(transparent)]
    Objects(#[from] ObjectsSetupError),
    /// Built-in roles or the bootstrap administrator could not be set up.
    #[error("cannot prepare the stores: {0}")]
    Setup(String),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Every domain service over the configured stores.
pub struct Services {
    /// The shared state the handlers see.
    pub state: Arc<AppState>,
    /// Administration services also used from the command line.
    pub admin: UserAdmin,
    /// Delivers queued mail (run by the mail worker).
    pub mail: MailDelivery,
    /// Woken when this process queues mail.
    pub mail_wake: Arc<tokio::sync::Notify>,
    /// The mail queue itself.
    pub mail_queue: Arc<dyn domain::MailQueue>,
}

/// Wires the domain services: stores from `backends` (each call timed into
/// `metrics`), production clock, ids, tokens, hashing on dedicated threads,
/// the configured mailer and object store.
pub fn services(
    config: &Config,
    backends: &Backends,
    metrics: Arc<Metrics>,
) -> Result<Services, StartError> {
    let mut stores = timed::stores(
        backends.stores(config)?,
        metrics.clone(),
        std::time::Duration::from_millis(config.stores.call_timeout_ms.max(1)),
    );
    let mail_wake = Arc::new(tokio::sync::Notify::new());
    stores.mail_queue = Arc::new(crate::mail_queue::Waking::new(
        stores.mail_queue,
        mail_wake.clone(),
    ));
    let s = &config.security;
    let argon2 = platform::Argon2Hasher::new(platform::Argon2Params {
        memory_kib: s.argon2_memory_kib,
        iterations: s.argon2_iterations,
        parallelism: s.argon2_parallelism,
    })?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let concurrency = if s.hash_concurrency == 0 {
        cores
    } else {
        s.hash_concurrency
    };
    let objects = crate::objects::open(config)?;
    let system = System {
        clock: Arc::new(platform::SystemClock),
        ids: Arc::new(platform::UuidV7Ids),
        tokens: Arc::new(platform::OsRandomTokens),
        hasher: Arc::new(platform::BlockingPoolHasher::new(argon2, concurrency)),
        mailer: Arc::new(LettreMailer::from_config(config)?),
        objects: Arc::new(objects.clone()),
    };
    let policy = AccountPolicy::default();
    let admin = UserAdmin::new(stores.clone(), system.clone());
    let mail = MailDelivery::new(
        stores.clone(),
        system.clone(),
        policy.clone(),
        config.mail.policy(),
    );
    let state = AppState {
        registration: Registration::new(stores.clone(), system.clone(), policy.clone()),
        auth: Authentication::new(stores.clone(), system.clone(), policy.clone()),
        passwords: Passwords::new(stores.clone(), system.clone(), policy.clone()),
        profiles: Profiles::new(stores.clone(), system.clone(), policy),
        admin: admin.clone(),
        rbac: Rbac::new(stores.clone(), system.clone()),
        rate_limits: RateLimits::new(stores.clone(), system.clone()),
        content: ContentSessions::new(stores.clone(), system.clone(), config.content.limits()),
        notifications: Notifications::new(stores.clone(), system.clone()),
        live: Live::new(stores.feed.clone()),
        uploads: Uploads::new(stores.clone(), system.clone(), config.uploads.policy()),
        objects,
        payments: Payments::new(stores.clone(), system.clone()),
        payment_providers: payment_providers(config),
        maintenance: Maintenance::new(stores.clone(), system),
        leases: stores.leases.clone(),
        csrf: csrf_key(config)?,
        upload_slots: crate::upload_slots::UploadSlots::new(config.uploads.max_concurrent_per_user),
        settings: Settings {
            cookie_secure: config.cookie_secure(),
            proxies: config
                .server
                .trusted_proxies
                .rule(config.server.trust_forwarded_for)
                .map_err(|e| StartError::Setup(format!("server.trusted_proxies: {e}")))?,
            rate_limits: config.rate_limits.clone(),
            max_upload_bytes: config.uploads.max_size_bytes,
            metrics: config.server.metrics && config.server.metrics_listen.is_none(),
            hsts: crate::headers::hsts(config.server.hsts_max_age_secs, &config.public_url()),
        },
        metrics,
        readiness: backends.readiness(),
    };
    Ok(Services {
        state: Arc::new(state),
        admin,
        mail,
        mail_wake,
        mail_queue: stores.mail_queue.clone(),
    })
}

/// The CSRF key: `security.csrf_secret`, or one created once in
/// `<data_dir>/csrf.key`.
fn csrf_key(config: &Config) -> Result<crate::keys::CsrfKey, StartError> {
    let secret = config.security.csrf_secret.expose_secret();
    if !secret.is_empty() {
        return Ok(crate::keys::CsrfKey::new(secret.as_bytes().to_vec()));
    }
    let path = config.server.data_dir.join("csrf.key");
    crate::keys::key_file(&path, "CSRF")
        .map(crate::keys::CsrfKey::new)
        .map_err(|e| StartError::Setup(format!("cannot read or create {}: {e}", path.display())))
}

/// The payment providers whose webhooks are accepted: the built-in one when
/// `payments.webhook_secret` is set.
fn payment_providers(
    config: &Config,
) -> Vec<Arc<dyn crate::routes::payments::webhooks::PaymentProvider>> {
    let secret = config.payments.webhook_secret.expose_secret();
    if secret.is_empty() {
        return Vec::new();
    }
    vec![Arc::new(
        crate::routes::payments::webhooks::SignedWebhooks::new(secret.as_bytes().to_vec()),
    )]
}

/// Creates the built-in roles and the administrator named in configuration.
pub async fn prepare(config: &Config, services: &Services) -> Result<(), StartError> {
    services
        .state
        .rbac
        .ensure_builtin_roles()
        .await
        .map_err(|e| StartError::Setup(crate::problem::error_chain(&e)))?;
    if let Some(admin) = &config.security.bootstrap_admin {
        let parse = |what: &str, e: &dyn std::fmt::Display| {
            StartError::Setup(format!("security.bootstrap_admin.{what}: {e}"))
        };
        let email = domain::Email::parse(&admin.email).map_err(|e| parse("email", &e))?;
        let username =
            domain::Username::parse(&admin.username).map_err(|e| parse("username", &e))?;
        let password = domain::Password::new(admin.password.expose_secret().to_owned())
            .map_err(|e| parse("password", &e))?;
        let outcome = services
            .admin
            .ensure_admin(email, username, &password)
            .await
            .map_err(|e| StartError::Setup(crate::problem::error_chain(&e)))?;
        match outcome {
            AdminBootstrap::Created(u) => {
                tracing::info!(user = %u.username, "created the bootstrap administrator")
            }
            AdminBootstrap::Promoted(u) => {
                tracing::info!(user = %u.username, "granted admin to the bootstrap administrator")
            }
            AdminBootstrap::AlreadyAdmin(_) => {}
        }
    }
    Ok(())
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
    /// The notification feed listener and the background jobs, stopped with the server.
    tasks: Vec<tokio::task::JoinHandle<()>>,
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
    pub async fn with_backends(mut config: Config, backends: Backends) -> Result<Self, StartError> {
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
        let metrics = Arc::new(Metrics::default());
        let services = services(&config, &backends, metrics)?;
        prepare(&config, &services).await?;
        let live = services.state.live.clone();
        let mut tasks = vec![
            tokio::spawn(live.clone().run()),
            tokio::spawn(crate::mail_queue::run(
                services.mail.clone(),
                config.mail.policy().batch,
                services.mail_wake.clone(),
                std::time::Duration::from_millis(config.mail.poll_interval_ms.max(10)),
                services.state.metrics.clone(),
            )),
        ];
        let mail_queue = services.mail_queue.clone();
        if config.jobs.enabled {
            let s = &services.state;
            tasks.extend(crate::jobs::spawn(
                s.leases.clone(),
                s.uploads.clone(),
                s.maintenance.clone(),
                s.metrics.clone(),
                std::time::Duration::from_secs(config.uploads.sweep_interval_secs),
                std::time::Duration::from_secs(config.jobs.purge_interval_secs),
            ));
        }
        let state = web::Data::from(services.state);
        let state_for_metrics = state.clone();
        let routes = web::Data::new(Arc::new(RouteTable::from_openapi(
            &crate::openapi::document(),
        )));
        let limit = config.server.body_limit_bytes;
        let body_rate = crate::body_rate::BodyRate {
            grace: std::time::Duration::from_secs(config.server.body_grace_secs),
            min_rate: config.server.body_min_bytes_per_sec,
        };
        let origins = config.server.cors_origins.clone();
        let docs = config.server.docs;
        let workers = match config.server.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let server = HttpServer::new(move || {
            let (app, api) = App::new()
                .into_utoipa_app()
                .openapi(ApiDoc::openapi())
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
                    SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", api),
                    web::redirect("/docs", "/docs/"),
                )
            });
            app.configure(|cfg| {
                if let Some((ui, redirect)) = docs {
                    cfg.service(ui).service(redirect);
                }
            })
            .default_service(web::to(routes::fallback))
            .wrap(Condition::new(!origins.is_empty(), cors(&origins)))
            .wrap(from_fn(move |req, next| {
                crate::json_text::refuse_nul(limit, req, next)
            }))
            .wrap(from_fn(move |req, next| body_rate.enforce(req, next)))
            .wrap(from_fn(crate::headers::secure))
            .wrap(from_fn(observe))
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
        let metrics = match config.server.metrics_listen {
            Some(at) => Some(metrics_server(at, state_for_metrics)?),
            None => None,
        };
        Ok(Self {
            server,
            addr,
            owned: None,
            tasks,
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
        // Stop the feed listener and the jobs, and wait until they are gone,
        // so nothing uses the stores after this returns.
        for task in &self.tasks {
            task.abort();
        }
        for task in self.tasks {
            let _ = task.await;
        }
        if let Some(backends) = &self.owned {
            backends.close().await;
        }
        tracing::info!("stopped");
        result
    }
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

fn cors(origins: &[String]) -> actix_cors::Cors {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            actix_web::http::header::AUTHORIZATION,
            actix_web::http::header::CONTENT_TYPE,
            HeaderName::from_static("x-csrf-token"),
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            "x-request-id",
            "ratelimit-limit",
            "ratelimit-remaining",
            "ratelimit-reset",
            "retry-after",
        ])
        .supports_credentials()
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A client-sent request id is kept when it is short and plain; else a new one.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Request id, tracing span, access log line and HTTP metrics.
async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(&req);
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let method = req.method().to_string();
    let method_label = crate::metrics::method_label(req.method());
    let span =
        tracing::info_span!("request", request_id = %id, method = %method, path = %req.path());
    let mut res = next.call(req).instrument(span.clone()).await?;
    let status = res.status().as_u16();
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let took = started.elapsed();
    if let Some(m) = metrics {
        m.http(method_label, &route, status, took);
    }
    span.in_scope(
        || tracing::info!(status, route = %route, ms = took.as_secs_f64() * 1000.0, "request"),
    );
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    Ok(res)
}
