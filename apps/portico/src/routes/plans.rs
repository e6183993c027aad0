//! Plans: listing (anyone signed in), creating, changing and deleting
//! (`plans:write`), and a user's plan (`users:write`). The rules are the
//! domain's ([`domain::Plans`], [`domain::UserWriter::assign_plan`]).

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use api_types::{
    AdminUserView, AssignPlanBody, CreatePlanBody, PlanList, PlanView, UpdatePlanBody,
};
use domain::{NewPlan, PlanChanges, PlanDisplayName, PlanName, UserId, parse_features};
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::problem::{Fields, Kind, Problem};
use crate::routes::admin::admin_view;
use crate::state::AppState;

/// A plan name from the path: a name that cannot be a plan's is no plan (404).
fn plan_name(name: &str) -> Result<PlanName, Problem> {
    PlanName::parse(name).map_err(|_| Problem::new(Kind::NotFound).detail("No such plan."))
}

/// Lists every plan, the built-in default (`free`) first (any signed-in user).
#[utoipa::path(
    tag = "plans",
    security(("bearer" = []), ("cookie" = [])),
    responses((status = 200, description = "Every plan", body = PlanList))
)]
#[get("/v1/plans", name = "/v1/plans")]
pub async fn list(
    state: web::Data<AppState>,
    me: SignedIn,
) -> Result<web::Json<PlanList>, Problem> {
    let plans = state.plans.list(&me).await?;
    Ok(web::Json(PlanList {
        items: plans.iter().map(PlanView::from).collect(),
    }))
}

/// Creates a plan (`plans:write`).
#[utoipa::path(
    tag = "plans",
    security(("bearer" = []), ("cookie" = [])),
    request_body = CreatePlanBody,
    responses(
        (status = 201, description = "The new plan", body = PlanView),
        (status = 403, description = "Missing permission"),
        (status = 409, description = "A plan with this name exists"),
        (status = 422, description = "Invalid fields"),
    )
)]
#[post("/v1/plans", name = "/v1/plans")]
pub async fn create(
    state: web::Data<AppState>,
    me: SignedIn,
    body: web::Json<CreatePlanBody>,
) -> Result<HttpResponse, Problem> {
    me.require(&domain::Permission::PLANS_WRITE)?;
    let body = body.into_inner();
    let mut f = Fields::default();
    let name = f.check("name", PlanName::parse(&body.name));
    let display_name = f.check("display_name", PlanDisplayName::parse(&body.display_name));
    let features = f.check(
        "features",
        parse_features(body.features.iter().map(String::as_str)),
    );
    f.finish()?;
    let (Some(name), Some(display_name), Some(features)) = (name, display_name, features) else {
        unreachable!("checked")
    };
    let plan = state
        .plans
        .create(
            &me,
            NewPlan {
                name,
                display_name,
                daily_limit: body.daily_limit,
                monthly_limit: body.monthly_limit,
                features,
            },
        )
        .await?;
    tracing::info!(plan = %plan.name, by = %me.user().id, "plan created");
    Ok(HttpResponse::Created().json(PlanView::from(&plan)))
}

/// Changes a plan (`plans:write`); users on it see the change within the
/// principal cache's and the plan cache's lifetimes (2 s each by
/// default). The default plan comes from configuration (409).
#[utoipa::path(
    tag = "plans",
    security(("bearer" = []), ("cookie" = [])),
    params(("name" = String, Path, description = "Plan name")),
    request_body = UpdatePlanBody,
    responses(
        (status = 200, description = "The changed plan", body = PlanView),
        (status = 404, description = "No such plan"),
        (status = 409, description = "The default plan"),
        (status = 422, description = "Invalid fields"),
    )
)]
#[patch("/v1/plans/{name}", name = "/v1/plans/{name}")]
pub async fn update(
    state: web::Data<AppState>,
    me: SignedIn,
    name: web::Path<String>,
    body: web::Json<UpdatePlanBody>,
) -> Result<web::Json<PlanView>, Problem> {
    me.require(&domain::Permission::PLANS_WRITE)?;
    let name = plan_name(&name)?;
    let body = body.into_inner();
    let mut f = Fields::default();
    let display_name = body
        .display_name
        .as_deref()
        .and_then(|d| f.check("display_name", PlanDisplayName::parse(d)));
    let features = body
        .features
        .as_ref()
        .and_then(|given| f.check("features", parse_features(given.iter().map(String::as_str))));
    f.finish()?;
    let changes = PlanChanges {
        display_name,
        daily_limit: body.daily_limit,
        monthly_limit: body.monthly_limit,
        features,
        updated_at: None,
    };
    let plan = state.plans.update(&me, &name, changes).await?;
    tracing::info!(plan = %plan.name, by = %me.user().id, "plan changed");
    Ok(web::Json(PlanView::from(&plan)))
}

/// Deletes a plan no user is on (`plans:write`).
#[utoipa::path(
    tag = "plans",
    security(("bearer" = []), ("cookie" = [])),
    params(("name" = String, Path, description = "Plan name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such plan"),
        (status = 409, description = "The default plan, or a plan users are on"),
    )
)]
#[delete("/v1/plans/{name}", name = "/v1/plans/{name}")]
pub async fn remove(
    state: web::Data<AppState>,
    me: SignedIn,
    name: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    me.require(&domain::Permission::PLANS_WRITE)?;
    let name = plan_name(&name)?;
    state.plans.delete(&me, &name).await?;
    tracing::info!(plan = %name, by = %me.user().id, "plan deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// Puts a user on a plan until `until` (`users:write`); after it, or with
/// `free`, the user is on the default plan. Every instance counts the
/// user's next request against the new plan.
#[utoipa::path(
    tag = "users",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    request_body = AssignPlanBody,
    responses(
        (status = 200, description = "The user", body = AdminUserView),
        (status = 404, description = "No such user or plan"),
        (status = 422, description = "`until` not in the future"),
    )
)]
#[put("/v1/users/{id}/plan", name = "/v1/users/{id}/plan")]
pub async fn assign(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
    body: web::Json<AssignPlanBody>,
) -> Result<web::Json<AdminUserView>, Problem> {
    let users = state.admin.writer(&me)?;
    let body = body.into_inner();
    let plan = PlanName::parse(&body.plan)
        .map_err(|_| Problem::new(Kind::NotFound).detail("No such plan."))?;
    let id = UserId::from_uuid(id.into_inner());
    let user = users.assign_plan(id, plan.clone(), body.until).await?;
    tracing::info!(user = %id, %plan, until = ?body.until, by = %me.user().id, "plan assigned");
    Ok(web::Json(admin_view(&state, user).await?))
}

/// Registers the plan routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(list)
        .service(create)
        .service(update)
        .service(remove)
        .service(assign);
}
