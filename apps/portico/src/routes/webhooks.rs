//! Outgoing webhooks (`webhooks:write`): endpoints, their delivery log, and
//! a test event. Rules and signing are the domain's ([`domain::Webhooks`]);
//! deliveries are made by the webhook worker.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use actix_web::{HttpResponse, delete, get, patch, post, web};
use api_types::*;
use domain::{NewWebhook, WebhookChange, WebhookEvents, WebhookId, WebhookUrl};
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::problem::{Fields, Problem};
use crate::state::AppState;

/// Makes an endpoint. The answer holds its signing secret, once.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = []), ("cookie" = [])),
    request_body = CreateWebhookBody,
    responses(
        (status = 201, description = "The endpoint and its secret, shown once", body = CreatedWebhookView),
        (status = 403, description = "Missing permission"),
        (status = 409, description = "50 endpoints exist already"),
        (status = 422, description = "A URL the policy refuses, unknown event types, or a description too long"),
    )
)]
#[post("/v1/webhooks", name = "/v1/webhooks")]
pub async fn create(
    state: web::Data<AppState>,
    me: SignedIn,
    body: web::Json<CreateWebhookBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let mut f = Fields::default();
    let url = f.check("url", WebhookUrl::parse(&body.url));
    let events = f.check("events", WebhookEvents::parse(&body.events));
    let (Some(url), Some(events)) = (url, events) else {
        return Err(f.into_problem());
    };
    let made = state
        .webhooks
        .create(
            &me,
            NewWebhook {
                url,
                events,
                description: body.description,
            },
        )
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(CreatedWebhookView::from(made)))
}

/// Every endpoint, oldest first (never their secrets).
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The endpoints", body = WebhookList),
        (status = 403, description = "Missing permission"),
    )
)]
#[get("/v1/webhooks", name = "/v1/webhooks")]
pub async fn list(
    state: web::Data<AppState>,
    me: SignedIn,
) -> Result<web::Json<WebhookList>, Problem> {
    let items = state.webhooks.list(&me).await?;
    Ok(web::Json(WebhookList {
        items: items.into_iter().map(WebhookView::from).collect(),
    }))
}

/// One endpoint.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    responses(
        (status = 200, description = "The endpoint", body = WebhookView),
        (status = 403, description = "Missing permission"),
        (status = 404, description = "No such endpoint"),
    )
)]
#[get("/v1/webhooks/{id}", name = "/v1/webhooks/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<web::Json<WebhookView>, Problem> {
    let endpoint = state
        .webhooks
        .get(&me, WebhookId::from_uuid(id.into_inner()))
        .await?;
    Ok(web::Json(endpoint.into()))
}

/// Changes an endpoint: only the fields given. Turning `enabled` on again
/// forgets its failures.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    request_body = UpdateWebhookBody,
    responses(
        (status = 200, description = "The endpoint after", body = WebhookView),
        (status = 403, description = "Missing permission"),
        (status = 404, description = "No such endpoint"),
        (status = 422, description = "A URL the policy refuses, unknown event types, or a description too long"),
    )
)]
#[patch("/v1/webhooks/{id}", name = "/v1/webhooks/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
    body: web::Json<UpdateWebhookBody>,
) -> Result<web::Json<WebhookView>, Problem> {
    let body = body.into_inner();
    let mut f = Fields::default();
    let url = body
        .url
        .and_then(|u| f.check("url", WebhookUrl::parse(&u)).map(Some))
        .flatten();
    let events = body
        .events
        .and_then(|e| f.check("events", WebhookEvents::parse(&e)).map(Some))
        .flatten();
    f.finish()?;
    let endpoint = state
        .webhooks
        .update(
            &me,
            WebhookId::from_uuid(id.into_inner()),
            WebhookChange {
                url,
                events,
                description: body.description,
                enabled: body.enabled,
            },
        )
        .await?;
    Ok(web::Json(endpoint.into()))
}

/// Deletes an endpoint and its delivery log; what is queued for it is
/// dropped.
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Missing permission"),
        (status = 404, description = "No such endpoint"),
    )
)]
#[delete("/v1/webhooks/{id}", name = "/v1/webhooks/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    state
        .webhooks
        .delete(&me, WebhookId::from_uuid(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// How many attempts to list.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AttemptsQuery {
    /// 1 to 100 (default 50).
    pub limit: Option<u32>,
}

/// The endpoint's recent delivery attempts, newest first: event id, type,
/// status code or error, attempt number, time (kept 30 days).
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "The endpoint's id"), AttemptsQuery),
    responses(
        (status = 200, description = "The attempts", body = WebhookAttemptList),
        (status = 403, description = "Missing permission"),
        (status = 404, description = "No such endpoint"),
    )
)]
#[get("/v1/webhooks/{id}/deliveries", name = "/v1/webhooks/{id}/deliveries")]
pub async fn deliveries(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
    query: web::Query<AttemptsQuery>,
) -> Result<web::Json<WebhookAttemptList>, Problem> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=domain::MAX_LISTED_ATTEMPTS).contains(&limit) {
        let mut f = Fields::default();
        f.add("limit", "must be 1 to 100");
        return Err(f.into_problem());
    }
    let items = state
        .webhooks
        .deliveries(&me, WebhookId::from_uuid(id.into_inner()), limit)
        .await?;
    Ok(web::Json(WebhookAttemptList {
        items: items.into_iter().map(WebhookAttemptView::from).collect(),
    }))
}

/// Sends a `webhook.test` event to this endpoint (queued like any event;
/// its attempts show in the delivery log).
#[utoipa::path(
    tag = "webhooks",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "The endpoint's id")),
    responses(
        (status = 202, description = "Queued", body = WebhookTestSent),
        (status = 403, description = "Missing permission"),
        (status = 404, description = "No such endpoint"),
        (status = 409, description = "The endpoint is disabled"),
    )
)]
#[post("/v1/webhooks/{id}/test", name = "/v1/webhooks/{id}/test")]
pub async fn test(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let event = state
        .webhooks
        .send_test(&me, WebhookId::from_uuid(id.into_inner()))
        .await?;
    Ok(HttpResponse::Accepted().json(WebhookTestSent {
        event_id: domain::message_id(event),
    }))
}

/// Registers the webhook routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(create)
        .service(list)
        .service(get_one)
        .service(update)
        .service(remove)
        .service(deliveries)
        .service(test);
}
