//! Statistics: per-day figures and the totals now.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The range of a report.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// The first day, `YYYY-MM-DD` (UTC; default: 29 days before `to`).
    pub from: Option<String>,
    /// The last day, `YYYY-MM-DD` (UTC; default: today). At most 366 days from `from`.
    pub to: Option<String>,
}

/// One day's figures.
#[derive(Debug, Serialize, ToSchema)]
pub struct DayView {
    /// The day (UTC), `YYYY-MM-DD`.
    #[schema(example = "2026-12-06")]
    pub date: String,
    /// Accounts at the day's last roll-up (`null` if none ran that day).
    pub users_total: Option<u64>,
    /// Accounts made that day.
    pub users_new: u64,
    /// Accounts deleted that day.
    pub users_deleted: u64,
    /// Accounts with a verified address at the day's last roll-up.
    pub users_verified: Option<u64>,
    /// Users who made an authenticated request that day.
    pub users_active: u64,
    /// Accounts suspended at the day's last roll-up.
    pub users_suspended: Option<u64>,
    /// Successful sign-ins (refreshes not included).
    pub sign_ins: u64,
    /// Failed sign-ins of existing accounts.
    pub sign_in_failures: u64,
    /// Authenticated requests under `/v1`.
    pub requests: u64,
}

impl From<domain::DayStats> for DayView {
    fn from(d: domain::DayStats) -> Self {
        Self {
            date: domain::day_key(d.date),
            users_total: d.totals.map(|t| t.users_total),
            users_new: d.counts.users_new,
            users_deleted: d.counts.users_deleted,
            users_verified: d.totals.map(|t| t.users_verified),
            users_active: d.counts.users_active,
            users_suspended: d.totals.map(|t| t.users_suspended),
            sign_ins: d.counts.sign_ins,
            sign_in_failures: d.counts.sign_in_failures,
            requests: d.counts.requests,
        }
    }
}

/// The totals now.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotalsView {
    /// Every account.
    pub users_total: u64,
    /// Accounts with a verified address.
    pub users_verified: u64,
    /// Accounts suspended.
    pub users_suspended: u64,
    /// Sessions whose access token works (`null` where the store does not
    /// count them: Redis).
    pub sessions_active: Option<u64>,
}

/// A report: every day of the range and the totals now.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsView {
    /// Every day of the range, oldest first.
    pub days: Vec<DayView>,
    /// The latest roll-up's totals, with today's new and deleted accounts applied.
    pub totals: TotalsView,
}

impl From<domain::StatsReport> for StatsView {
    fn from(r: domain::StatsReport) -> Self {
        Self {
            days: r.days.into_iter().map(DayView::from).collect(),
            totals: TotalsView {
                users_total: r.totals.users_total,
                users_verified: r.totals.users_verified,
                users_suspended: r.totals.users_suspended,
                sessions_active: r.totals.sessions_active,
            },
        }
    }
}
