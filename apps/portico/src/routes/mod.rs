//! HTTP routes, the extractor error handlers, and the fallback that turns
//! unknown routes into 404 and known routes with the wrong method into 405.

use std::sync::Arc;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::{Deserialize, Deserializer};
use utoipa::openapi::OpenApi;

use crate::problem::{Fields, Kind, Problem};

pub mod accounts;
pub mod admin;
pub mod me;
pub mod ops;
pub mod sessions;

/// Registers every documented route. Order matters where paths overlap:
/// `/v1/sessions/current` before `/v1/sessions/{id}`.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics)
        .service(accounts::register)
        .service(accounts::verify)
        .service(accounts::username_available)
        .service(accounts::request_reset)
        .service(accounts::confirm_reset)
        .service(sessions::sign_in)
        .service(sessions::refresh)
        .service(sessions::list)
        .service(sessions::sign_out)
        .service(sessions::revoke)
        .service(me::read)
        .service(me::update)
        .service(me::export)
        .service(me::delete_me)
        .service(admin::list_roles)
        .service(admin::create_role)
        .service(admin::update_role)
        .service(admin::delete_role)
        .service(admin::list_users)
        .service(admin::read_user)
        .service(admin::update_user)
        .service(admin::grant)
        .service(admin::revoke);
}

/// `Some(None)` for an explicit `null`, `None` (with `#[serde(default)]`)
/// when the field is absent.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A JSON body that did not parse: 400 when it is not JSON, 422 when it is
/// JSON of the wrong shape (missing or unknown field, wrong type).
pub(crate) fn json_problem(e: serde_json::Error) -> Problem {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => {
            let mut f = Fields::default();
            f.add("body", e.to_string());
            f.into_problem()
        }
        Category::Syntax | Category::Eof | Category::Io => {
            Problem::new(Kind::MalformedRequest).detail(format!("The body is not valid JSON: {e}"))
        }
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

/// The documented routes, for telling 404 from 405.
#[derive(Debug, Default)]
pub struct RouteTable(Vec<(Vec<String>, Vec<&'static str>)>);

impl RouteTable {
    /// Every path and method of `api`.
    pub fn from_openapi(api: &OpenApi) -> Self {
        let routes = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segments = path.split('/').map(str::to_owned).collect();
                let methods = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, present)| present.then_some(m))
                .collect();
                (segments, methods)
            })
            .collect();
        Self(routes)
    }

    /// Methods served at `path`, if any route matches it.
    pub fn methods_at(&self, path: &str) -> Vec<&'static str> {
        let wanted: Vec<&str> = path.split('/').collect();
        let mut methods: Vec<&'static str> = Vec::new();
        for (segments, ms) in &self.0 {
            let matches = segments.len() == wanted.len()
                && segments.iter().zip(&wanted).all(|(pattern, part)| {
                    pattern == part || (pattern.starts_with('{') && !part.is_empty())
                });
            if matches {
                methods.extend(
                    ms.iter()
                        .filter(|m| !methods.contains(m))
                        .collect::<Vec<_>>(),
                );
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
