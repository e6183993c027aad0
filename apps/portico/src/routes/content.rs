//! Content sessions (`contentSessions`): create, list, read, rename,
//! delete; the active session; key/value data under storage keys; messages
//! with replies and the unread flag. Only the owner (or an administrator)
//! sees a session: anyone else gets 404, so ids do not leak.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use std::collections::BTreeMap;

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use domain::{ContentSession, ContentSessionId, Message, MessageId, Sender, StorageKey};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::problem::{Fields, Kind, Problem};
use crate::routes::{PageQuery, nullable, page_of};
use crate::state::AppState;

/// A content session.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContentSessionView {
    /// Unique id, assigned at creation; it also orders items created in the same millisecond.
    pub id: Uuid,
    /// The user it belongs to: only they and administrators see it.
    pub user_id: Uuid,
    /// Display name.
    pub name: Option<String>,
    /// A message arrived that the owner has not read.
    pub unread_messages: bool,
    /// When it was created (RFC 3339, UTC); lists are newest first by this.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change or message.
    #[serde(with = "time::serde::rfc3339")]
    pub last_accessed_at: OffsetDateTime,
}

impl From<ContentSession> for ContentSessionView {
    fn from(s: ContentSession) -> Self {
        Self {
            id: s.id.as_uuid(),
            user_id: s.user_id.as_uuid(),
            name: s.name,
            unread_messages: s.unread_messages,
            created_at: s.created_at,
            last_accessed_at: s.last_accessed_at,
        }
    }
}

page_of!(ContentSessionPage, ContentSessionView, "content sessions");

/// A message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    /// Unique id, assigned at creation; it also orders items created in the same millisecond.
    pub id: Uuid,
    /// The session.
    pub content_session_id: Uuid,
    /// `user`, `assistant` or `system`.
    pub sender: String,
    /// The writing user, when `sender` is `user`.
    pub sender_user_id: Option<Uuid>,
    /// The message text (never empty, at most the configured length).
    pub content: String,
    /// The message this one replies to.
    pub parent_id: Option<Uuid>,
    /// Read by the owner.
    pub read: bool,
    /// When it was created (RFC 3339, UTC); lists are newest first by this.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<Message> for MessageView {
    fn from(m: Message) -> Self {
        let (sender, sender_user_id) = match m.sender {
            Sender::User(u) => ("user", Some(u.as_uuid())),
            Sender::Assistant => ("assistant", None),
            Sender::System => ("system", None),
        };
        Self {
            id: m.id.as_uuid(),
            content_session_id: m.content_session_id.as_uuid(),
            sender: sender.into(),
            sender_user_id,
            content: m.content,
            parent_id: m.parent_id.map(|p| p.as_uuid()),
            read: m.read,
            created_at: m.created_at,
        }
    }
}

page_of!(MessagePage, MessageView, "messages");

fn session_id(id: Uuid) -> ContentSessionId {
    ContentSessionId::from_uuid(id)
}

fn storage_key(raw: &str) -> Result<StorageKey, Problem> {
    StorageKey::parse(raw).map_err(|_| {
        Problem::new(Kind::NotFound).detail("Storage keys are 1–128 of A-Z a-z 0-9 _ . : -.")
    })
}

/// A new content session.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateContentSession {
    /// Display name (at most 200 characters).
    pub name: Option<String>,
}

/// Creates a content session owned by the caller.
#[utoipa::path(
    tag = "content",
    security(("bearer" = []), ("cookie" = [])),
    request_body = CreateContentSession,
    responses(
        (status = 201, description = "Created", body = ContentSessionView),
        (status = 422, description = "Invalid fields"),
    )
)]
#[post("/v1/content-sessions")]
pub async fn create(
    state: web::Data<AppState>,
    me: SignedIn,
    body: super::OptionalJson<CreateContentSession>,
) -> Result<HttpResponse, Problem> {
    let name = body.0.and_then(|b| b.name);
    let session = state.content.create(me.actor(), name).await?;
    Ok(HttpResponse::Created().json(ContentSessionView::from(session)))
}

/// Lists the caller's content sessions, newest first.
#[utoipa::path(
    tag = "content",
    security(("bearer" = []), ("cookie" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of sessions", body = ContentSessionPage))
)]
#[get("/v1/content-sessions")]
pub async fn list(
    state: web::Data<AppState>,
    me: SignedIn,
    query: web::Query<PageQuery>,
) -> Result<web::Json<ContentSessionPage>, Problem> {
    let page = state.content.list(me.actor(), query.request()?).await?;
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
#[get("/v1/content-sessions/{id}")]
pub async fn read(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<web::Json<ContentSessionView>, Problem> {
    let actor = me.actor();
    let session = state.content.get(actor, session_id(*id)).await?;
    Ok(web::Json(session.into()))
}

/// A rename.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameContentSession {
    /// New name; `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    pub name: Option<Option<String>>,
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
#[patch("/v1/content-sessions/{id}")]
pub async fn rename(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
    body: web::Json<RenameContentSession>,
) -> Result<web::Json<ContentSessionView>, Problem> {
    let actor = me.actor();
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
#[delete("/v1/content-sessions/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let actor = me.actor();
    state.content.delete(actor, session_id(*id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The active content session.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActiveContentSession {
    /// One of the caller's sessions; `null` clears the choice.
    pub content_session_id: Option<Uuid>,
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
#[put("/v1/me/active-content-session")]
pub async fn set_active(
    state: web::Data<AppState>,
    me: SignedIn,
    body: web::Json<ActiveContentSession>,
) -> Result<HttpResponse, Problem> {
    state
        .content
        .set_active(me.user.id, body.content_session_id.map(session_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Every storage key of a session with its value.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionData {
    /// Values by storage key, ordered by key.
    #[schema(value_type = Object)]
    pub data: BTreeMap<String, serde_json::Value>,
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
#[get("/v1/content-sessions/{id}/data")]
pub async fn list_data(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<web::Json<SessionData>, Problem> {
    let actor = me.actor();
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
    request_body(content = Object, description = "Any JSON value"),
    responses(
        (status = 204, description = "Stored"),
        (status = 404, description = "No such session of yours"),
        (status = 413, description = "Value too large"),
        (status = 409, description = "The session holds the most keys allowed"),
    )
)]
#[put("/v1/content-sessions/{id}/data/{storage_key}")]
pub async fn put_data(
    state: web::Data<AppState>,
    me: SignedIn,
    path: web::Path<(Uuid, String)>,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, Problem> {
    let (id, key) = path.into_inner();
    let key = storage_key(&key)?;
    let actor = me.actor();
    state
        .content
        .put_data(actor, session_id(id), &key, &body)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Reads the value under a storage key.
#[utoipa::path(
    tag = "content",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The value", body = Object),
        (status = 404, description = "No such session or key"),
    )
)]
#[get("/v1/content-sessions/{id}/data/{storage_key}")]
pub async fn get_data(
    state: web::Data<AppState>,
    me: SignedIn,
    path: web::Path<(Uuid, String)>,
) -> Result<web::Json<serde_json::Value>, Problem> {
    let (id, key) = path.into_inner();
    let key = storage_key(&key)?;
    let actor = me.actor();
    Ok(web::Json(
        state.content.get_data(actor, session_id(id), &key).await?,
    ))
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
#[delete("/v1/content-sessions/{id}/data/{storage_key}")]
pub async fn delete_data(
    state: web::Data<AppState>,
    me: SignedIn,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, Problem> {
    let (id, key) = path.into_inner();
    let key = storage_key(&key)?;
    let actor = me.actor();
    state
        .content
        .delete_data(actor, session_id(id), &key)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Who a posted message is from.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PostAs {
    /// The caller (the default).
    #[default]
    User,
    /// The assistant: needs the `content:post_as` permission.
    Assistant,
    /// The system: needs the `content:post_as` permission.
    System,
}

/// A new message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    /// Text (1 to the configured maximum of characters).
    pub content: String,
    /// The message this one replies to, in the same session.
    pub parent_id: Option<Uuid>,
    /// Who it is from (default `user`).
    #[serde(default)]
    pub sender: PostAs,
}

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
#[post("/v1/content-sessions/{id}/messages")]
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
            let actor = me.actor();
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
#[get("/v1/content-sessions/{id}/messages")]
pub async fn list_messages(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<MessagePage>, Problem> {
    let actor = me.actor();
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
#[post("/v1/content-sessions/{id}/read")]
pub async fn mark_read(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let actor = me.actor();
    state.content.mark_read(actor, session_id(*id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the content sessions, their data and messages routes, in matching order.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(create)
        .service(list)
        .service(read)
        .service(rename)
        .service(remove)
        .service(set_active)
        .service(list_data)
        .service(put_data)
        .service(get_data)
        .service(delete_data)
        .service(post_message)
        .service(list_messages)
        .service(mark_read);
}
