//! Roles, grants and user administration. Each endpoint checks one
//! permission (`roles:read`, `roles:write`, `users:read`, `users:write`);
//! the built-in `admin` role holds `*`, so administrators pass every check,
//! and a custom role can hand out a part of it.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use api_types::*;
use std::collections::BTreeSet;

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use domain::{Permission, RoleName, UserId};
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::problem::{Fields, Kind, Problem};
use crate::state::AppState;

fn role_name(raw: &str) -> Result<RoleName, Problem> {
    RoleName::parse(raw).map_err(|_| Problem::new(Kind::NotFound).detail("No such role."))
}

fn permissions(f: &mut Fields, raw: Vec<String>) -> BTreeSet<Permission> {
    raw.iter()
        .filter_map(|p| f.check("permissions", Permission::parse(p)))
        .collect()
}

/// Lists roles (`roles:read`).
#[utoipa::path(
    tag = "permissions",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Roles", body = RoleList),
        (status = 403, description = "Missing permission"),
    )
)]
#[get("/v1/roles", name = "/v1/roles")]
pub async fn list_roles(
    state: web::Data<AppState>,
    me: SignedIn,
) -> Result<web::Json<RoleList>, Problem> {
    let items = state
        .rbac
        .list_roles(&me)
        .await?
        .into_iter()
        .map(RoleView::from)
        .collect();
    Ok(web::Json(RoleList { items }))
}

/// Creates a role (`roles:write`).
#[utoipa::path(
    tag = "permissions",
    security(("bearer" = []), ("cookie" = [])),
    request_body = CreateRoleBody,
    responses(
        (status = 201, description = "Created", body = RoleView),
        (status = 409, description = "A role with that name exists"),
        (status = 422, description = "Invalid fields"),
    )
)]
#[post("/v1/roles", name = "/v1/roles")]
pub async fn create_role(
    state: web::Data<AppState>,
    me: SignedIn,
    body: web::Json<CreateRoleBody>,
) -> Result<HttpResponse, Problem> {
    // The domain's check comes first: a caller without the right learns
    // nothing from validation.
    let roles = state.rbac.writer(&me)?;
    let body = body.into_inner();
    let mut f = Fields::default();
    let name = f.check("name", RoleName::parse(&body.name));
    let perms = permissions(&mut f, body.permissions);
    let Some(name) = name else {
        return Err(f.into_problem());
    };
    f.finish()?;
    let role = roles.create_role(name, body.description, perms).await?;
    Ok(HttpResponse::Created().json(RoleView::from(role)))
}

/// Changes a role's description or permissions (`roles:write`).
#[utoipa::path(
    tag = "permissions",
    security(("bearer" = []), ("cookie" = [])),
    params(("name" = String, Path, description = "Role name")),
    request_body = UpdateRoleBody,
    responses(
        (status = 200, description = "Updated", body = RoleView),
        (status = 404, description = "No such role"),
        (status = 409, description = "Built-in role's permissions cannot change"),
    )
)]
#[patch("/v1/roles/{name}", name = "/v1/roles/{name}")]
pub async fn update_role(
    state: web::Data<AppState>,
    me: SignedIn,
    name: web::Path<String>,
    body: web::Json<UpdateRoleBody>,
) -> Result<web::Json<RoleView>, Problem> {
    // The domain's check comes first: a caller without the right learns
    // nothing from validation.
    let roles = state.rbac.writer(&me)?;
    let name = role_name(&name)?;
    let body = body.into_inner();
    let mut f = Fields::default();
    let perms = body.permissions.map(|p| permissions(&mut f, p));
    f.finish()?;
    let role = roles.update_role(&name, body.description, perms).await?;
    Ok(web::Json(RoleView::from(role)))
}

/// Deletes a role and every grant of it (`roles:write`).
#[utoipa::path(
    tag = "permissions",
    security(("bearer" = []), ("cookie" = [])),
    params(("name" = String, Path, description = "Role name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such role"),
        (status = 409, description = "Built-in roles cannot be deleted"),
    )
)]
#[delete("/v1/roles/{name}", name = "/v1/roles/{name}")]
pub async fn delete_role(
    state: web::Data<AppState>,
    me: SignedIn,
    name: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    // The domain's check comes first: a caller without the right learns
    // nothing from validation.
    let roles = state.rbac.writer(&me)?;
    let name = role_name(&name)?;
    roles.delete_role(&name).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Lists users, newest first (`users:read`).
#[utoipa::path(
    tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    params(UserListQuery),
    responses(
        (status = 200, description = "A page of users", body = UserPage),
        (status = 403, description = "Missing permission"),
        (status = 422, description = "A filter that does not parse, named in `errors`"),
    )
)]
#[get("/v1/users", name = "/v1/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    me: SignedIn,
    query: web::Query<UserListQuery>,
) -> Result<web::Json<UserPage>, Problem> {
    // The domain's check comes first: a caller without the right learns
    // nothing from validation.
    let users = state.admin.reader(&me)?;
    let query = query.into_inner();
    let mut f = Fields::default();
    let prefix = match query.q.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(q) if q.chars().count() > 254 || q.chars().any(char::is_control) => {
            f.add(
                "q",
                "must be at most 254 characters, without control characters",
            );
            None
        }
        Some(q) => Some(q.to_lowercase()),
    };
    let status = query.status.as_deref().and_then(|s| {
        let parsed = domain::UserStatus::parse(s);
        if parsed.is_none() {
            f.add("status", "must be active, locked, suspended or unverified");
        }
        parsed
    });
    let plan = query
        .plan
        .as_deref()
        .and_then(|p| f.check("plan", domain::PlanName::parse(p)));
    f.finish()?;
    let page = domain::PageRequest::new(query.limit, query.cursor.as_deref())?;
    let now = time::OffsetDateTime::now_utc();
    let filter = domain::UserFilter {
        prefix,
        status,
        plan,
        at: now,
    };
    let page = users.list_users(&filter, page).await?;
    Ok(web::Json(UserPage::at(page, now)))
}

pub(crate) async fn admin_view(
    state: &AppState,
    user: domain::User,
) -> Result<AdminUserView, Problem> {
    let roles = crate::routes::role_names(state, user.id).await?;
    let now = time::OffsetDateTime::now_utc();
    Ok(AdminUserView {
        failed_logins: user.failed_logins,
        suspension: user.suspended_at(now).map(SuspensionView::from),
        status: user.status_at(now).as_str().to_owned(),
        plan: user.plan_at(now).map(PlanAssignmentView::from),
        user: UserView::from(user),
        roles,
    })
}

/// Reads a user (`users:read`).
#[utoipa::path(
    tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = AdminUserView),
        (status = 404, description = "No such user"),
    )
)]
#[get("/v1/users/{id}", name = "/v1/users/{id}")]
pub async fn read_user(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<web::Json<AdminUserView>, Problem> {
    let user = state
        .admin
        .get_user(&me, UserId::from_uuid(id.into_inner()))
        .await?
        .ok_or_else(|| Problem::new(Kind::NotFound).detail("No such user."))?;
    Ok(web::Json(admin_view(&state, user).await?))
}

/// Locks, unlocks or verifies a user (`users:write`).
#[utoipa::path(
    tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    request_body = UpdateUserBody,
    responses(
        (status = 200, description = "The updated user", body = AdminUserView),
        (status = 404, description = "No such user"),
    )
)]
#[patch("/v1/users/{id}", name = "/v1/users/{id}")]
pub async fn update_user(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
    body: web::Json<UpdateUserBody>,
) -> Result<web::Json<AdminUserView>, Problem> {
    let users = state.admin.writer(&me)?;
    let id = UserId::from_uuid(id.into_inner());
    let mut user = None;
    if let Some(locked) = body.locked {
        user = Some(users.set_locked(id, locked).await?);
    }
    if let Some(verified) = body.verified {
        user = Some(users.set_verified(id, verified).await?);
    }
    let user = match user {
        Some(u) => u,
        None => state
            .profiles
            .get(id)
            .await?
            .ok_or_else(|| Problem::new(Kind::NotFound).detail("No such user."))?,
    };
    Ok(web::Json(admin_view(&state, user).await?))
}

/// Grants a role to a user (`roles:write`). Idempotent.
#[utoipa::path(
    tag = "permissions",
    security(("bearer" = []), ("cookie" = [])),
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("name" = String, Path, description = "Role name"),
    ),
    responses(
        (status = 204, description = "Granted"),
        (status = 403, description = "The role holds a permission the caller does not"),
        (status = 404, description = "No such user or role"),
    )
)]
#[put("/v1/users/{id}/roles/{name}", name = "/v1/users/{id}/roles/{name}")]
pub async fn grant(
    state: web::Data<AppState>,
    me: SignedIn,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, Problem> {
    // The domain's check comes first: a caller without the right learns
    // nothing from validation.
    let roles = state.rbac.writer(&me)?;
    let (id, name) = path.into_inner();
    let name = role_name(&name)?;
    roles.grant(UserId::from_uuid(id), &name).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Revokes a role from a user (`roles:write`).
#[utoipa::path(
    tag = "permissions",
    security(("bearer" = []), ("cookie" = [])),
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("name" = String, Path, description = "Role name"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "The role holds a permission the caller does not"),
        (status = 404, description = "The user does not hold the role"),
        (status = 409, description = "The last administrator keeps the admin role"),
    )
)]
#[delete("/v1/users/{id}/roles/{name}", name = "/v1/users/{id}/roles/{name}")]
pub async fn revoke(
    state: web::Data<AppState>,
    me: SignedIn,
    path: web::Path<(Uuid, String)>,
) -> Result<HttpResponse, Problem> {
    // The domain's check comes first: a caller without the right learns
    // nothing from validation.
    let roles = state.rbac.writer(&me)?;
    let (id, name) = path.into_inner();
    let name = role_name(&name)?;
    roles.revoke(UserId::from_uuid(id), &name).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Removes a user's second factor (`users:write`), for a user who lost both
/// the authenticator and the backup codes: the password alone signs in
/// afterwards.
#[utoipa::path(
    tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "The caller lacks users:write"),
        (status = 404, description = "No such user, or the user has no second factor"),
    )
)]
#[delete("/v1/users/{id}/mfa", name = "/v1/users/{id}/mfa")]
pub async fn remove_mfa(
    state: web::Data<AppState>,
    me: SignedIn,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let user = UserId::from_uuid(path.into_inner());
    state.admin.remove_second_factor(&me, user).await?;
    tracing::info!(%user, by = %me.user().id, "second factor removed by an administrator");
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the roles and user administration routes, in matching order.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(list_roles)
        .service(create_role)
        .service(update_role)
        .service(delete_role)
        .service(list_users)
        .service(read_user)
        .service(update_user)
        .service(grant)
        .service(revoke)
        .service(remove_mfa);
}
