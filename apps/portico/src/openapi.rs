//! The OpenAPI 3.1 document: paths come from the registered handlers
//! (utoipa-actix-web collects them as routes are added), so the document
//! cannot list a route the server does not serve, nor miss one it does.

use actix_web::App;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Response};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::problem::{PROBLEM_JSON, ProblemBody};

/// Title, version, tags and security schemes; paths are added by the routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portico",
        description = "Accounts, permissions, content sessions, notifications, uploads, payments and operations of the Portico backend core. Errors are RFC 9457 `application/problem+json`; lists use cursor pagination (`limit`, `cursor` → `items`, `next_cursor`).",
    ),
    modifiers(&Security),
    components(schemas(ProblemBody)),
    tags(
        (name = "accounts", description = "Registration, verification, username availability, password reset"),
        (name = "sessions", description = "Sign-in, refresh rotation, sessions, sign-out"),
        (name = "me", description = "The signed-in user's own account"),
        (name = "mfa", description = "The second factor: TOTP and backup codes"),
        (name = "oauth", description = "Sign-in through identity providers (OAuth 2.0 / OpenID Connect) and account links"),
        (name = "permissions", description = "Roles and grants"),
        (name = "users", description = "User administration"),
        (name = "content", description = "Content sessions, their key/value data and messages"),
        (name = "notifications", description = "Notifications and their live stream"),
        (name = "uploads", description = "Pre-authorised uploads to object storage"),
        (name = "payments", description = "Payments with idempotency keys, and provider webhooks"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The access token from POST /v1/sessions."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "portico_session",
                "Set at sign-in. Requests that change state must also send the portico_csrf cookie's value in the X-CSRF-Token header.",
            ))),
        );
        components.add_security_scheme(
            "signed_url",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "sig",
                "The signature Portico put on the URL it handed out (with the URL's other parameters): no session.",
            ))),
        );
        components.add_security_scheme(
            "webhook_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Portico-Signature",
                "The payment provider's HMAC signature of the timestamp and body (with Portico-Timestamp): no session.",
            ))),
        );
    }
}

/// Whether the operation at `path` that needs no credentials (`public`) is
/// held to the per-IP limit (`rate_limits.ip_per_minute`): every such `/v1`
/// operation. The server's limiter ([`crate::routes::RouteTable`]) and this
/// document's 429s both decide by it, so the two cannot disagree.
pub(crate) fn limited_per_ip(path: &str, public: bool) -> bool {
    public && path.starts_with("/v1/")
}

/// The document the server at `public_url` serves at `/openapi.json`: its
/// one `servers` entry is that URL.
pub fn document_for(public_url: &str) -> serde_json::Value {
    let mut api = document();
    api["servers"] = serde_json::json!([{ "url": public_url }]);
    api
}

/// The document, without a `servers` entry. It is JSON rather than utoipa's
/// types because what the refinements write (schemas that take any value, for
/// one) does not read back into them.
pub fn document() -> serde_json::Value {
    let (_, mut api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::configure)
        .split_for_parts();
    document_errors(&mut api);
    name_operations(&mut api);
    declare_headers(&mut api);
    refine(api)
}

/// What the derive macros cannot say, fixed on the JSON form: objects
/// without declared properties (preferences, session data, response data,
/// the export's free parts) take any properties, the `limit` of every list
/// is 1–200, 50 when absent, as the server enforces, byte bodies are
/// binary, and properties get [`EXAMPLES`].
fn refine(api: utoipa::openapi::OpenApi) -> serde_json::Value {
    fn walk(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                let free = map.get("type").is_some_and(|t| {
                    t == "object"
                        || t.as_array()
                            .is_some_and(|a| a.iter().any(|t| t == "object"))
                }) && !map.contains_key("properties")
                    && !map.contains_key("additionalProperties");
                if free {
                    map.insert("additionalProperties".into(), serde_json::Value::Bool(true));
                }
                let is_limit = map.get("name").is_some_and(|n| n == "limit")
                    && map.get("in").is_some_and(|i| i == "query");
                if is_limit
                    && let Some(schema) = map.get_mut("schema").and_then(|s| s.as_object_mut())
                {
                    schema.insert("minimum".into(), 1.into());
                    schema.insert("maximum".into(), 200.into());
                    schema.insert("default".into(), 50.into());
                }
                // A stream of Server-Sent Events, as a client parses it: a
                // list of events, each a notification or the last one.
                if let Some(media) = map
                    .get_mut("text/event-stream")
                    .and_then(|m| m.as_object_mut())
                {
                    media.insert("schema".into(), event_stream_schema());
                }
                // utoipa writes `Vec<u8>` bodies as arrays of integers; they are bytes.
                if let Some(media) = map
                    .get_mut("application/octet-stream")
                    .and_then(|m| m.as_object_mut())
                {
                    media.insert(
                        "schema".into(),
                        serde_json::json!({"type": "string", "format": "binary"}),
                    );
                }
                map.values_mut().for_each(walk);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    let mut json = serde_json::to_value(&api).expect("the document serializes");
    walk(&mut json);
    add_examples(&mut json);
    json
}

/// The events of `GET /v1/notifications/stream` as a client parses them
/// (each `event:`, `id:` and `data:`): `notification` events whose data is
/// a notification as JSON, and the last event, `end`, whose data says why.
fn event_stream_schema() -> serde_json::Value {
    serde_json::json!({
        "type": "array",
        "description": "The stream's events, in order. `notification`: `id` is the notification's id \
            and `data` the notification as JSON (NotificationView). `end`: the session no longer \
            authenticates (signed out, revoked, locked, deleted); `data` is \
            {\"reason\": \"session-ended\"} and the stream closes. Comment lines (`: keep-alive`) \
            carry no event.",
        "items": {
            "oneOf": [
                {
                    "type": "object",
                    "properties": {
                        "event": {"const": "notification"},
                        "id": {"type": "string", "format": "uuid"},
                        "data": {
                            "type": "string",
                            "contentMediaType": "application/json",
                            "contentSchema": {"$ref": "#/components/schemas/NotificationView"}
                        }
                    },
                    "required": ["event", "id", "data"]
                },
                {
                    "type": "object",
                    "properties": {
                        "event": {"const": "end"},
                        "data": {
                            "type": "string",
                            "contentMediaType": "application/json",
                            "contentSchema": {
                                "type": "object",
                                "properties": {"reason": {"const": "session-ended"}},
                                "required": ["reason"]
                            }
                        }
                    },
                    "required": ["event", "data"]
                }
            ]
        }
    })
}

/// Examples of property values, by `Schema.property` or by property name
/// alone, so that Swagger UI and generated docs show real-looking bodies
/// rather than `"string"`. A unit test requires one for every text property.
const EXAMPLES: &[(&str, &str)] = &[
    // Specific to one schema.
    ("ContentSessionView.name", "Trip to Lisbon"),
    ("CreateContentSession.name", "Trip to Lisbon"),
    ("RenameContentSession.name", "Lisbon, May"),
    ("CreateRoleBody.name", "support"),
    ("RoleView.name", "support"),
    (
        "CreateRoleBody.description",
        "Reads users and unlocks accounts",
    ),
    ("RoleView.description", "Reads users and unlocks accounts"),
    (
        "UpdateRoleBody.description",
        "Reads users and unlocks accounts",
    ),
    ("CreatePayment.description", "Annual plan"),
    ("PaymentView.description", "Annual plan"),
    ("CreateNotification.type", "task_done"),
    ("NotificationView.type", "task_done"),
    ("ProblemBody.type", "urn:portico:problem:validation"),
    ("ProblemBody.title", "Invalid request"),
    ("ProblemBody.detail", "Some fields are not valid."),
    ("MessageView.content", "What should I pack for three days?"),
    ("PostMessage.content", "What should I pack for three days?"),
    ("CreateUpload.object_key", "avatars/me.png"),
    (
        "UploadView.object_key",
        "users/0193a4f2-7c1e-7b3a-9d2f-5e8c1a2b3c4d/avatars/me.png",
    ),
    ("MfaSignInBody.code", "492039"),
    ("PasswordAndCodeBody.code", "492039"),
    ("ExchangeBody.code", "5f2b9c0e8a7d4c1b9e3f6a2d8c4b7e1f"),
    ("MfaExportView.kind", "totp"),
    (
        "Download.url",
        "https://api.example.org/v1/objects/users/0193a4f2-7c1e-7b3a-9d2f-5e8c1a2b3c4d/avatars/me.png?expires=1796122800&sig=2f1c…",
    ),
    ("ProviderLinkView.subject", "108234567890123456789"),
    // By property name.
    ("access_token", "pat_8Jc2kq0vYxR7mZt3LwN5bH1dG6sF4aE9"),
    ("refresh_token", "prt_Q3nV7xK1cM9zT5rB2wY8hL6jD4gF0sA1"),
    ("csrf_token", "c4f1e2d3b5a69788a1b2c3d4e5f60718"),
    ("mfa_token", "mfa_Z2b7Kx9qT4mV1cR8nL3wY6hJ5dG0sF2a"),
    (
        "token",
        "aa4b1c831e7c76405284d494fb342d23ffff8de4a52ee62d819490b5b01eca4d",
    ),
    ("backup_code", "k7q2-m9x4"),
    (
        "otpauth_uri",
        "otpauth://totp/Portico:ada%40example.org?secret=JBSWY3DPEHPK3PXP&issuer=Portico",
    ),
    (
        "authorize_url",
        "https://accounts.example.com/authorize?response_type=code&client_id=portico&state=…",
    ),
    ("email", "ada@example.org"),
    ("login", "ada@example.org"),
    ("username", "ada"),
    ("password", "correct horse battery staple"),
    ("current_password", "correct horse battery staple"),
    ("new_password", "a new passphrase of mine"),
    ("full_name", "Ada Lovelace"),
    ("bio", "Writes about engines."),
    ("avatar", "https://cdn.example.org/avatars/ada.png"),
    ("image", "https://cdn.example.org/tasks/42.png"),
    ("toast_message", "Your export is ready"),
    ("task_id", "export-42"),
    ("currency", "EUR"),
    ("content_type", "image/png"),
    ("provider", "google"),
    ("device", "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"),
    ("ip", "203.0.113.7"),
    (
        "next_cursor",
        "MDE5M2E0ZjItN2MxZS03YjNhLTlkMmYtNWU4YzFhMmIzYzRk",
    ),
];

/// Fills in [`EXAMPLES`], and for identifiers and times without one a
/// fixed UUID or timestamp, on every text property of the component schemas.
fn add_examples(json: &mut serde_json::Value) {
    let Some(schemas) = json
        .pointer_mut("/components/schemas")
        .and_then(|s| s.as_object_mut())
    else {
        return;
    };
    for (schema, body) in schemas.iter_mut() {
        let Some(props) = body.get_mut("properties").and_then(|p| p.as_object_mut()) else {
            continue;
        };
        for (name, prop) in props.iter_mut() {
            let Some(prop) = prop.as_object_mut() else {
                continue;
            };
            let text = prop.get("type").is_some_and(|t| {
                t == "string"
                    || t.as_array()
                        .is_some_and(|a| a.iter().any(|t| t == "string"))
            });
            if !text || prop.contains_key("example") {
                continue;
            }
            let qualified = format!("{schema}.{name}");
            let example = EXAMPLES
                .iter()
                .find(|(k, _)| *k == qualified)
                .or_else(|| EXAMPLES.iter().find(|(k, _)| k == name))
                .map(|(_, v)| serde_json::Value::from(*v))
                .or_else(|| match prop.get("format").and_then(|f| f.as_str()) {
                    Some("uuid") => Some("0193a4f2-7c1e-7b3a-9d2f-5e8c1a2b3c4d".into()),
                    Some("date-time") => Some("2026-12-01T09:30:00Z".into()),
                    _ => None,
                });
            if let Some(example) = example {
                prop.insert("example".into(), example);
            }
        }
    }
}

/// Stable, unique operation ids for generated clients: `<tag>_<handler>`
/// (`me_read`, `content_list_messages`); and `security: []` on the
/// operations that need no credentials, so that generators and linters do
/// not take the document's default for them.
fn name_operations(api: &mut utoipa::openapi::OpenApi) {
    for item in api.paths.paths.values_mut() {
        for op in operations(item) {
            let tag = op
                .tags
                .as_ref()
                .and_then(|t| t.first())
                .cloned()
                .unwrap_or_default();
            if let Some(id) = &op.operation_id
                && !id.starts_with(&format!("{tag}_"))
            {
                op.operation_id = Some(format!("{tag}_{id}"));
            }
            if public(op) {
                op.security = Some(Vec::new());
            }
        }
    }
}

/// Errors any operation of a kind can answer with, declared once as shared
/// responses: (status, component name, description, applies to).
const SHARED_ERRORS: &[(&str, &str, &str, Applies)] = &[
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
enum Applies {
    /// Every operation.
    All,
    /// Operations that need a signed-in caller.
    Secured,
    /// Operations held to a rate limit: per user when signed in, per
    /// client IP when public ([`limited_per_ip`]).
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
fn public(op: &Operation) -> bool {
    op.security
        .as_ref()
        .is_none_or(|s| s.iter().all(|r| r == &Default::default()))
}

impl Applies {
    fn to(self, path: &str, op: &Operation) -> bool {
        match self {
            Self::All => true,
            Self::Secured => signed_in(op),
            Self::Limited => signed_in(op) || limited_per_ip(path, public(op)),
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
fn document_errors(api: &mut utoipa::openapi::OpenApi) {
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
];

/// Declares the response headers clients read: `X-Request-Id` on every
/// response, `RateLimit-*` and `Retry-After` on 429, `Retry-After` on 503,
/// and the `Set-Cookie` and `Location` of the operations that send them.
fn declare_headers(api: &mut utoipa::openapi::OpenApi) {
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

/// Every operation of a path.
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
        &mut item.head,
        &mut item.options,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn doc() -> Value {
        document()
    }

    fn operations_of(doc: &Value) -> Vec<(String, &Value)> {
        let mut out = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                out.push((format!("{method} {path}"), op));
            }
        }
        out
    }

    #[test]
    fn every_error_response_is_a_problem() {
        let doc = doc();
        let shared = &doc["components"]["responses"];
        for (name, op) in operations_of(&doc) {
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.as_str() < "400" {
                    continue;
                }
                let response = match response["$ref"].as_str() {
                    Some(r) => &shared[r.trim_start_matches("#/components/responses/")],
                    None => response,
                };
                assert_eq!(
                    response["content"][PROBLEM_JSON]["schema"]["$ref"],
                    "#/components/schemas/ProblemBody",
                    "{name} {status}"
                );
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty())
                );
            }
        }
    }

    #[test]
    fn operation_ids_are_unique_and_named_by_tag() {
        let doc = doc();
        let mut seen = std::collections::BTreeMap::new();
        let mut twice = Vec::new();
        for (name, op) in operations_of(&doc) {
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            let tag = op["tags"][0].as_str().unwrap();
            assert!(id.starts_with(&format!("{tag}_")), "{name}: {id}");
            assert!(
                id.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{name}: {id}"
            );
            if let Some(other) = seen.insert(id.clone(), name.clone()) {
                twice.push(format!("{id} names both {other} and {name}"));
            }
        }
        assert!(twice.is_empty(), "{twice:#?}");
    }

    #[test]
    fn free_form_objects_take_any_property_and_limits_are_the_servers() {
        let doc = doc();
        let me = &doc["components"]["schemas"]["UserView"]["properties"]["preferences"];
        assert_eq!(me["additionalProperties"], true, "{me}");
        for (name, op) in operations_of(&doc) {
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["name"] == "limit" {
                    assert_eq!(
                        (&p["schema"]["minimum"], &p["schema"]["maximum"]),
                        (&serde_json::json!(1), &serde_json::json!(200)),
                        "{name}"
                    );
                }
            }
        }
    }

    #[test]
    fn text_properties_have_examples_and_bytes_are_binary() {
        let doc = doc();
        let mut missing = Vec::new();
        for (schema, body) in doc["components"]["schemas"].as_object().unwrap() {
            for (name, prop) in body["properties"].as_object().into_iter().flatten() {
                let text = prop["type"] == "string"
                    || prop["type"]
                        .as_array()
                        .is_some_and(|t| t.iter().any(|t| t == "string"));
                if text && prop.get("example").is_none() && prop.get("enum").is_none() {
                    missing.push(format!("{schema}.{name}"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "text properties without an example: {missing:?}"
        );
        let put = &doc["paths"]["/v1/objects/{key}"]["put"];
        assert_eq!(
            put["requestBody"]["content"]["application/octet-stream"]["schema"],
            serde_json::json!({"type": "string", "format": "binary"})
        );
        let query: Vec<&str> = put["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(query, ["expires", "max", "type", "sig"]);
    }

    #[test]
    fn enumerations_list_the_domains_values() {
        let doc = doc();
        let s = &doc["components"]["schemas"];
        assert_eq!(
            s["NotificationView"]["properties"]["urgency"]["enum"],
            serde_json::json!(["low", "normal", "high"])
        );
        assert_eq!(
            s["PaymentView"]["properties"]["status"]["enum"],
            serde_json::json!(["pending", "succeeded", "failed", "cancelled", "refunded"])
        );
        assert_eq!(
            s["UploadView"]["properties"]["status"]["enum"],
            serde_json::json!(["pending", "completed"])
        );
        assert_eq!(
            s["MessageView"]["properties"]["sender"]["$ref"],
            "#/components/schemas/PostAs"
        );
        // Session data values are any JSON, not only objects.
        let put = &doc["paths"]["/v1/content-sessions/{id}/data/{storage_key}"]["put"];
        assert_eq!(
            put["requestBody"]["content"]["application/json"]["schema"],
            serde_json::json!({})
        );
    }

    #[test]
    fn optional_bodies_are_not_required() {
        let doc = doc();
        for (path, method) in [("/v1/content-sessions", "post"), ("/v1/me", "delete")] {
            let body = &doc["paths"][path][method]["requestBody"];
            assert!(body.is_object(), "{method} {path}");
            assert_ne!(body["required"], true, "{method} {path}");
        }
        assert_eq!(
            doc["paths"]["/v1/sessions"]["post"]["requestBody"]["required"],
            true
        );
    }

    #[test]
    fn public_operations_say_so() {
        let doc = doc();
        for (name, op) in operations_of(&doc) {
            let security = op["security"]
                .as_array()
                .unwrap_or_else(|| panic!("{name}"));
            assert!(
                security.is_empty()
                    || security
                        .iter()
                        .all(|r| r.as_object().is_some_and(|r| !r.is_empty())),
                "{name}: {security:?}"
            );
        }
    }

    #[test]
    fn every_operation_documents_the_errors_it_shares_with_others() {
        let doc = doc();
        for (name, op) in operations_of(&doc) {
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.contains_key("500"), "{name} lacks 500");
            if op["tags"][0] != "operations" {
                assert!(responses.contains_key("503"), "{name} lacks 503");
            }
            let signed_in = op["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            if signed_in {
                assert!(responses.contains_key("401"), "{name} lacks 401");
            }
            if op.get("requestBody").is_some() {
                assert!(responses.contains_key("400"), "{name} lacks 400");
            }
        }
    }
}
