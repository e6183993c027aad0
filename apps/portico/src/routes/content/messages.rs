//! A content session's messages: posting (as the caller, or as assistant or
//! system with the right), listing, and marking them read.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use actix_web::{HttpResponse, get, post, web};
use api_types::*;
use domain::{MessageId, Sender};
use uuid::Uuid;

use super::session_id;
use crate::auth::SignedIn;
use crate::problem::Problem;
use crate::state::AppState;
use PageQuery;

/// Posts a message. A message not written by the owner marks the session
/// unread for its owner.
#[utoipa::path(
    tag = "content",
    security(("bearer" = []), ("cookie" = [])),
    request_body = PostMessage,
    responses(
        (status = 201, description = "Posted", body = MessageView),
        (status = 403, description = "Posting as assistant or system needs content:post_as"),
        (status = 404, description = "No such session of yours"),
        (status = 422, description = "Empty or too long, or the parent is not in this session"),
    )
)]
#[post(
    "/v1/content-sessions/{id}/messages",
    name = "/v1/content-sessions/{id}/messages"
)]
pub async fn post_message(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
    body: web::Json<PostMessage>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let parent = body.parent_id.map(MessageId::from_uuid);
    let id = session_id(*id);
    let message = match body.sender {
        PostAs::User => {
            let actor = &me;
            state.content.post(actor, id, body.content, parent).await?
        }
        PostAs::Assistant | PostAs::System => {
            let sender = match body.sender {
                PostAs::Assistant => Sender::Assistant,
                _ => Sender::System,
            };
            state
                .content
                .post_as(&me, sender, id, body.content, parent)
                .await?
        }
    };
    Ok(HttpResponse::Created().json(MessageView::from(message)))
}

/// Lists a session's messages, newest first.
#[utoipa::path(
    tag = "content",
    security(("bearer" = []), ("cookie" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of messages", body = MessagePage),
        (status = 404, description = "No such session of yours"),
    )
)]
#[get(
    "/v1/content-sessions/{id}/messages",
    name = "/v1/content-sessions/{id}/messages"
)]
pub async fn list_messages(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<MessagePage>, Problem> {
    let actor = &me;
    let page = state
        .content
        .messages(actor, session_id(*id), query.request()?)
        .await?;
    Ok(web::Json(page.into()))
}

/// Marks every message read and clears the unread flag.
#[utoipa::path(
    tag = "content",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Read"),
        (status = 404, description = "No such session of yours"),
    )
)]
#[post(
    "/v1/content-sessions/{id}/read",
    name = "/v1/content-sessions/{id}/read"
)]
pub async fn mark_read(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let actor = &me;
    state.content.mark_read(actor, session_id(*id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the message routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(post_message)
        .service(list_messages)
        .service(mark_read);
}
