//! A record of the responses the server sends, for holding them against
//! the OpenAPI document (the HTTP suite checks every response it causes;
//! an embedder can do the same in its own tests).
//!
//! Off unless an [`ExchangeLog`] is given to
//! [`Application::with_backends_and_log`](crate::startup::Application::with_backends_and_log):
//! the server then keeps, per response, the method, the matched route
//! pattern, the status, the content type, the header names and — for JSON
//! bodies only — the body. Other bodies (event streams, stored objects) are
//! passed through untouched, so recording never waits for a stream to end.

use std::sync::{Arc, Mutex, PoisonError};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::CONTENT_TYPE;
use actix_web::middleware::Next;

/// One response as the client received it.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The request's method.
    pub method: String,
    /// The request's path (without the query).
    pub path: String,
    /// The route pattern that served it (`/v1/users/{id}`); `None` when no
    /// route matched.
    pub route: Option<String>,
    /// The response status.
    pub status: u16,
    /// The `Content-Type`, when there is one.
    pub content_type: Option<String>,
    /// The names of the response headers, lowercase.
    pub headers: Vec<String>,
    /// The body, for JSON responses (`application/json`, `…+json`).
    pub body: Option<Vec<u8>>,
}

/// Where a server records its responses. Clones share one record.
#[derive(Debug, Clone, Default)]
pub struct ExchangeLog(Arc<Mutex<Vec<Exchange>>>);

impl ExchangeLog {
    /// Everything recorded so far, emptying the record.
    pub fn take(&self) -> Vec<Exchange> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn push(&self, exchange: Exchange) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(exchange);
    }
}

/// Middleware: records each response into `log` (the server wraps it only
/// when there is one).
pub(crate) async fn record(
    log: Option<ExchangeLog>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let (method, path) = (req.method().to_string(), req.path().to_owned());
    let res = next.call(req).await?;
    let Some(log) = log else {
        return Ok(res.map_into_boxed_body());
    };
    let content_type = res
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut exchange = Exchange {
        method,
        path,
        // Method-aware, so that a response given before routing (the
        // per-IP limit) is filed under its operation.
        route: res
            .request()
            .app_data::<actix_web::web::Data<std::sync::Arc<crate::routes::RouteTable>>>()
            .and_then(|t| t.operation_path(res.request().method().as_str(), res.request().path()))
            .map(str::to_owned)
            .or_else(|| res.request().match_pattern()),
        status: res.status().as_u16(),
        headers: res
            .headers()
            .keys()
            .map(|k| k.as_str().to_owned())
            .collect(),
        content_type,
        body: None,
    };
    let json = exchange.content_type.as_deref().is_some_and(|t| {
        let essence = t.split(';').next().unwrap_or("").trim();
        essence == "application/json" || essence.ends_with("+json")
    });
    if !json {
        log.push(exchange);
        return Ok(res.map_into_boxed_body());
    }
    let (req, res) = res.into_parts();
    let (res, body) = res.into_parts();
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|e| actix_web::error::ErrorInternalServerError(e.into().to_string()))?;
    exchange.body = Some(bytes.to_vec());
    log.push(exchange);
    Ok(ServiceResponse::new(
        req,
        res.set_body(bytes).map_into_boxed_body(),
    ))
}
