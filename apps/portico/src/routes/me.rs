//! The signed-in user's own account: read, update (profile, preferences,
//! password), export and deletion.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use actix_web::{HttpResponse, delete, get, patch, web};
use api_types::*;
use domain::Password;
use domain::ProfileChanges;
use domain::{Token, User};

use crate::auth::{SignedIn, cleared_cookies};
use crate::problem::{Fields, Problem};
use crate::state::AppState;

/// The caller's view of `user` (as the principal holds it, or as a change
/// left it); the roles are those authentication resolved.
async fn me_view(state: &AppState, me: SignedIn, user: Option<User>) -> Result<MeView, Problem> {
    let status = state.mfa.status_of(&me.principal).await?;
    let SignedIn { principal, usage } = me;
    let roles = principal
        .roles()
        .iter()
        .map(|r| r.name.as_str().to_owned())
        .collect();
    let permissions: std::collections::BTreeSet<String> = principal
        .roles()
        .iter()
        .flat_map(|r| r.permissions.iter())
        .map(|p| p.as_str().to_owned())
        .collect();
    let now = time::OffsetDateTime::now_utc();
    Ok(MeView {
        user: UserView::from(user.unwrap_or_else(|| principal.user().clone())),
        roles,
        permissions: permissions.into_iter().collect(),
        plan: MyPlanView::from(principal.plan()),
        usage: QuotaView::from(domain::QuotaStatus::of(principal.plan(), usage, now)),
        mfa: MfaView {
            totp: status.totp,
            backup_codes_left: status.backup_codes_left,
        },
    })
}

/// Reads the signed-in user.
#[utoipa::path(
    tag = "me",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The signed-in user", body = MeView),
        (status = 429, description = "Over the per-user quota"),
    )
)]
#[get("/v1/me", name = "/v1/me")]
pub async fn read(state: web::Data<AppState>, me: SignedIn) -> Result<web::Json<MeView>, Problem> {
    Ok(web::Json(me_view(&state, me, None).await?))
}

/// Updates profile, preferences and/or password.
#[utoipa::path(
    tag = "me",
    security(("bearer" = []), ("cookie" = [])),
    request_body = UpdateMeBody,
    responses(
        (status = 200, description = "The updated user", body = MeView),
        (status = 403, description = "Current password wrong, or CSRF header missing"),
        (status = 422, description = "Invalid fields"),
        (status = 423, description = "Too many wrong passwords from this address: locked out until Retry-After"),
    )
)]
#[patch("/v1/me", name = "/v1/me")]
pub async fn update(
    state: web::Data<AppState>,
    me: SignedIn,
    ip: crate::auth::ClientIp,
    body: web::Json<UpdateMeBody>,
) -> Result<web::Json<MeView>, Problem> {
    let body = body.into_inner();
    if let Some(change) = body.password {
        let mut f = Fields::default();
        let current = f.check(
            "password.current_password",
            Password::for_sign_in(change.current_password),
        );
        let min = state.settings.live().current().password_min_length;
        let new = f.check(
            "password.new_password",
            Password::with_min_length(change.new_password, min),
        );
        let (Some(current), Some(new)) = (current, new) else {
            return Err(f.into_problem());
        };
        state
            .passwords
            .change_password(
                &me.principal,
                &current,
                &new,
                Some(me.session().id),
                Some(&ip.0),
            )
            .await?;
    }
    let changes = ProfileChanges {
        full_name: body.full_name,
        bio: body.bio,
        avatar: body.avatar,
        website: body.website,
        location: body.location,
        preferences: body.preferences,
    };
    let user = if changes.full_name.is_some()
        || changes.bio.is_some()
        || changes.avatar.is_some()
        || changes.website.is_some()
        || changes.location.is_some()
        || changes.preferences.is_some()
    {
        Some(state.profiles.update_profile(me.user().id, changes).await?)
    } else {
        state.profiles.get(me.user().id).await?
    };
    Ok(web::Json(me_view(&state, me, user).await?))
}

/// Deletes the signed-in user's account and everything stored with it.
///
/// With `password` or `token` the account is deleted at once (204). With
/// neither (an empty object or no body), a confirmation link is mailed (202);
/// its token is then sent here as `token`.
#[utoipa::path(
    tag = "me",
    security(("bearer" = []), ("cookie" = [])),
    request_body(content = Option<DeleteMeBody>, description = "Confirmation (optional)"),
    responses(
        (status = 202, description = "A confirmation link was mailed"),
        (status = 204, description = "Deleted"),
        (status = 400, description = "Unknown, used or expired token"),
        (status = 403, description = "Wrong password"),
        (status = 423, description = "Too many wrong passwords from this address: locked out until Retry-After"),
    )
)]
#[delete("/v1/me", name = "/v1/me")]
pub async fn delete_me(
    state: web::Data<AppState>,
    me: SignedIn,
    ip: crate::auth::ClientIp,
    body: web::Bytes,
) -> Result<HttpResponse, Problem> {
    let body: DeleteMeBody = if body.iter().all(u8::is_ascii_whitespace) {
        DeleteMeBody::default()
    } else {
        serde_json::from_slice(&body).map_err(crate::routes::json_problem)?
    };
    let mut f = Fields::default();
    match (body.password, body.token) {
        (Some(_), Some(_)) => {
            f.add("password", "send either password or token, not both");
            Err(f.into_problem())
        }
        (Some(password), None) => {
            let Some(password) = f.check("password", Password::for_sign_in(password)) else {
                return Err(f.into_problem());
            };
            state
                .profiles
                .delete_with_password(&me.principal, &password, Some(&ip.0))
                .await?;
            Ok(deleted(&state, me.user().id))
        }
        (None, Some(token)) => {
            let Some(token) = f.check("token", Token::parse(token.trim())) else {
                return Err(f.into_problem());
            };
            state
                .profiles
                .confirm_deletion(&me.principal, &token)
                .await?;
            Ok(deleted(&state, me.user().id))
        }
        (None, None) => {
            state.profiles.request_deletion(&me.principal).await?;
            Ok(HttpResponse::Accepted().finish())
        }
    }
}

fn deleted(state: &AppState, user: domain::UserId) -> HttpResponse {
    // The deleted user's unwritten usage counts must not bring its counters back.
    state.rate_limits.discard(user);
    let mut response = HttpResponse::NoContent();
    for cookie in cleared_cookies(state.http.cookie_secure) {
        response.cookie(cookie);
    }
    response.finish()
}

/// Registers the signed-in user's own account routes, in matching order.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(read)
        .service(update)
        .service(super::export::export)
        .service(delete_me);
}
