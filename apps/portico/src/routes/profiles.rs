//! Public profiles: a signed-in user reads the profile of a user who made
//! it public (`preferences.privacy.profile_visibility = "public"`), or
//! finds such users by the beginning of their username. Everyone else is
//! not found, and never listed.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use actix_web::{get, web};
use api_types::{PublicProfileList, PublicProfileView};
use domain::UserId;
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::problem::{Fields, Kind, Problem};
use crate::state::AppState;

/// A user's public profile.
#[utoipa::path(
    tag = "profiles",
    security(("bearer" = []), ("cookie" = [])),
    params(("user_id" = Uuid, Path, description = "The user's id")),
    responses(
        (status = 200, description = "The profile", body = PublicProfileView),
        (status = 404, description = "No such user, or the profile is not public"),
    )
)]
#[get("/v1/profiles/{user_id}", name = "/v1/profiles/{user_id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    _me: SignedIn,
    user_id: web::Path<Uuid>,
) -> Result<web::Json<PublicProfileView>, Problem> {
    state
        .public_profiles
        .get(UserId::from_uuid(user_id.into_inner()))
        .await?
        .map(|p| web::Json(p.into()))
        .ok_or_else(|| Problem::new(Kind::NotFound))
}

/// What to search for.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProfileQuery {
    /// The beginning of a username, case-insensitive (1 to 32 of a-z 0-9 _ . -).
    pub q: String,
    /// 1 to 50 (default 20).
    pub limit: Option<u32>,
}

/// Public profiles whose username begins with `q`, newest accounts first.
#[utoipa::path(
    tag = "profiles",
    security(("bearer" = []), ("cookie" = [])),
    params(ProfileQuery),
    responses(
        (status = 200, description = "The profiles found", body = PublicProfileList),
        (status = 422, description = "A bad q or limit"),
    )
)]
#[get("/v1/profiles", name = "/v1/profiles")]
pub async fn search(
    state: web::Data<AppState>,
    _me: SignedIn,
    query: web::Query<ProfileQuery>,
) -> Result<web::Json<PublicProfileList>, Problem> {
    let limit = query.limit.unwrap_or(20);
    if !(1..=domain::MAX_PROFILE_RESULTS).contains(&limit) {
        let mut f = Fields::default();
        f.add("limit", "must be 1 to 50");
        return Err(f.into_problem());
    }
    let found = state
        .public_profiles
        .search(&query.q, limit)
        .await
        .map_err(|e| match e {
            domain::ProfileSearchError::Query => {
                let mut f = Fields::default();
                f.add("q", e.to_string());
                f.into_problem()
            }
            domain::ProfileSearchError::Unexpected(e) => Problem::internal(e),
        })?;
    Ok(web::Json(PublicProfileList {
        items: found.into_iter().map(PublicProfileView::from).collect(),
    }))
}

/// Registers the profile routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(search).service(get_one);
}
