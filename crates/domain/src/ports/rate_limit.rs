//! Fixed-window counters for rate limits and usage figures
//! (`requests.lastMinute/lastDay/allTime`).

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::StoreError;

/// The span a counter covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    /// Fixed windows of this many seconds, aligned to the Unix epoch.
    Seconds(u32),
    /// One window forever.
    AllTime,
}

impl Window {
    /// One minute.
    pub const MINUTE: Window = Window::Seconds(60);
    /// One day.
    pub const DAY: Window = Window::Seconds(86_400);

    /// Start and end of the window containing `now` (`None`s for `AllTime`).
    pub fn bounds(&self, now: OffsetDateTime) -> Option<(OffsetDateTime, OffsetDateTime)> {
        match *self {
            Window::AllTime => None,
            Window::Seconds(len) => {
                let len = i64::from(len.max(1));
                let start = now.unix_timestamp().div_euclid(len) * len;
                let start = OffsetDateTime::from_unix_timestamp(start).ok()?;
                Some((start, start + time::Duration::seconds(len)))
            }
        }
    }

    /// Length in seconds; 0 for `AllTime`.
    pub fn seconds(&self) -> u32 {
        match *self {
            Window::AllTime => 0,
            Window::Seconds(s) => s.max(1),
        }
    }
}

/// A counter's value after a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowCount {
    /// Hits in the current window, including this one.
    pub count: u64,
    /// When the window ends (`None` for `AllTime`).
    pub resets_at: Option<OffsetDateTime>,
}

/// Counts hits per key in fixed windows.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Atomically adds one to the counter of `key` for the window containing
    /// `now` and returns the new count: N concurrent hits MUST yield the counts
    /// 1..=N (in some order) and a final total of N. A new window starts at 0.
    /// The store MAY expire a window's counter natively after it ends.
    async fn hit(
        &self,
        key: &str,
        window: Window,
        now: OffsetDateTime,
    ) -> Result<WindowCount, StoreError>;

    /// Hits `key` once in each of `windows` (as [`RateLimiter::hit`] would, one
    /// after another) and returns the counts in the order of `windows`. Each
    /// window's count MUST be exact under concurrent calls, as for `hit`; a
    /// window listed twice MUST be counted twice. An adapter SHOULD do it in
    /// one round trip: a signed-in request counts three windows
    /// (`requests.lastMinute/lastDay/allTime`).
    async fn hit_many(
        &self,
        key: &str,
        windows: &[Window],
        now: OffsetDateTime,
    ) -> Result<Vec<WindowCount>, StoreError> {
        hit_in_turn(self, key, windows, now).await
    }

    /// The count of `key` in the window containing `now`, without changing it (0 if none).
    async fn peek(&self, key: &str, window: Window, now: OffsetDateTime)
    -> Result<u64, StoreError>;

    /// Takes back one hit of `key` in the window containing `now`, for a hit
    /// whose work was refused before it was done (a sign-in shed because the
    /// hashing queue is full must not count toward a lockout). The count
    /// MUST NOT go below 0, also when concurrent calls outnumber the hits,
    /// and a window with no counter MUST stay without one (a later `hit`
    /// still counts 1).
    async fn give_back(
        &self,
        key: &str,
        window: Window,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Deletes every window of `key`.
    async fn forget(&self, key: &str) -> Result<(), StoreError>;

    /// Deletes counters of windows that ended before `now`; returns how many
    /// (0 where the store expires them itself).
    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}

/// [`RateLimiter::hit_many`] done one [`RateLimiter::hit`] after another: the
/// default, and the fallback of adapters for a window listed twice.
pub async fn hit_in_turn<L: RateLimiter + ?Sized>(
    limiter: &L,
    key: &str,
    windows: &[Window],
    now: OffsetDateTime,
) -> Result<Vec<WindowCount>, StoreError> {
    let mut counts = Vec::with_capacity(windows.len());
    for window in windows {
        counts.push(limiter.hit(key, *window, now).await?);
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn windows_align_to_the_epoch() {
        let t = datetime!(2025-03-19 12:34:56.789 UTC);
        let (start, end) = Window::MINUTE.bounds(t).unwrap();
        assert_eq!(
            (start, end),
            (
                datetime!(2025-03-19 12:34:00 UTC),
                datetime!(2025-03-19 12:35:00 UTC)
            )
        );
        let (start, end) = Window::DAY.bounds(t).unwrap();
        assert_eq!(
            (start, end),
            (
                datetime!(2025-03-19 0:00 UTC),
                datetime!(2025-03-20 0:00 UTC)
            )
        );
        assert_eq!(
            Window::MINUTE.bounds(end).unwrap().0,
            end,
            "a window's end starts the next one"
        );
        assert_eq!(Window::AllTime.bounds(t), None);
        assert_eq!(
            Window::Seconds(0).seconds(),
            1,
            "a zero-length window is treated as one second"
        );
    }
}
