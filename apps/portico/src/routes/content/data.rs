//! A content session's key/value data (`sessionData`): every key, and one
//! JSON value per storage key.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use api_types::*;

use actix_web::{HttpResponse, delete, get, put, web};
use domain::{ContentSessionId, StorageKey};
use uuid::Uuid;

use super::session_id;
use crate::auth::SignedIn;
use crate::problem::{Kind, Problem};
use crate::state::AppState;

/// The session and storage key a `/{id}/data/{storage_key}` path names; a
/// key that cannot exist is not found.
fn target(path: web::Path<(Uuid, String)>) -> Result<(ContentSessionId, StorageKey), Problem> {
    let (id, raw) = path.into_inner();
    let key = StorageKey::parse(&raw).map_err(|_| {
        Problem::new(Kind::NotFound).detail("Storage keys are 1–128 of A-Z a-z 0-9 _ . : -.")
    })?;
    Ok((session_id(id), key))
}

/// Reads all key/value data of a session (`sessionData`).
#[utoipa::path(
    tag = "content",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The data", body = SessionData),
        (status = 404, description = "No such session of yours"),
    )
)]
#[get(
    "/v1/content-sessions/{id}/data",
    name = "/v1/content-sessions/{id}/data"
)]
pub async fn list_data(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<web::Json<SessionData>, Problem> {
    let actor = &me;
    let data = state.content.list_data(actor, session_id(*id)).await?;
    Ok(web::Json(SessionData {
        data: data
            .into_iter()
            .map(|(k, v)| (k.as_str().to_owned(), v))
            .collect(),
    }))
}

/// Stores a JSON value under a storage key, replacing any previous one.
/// Values are limited in size and sessions in number of keys (configuration).
#[utoipa::path(
    tag = "content",
    security(("bearer" = []), ("cookie" = [])),
    request_body(content = Value, description = "Any JSON value: an object, an array, a string, a number, a boolean or null"),
    responses(
        (status = 204, description = "Stored"),
        (status = 404, description = "No such session of yours"),
        (status = 413, description = "Value too large"),
        (status = 409, description = "The session holds the most keys allowed"),
    )
)]
#[put(
    "/v1/content-sessions/{id}/data/{storage_key}",
    name = "/v1/content-sessions/{id}/data/{storage_key}"
)]
pub async fn put_data(
    state: web::Data<AppState>,
    me: SignedIn,
    path: web::Path<(Uuid, String)>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, Problem> {
    let (id, key) = target(path)?;
    let actor = &me;
    state.content.put_data(actor, id, &key, &body).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Reads the value under a storage key.
#[utoipa::path(
    tag = "content",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The value as it was stored: any JSON value", body = Value),
        (status = 404, description = "No such session or key"),
    )
)]
#[get(
    "/v1/content-sessions/{id}/data/{storage_key}",
    name = "/v1/content-sessions/{id}/data/{storage_key}"
)]
pub async fn get_data(
    state: web::Data<AppState>,
    me: SignedIn,
    path: web::Path<(Uuid, String)>,
) -> Result<web::Json<serde_json::Value>, Problem> {
    let (id, key) = target(path)?;
    let actor = &me;
    Ok(web::Json(state.content.get_data(actor, id, &key).await?))
}

/// Removes a storage key.
#[utoipa::path(
    tag = "content",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No such session or key"),
    )
)]
#[delete(
    "/v1/content-sessions/{id}/data/{storage_key}",
    name = "/v1/content-sessions/{id}/data/{storage_key}"
)]
pub async fn delete_data(
    state: web::Data<AppState>,
    me: SignedIn,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, Problem> {
    let (id, key) = target(path)?;
    let actor = &me;
    state.content.delete_data(actor, id, &key).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the key/value data routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(list_data)
        .service(put_data)
        .service(get_data)
        .service(delete_data);
}
