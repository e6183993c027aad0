//! Conversations between users and blocks. Every rule is the domain's
//! ([`domain::Conversations`]): participants only (anyone else gets 404),
//! blocks, the sender or `messages:moderate` to remove a message.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use api_types::*;
use domain::{ConversationId, MessageId, UserId};
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::problem::Problem;
use crate::state::AppState;

/// Starts a conversation: one other participant makes a direct
/// conversation (the pair's existing one is returned, 200), 2–49 a group.
#[utoipa::path(
    tag = "conversations",
    security(("bearer" = []), ("cookie" = [])),
    request_body = StartConversation,
    responses(
        (status = 201, description = "Started", body = ConversationView),
        (status = 200, description = "The pair's direct conversation, which existed", body = ConversationView),
        (status = 404, description = "A participant does not exist or cannot be reached by the caller (named in `detail`)"),
        (status = 422, description = "Bad participant_ids or title"),
    )
)]
#[post("/v1/conversations", name = "/v1/conversations")]
pub async fn start(
    state: web::Data<AppState>,
    me: SignedIn,
    body: web::Json<StartConversation>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let others: Vec<UserId> = body
        .participant_ids
        .into_iter()
        .map(UserId::from_uuid)
        .collect();
    let started = state
        .conversations
        .start(&me, &others, body.title.as_deref())
        .await?;
    let view = ConversationView::from(started.view);
    Ok(if started.created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// The caller's conversations, most recent activity first, with unread
/// counts and the newest message.
#[utoipa::path(
    tag = "conversations",
    security(("bearer" = []), ("cookie" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of conversations", body = ConversationPage))
)]
#[get("/v1/conversations", name = "/v1/conversations")]
pub async fn list(
    state: web::Data<AppState>,
    me: SignedIn,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ConversationPage>, Problem> {
    let page = state.conversations.list(&me, query.request()?).await?;
    Ok(web::Json(page.into()))
}

/// One conversation.
#[utoipa::path(
    tag = "conversations",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "The conversation")),
    responses(
        (status = 200, description = "The conversation", body = ConversationView),
        (status = 404, description = "No such conversation, or the caller takes no part in it"),
    )
)]
#[get("/v1/conversations/{id}", name = "/v1/conversations/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<web::Json<ConversationView>, Problem> {
    let id = ConversationId::from_uuid(id.into_inner());
    Ok(web::Json(state.conversations.get(&me, id).await?.into()))
}

/// Renames a group.
#[utoipa::path(
    tag = "conversations",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "The conversation")),
    request_body = RenameConversation,
    responses(
        (status = 200, description = "Renamed", body = ConversationView),
        (status = 404, description = "No such conversation, or the caller takes no part in it"),
        (status = 422, description = "A bad title, or a direct conversation"),
    )
)]
#[patch("/v1/conversations/{id}", name = "/v1/conversations/{id}")]
pub async fn rename(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
    body: web::Json<RenameConversation>,
) -> Result<web::Json<ConversationView>, Problem> {
    let id = ConversationId::from_uuid(id.into_inner());
    let view = state
        .conversations
        .rename(&me, id, body.title.as_deref())
        .await?;
    Ok(web::Json(view.into()))
}

/// Posts a message; the other participants are notified (type `message`).
#[utoipa::path(
    tag = "conversations",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "The conversation")),
    request_body = PostConversationMessage,
    responses(
        (status = 201, description = "Posted", body = ConversationMessageView),
        (status = 403, description = "`blocked`: the other participant of a direct conversation blocks the caller"),
        (status = 404, description = "No such conversation, or the caller takes no part in it"),
        (status = 422, description = "Bad content, or a parent_id not in this conversation"),
        (status = 429, description = "Too many messages; see Retry-After"),
    )
)]
#[post(
    "/v1/conversations/{id}/messages",
    name = "/v1/conversations/{id}/messages"
)]
pub async fn post_message(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
    body: web::Json<PostConversationMessage>,
) -> Result<HttpResponse, Problem> {
    let id = ConversationId::from_uuid(id.into_inner());
    let body = body.into_inner();
    let message = state
        .conversations
        .post(
            &me,
            id,
            &body.content,
            body.parent_id.map(MessageId::from_uuid),
        )
        .await?;
    Ok(HttpResponse::Created().json(ConversationMessageView::from(message)))
}

/// The conversation's messages, newest first, each with who of the other
/// participants has read it.
#[utoipa::path(
    tag = "conversations",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "The conversation"), PageQuery),
    responses(
        (status = 200, description = "A page of messages", body = ConversationMessagePage),
        (status = 404, description = "No such conversation, or the caller takes no part in it"),
    )
)]
#[get(
    "/v1/conversations/{id}/messages",
    name = "/v1/conversations/{id}/messages"
)]
pub async fn messages(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ConversationMessagePage>, Problem> {
    let id = ConversationId::from_uuid(id.into_inner());
    let page = state
        .conversations
        .messages(&me, id, query.request()?)
        .await?;
    Ok(web::Json(page.into()))
}

/// Marks everything up to and including a message read.
#[utoipa::path(
    tag = "conversations",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "The conversation")),
    request_body = MarkConversationRead,
    responses(
        (status = 204, description = "Marked"),
        (status = 404, description = "No such conversation, or the caller takes no part in it"),
        (status = 422, description = "up_to is not a message of this conversation"),
    )
)]
#[post("/v1/conversations/{id}/read", name = "/v1/conversations/{id}/read")]
pub async fn mark_read(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
    body: web::Json<MarkConversationRead>,
) -> Result<HttpResponse, Problem> {
    let id = ConversationId::from_uuid(id.into_inner());
    state
        .conversations
        .mark_read(&me, id, MessageId::from_uuid(body.up_to))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Leaves the conversation (it stays for the others).
#[utoipa::path(
    tag = "conversations",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "The conversation")),
    responses(
        (status = 204, description = "Left"),
        (status = 404, description = "No such conversation, or the caller takes no part in it"),
    )
)]
#[delete(
    "/v1/conversations/{id}/participants/me",
    name = "/v1/conversations/{id}/participants/me"
)]
pub async fn leave(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let id = ConversationId::from_uuid(id.into_inner());
    state.conversations.leave(&me, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Removes a message: its sender, or a holder of `messages:moderate`. It
/// stays as a tombstone.
#[utoipa::path(
    tag = "conversations",
    security(("bearer" = []), ("cookie" = [])),
    params(
        ("id" = Uuid, Path, description = "The conversation"),
        ("message_id" = Uuid, Path, description = "The message"),
    ),
    responses(
        (status = 204, description = "Removed (or removed already)"),
        (status = 403, description = "Not the sender, and no `messages:moderate`"),
        (status = 404, description = "No such conversation or message for the caller"),
    )
)]
#[delete(
    "/v1/conversations/{id}/messages/{message_id}",
    name = "/v1/conversations/{id}/messages/{message_id}"
)]
pub async fn remove_message(
    state: web::Data<AppState>,
    me: SignedIn,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, Problem> {
    let (id, message_id) = path.into_inner();
    state
        .conversations
        .remove_message(
            &me,
            ConversationId::from_uuid(id),
            MessageId::from_uuid(message_id),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Blocks a user: they can no longer start a conversation with the caller
/// nor post in a direct one with them.
#[utoipa::path(
    tag = "conversations",
    security(("bearer" = []), ("cookie" = [])),
    params(("user_id" = Uuid, Path, description = "The user to block")),
    responses(
        (status = 204, description = "Blocked (or blocked already)"),
        (status = 404, description = "No such user"),
        (status = 422, description = "The caller's own id"),
    )
)]
#[put("/v1/me/blocks/{user_id}", name = "/v1/me/blocks/{user_id}")]
pub async fn block(
    state: web::Data<AppState>,
    me: SignedIn,
    user_id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let user_id = UserId::from_uuid(user_id.into_inner());
    state.conversations.block(&me, user_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Lifts a block.
#[utoipa::path(
    tag = "conversations",
    security(("bearer" = []), ("cookie" = [])),
    params(("user_id" = Uuid, Path, description = "The blocked user")),
    responses(
        (status = 204, description = "Unblocked"),
        (status = 404, description = "The caller does not block this user"),
    )
)]
#[delete("/v1/me/blocks/{user_id}", name = "/v1/me/blocks/{user_id}")]
pub async fn unblock(
    state: web::Data<AppState>,
    me: SignedIn,
    user_id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let user_id = UserId::from_uuid(user_id.into_inner());
    state.conversations.unblock(&me, user_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The users the caller blocks, most recent first.
#[utoipa::path(
    tag = "conversations",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "The blocks", body = BlockList))
)]
#[get("/v1/me/blocks", name = "/v1/me/blocks")]
pub async fn blocks(
    state: web::Data<AppState>,
    me: SignedIn,
) -> Result<web::Json<BlockList>, Problem> {
    let items = state.conversations.blocks(&me).await?;
    Ok(web::Json(BlockList {
        items: items.into_iter().map(BlockView::from).collect(),
    }))
}

/// Registers the conversation and block routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(start)
        .service(list)
        .service(get_one)
        .service(rename)
        .service(post_message)
        .service(messages)
        .service(mark_read)
        .service(leave)
        .service(remove_message)
        .service(blocks)
        .service(block)
        .service(unblock);
}
