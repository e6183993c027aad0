//! The server's own middleware: CORS, request ids, and the access log
//! with metrics.

use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;
use tracing::Instrument;

use crate::state::AppState;

pub(super) fn cors(origins: &[String]) -> actix_cors::Cors {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            actix_web::http::header::AUTHORIZATION,
            actix_web::http::header::CONTENT_TYPE,
            HeaderName::from_static("x-csrf-token"),
            HeaderName::from_static("idempotency-key"),
            actix_web::http::header::IF_MATCH,
        ])
        .expose_headers([
            "x-request-id",
            "ratelimit-limit",
            "ratelimit-remaining",
            "ratelimit-reset",
            "ratelimit-policy",
            "ratelimit",
            "retry-after",
            "etag",
        ])
        .supports_credentials()
        .max_age(3600);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

/// A duration in milliseconds, to the microsecond (`0.538`, not
/// `0.5377799999999999`).
pub(crate) fn millis(d: std::time::Duration) -> f64 {
    // Below 2^53 µs (285 years) the conversion is exact.
    #[allow(clippy::cast_precision_loss)]
    let micros = d.as_micros() as f64;
    micros / 1000.0
}

/// Says at debug level why a browser's preflight gets no CORS headers:
/// its origin is not among `server.cors_origins` (or none is). The
/// request itself goes on as before (405 without CORS, 400 from CORS).
pub(super) async fn refused_preflight(
    origins: std::sync::Arc<[String]>,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let headers = req.headers();
    if req.method() == actix_web::http::Method::OPTIONS
        && headers.contains_key("access-control-request-method")
        && tracing::enabled!(tracing::Level::DEBUG)
        && let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok())
        && !origins.iter().any(|o| o == origin)
    {
        if origins.is_empty() {
            tracing::debug!(
                origin,
                "CORS preflight refused: no origin may call the API from a browser; \
                 add this one to server.cors_origins (PORTICO_SERVER__CORS_ORIGINS)"
            );
        } else {
            tracing::debug!(
                origin,
                allowed = %origins.join(", "),
                "CORS preflight refused: the origin is not in server.cors_origins \
                 (PORTICO_SERVER__CORS_ORIGINS)"
            );
        }
    }
    next.call(req).await
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

/// The route label of a handled request without allocating: the API's
/// routes are named after their own pattern (`#[get("/v1/me", name =
/// "/v1/me")]`), and actix finds a matched resource's name by index. Other
/// resources (the docs pages) fall back to the allocated pattern.
fn route(req: &actix_web::HttpRequest) -> &'static str {
    match req.match_name() {
        Some(name) if name.starts_with('/') => {
            debug_assert_eq!(
                req.match_pattern().as_deref(),
                Some(name),
                "a route's name must be its pattern"
            );
            crate::metrics::route_label(name)
        }
        _ => req
            .match_pattern()
            .map_or("unmatched", |p| crate::metrics::route_label(&p)),
    }
}

/// Request id, tracing span, access log line and HTTP metrics.
pub(super) async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(&req);
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let method_label = crate::metrics::method_label(req.method().as_str());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = req.method().as_str(),
        path = %req.path()
    );
    let mut res = next.call(req).instrument(span.clone()).await?;
    let status = res.status().as_u16();
    let route = route(res.request());
    let took = started.elapsed();
    if let Some(m) = metrics {
        m.http(method_label, route, status, took);
    }
    span.in_scope(|| tracing::info!(status, route = %route, ms = millis(took), "request"));
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    Ok(res)
}

/// The per-IP limit (`rate_limits.ip_per_minute`) of every `/v1` operation
/// that needs no credentials, found in the route table that the OpenAPI
/// document was built from (so the document's 429s name exactly these).
pub(super) async fn limit_per_ip(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let limited = req
        .app_data::<web::Data<std::sync::Arc<crate::routes::RouteTable>>>()
        .is_some_and(|t| t.limited_per_ip(req.method().as_str(), req.path()));
    if limited && let Some(state) = req.app_data::<web::Data<AppState>>().cloned() {
        let ip = crate::auth::client_ip(req.request());
        if let Err(problem) = crate::auth::limit_ip(&state, &ip).await {
            let response = actix_web::ResponseError::error_response(&problem);
            return Ok(req.into_response(response).map_into_right_body());
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}
