//! Notifications: one's own list (newest first, optionally
//! unseen only), seen / seen-all, a response, dismissal; creation for a user
//! by an administrator or a service role; and the live stream.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use actix_web::{HttpResponse, delete, get, post, web};
use api_types::*;
use domain::NewNotification;
use domain::{ContentSessionId, MessageId, NotificationId, UserId};
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::problem::Problem;
use crate::state::AppState;

pub mod stream;

/// Lists the caller's notifications, newest first; expired ones never show.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = []), ("cookie" = [])),
    params(NotificationQuery),
    responses((status = 200, description = "A page of notifications", body = NotificationPage))
)]
#[get("/v1/notifications", name = "/v1/notifications")]
pub async fn list(
    state: web::Data<AppState>,
    me: SignedIn,
    query: web::Query<NotificationQuery>,
) -> Result<web::Json<NotificationPage>, Problem> {
    let page = domain::PageRequest::new(query.limit, query.cursor.as_deref())?;
    let page = state
        .notifications
        .list(me.user().id, query.unseen, page)
        .await?;
    Ok(web::Json(page.into()))
}

fn notification_id(id: Uuid) -> NotificationId {
    NotificationId::from_uuid(id)
}

/// Marks one notification seen (the first time is kept).
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Seen"),
        (status = 404, description = "No such notification of yours"),
    )
)]
#[post("/v1/notifications/{id}/seen", name = "/v1/notifications/{id}/seen")]
pub async fn mark_seen(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    state
        .notifications
        .mark_seen(me.user().id, notification_id(*id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Marks every notification of the caller seen.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Marked", body = SeenAll))
)]
#[post("/v1/notifications/seen", name = "/v1/notifications/seen")]
pub async fn mark_all_seen(
    state: web::Data<AppState>,
    me: SignedIn,
) -> Result<web::Json<SeenAll>, Problem> {
    let marked = state.notifications.mark_all_seen(me.user().id).await?;
    Ok(web::Json(SeenAll { marked }))
}

/// Stores the caller's response to a notification.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = []), ("cookie" = [])),
    request_body = NotificationResponse,
    responses(
        (status = 200, description = "Stored", body = NotificationView),
        (status = 404, description = "No such notification of yours"),
        (status = 422, description = "Not an object, or too large"),
    )
)]
#[post(
    "/v1/notifications/{id}/response",
    name = "/v1/notifications/{id}/response"
)]
pub async fn respond(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
    body: web::Json<NotificationResponse>,
) -> Result<web::Json<NotificationView>, Problem> {
    let id = notification_id(*id);
    state
        .notifications
        .respond(me.user().id, id, &body.response_data)
        .await?;
    Ok(web::Json(
        state.notifications.get(me.user().id, id).await?.into(),
    ))
}

/// Dismisses (deletes) a notification.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Dismissed"),
        (status = 404, description = "No such notification of yours"),
    )
)]
#[delete("/v1/notifications/{id}", name = "/v1/notifications/{id}")]
pub async fn dismiss(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    state
        .notifications
        .dismiss(me.user().id, notification_id(*id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Creates a notification for a user (`notifications:write`: administrators,
/// or a service role holding it). Live streams of the user receive it.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = []), ("cookie" = [])),
    request_body = CreateNotification,
    responses(
        (status = 201, description = "Created", body = NotificationView),
        (status = 403, description = "Missing permission"),
        (status = 404, description = "No such user"),
        (status = 422, description = "Invalid fields"),
    )
)]
#[post("/v1/users/{id}/notifications", name = "/v1/users/{id}/notifications")]
pub async fn create(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
    body: web::Json<CreateNotification>,
) -> Result<HttpResponse, Problem> {
    let b = body.into_inner();
    let new = NewNotification {
        kind: b.kind,
        toast_message: b.toast_message,
        content_session_id: b.content_session_id.map(ContentSessionId::from_uuid),
        message_id: b.message_id.map(MessageId::from_uuid),
        task_id: b.task_id,
        image: b.image,
        urgency: b.urgency.unwrap_or_default(),
        persistent: b.persistent,
        expires_at: b.expires_at,
    };
    let n = state
        .notifications
        .create(&me, UserId::from_uuid(*id), new)
        .await?;
    Ok(HttpResponse::Created().json(NotificationView::from(n)))
}

/// Registers the notifications and their live stream routes, in matching order.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    // `/stream` and `/seen` before `/{id}`.
    cfg.service(stream::stream)
        .service(list)
        .service(mark_all_seen)
        .service(mark_seen)
        .service(respond)
        .service(dismiss)
        .service(create);
}
