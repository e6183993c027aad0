//! The error responses every operation of a kind shares, documented once.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{Content, Ref, RefOr, Response};

use super::operations;
use crate::problem::PROBLEM_JSON;

/// Errors any operation of a kind can answer with, declared once as shared
/// responses: (status, component name, description, applies to).
pub(super) const SHARED_ERRORS: &[(&str, &str, &str, Applies)] = &[
    (
        "400",
        "MalformedRequest",
        "The body is not valid JSON, not the expected shape, or has unknown fields",
        Applies::WithBody,
    ),
    (
        "401",
        "Unauthenticated",
        "No valid access token: missing, expired, revoked or signed out",
        Applies::Secured,
    ),
    (
        "403",
        "Forbidden",
        "The caller lacks a permission the operation needs, or a cookie-authenticated request \
         that changes state lacks the X-CSRF-Token header",
        Applies::Secured,
    ),
    (
        "408",
        "BodyTooSlow",
        "The body arrived too slowly (under the server's minimum rate after its grace period)",
        Applies::WithBody,
    ),
    (
        "413",
        "PayloadTooLarge",
        "The body is larger than the server accepts",
        Applies::WithBody,
    ),
    (
        "415",
        "UnsupportedMediaType",
        "The body is not `application/json`",
        Applies::WithJsonBody,
    ),
    (
        "422",
        "InvalidInput",
        "A field or parameter is malformed or out of range; `errors` names each one",
        Applies::WithInput,
    ),
    (
        "429",
        "RateLimited",
        "Over a rate limit (per user when signed in, per client IP when not); wait for \
         Retry-After seconds",
        Applies::Limited,
    ),
    (
        "500",
        "Internal",
        "Unexpected failure; the server log has the details under the X-Request-Id",
        Applies::All,
    ),
    (
        "503",
        "Unavailable",
        "A store does not answer (`unavailable`), or a password check would wait too long for a \
         hashing thread (`overloaded`); retry after Retry-After seconds",
        Applies::Stored,
    ),
];

/// Which operations a shared error response belongs to.
#[derive(Clone, Copy)]
pub(super) enum Applies {
    /// Every operation.
    All,
    /// Operations that need a signed-in caller.
    Secured,
    /// Operations held to a rate limit: per user when signed in, per
    /// client IP when public ([`crate::routes::limited_per_ip`]).
    Limited,
    /// Operations with a request body.
    WithBody,
    /// Operations with a JSON request body.
    WithJsonBody,
    /// Operations with a request body or parameters.
    WithInput,
    /// Operations that read or write a store: all but the operations tag,
    /// whose readiness check describes its own 503.
    Stored,
}

/// Whether `op` needs a signed-in caller (a bearer token or the session
/// cookie), as opposed to none, or a signature of its own.
fn signed_in(op: &Operation) -> bool {
    op.security.as_ref().is_some_and(|s| {
        s.iter().any(|r| {
            serde_json::to_value(r)
                .ok()
                .and_then(|v| v.as_object().map(|o| o.contains_key("bearer")))
                .unwrap_or(false)
        })
    })
}

/// Whether `op` needs no credentials at all (no requirement, or only the
/// empty one `security(())` writes).
pub(super) fn public(op: &Operation) -> bool {
    op.security
        .as_ref()
        .is_none_or(|s| s.iter().all(|r| r == &Default::default()))
}

impl Applies {
    fn to(self, path: &str, op: &Operation) -> bool {
        match self {
            Self::All => true,
            Self::Secured => signed_in(op),
            Self::Limited => signed_in(op) || crate::routes::limited_per_ip(path, public(op)),
            Self::WithBody => op.request_body.is_some(),
            Self::WithJsonBody => op
                .request_body
                .as_ref()
                .is_some_and(|b| b.content.contains_key("application/json")),
            Self::WithInput => {
                op.request_body.is_some() || op.parameters.as_ref().is_some_and(|p| !p.is_empty())
            }
            Self::Stored => !op
                .tags
                .as_ref()
                .is_some_and(|t| t.iter().any(|t| t == "operations")),
        }
    }
}

/// The problem body as a response's content.
fn problem_content() -> Content {
    Content::new(Some(Ref::from_schema_name("ProblemBody")))
}

/// Documents error responses once for all operations: each error an
/// operation lists (status and its own description) gets the problem body,
/// and the errors shared by a kind of operation (see [`SHARED_ERRORS`]) are
/// added as references to one response component each, unless the
/// operation describes that status itself.
pub(super) fn document_errors(api: &mut utoipa::openapi::OpenApi) {
    let components = api.components.get_or_insert_with(Default::default);
    for (_, name, description, _) in SHARED_ERRORS {
        let mut response = Response::new(*description);
        response
            .content
            .insert(PROBLEM_JSON.into(), problem_content());
        components
            .responses
            .insert((*name).into(), RefOr::T(response));
    }
    for (path, item) in api.paths.paths.iter_mut() {
        for op in operations(item) {
            let responses = &mut op.responses.responses;
            for (status, response) in responses.iter_mut() {
                if let RefOr::T(r) = response
                    && status.as_str() >= "400"
                    && r.content.is_empty()
                {
                    r.content.insert(PROBLEM_JSON.into(), problem_content());
                }
            }
            for (status, name, _, applies) in SHARED_ERRORS {
                if applies.to(path, op) && !op.responses.responses.contains_key(*status) {
                    op.responses
                        .responses
                        .insert((*status).into(), RefOr::Ref(Ref::from_response_name(*name)));
                }
            }
        }
    }
}
