//! An account's standing, set by an administrator: suspending a user and
//! lifting the suspension (`users:write`). The rules (who may, what ends,
//! what signing in answers) are the domain's ([`domain::UserWriter::suspend`]).

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use actix_web::{HttpResponse, delete, get, post, web};
use api_types::{AdminUserView, SessionList, SuspendBody};
use domain::{AuthSessionId, SuspensionReason, UserId};
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::problem::{Fields, Problem};
use crate::routes::admin::admin_view;
use crate::state::AppState;

/// Suspends a user (`users:write`): every session of the user ends at once
/// on every instance, and every way of signing in (password, second step,
/// identity provider, refresh) answers 403 `account-suspended` with
/// `reason` and `until` until it ends or is lifted. Setting it again
/// replaces it.
#[utoipa::path(
    tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    request_body = SuspendBody,
    responses(
        (status = 200, description = "The suspended user", body = AdminUserView),
        (status = 404, description = "No such user"),
        (status = 409, description = "One cannot suspend oneself"),
    )
)]
#[post("/v1/users/{id}/suspension", name = "/v1/users/{id}/suspension")]
pub async fn suspend(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
    body: web::Json<SuspendBody>,
) -> Result<web::Json<AdminUserView>, Problem> {
    // The domain's check comes first: a caller without the right learns
    // nothing from validation.
    let users = state.admin.writer(&me)?;
    let body = body.into_inner();
    let mut f = Fields::default();
    let reason = f.check("reason", SuspensionReason::parse(&body.reason));
    f.finish()?;
    let reason = reason.expect("checked");
    let id = UserId::from_uuid(id.into_inner());
    let user = users.suspend(id, reason, body.until).await?;
    tracing::info!(user = %id, by = %me.user().id, until = ?body.until, "account suspended");
    Ok(web::Json(admin_view(&state, user).await?))
}

/// Lifts a user's suspension (`users:write`); nothing to do when there is
/// none. A suspension with an end also lifts itself then.
#[utoipa::path(
    tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 204, description = "Lifted (or there was none)"),
        (status = 404, description = "No such user"),
    )
)]
#[delete("/v1/users/{id}/suspension", name = "/v1/users/{id}/suspension")]
pub async fn lift(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let users = state.admin.writer(&me)?;
    let id = UserId::from_uuid(id.into_inner());
    users.lift_suspension(id).await?;
    tracing::info!(user = %id, by = %me.user().id, "suspension lifted");
    Ok(HttpResponse::NoContent().finish())
}

/// A user's active sessions, newest first (`users:read`).
#[utoipa::path(
    tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The user's active sessions", body = SessionList),
        (status = 403, description = "Missing permission"),
    )
)]
#[get("/v1/users/{id}/sessions", name = "/v1/users/{id}/sessions")]
pub async fn sessions(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<web::Json<SessionList>, Problem> {
    let users = state.admin.reader(&me)?;
    let sessions = users.sessions(UserId::from_uuid(id.into_inner())).await?;
    Ok(web::Json(SessionList::of(sessions, me.session().id)))
}

/// Revokes one of a user's sessions (`users:write`): its tokens stop
/// working at once on every instance.
#[utoipa::path(
    tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("session_id" = Uuid, Path, description = "Session id"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such active session of the user"),
    )
)]
#[delete(
    "/v1/users/{id}/sessions/{session_id}",
    name = "/v1/users/{id}/sessions/{session_id}"
)]
pub async fn revoke_session(
    state: web::Data<AppState>,
    me: SignedIn,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, Problem> {
    let users = state.admin.writer(&me)?;
    let (id, session) = path.into_inner();
    let (id, session) = (UserId::from_uuid(id), AuthSessionId::from_uuid(session));
    users.revoke_session(id, session).await?;
    tracing::info!(user = %id, %session, by = %me.user().id, "session revoked by an administrator");
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the standing routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(suspend)
        .service(lift)
        .service(sessions)
        .service(revoke_session);
}
