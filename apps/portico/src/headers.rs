//! Security headers on every response: `X-Content-Type-Options: nosniff`,
//! `Referrer-Policy: no-referrer`, `Cache-Control: no-store` on every API
//! response (they carry personal data or tokens; a handler that knows
//! better sets its own), `WWW-Authenticate: Bearer` on every 401, and
//! `Strict-Transport-Security` when configured and the public URL is https.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

use crate::state::AppState;

/// The challenge of a 401: a bearer token (or the session cookie) is what
/// the API accepts.
const BEARER_CHALLENGE: HeaderValue = HeaderValue::from_static("Bearer realm=\"portico\"");

/// Adds the headers to the response of `req`.
pub(crate) async fn secure(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let hsts = req
        .app_data::<web::Data<AppState>>()
        .and_then(|s| s.http.hsts.clone());
    let api = req.path().starts_with("/v1/");
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if (api || headers.contains_key(header::SET_COOKIE))
        && !headers.contains_key(header::CACHE_CONTROL)
    {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(hsts) = hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts);
    }
    if res.status() == StatusCode::UNAUTHORIZED
        && !res.headers().contains_key(header::WWW_AUTHENTICATE)
    {
        res.headers_mut()
            .insert(header::WWW_AUTHENTICATE, BEARER_CHALLENGE);
    }
    Ok(res)
}
