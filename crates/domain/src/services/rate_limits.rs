//! Rate limits (per client IP, per user) and per-user usage counters
//! (`requests.lastMinute/lastDay/allTime`).

use time::OffsetDateTime;

use super::{Stores, System};
use crate::{StoreError, UserId, Window};

/// At most `limit` hits per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Hits allowed per window.
    pub limit: u64,
    /// The window.
    pub window: Window,
}

/// The answer to one rate-limited hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the hit is within the quota.
    pub allowed: bool,
    /// The quota's limit.
    pub limit: u64,
    /// Hits left in this window.
    pub remaining: u64,
    /// When the window ends.
    pub resets_at: Option<OffsetDateTime>,
}

/// A user's request counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Requests in the current minute.
    pub last_minute: u64,
    /// Requests in the current day (UTC).
    pub last_day: u64,
    /// Requests ever.
    pub all_time: u64,
}

/// The windows of a user's usage figures, in [`Usage`]'s order.
const USAGE_WINDOWS: [Window; 3] = [Window::MINUTE, Window::DAY, Window::AllTime];

/// Counter key of a user's usage figures.
pub fn usage_key(user_id: UserId) -> String {
    format!("usage:user:{user_id}")
}

/// Counter key of username-availability look-ups from one IP .
pub fn username_status_key(ip: &str) -> String {
    format!("username_status_req:{ip}")
}

/// Rate limiting and usage counting.
#[derive(Clone)]
pub struct RateLimits {
    stores: Stores,
    system: System,
}

impl RateLimits {
    /// Builds the service.
    pub fn new(stores: Stores, system: System) -> Self {
        Self { stores, system }
    }

    /// Counts one hit of `key` and says whether it is within `quota`. Hits over
    /// the limit are counted too, so a client that keeps hammering stays limited.
    pub async fn check(&self, key: &str, quota: Quota) -> Result<RateDecision, StoreError> {
        let now = self.system.now();
        let hit = self.stores.rate_limiter.hit(key, quota.window, now).await?;
        Ok(RateDecision {
            allowed: hit.count <= quota.limit,
            limit: quota.limit,
            remaining: quota.limit.saturating_sub(hit.count),
            resets_at: hit.resets_at,
        })
    }

    /// Counts one request of the user in the minute, day and all-time counters.
    pub async fn record_usage(&self, user_id: UserId) -> Result<Usage, StoreError> {
        let now = self.system.now();
        let key = usage_key(user_id);
        let counts = self
            .stores
            .rate_limiter
            .hit_many(&key, &USAGE_WINDOWS, now)
            .await?;
        match counts[..] {
            [minute, day, all_time] => Ok(Usage {
                last_minute: minute.count,
                last_day: day.count,
                all_time: all_time.count,
            }),
            _ => Err(StoreError::msg(format!(
                "the rate limiter answered {} counts for 3 windows",
                counts.len()
            ))),
        }
    }

    /// The user's counters without counting.
    pub async fn usage(&self, user_id: UserId) -> Result<Usage, StoreError> {
        let now = self.system.now();
        let key = usage_key(user_id);
        let limiter = &self.stores.rate_limiter;
        Ok(Usage {
            last_minute: limiter.peek(&key, Window::MINUTE, now).await?,
            last_day: limiter.peek(&key, Window::DAY, now).await?,
            all_time: limiter.peek(&key, Window::AllTime, now).await?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::services::test_support::*;
    use crate::{MockRateLimiter, WindowCount};
    use futures::executor::block_on;

    #[test]
    fn allows_up_to_the_limit_then_refuses_with_zero_remaining() {
        for (count, allowed, remaining) in [(1, true, 2), (3, true, 0), (4, false, 0)] {
            let mut h = Harness::new();
            let mut limiter = MockRateLimiter::new();
            limiter.expect_hit().returning(move |_, _, _| {
                Ok(WindowCount {
                    count,
                    resets_at: Some(T0),
                })
            });
            h.stores.rate_limiter = Arc::new(limiter);
            let svc = RateLimits::new(h.stores, h.system);
            let d = block_on(svc.check(
                "k",
                Quota {
                    limit: 3,
                    window: Window::MINUTE,
                },
            ))
            .unwrap();
            assert_eq!(
                (d.allowed, d.remaining),
                (allowed, remaining),
                "count {count}"
            );
        }
    }

    #[test]
    fn usage_counts_three_windows() {
        let mut h = Harness::new();
        let mut limiter = MockRateLimiter::new();
        limiter
            .expect_hit_many()
            .times(1)
            .returning(|_, windows, _| {
                Ok(windows
                    .iter()
                    .map(|w| WindowCount {
                        count: match w {
                            Window::AllTime => 100,
                            Window::Seconds(60) => 1,
                            Window::Seconds(_) => 10,
                        },
                        resets_at: None,
                    })
                    .collect())
            });
        h.stores.rate_limiter = Arc::new(limiter);
        let svc = RateLimits::new(h.stores, h.system);
        let u = block_on(svc.record_usage(sample_user(1).id)).unwrap();
        assert_eq!(
            u,
            Usage {
                last_minute: 1,
                last_day: 10,
                all_time: 100
            }
        );
    }
}
