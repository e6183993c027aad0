//! The activity log: one's own events, and everyone's with `activity:read`.
//! Events are written by the domain services that make the changes.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use actix_web::{get, web};
use api_types::{ActivityPage, ActivityQuery, MyActivityQuery};
use domain::{ActivityFilter, ActivityKind, PageRequest, UserId};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::auth::SignedIn;
use crate::problem::{Fields, Problem};
use crate::state::AppState;

fn kind(f: &mut Fields, given: Option<&str>) -> Option<ActivityKind> {
    let given = given?;
    let parsed = ActivityKind::parse(given);
    if parsed.is_none() {
        f.add(
            "type",
            "must be one of the event types (see the HTTP API docs)",
        );
    }
    parsed
}

fn user(f: &mut Fields, field: &str, given: Option<&str>) -> Option<UserId> {
    given.and_then(|g| f.check(field, g.parse::<UserId>()))
}

fn instant(f: &mut Fields, field: &str, given: Option<&str>) -> Option<OffsetDateTime> {
    given.and_then(|g| f.check(field, OffsetDateTime::parse(g, &Rfc3339)))
}

/// The signed-in user's own events, newest first.
#[utoipa::path(
    tag = "me",
    security(("bearer" = []), ("cookie" = [])),
    params(MyActivityQuery),
    responses(
        (status = 200, description = "A page of events", body = ActivityPage),
        (status = 422, description = "A filter that does not parse, named in `errors`"),
    )
)]
#[get("/v1/me/activity", name = "/v1/me/activity")]
pub async fn mine(
    state: web::Data<AppState>,
    me: SignedIn,
    query: web::Query<MyActivityQuery>,
) -> Result<web::Json<ActivityPage>, Problem> {
    let mut f = Fields::default();
    let kind = kind(&mut f, query.kind.as_deref());
    f.finish()?;
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    let events = state.activity.mine(&me, kind, page).await?;
    Ok(web::Json(ActivityPage::from(events)))
}

/// Every event (`activity:read`), newest first, by account, actor, type and time.
#[utoipa::path(
    tag = "activity",
    security(("bearer" = []), ("cookie" = [])),
    params(ActivityQuery),
    responses(
        (status = 200, description = "A page of events", body = ActivityPage),
        (status = 403, description = "Missing permission"),
        (status = 422, description = "A filter that does not parse, named in `errors`"),
    )
)]
#[get("/v1/activity", name = "/v1/activity")]
pub async fn list(
    state: web::Data<AppState>,
    me: SignedIn,
    query: web::Query<ActivityQuery>,
) -> Result<web::Json<ActivityPage>, Problem> {
    // The domain's check comes first: a caller without the right learns
    // nothing from validation.
    me.require(&domain::Permission::ACTIVITY_READ)?;
    let mut f = Fields::default();
    let filter = ActivityFilter {
        user_id: user(&mut f, "user_id", query.user_id.as_deref()),
        actor_id: user(&mut f, "actor_id", query.actor_id.as_deref()),
        kind: kind(&mut f, query.kind.as_deref()),
        from: instant(&mut f, "from", query.from.as_deref()),
        to: instant(&mut f, "to", query.to.as_deref()),
    };
    f.finish()?;
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    let events = state.activity.list(&me, &filter, page).await?;
    Ok(web::Json(ActivityPage::from(events)))
}

/// Registers the activity routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(mine).service(list);
}
