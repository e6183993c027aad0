//! Content sessions (`contentSessions`): create, list, read, rename,
//! delete; the active session; key/value data under storage keys; messages
//! with replies and the unread flag. Only the owner (or an administrator)
//! sees a session: anyone else gets 404, so ids do not leak.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use api_types::*;
use domain::ContentSessionId;
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::problem::{Fields, Problem};
use crate::state::AppState;

mod data;
pub(crate) mod messages;

fn session_id(id: Uuid) -> ContentSessionId {
    ContentSessionId::from_uuid(id)
}

/// Creates a content session owned by the caller.
#[utoipa::path(
    tag = "content",
    security(("bearer" = []), ("cookie" = [])),
    request_body = Option<CreateContentSession>,
    responses(
        (status = 201, description = "Created", body = ContentSessionView),
        (status = 422, description = "Invalid fields"),
    )
)]
#[post("/v1/content-sessions", name = "/v1/content-sessions")]
pub async fn create(
    state: web::Data<AppState>,
    me: SignedIn,
    body: super::OptionalJson<CreateContentSession>,
) -> Result<HttpResponse, Problem> {
    let name = body.0.and_then(|b| b.name);
    let session = state.content.create(&me, name).await?;
    Ok(HttpResponse::Created().json(ContentSessionView::from(session)))
}

/// Lists the caller's content sessions, newest first.
#[utoipa::path(
    tag = "content",
    security(("bearer" = []), ("cookie" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of sessions", body = ContentSessionPage))
)]
#[get("/v1/content-sessions", name = "/v1/content-sessions")]
pub async fn list(
    state: web::Data<AppState>,
    me: SignedIn,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ContentSessionPage>, Problem> {
    let page = state.content.list(&me, query.request()?).await?;
    Ok(web::Json(page.into()))
}

/// Reads a content session.
#[utoipa::path(
    tag = "content",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The session", body = ContentSessionView),
        (status = 404, description = "No such session of yours"),
    )
)]
#[get("/v1/content-sessions/{id}", name = "/v1/content-sessions/{id}")]
pub async fn read(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<web::Json<ContentSessionView>, Problem> {
    let actor = &me;
    let session = state.content.get(actor, session_id(*id)).await?;
    Ok(web::Json(session.into()))
}

/// Renames a content session.
#[utoipa::path(
    tag = "content",
    security(("bearer" = []), ("cookie" = [])),
    request_body = RenameContentSession,
    responses(
        (status = 200, description = "Renamed", body = ContentSessionView),
        (status = 404, description = "No such session of yours"),
        (status = 422, description = "Invalid fields"),
    )
)]
#[patch("/v1/content-sessions/{id}", name = "/v1/content-sessions/{id}")]
pub async fn rename(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
    body: web::Json<RenameContentSession>,
) -> Result<web::Json<ContentSessionView>, Problem> {
    let actor = &me;
    let Some(name) = body.into_inner().name else {
        let mut f = Fields::default();
        f.add("name", "is required (null clears it)");
        return Err(f.into_problem());
    };
    let session = state.content.rename(actor, session_id(*id), name).await?;
    Ok(web::Json(session.into()))
}

/// Deletes a content session with its data and messages.
#[utoipa::path(
    tag = "content",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such session of yours"),
    )
)]
#[delete("/v1/content-sessions/{id}", name = "/v1/content-sessions/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let actor = &me;
    state.content.delete(actor, session_id(*id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sets the caller's active content session.
#[utoipa::path(
    tag = "content",
    security(("bearer" = []), ("cookie" = [])),
    request_body = ActiveContentSession,
    responses(
        (status = 204, description = "Set"),
        (status = 404, description = "No such session of yours"),
    )
)]
#[put(
    "/v1/me/active-content-session",
    name = "/v1/me/active-content-session"
)]
pub async fn set_active(
    state: web::Data<AppState>,
    me: SignedIn,
    body: web::Json<ActiveContentSession>,
) -> Result<HttpResponse, Problem> {
    state
        .content
        .set_active(&me, body.content_session_id.map(session_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the content sessions, their data and messages routes, in matching order.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(create)
        .service(list)
        .service(read)
        .service(rename)
        .service(remove)
        .service(set_active);
    data::configure(cfg);
    messages::configure(cfg);
}
