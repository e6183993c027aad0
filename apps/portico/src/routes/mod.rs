//! HTTP routes, the extractor error handlers, and the fallback that turns
//! unknown routes into 404 and known routes with the wrong method into 405.

use std::sync::Arc;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use crate::problem::{Fields, Kind, Problem};

pub mod accounts;
pub mod activity;
pub mod admin;
pub mod api_keys;
pub mod backups;
pub mod content;
pub mod conversations;
pub mod email_sign_in;
pub mod export;
pub mod me;
pub mod mfa;
pub mod notifications;
pub mod oauth;
pub mod ops;
pub mod passkeys;
pub mod payments;
pub mod plans;
pub mod profiles;
pub mod sessions;
pub mod settings;
pub mod standing;
pub mod stats;
pub mod uploads;
pub mod webhooks;

/// Registers every documented route: each module registers its own, in
/// matching order where paths overlap (`/v1/sessions/current` before
/// `/v1/sessions/{id}`).
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    ops::configure(cfg);
    accounts::configure(cfg);
    email_sign_in::configure(cfg);
    passkeys::configure(cfg);
    sessions::configure(cfg);
    me::configure(cfg);
    api_keys::configure(cfg);
    mfa::configure(cfg);
    oauth::configure(cfg);
    admin::configure(cfg);
    standing::configure(cfg);
    plans::configure(cfg);
    activity::configure(cfg);
    stats::configure(cfg);
    backups::configure(cfg);
    webhooks::configure(cfg);
    profiles::configure(cfg);
    conversations::configure(cfg);
    settings::configure(cfg);
    content::configure(cfg);
    notifications::configure(cfg);
    uploads::configure(cfg);
    payments::configure(cfg);
}

/// Whether the operation at `path` that needs no credentials (`public`) is
/// held to the per-IP limit (`rate_limits.ip_per_minute`): every such `/v1`
/// operation. The server's limiter ([`RouteTable`]) and the
/// OpenAPI document's 429s both decide by it, so the two cannot disagree.
pub(crate) fn limited_per_ip(path: &str, public: bool) -> bool {
    public && path.starts_with("/v1/")
}

/// Names of the roles `user` holds, ordered by name.
pub(crate) async fn role_names(
    state: &crate::state::AppState,
    user: domain::UserId,
) -> Result<Vec<String>, Problem> {
    Ok(state
        .rbac
        .roles_of(user)
        .await?
        .into_iter()
        .map(|r| r.name.as_str().to_owned())
        .collect())
}

/// A JSON body that did not parse: 400 when it is not JSON, 422 when it is
/// JSON of the wrong shape (missing or unknown field, wrong type).
pub(crate) fn json_problem(e: serde_json::Error) -> Problem {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => {
            let mut f = Fields::default();
            let text = e.to_string();
            // "unknown field `name`, expected one of …": the field is named
            // where a client looks for it, under its own name.
            match text
                .strip_prefix("unknown field `")
                .and_then(|rest| rest.split_once('`'))
            {
                Some((field, rest)) => f.add(
                    field,
                    format!(
                        "unknown field{}",
                        rest.split(" at line ").next().unwrap_or("")
                    ),
                ),
                None => f.add("body", text),
            }
            f.into_problem()
        }
        Category::Syntax | Category::Eof | Category::Io => {
            Problem::new(Kind::MalformedRequest).detail(format!("The body is not valid JSON: {e}"))
        }
    }
}

/// A JSON body that may be left out: no body at all (no `Content-Length`,
/// or 0, and no chunked body) gives `None`; a body that is present must be
/// `application/json` of the right shape, or the request fails like any
/// JSON body (400, 413, 415, 422). It is never ignored.
pub struct OptionalJson<T>(pub Option<T>);

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for OptionalJson<T> {
    type Error = actix_web::Error;
    type Future = futures::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        use actix_web::http::header;
        let headers = req.headers();
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let chunked = headers.contains_key(header::TRANSFER_ENCODING);
        if !chunked && declared.unwrap_or(0) == 0 {
            return Box::pin(async { Ok(Self(None)) });
        }
        let json = web::Json::<T>::from_request(req, payload);
        Box::pin(async move { Ok(Self(Some(json.await?.into_inner()))) })
    }
}

/// A body that could not be read: too slow (see `body_rate`), too large, or cut off.
pub(crate) fn payload_problem(e: &actix_web::error::PayloadError) -> Problem {
    use actix_web::error::PayloadError;
    match e {
        PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            Problem::new(Kind::RequestTimeout)
                .detail("The request body arrived below the minimum data rate.")
        }
        PayloadError::Overflow => Problem::new(Kind::PayloadTooLarge),
        other => Problem::new(Kind::MalformedRequest).detail(other.to_string()),
    }
}

/// JSON extractor settings: body limit and problem responses.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _req| {
            let problem = match err {
                JsonPayloadError::OverflowKnownLength { .. }
                | JsonPayloadError::Overflow { .. } => Problem::new(Kind::PayloadTooLarge),
                JsonPayloadError::ContentType => Problem::new(Kind::UnsupportedMediaType)
                    .detail("Send the body as application/json."),
                JsonPayloadError::Deserialize(e) => json_problem(e),
                JsonPayloadError::Payload(e) => payload_problem(&e),
                other => Problem::new(Kind::MalformedRequest).detail(other.to_string()),
            };
            problem.into()
        })
}

/// Path parameters that do not parse (an id that is not a UUID) name no resource: 404.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|_err: PathError, _req| Problem::new(Kind::NotFound).into())
}

/// Query strings that do not parse: 422.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _req| {
        let mut f = Fields::default();
        f.add("query", err.to_string());
        f.into_problem().into()
    })
}

/// Raw bodies (`web::Bytes`): the same size limit.
pub fn payload_config(limit: usize) -> web::PayloadConfig {
    web::PayloadConfig::new(limit)
}

/// Documented paths whose last parameter takes the rest of the path, slashes
/// included (`{key:.*}` in the route): an object key is `users/<id>/<name>`.
const GREEDY_TAILS: &[&str] = &["/v1/objects/{key}"];

/// The documented routes, for telling 404 from 405.
#[derive(Debug, Default)]
pub struct RouteTable(Vec<Route>);

#[derive(Debug)]
struct Route {
    /// The documented path (`/v1/users/{id}`).
    path: String,
    segments: Vec<String>,
    /// The last segment matches one or more segments.
    greedy: bool,
    methods: Vec<&'static str>,
    /// The methods held to the per-IP limit ([`limited_per_ip`]).
    per_ip: Vec<&'static str>,
}

impl Route {
    fn matches(&self, wanted: &[&str]) -> bool {
        let one = |(pattern, part): (&String, &&str)| {
            pattern == part || (pattern.starts_with('{') && !part.is_empty())
        };
        if self.greedy {
            let head = &self.segments[..self.segments.len() - 1];
            wanted.len() >= self.segments.len()
                && head.iter().zip(wanted).all(one)
                && wanted[head.len()..].iter().all(|p| !p.is_empty())
        } else {
            self.segments.len() == wanted.len() && self.segments.iter().zip(wanted).all(one)
        }
    }
}

impl RouteTable {
    /// Every path and method of the OpenAPI document `api`.
    pub fn from_openapi(api: &serde_json::Value) -> Self {
        let routes = api["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(path, item)| {
                let op = |m: &str| item.get(m.to_ascii_lowercase());
                let methods: Vec<&'static str> = ["GET", "POST", "PUT", "PATCH", "DELETE"]
                    .into_iter()
                    .filter(|m| op(m).is_some())
                    .collect();
                let per_ip = methods
                    .iter()
                    .copied()
                    .filter(|m| {
                        let public = op(m)
                            .and_then(|o| o["security"].as_array())
                            .is_some_and(Vec::is_empty);
                        limited_per_ip(path, public)
                    })
                    .collect();
                Route {
                    path: path.clone(),
                    segments: path.split('/').map(str::to_owned).collect(),
                    greedy: GREEDY_TAILS.contains(&path.as_str()),
                    methods,
                    per_ip,
                }
            })
            .collect();
        Self(routes)
    }

    /// The route of the operation `method` at `path`: of the routes that
    /// match with that method, the one with the most fixed segments
    /// (`/v1/sessions/mfa` before `/v1/sessions/{id}`), as the router picks.
    fn operation(&self, method: &str, path: &str) -> Option<&Route> {
        let wanted: Vec<&str> = path.split('/').collect();
        self.0
            .iter()
            .filter(|r| r.methods.contains(&method) && r.matches(&wanted))
            .max_by_key(|r| r.segments.iter().filter(|s| !s.starts_with('{')).count())
    }

    /// The documented path of the operation `method` at `path`, for
    /// responses given before routing (the per-IP limit), whose request
    /// names no matched resource.
    pub fn operation_path(&self, method: &str, path: &str) -> Option<&str> {
        self.operation(method, path).map(|r| r.path.as_str())
    }

    /// Whether `method` at `path` is held to the per-IP limit.
    pub fn limited_per_ip(&self, method: &str, path: &str) -> bool {
        self.operation(method, path)
            .is_some_and(|r| r.per_ip.contains(&method))
    }

    /// Methods served at `path`, if any route matches it: those of the
    /// routes with the most fixed segments that match it
    /// (`/v1/notifications/stream`, not also `/v1/notifications/{id}`).
    pub fn methods_at(&self, path: &str) -> Vec<&'static str> {
        let wanted: Vec<&str> = path.split('/').collect();
        let fixed = |r: &Route| r.segments.iter().filter(|s| !s.starts_with('{')).count();
        let matching: Vec<&Route> = self.0.iter().filter(|r| r.matches(&wanted)).collect();
        let most = matching.iter().map(|r| fixed(r)).max().unwrap_or(0);
        let mut methods: Vec<&'static str> = Vec::new();
        for route in matching.into_iter().filter(|r| fixed(r) == most) {
            for m in &route.methods {
                if !methods.contains(m) {
                    methods.push(m);
                }
            }
        }
        methods
    }
}

/// The fallback service: 405 with `Allow` when the path exists, else 404.
pub async fn fallback(req: HttpRequest) -> HttpResponse {
    let methods = req
        .app_data::<web::Data<Arc<RouteTable>>>()
        .map(|t| t.methods_at(req.path()))
        .unwrap_or_default();
    let problem = if methods.is_empty() {
        Problem::new(Kind::NotFound).detail(format!("No route for {}.", req.path()))
    } else {
        Problem::method_not_allowed(methods)
    };
    problem.error_response()
}

#[cfg(test)]
mod route_table_tests {
    use super::RouteTable;

    #[test]
    fn allow_lists_the_methods_of_every_matching_path() {
        let table = RouteTable::from_openapi(&serde_json::json!({"paths": {
            "/v1/objects/{key}": {"get": {}, "put": {}},
            "/v1/me": {"get": {}, "patch": {}},
            "/v1/users/{id}": {"get": {}},
        }}));
        // An object key holds slashes: before, such a path answered 404.
        assert_eq!(
            table.methods_at("/v1/objects/users/a/b.png"),
            ["GET", "PUT"]
        );
        assert_eq!(table.methods_at("/v1/objects/k"), ["GET", "PUT"]);
        assert!(table.methods_at("/v1/objects/").is_empty());
        assert!(table.methods_at("/v1/objects/users//b").is_empty());
        assert_eq!(table.methods_at("/v1/me"), ["GET", "PATCH"]);
        assert!(table.methods_at("/v1/me/x").is_empty());
        assert_eq!(table.methods_at("/v1/users/7"), ["GET"]);
        assert!(table.methods_at("/v1/users/7/x").is_empty());
    }
}
