//! API keys: a user's own (`/v1/me/api-keys`) and an administrator's view
//! of anyone's (`/v1/users/{id}/api-keys`). The rules are the domain's
//! ([`domain::ApiKeys`]); a request authenticated by an API key is refused
//! here with 403, as for every account-management operation.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use actix_web::{HttpResponse, delete, get, post, web};
use api_types::*;
use domain::{ApiKeyId, ApiKeyName, NewApiKey, Permission, UserId};
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::problem::{Fields, Problem};
use crate::state::AppState;

fn list(keys: Vec<domain::ApiKey>) -> ApiKeyList {
    ApiKeyList {
        items: keys.into_iter().map(ApiKeyView::from).collect(),
        next_cursor: None,
    }
}

/// Makes an API key acting as you, with at most the permissions you name.
///
/// The key is in the answer, once. It is refused for account management
/// (password, second factor, passkeys, providers, API keys, sessions,
/// deletion), stops working when you are locked, suspended or deleted, and
/// its requests count toward your quotas.
#[utoipa::path(
    tag = "api_keys",
    security(("bearer" = []), ("cookie" = [])),
    request_body = CreateApiKeyBody,
    responses(
        (status = 201, description = "The key, shown once", body = CreatedApiKeyView),
        (status = 403, description = "The request presented an API key"),
        (status = 409, description = "You hold 50 keys already"),
        (status = 422, description = "A bad name, a permission you do not hold, or an expiry not ahead"),
    )
)]
#[post("/v1/me/api-keys", name = "/v1/me/api-keys")]
pub async fn create(
    state: web::Data<AppState>,
    me: SignedIn,
    body: web::Json<CreateApiKeyBody>,
) -> Result<HttpResponse, Problem> {
    me.account()?;
    let body = body.into_inner();
    let mut f = Fields::default();
    let name = f.check("name", ApiKeyName::parse(&body.name));
    let permissions = body.permissions.map(|list| {
        list.iter()
            .filter_map(|p| f.check("permissions", Permission::parse(p)))
            .collect::<Vec<_>>()
    });
    let Some(name) = name else {
        return Err(f.into_problem());
    };
    f.finish()?;
    let made = state
        .api_keys
        .create(
            &me,
            NewApiKey {
                name,
                permissions,
                expires_at: body.expires_at,
            },
        )
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(CreatedApiKeyView::from(made)))
}

/// Your API keys, newest first (never the keys themselves).
#[utoipa::path(
    tag = "api_keys",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Your keys", body = ApiKeyList),
        (status = 403, description = "The request presented an API key"),
    )
)]
#[get("/v1/me/api-keys", name = "/v1/me/api-keys")]
pub async fn mine(
    state: web::Data<AppState>,
    me: SignedIn,
) -> Result<web::Json<ApiKeyList>, Problem> {
    Ok(web::Json(list(state.api_keys.mine(&me).await?)))
}

/// Revokes one of your API keys: it stops working at once, on every instance.
#[utoipa::path(
    tag = "api_keys",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "The key's id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "The request presented an API key"),
        (status = 404, description = "You have no such key"),
    )
)]
#[delete("/v1/me/api-keys/{id}", name = "/v1/me/api-keys/{id}")]
pub async fn revoke(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    state
        .api_keys
        .revoke(&me, ApiKeyId::from_uuid(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A user's API keys (`users:read`).
#[utoipa::path(
    tag = "api_keys",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The user's keys", body = ApiKeyList),
        (status = 403, description = "Missing permission"),
    )
)]
#[get("/v1/users/{id}/api-keys", name = "/v1/users/{id}/api-keys")]
pub async fn of_user(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<web::Json<ApiKeyList>, Problem> {
    let user = UserId::from_uuid(id.into_inner());
    Ok(web::Json(list(state.api_keys.of_user(&me, user).await?)))
}

/// Revokes a user's API key (`users:write`, and every permission the
/// user's roles hold).
#[utoipa::path(
    tag = "api_keys",
    security(("bearer" = []), ("cookie" = [])),
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("key_id" = Uuid, Path, description = "The key's id"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "Missing permission"),
        (status = 404, description = "The user has no such key"),
    )
)]
#[delete(
    "/v1/users/{id}/api-keys/{key_id}",
    name = "/v1/users/{id}/api-keys/{key_id}"
)]
pub async fn revoke_of_user(
    state: web::Data<AppState>,
    me: SignedIn,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, Problem> {
    let (user, key) = path.into_inner();
    state
        .api_keys
        .revoke_of_user(&me, UserId::from_uuid(user), ApiKeyId::from_uuid(key))
        .await?;
    tracing::info!(user = %user, key = %key, by = %me.user().id, "API key revoked by an administrator");
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the API key routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(create)
        .service(mine)
        .service(revoke)
        .service(of_user)
        .service(revoke_of_user);
}
