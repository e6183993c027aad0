//! An account's standing, set by an administrator: suspending a user and
//! lifting the suspension (`users:write`), a user's sessions, and what the
//! console's user page reads (second factor, provider links, usage;
//! `users:read`). The rules (who may, what ends, what signing in answers)
//! are the domain's ([`domain::UserWriter::suspend`]).

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use actix_web::{HttpResponse, delete, get, post, web};
use api_types::{AdminUserView, LinksView, MfaView, QuotaView, SessionList, SuspendBody};
use domain::{AuthSessionId, SuspensionReason, UserId};
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::problem::{Fields, Kind, Problem};
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
        .service(revoke_session)
        .service(mfa)
        .service(providers)
        .service(usage);
}

fn no_such_user() -> Problem {
    Problem::new(Kind::NotFound).detail("No such user.")
}

/// A user's second factor: whether TOTP is on and how many backup codes
/// are left (`users:read`; turning it off is `DELETE`).
#[utoipa::path(
    tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The second factor's status", body = MfaView),
        (status = 403, description = "Missing permission"),
        (status = 404, description = "No such user"),
    )
)]
#[get("/v1/users/{id}/mfa", name = "/v1/users/{id}/mfa")]
pub async fn mfa(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<web::Json<MfaView>, Problem> {
    let users = state.admin.reader(&me)?;
    let id = UserId::from_uuid(id.into_inner());
    users.get_user(id).await?.ok_or_else(no_such_user)?;
    let status = users.mfa_status(id).await?;
    Ok(web::Json(MfaView {
        totp: status.totp,
        backup_codes_left: status.backup_codes_left,
    }))
}

/// A user's links to identity providers, never their tokens (`users:read`).
#[utoipa::path(
    tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The links", body = LinksView),
        (status = 403, description = "Missing permission"),
        (status = 404, description = "No such user"),
    )
)]
#[get("/v1/users/{id}/providers", name = "/v1/users/{id}/providers")]
pub async fn providers(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<web::Json<LinksView>, Problem> {
    let users = state.admin.reader(&me)?;
    let id = UserId::from_uuid(id.into_inner());
    users.get_user(id).await?.ok_or_else(no_such_user)?;
    let links = users.identity_links(id).await?;
    Ok(web::Json(LinksView {
        items: links.into_iter().map(Into::into).collect(),
    }))
}

/// A user's request counters against the plan's limits, as `GET /v1/me`
/// shows them to the user (`users:read`; this instance's counts not yet
/// written included, other instances' within their flush interval).
#[utoipa::path(
    tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The counters and limits", body = QuotaView),
        (status = 403, description = "Missing permission"),
        (status = 404, description = "No such user"),
    )
)]
#[get("/v1/users/{id}/usage", name = "/v1/users/{id}/usage")]
pub async fn usage(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<web::Json<QuotaView>, Problem> {
    let users = state.admin.reader(&me)?;
    let user = users
        .get_user(UserId::from_uuid(id.into_inner()))
        .await?
        .ok_or_else(no_such_user)?;
    let now = time::OffsetDateTime::now_utc();
    let plan = state.plans.plan_of(&user, now).await?;
    let usage = state.rate_limits.usage(user.id).await?;
    Ok(web::Json(QuotaView::from(domain::QuotaStatus::of(
        &plan, usage, now,
    ))))
}
