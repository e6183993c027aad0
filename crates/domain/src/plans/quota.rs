//! The verdict on a request counted against its user's plan.

use time::OffsetDateTime;

use crate::{Plan, Usage, Window};

/// Which quota window a limit applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaWindow {
    /// The day (UTC).
    Day,
    /// The calendar month (UTC).
    Month,
}

impl QuotaWindow {
    /// `day` or `month`: the policy name in the `RateLimit-Policy` header.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Month => "month",
        }
    }

    /// The counter window.
    pub fn window(self) -> Window {
        match self {
            Self::Day => Window::DAY,
            Self::Month => Window::MONTH,
        }
    }
}

/// A request over its user's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the {} quota of {limit} requests is used up", window.as_str())]
pub struct QuotaExceeded {
    /// The window whose limit was passed (the day before the month when both are).
    pub window: QuotaWindow,
    /// The plan's limit for it.
    pub limit: u64,
    /// When that window ends, and requests are allowed again (for a
    /// month over its limit, the month's end even when the day resets sooner).
    pub resets_at: OffsetDateTime,
    /// The window's length in seconds (for the `RateLimit-Policy` header).
    pub window_seconds: u64,
}

/// Whether a request, already counted in `usage` (as
/// [`crate::RateLimits::record_usage`] returns it), is within `plan` at
/// `now`: with a limit of N, the first N requests of a window pass and
/// every later one is refused until the window ends. The month is checked
/// first, since its end is the later one.
pub fn check_quota(plan: &Plan, usage: &Usage, now: OffsetDateTime) -> Result<(), QuotaExceeded> {
    for (window, limit, used) in [
        (QuotaWindow::Month, plan.monthly_limit, usage.last_month),
        (QuotaWindow::Day, plan.daily_limit, usage.last_day),
    ] {
        let Some(limit) = limit else { continue };
        if used > limit {
            let (start, end) = window
                .window()
                .bounds(now)
                .unwrap_or((now, now + time::Duration::DAY));
            return Err(QuotaExceeded {
                window,
                limit,
                resets_at: end,
                window_seconds: u64::try_from((end - start).whole_seconds()).unwrap_or(86_400),
            });
        }
    }
    Ok(())
}

/// The figures `/v1/me` shows: a user's counters with the plan's limits and
/// when the windows reset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaStatus {
    /// Requests counted (the minute, day, month and all time).
    pub usage: Usage,
    /// The plan's daily limit (`None`: unlimited).
    pub daily_limit: Option<u64>,
    /// The plan's monthly limit (`None`: unlimited).
    pub monthly_limit: Option<u64>,
    /// When the day (UTC) ends.
    pub day_resets_at: OffsetDateTime,
    /// When the month (UTC) ends.
    pub month_resets_at: OffsetDateTime,
}

impl QuotaStatus {
    /// The status of `usage` under `plan` at `now`.
    pub fn of(plan: &Plan, usage: Usage, now: OffsetDateTime) -> Self {
        let end = |w: Window| w.bounds(now).map_or(now, |(_, end)| end);
        Self {
            usage,
            daily_limit: plan.daily_limit,
            monthly_limit: plan.monthly_limit,
            day_resets_at: end(Window::DAY),
            month_resets_at: end(Window::MONTH),
        }
    }
}
