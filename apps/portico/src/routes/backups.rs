//! Backups (`backups:read`, `backups:write`): dumps of every store in the
//! object store under `backups/`, written by the scheduled job
//! (`backups.every`) or on demand.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use actix_web::http::header;
use actix_web::{HttpResponse, get, post, web};
use api_types::{BackupList, BackupStarted, BackupView, Download};

use crate::auth::SignedIn;
use crate::problem::{Kind, Problem};
use crate::state::AppState;

/// Every backup in the object store, newest first.
#[utoipa::path(
    tag = "backups",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The backups", body = BackupList),
        (status = 403, description = "Missing permission"),
    )
)]
#[get("/v1/backups", name = "/v1/backups")]
pub async fn list(
    state: web::Data<AppState>,
    me: SignedIn,
) -> Result<web::Json<BackupList>, Problem> {
    let items = state.backups.backups().list(&me).await?;
    Ok(web::Json(BackupList {
        items: items.into_iter().map(BackupView::from).collect(),
    }))
}

/// Starts a backup now: a dump of every store, written to the object store
/// in the background. It appears in the list, under the name returned, once
/// complete; the server's log says when it starts and ends.
#[utoipa::path(
    tag = "backups",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 202, description = "Started", body = BackupStarted),
        (status = 403, description = "Missing permission"),
    )
)]
#[post("/v1/backups", name = "/v1/backups")]
pub async fn start(state: web::Data<AppState>, me: SignedIn) -> Result<HttpResponse, Problem> {
    let name = state.backups.backups().start(&me)?;
    let writer = state.backups.clone();
    let started = BackupStarted {
        name: name.as_str().to_owned(),
    };
    // Failures are logged by the writer; the caller polls the list.
    tokio::spawn(async move { writer.write(name).await });
    Ok(HttpResponse::Accepted().json(started))
}

/// Redirects (303) to a time-limited URL that streams the backup (the
/// object store's, or Portico's own for the local store); the body carries
/// the same URL.
#[utoipa::path(
    tag = "backups",
    security(("bearer" = []), ("cookie" = [])),
    params(("name" = String, Path, description = "The backup's name")),
    responses(
        (status = 303, description = "See the Location header", body = Download),
        (status = 403, description = "Missing permission"),
        (status = 404, description = "No such backup"),
    )
)]
#[get("/v1/backups/{name}/download", name = "/v1/backups/{name}/download")]
pub async fn download(
    state: web::Data<AppState>,
    me: SignedIn,
    name: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let url = state
        .backups
        .backups()
        .download_url(&me, &name)
        .await
        .map_err(|e| match e {
            domain::BackupError::Forbidden(d) => d.into(),
            domain::BackupError::NotFound => Problem::new(Kind::NotFound),
            domain::BackupError::Unexpected(e) => Problem::internal(e),
        })?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, url.clone()))
        .json(Download { url }))
}

/// Registers the backup routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(list).service(start).service(download);
}
