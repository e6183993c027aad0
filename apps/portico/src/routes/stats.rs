//! Statistics (`stats:read`): per-day figures and the totals now.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use actix_web::{get, web};
use api_types::{StatsQuery, StatsView};
use time::Date;

use crate::auth::SignedIn;
use crate::problem::{Fields, Problem};
use crate::state::AppState;

fn date(f: &mut Fields, field: &str, given: Option<&str>) -> Option<Date> {
    given.and_then(|g| {
        f.check(
            field,
            domain::parse_day(g).ok_or("must be a day written YYYY-MM-DD"),
        )
    })
}

/// Per-day figures of `from..=to` (at most 366 days; by default the last
/// 30) and the totals now. Past days' totals come from the roll-up job;
/// today's counters are live.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = []), ("cookie" = [])),
    params(StatsQuery),
    responses(
        (status = 200, description = "The report", body = StatsView),
        (status = 403, description = "Missing permission"),
        (status = 422, description = "A date that does not parse, or a range over 366 days, named in `errors`"),
    )
)]
#[get("/v1/stats", name = "/v1/stats")]
pub async fn report(
    state: web::Data<AppState>,
    me: SignedIn,
    query: web::Query<StatsQuery>,
) -> Result<web::Json<StatsView>, Problem> {
    // The domain's check comes first: a caller without the right learns
    // nothing from validation.
    me.require(&domain::Permission::STATS_READ)?;
    let mut f = Fields::default();
    let from = date(&mut f, "from", query.from.as_deref());
    let to = date(&mut f, "to", query.to.as_deref());
    f.finish()?;
    match state.stats.report(&me, from, to).await {
        Ok(report) => Ok(web::Json(StatsView::from(report))),
        Err(domain::StatsError::BadRange) => {
            let mut f = Fields::default();
            f.add("to", "must be on or after `from`, at most 366 days from it");
            Err(f.into_problem())
        }
        Err(domain::StatsError::Forbidden(d)) => Err(d.into()),
        Err(domain::StatsError::Unexpected(e)) => Err(Problem::internal(e)),
    }
}

/// Registers the statistics route.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(report);
}
