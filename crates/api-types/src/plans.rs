//! Plans, a user's plan, and the quota figures of `/v1/me`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::*;

/// A plan: request limits per day and per month (UTC) and the features an
/// app gates on.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    /// Unique key.
    #[schema(example = "pro")]
    pub name: String,
    /// What people are shown.
    #[schema(example = "Pro")]
    pub display_name: String,
    /// Requests per day (UTC); `null`: unlimited.
    pub daily_limit: Option<u64>,
    /// Requests per calendar month (UTC); `null`: unlimited.
    pub monthly_limit: Option<u64>,
    /// Capabilities the plan gives, sorted.
    pub features: Vec<String>,
}

fn feature_names(features: &[domain::Feature]) -> Vec<String> {
    features.iter().map(|f| f.as_str().to_owned()).collect()
}

impl From<&domain::Plan> for PlanView {
    fn from(p: &domain::Plan) -> Self {
        Self {
            name: p.name.as_str().to_owned(),
            display_name: p.display_name.as_str().to_owned(),
            daily_limit: p.daily_limit,
            monthly_limit: p.monthly_limit,
            features: feature_names(&p.features),
        }
    }
}

/// Every plan, the built-in default (`free`) first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanList {
    /// The plans.
    pub items: Vec<PlanView>,
}

/// A new plan.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePlanBody {
    /// Unique key: 1 to 40 of lowercase letters, digits, `_` and `-`.
    #[schema(example = "pro")]
    pub name: String,
    /// 1 to 100 characters, one line.
    #[schema(example = "Pro")]
    pub display_name: String,
    /// Requests per day (UTC), 0 to 10^15; absent or `null`: unlimited.
    #[serde(default)]
    pub daily_limit: Option<u64>,
    /// Requests per calendar month (UTC), 0 to 10^15; absent or `null`: unlimited.
    #[serde(default)]
    pub monthly_limit: Option<u64>,
    /// Up to 50 features, each 1 to 64 of lowercase letters, digits and `_ - . :`.
    #[serde(default)]
    pub features: Vec<String>,
}

/// Changes to a plan; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePlanBody {
    /// A new display name.
    #[schema(example = "Pro")]
    pub display_name: Option<String>,
    /// A new daily limit; `null`: unlimited.
    #[serde(default, deserialize_with = "crate::schema::nullable")]
    #[schema(value_type = Option<u64>)]
    pub daily_limit: Option<Option<u64>>,
    /// A new monthly limit; `null`: unlimited.
    #[serde(default, deserialize_with = "crate::schema::nullable")]
    #[schema(value_type = Option<u64>)]
    pub monthly_limit: Option<Option<u64>>,
    /// The new, complete list of features.
    pub features: Option<Vec<String>>,
}

/// A user's plan to set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignPlanBody {
    /// The plan's name (`free`: back to the default plan).
    #[schema(example = "pro")]
    pub plan: String,
    /// When the user goes back to the default plan (RFC 3339, in the
    /// future); absent or `null`: until changed.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub until: Option<OffsetDateTime>,
}

/// A user's plan assignment, as an administrator sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanAssignmentView {
    /// The plan's name.
    #[schema(example = "pro")]
    pub name: String,
    /// When it was assigned.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// When the user goes back to the default plan; `null`: until changed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub until: Option<OffsetDateTime>,
}

impl From<&domain::PlanAssignment> for PlanAssignmentView {
    fn from(p: &domain::PlanAssignment) -> Self {
        Self {
            name: p.name.as_str().to_owned(),
            since: p.since,
            until: p.until,
        }
    }
}

/// The plan the signed-in user is on.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyPlanView {
    /// Its key.
    #[schema(example = "pro")]
    pub name: String,
    /// What people are shown.
    #[schema(example = "Pro")]
    pub display_name: String,
    /// Capabilities it gives.
    pub features: Vec<String>,
}

impl From<&domain::Plan> for MyPlanView {
    fn from(p: &domain::Plan) -> Self {
        Self {
            name: p.name.as_str().to_owned(),
            display_name: p.display_name.as_str().to_owned(),
            features: feature_names(&p.features),
        }
    }
}

/// Request counters with the plan's limits and when the windows reset.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaView {
    /// The counters, this request included.
    #[serde(flatten)]
    pub counts: UsageView,
    /// The plan's daily limit; `null`: unlimited.
    pub daily_limit: Option<u64>,
    /// The plan's monthly limit; `null`: unlimited.
    pub monthly_limit: Option<u64>,
    /// When the day (UTC) ends.
    #[serde(with = "time::serde::rfc3339")]
    pub day_resets_at: OffsetDateTime,
    /// When the month (UTC) ends.
    #[serde(with = "time::serde::rfc3339")]
    pub month_resets_at: OffsetDateTime,
}

impl From<domain::QuotaStatus> for QuotaView {
    fn from(q: domain::QuotaStatus) -> Self {
        Self {
            counts: UsageView::from(q.usage),
            daily_limit: q.daily_limit,
            monthly_limit: q.monthly_limit,
            day_resets_at: q.day_resets_at,
            month_resets_at: q.month_resets_at,
        }
    }
}

/// The admin list's search and filters, with its page.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListQuery {
    /// A prefix of the email address or the username, case-insensitive (at most 254 characters).
    pub q: Option<String>,
    /// `active`, `locked`, `suspended` or `unverified`.
    pub status: Option<String>,
    /// A plan's name (`free`: users on the default plan).
    pub plan: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}
