//! Operations: liveness, readiness, metrics.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use api_types::*;
use std::time::Duration;

use actix_web::{HttpResponse, get, web};

use crate::problem::{Problem, error_chain};
use crate::state::AppState;

/// The process is up.
#[utoipa::path(tag = "operations", responses((status = 200, description = "Up", body = Health)))]
#[get("/healthz", name = "/healthz")]
pub async fn healthz() -> HttpResponse {
    // The answer never changes: its JSON is written once, not per request.
    HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(HEALTHY)
}

/// `/healthz`'s body, the JSON of `Health { status: "ok", checks: [] }`.
const HEALTHY: &str = r#"{"status":"ok"}"#;

/// Every configured store answers (each check has two seconds).
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Every store answers", body = Health),
        (status = 503, description = "A store does not answer"),
    )
)]
#[get("/readyz", name = "/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<web::Json<Health>, Problem> {
    let checks = state.readiness.iter().map(|c| async move {
        let outcome = tokio::time::timeout(Duration::from_secs(2), c.check()).await;
        (c.name().to_owned(), outcome)
    });
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for (name, outcome) in futures::future::join_all(checks).await {
        match outcome {
            Ok(Ok(())) => ok.push(name),
            Ok(Err(e)) => {
                tracing::warn!(store = %name, error = %error_chain(&e), "readiness check failed");
                failed.push(name);
            }
            Err(_) => {
                tracing::warn!(store = %name, "readiness check timed out");
                failed.push(name);
            }
        }
    }
    if failed.is_empty() {
        Ok(web::Json(Health {
            status: "ready",
            checks: ok.into_iter().map(|n| format!("{n}: ok")).collect(),
        }))
    } else {
        Err(Problem::unavailable(format!(
            "not answering: {}",
            failed.join(", ")
        )))
    }
}

/// Prometheus metrics (404 when `server.metrics` is off or they are served
/// on `server.metrics_listen` instead): `portico_http_requests_total`,
/// `portico_http_request_duration_seconds` (per route, method and status) and
/// `portico_store_call_duration_seconds` (per port, operation and outcome).
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
        (status = 404, description = "Metrics are off (`server.metrics`) or served on `server.metrics_listen` instead"),
    )
)]
#[get("/metrics", name = "/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, Problem> {
    if !state.http.metrics {
        return Err(Problem::new(crate::problem::Kind::NotFound));
    }
    Ok(render_metrics(&state))
}

/// The metrics response, also served on `server.metrics_listen`.
pub(crate) fn render_metrics(state: &AppState) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}

/// Registers the health, readiness and metrics routes, in matching order.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(healthz).service(readyz).service(metrics);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_static_health_body_is_the_json_of_a_healthy_answer() {
        let healthy = Health {
            status: "ok",
            checks: Vec::new(),
        };
        assert_eq!(serde_json::to_string(&healthy).unwrap(), HEALTHY);
    }
}
