//! The response headers clients read, declared on the responses that send them.

use utoipa::openapi::RefOr;
use utoipa::openapi::header::Header;
use utoipa::openapi::schema::{ObjectBuilder, Type};

use super::errors::SHARED_ERRORS;
use super::operations;

/// A response header's declaration.
fn header(description: &str, integer: bool) -> Header {
    let schema = if integer {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(0))
    } else {
        ObjectBuilder::new().schema_type(Type::String)
    };
    let mut h = Header::new(schema);
    h.description = Some(description.to_owned());
    h
}

/// Headers a response with `status` carries, whatever the operation.
fn headers_of(status: &str) -> Vec<(&'static str, Header)> {
    let mut out = vec![(
        "X-Request-Id",
        header(
            "The request's id (the client's own when it sent a short plain one): quote it when \
             reporting a problem; the server log has it on every line of the request",
            false,
        ),
    )];
    if status == "429" {
        out.extend([
            (
                "RateLimit-Limit",
                header("Requests allowed in the window", true),
            ),
            (
                "RateLimit-Remaining",
                header("Requests left in the window", true),
            ),
            (
                "RateLimit-Reset",
                header("Seconds until the window ends", true),
            ),
        ]);
    }
    if status == "423" || status == "429" || status == "503" {
        out.push((
            "Retry-After",
            header("Seconds to wait before trying again", true),
        ));
    }
    out
}

const SESSION_COOKIES: &str = "The browser session, when cookies were asked for: `portico_session` \
     (HttpOnly, the access token) and `portico_csrf` (readable: its value goes in X-CSRF-Token)";
const CLEARED_COOKIES: &str = "Expires the session cookies";
const FLOW_COOKIE: &str = "`portico_oauth_<id>` (HttpOnly, SameSite=Lax, path /v1/oauth/, \
     as long as the flow): binds the flow to this browser; the callback needs it";
const FLOW_COOKIE_SPENT: &str = "Expires the flow's `portico_oauth_<id>` cookie";

/// Headers only some operations send: (operation id, status, header, description).
const OPERATION_HEADERS: &[(&str, &str, &str, &str)] = &[
    ("sessions_sign_in", "201", "Set-Cookie", SESSION_COOKIES),
    (
        "sessions_finish_sign_in",
        "201",
        "Set-Cookie",
        SESSION_COOKIES,
    ),
    ("sessions_refresh", "201", "Set-Cookie", SESSION_COOKIES),
    ("oauth_exchange", "201", "Set-Cookie", SESSION_COOKIES),
    (
        "sessions_verify_email_sign_in",
        "201",
        "Set-Cookie",
        SESSION_COOKIES,
    ),
    (
        "sessions_sign_in_with_passkey",
        "201",
        "Set-Cookie",
        SESSION_COOKIES,
    ),
    ("sessions_sign_out", "204", "Set-Cookie", CLEARED_COOKIES),
    ("me_delete_me", "204", "Set-Cookie", CLEARED_COOKIES),
    (
        "oauth_authorize",
        "302",
        "Location",
        "The provider's authorization page",
    ),
    ("oauth_authorize", "302", "Set-Cookie", FLOW_COOKIE),
    ("oauth_link", "200", "Set-Cookie", FLOW_COOKIE),
    ("oauth_callback", "302", "Set-Cookie", FLOW_COOKIE_SPENT),
    (
        "oauth_callback",
        "302",
        "Location",
        "The allow-listed return address, with `?code=` (to exchange) or `?error=`",
    ),
    (
        "uploads_download",
        "303",
        "Location",
        "A short-lived URL of the object",
    ),
    (
        "backups_download",
        "303",
        "Location",
        "A short-lived URL that streams the backup",
    ),
];

/// Declares the response headers clients read: `X-Request-Id` on every
/// response, `RateLimit-*` and `Retry-After` on 429, `Retry-After` on 503,
/// and the `Set-Cookie` and `Location` of the operations that send them.
pub(super) fn declare_headers(api: &mut utoipa::openapi::OpenApi) {
    for item in api.paths.paths.values_mut() {
        for op in operations(item) {
            let id = op.operation_id.clone().unwrap_or_default();
            for (status, response) in op.responses.responses.iter_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                for (name, h) in headers_of(status) {
                    response.headers.insert(name.to_owned(), h);
                }
                for (_, _, name, description) in OPERATION_HEADERS
                    .iter()
                    .filter(|(op, at, _, _)| *op == id && at == status)
                {
                    response
                        .headers
                        .insert((*name).to_owned(), header(description, false));
                }
            }
        }
    }
    let components = api.components.get_or_insert_with(Default::default);
    for (status, name, _, _) in SHARED_ERRORS {
        if let Some(RefOr::T(response)) = components.responses.get_mut(*name) {
            for (header_name, h) in headers_of(status) {
                response.headers.insert(header_name.to_owned(), h);
            }
        }
    }
}
