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
    /// Calendar months (UTC): from the first of a month at midnight to the
    /// first of the next.
    Month,
    /// One window forever.
    AllTime,
}

impl Window {
    /// One minute.
    pub const MINUTE: Window = Window::Seconds(60);
    /// One day.
    pub const DAY: Window = Window::Seconds(86_400);
    /// One calendar month (UTC).
    pub const MONTH: Window = Window::Month;
    /// The number [`Window::seconds`] gives a month: 31 days, the longest
    /// one. (A counter of fixed 31-day windows would share it: none is used.)
    const MONTH_CODE: u32 = 31 * 86_400;

    /// Start and end of the window containing `now` (`None`s for `AllTime`).
    pub fn bounds(&self, now: OffsetDateTime) -> Option<(OffsetDateTime, OffsetDateTime)> {
        match *self {
            Window::AllTime => None,
            Window::Month => {
                let now = now.to_offset(time::UtcOffset::UTC);
                let start = now.replace_day(1).ok()?.replace_time(time::Time::MIDNIGHT);
                let (year, month) = match start.month() {
                    time::Month::December => (start.year() + 1, time::Month::January),
                    m => (start.year(), m.next()),
                };
                let end = start.replace_year(year).ok()?.replace_month(month).ok()?;
                Some((start, end))
            }
            Window::Seconds(len) => {
                let len = i64::from(len.max(1));
                let start = now.unix_timestamp().div_euclid(len) * len;
                let start = OffsetDateTime::from_unix_timestamp(start).ok()?;
                Some((start, start + time::Duration::seconds(len)))
            }
        }
    }

    /// Length in seconds; 0 for `AllTime`, and 31 days for a month. Stores
    /// keep it with each counter to tell windows apart: it names the kind
    /// of window, and [`Window::bounds`] gives its start and end.
    pub fn seconds(&self) -> u32 {
        match *self {
            Window::AllTime => 0,
            Window::Month => Self::MONTH_CODE,
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
#[portico_macros::port("rate_limiter")]
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

    /// Adds counts gathered elsewhere (in memory, between flushes): for each
    /// addition, its `n` to the counter of its `key` in each of `windows`
    /// (the window containing its `at`). Returns, per addition and in the
    /// order of `windows`, the counter's value after the whole batch.
    /// Additions to one counter within a batch MUST sum, and concurrent
    /// batches (and hits) MUST sum exactly, as for `hit`. An adapter SHOULD
    /// do it in few round trips: this is one instance's flush of every
    /// user's usage counters.
    async fn add_batch(
        &self,
        additions: &[Addition],
        windows: &[Window],
    ) -> Result<Vec<Vec<WindowCount>>, StoreError>;

    /// Deletes every window of `key`.
    async fn forget(&self, key: &str) -> Result<(), StoreError>;

    /// Deletes counters of windows that ended before `now`; returns how many
    /// (0 where the store expires them itself).
    /// At most `limit` per call: the purge calls again while a batch comes
    /// back full, so no statement holds its locks long.
    async fn purge_expired(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError>;
}

/// Counts to add to one key's windows: see [`RateLimiter::add_batch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addition {
    /// The counted key.
    pub key: String,
    /// When the counted hits happened (picks each window).
    pub at: OffsetDateTime,
    /// How many hits.
    pub n: u64,
}

/// One counter an [`RateLimiter::add_batch`] touches: a key's window, with
/// what the batch adds to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterAddition {
    /// The counted key.
    pub key: String,
    /// The window's length (0 for all time).
    pub window_seconds: u32,
    /// The window's start (the Unix epoch for all time).
    pub window_start: OffsetDateTime,
    /// The window's end (`None` for all time).
    pub window_end: Option<OffsetDateTime>,
    /// The sum of the batch's additions to it.
    pub n: u64,
}

/// The batch of an [`RateLimiter::add_batch`] folded into one entry per
/// counter (so that no counter is written twice in one statement), in a
/// fixed order (so that two batches lock rows in the same order), and, per
/// addition, the indexes of its counters in the order of `windows`.
pub fn fold_additions(
    additions: &[Addition],
    windows: &[Window],
) -> (Vec<CounterAddition>, Vec<Vec<usize>>) {
    let mut index: std::collections::BTreeMap<(String, u32, i64), usize> = Default::default();
    let mut counters: Vec<CounterAddition> = Vec::new();
    let mut slots = Vec::with_capacity(additions.len());
    for addition in additions {
        let mut mine = Vec::with_capacity(windows.len());
        for window in windows {
            let bounds = window.bounds(addition.at);
            let start = bounds.map_or(OffsetDateTime::UNIX_EPOCH, |(s, _)| s);
            let id = (
                addition.key.clone(),
                window.seconds(),
                start.unix_timestamp(),
            );
            let at = *index.entry(id).or_insert_with(|| {
                counters.push(CounterAddition {
                    key: addition.key.clone(),
                    window_seconds: window.seconds(),
                    window_start: start,
                    window_end: bounds.map(|(_, end)| end),
                    n: 0,
                });
                counters.len() - 1
            });
            counters[at].n += addition.n;
            mine.push(at);
        }
        slots.push(mine);
    }
    // Fixed order: sort the counters, then renumber the slots.
    let mut order: Vec<usize> = (0..counters.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&counters[a], &counters[b]);
        (&x.key, x.window_seconds, x.window_start).cmp(&(&y.key, y.window_seconds, y.window_start))
    });
    let mut renumber = vec![0; counters.len()];
    for (new, &old) in order.iter().enumerate() {
        renumber[old] = new;
    }
    let sorted = order.iter().map(|&i| counters[i].clone()).collect();
    for mine in &mut slots {
        for slot in mine.iter_mut() {
            *slot = renumber[*slot];
        }
    }
    (sorted, slots)
}

/// The answer of an [`RateLimiter::add_batch`] from the new value of each
/// folded counter (in the order [`fold_additions`] gave).
pub fn unfold_counts(
    counters: &[CounterAddition],
    slots: &[Vec<usize>],
    values: &[u64],
) -> Vec<Vec<WindowCount>> {
    slots
        .iter()
        .map(|mine| {
            mine.iter()
                .map(|&i| WindowCount {
                    count: values[i],
                    resets_at: counters[i].window_end,
                })
                .collect()
        })
        .collect()
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
    fn additions_fold_into_one_entry_per_counter() {
        let t = datetime!(2025-03-19 12:34:56 UTC);
        let add = |key: &str, at, n| Addition {
            key: key.into(),
            at,
            n,
        };
        let batch = [
            add("b", t, 2),
            add("a", t, 1),
            add("b", t + time::Duration::minutes(1), 3),
        ];
        let windows = [Window::MINUTE, Window::AllTime];
        let (counters, slots) = fold_additions(&batch, &windows);
        // a: minute, all time; b: two minutes, one all time.
        let summary: Vec<(&str, u32, u64)> = counters
            .iter()
            .map(|c| (c.key.as_str(), c.window_seconds, c.n))
            .collect();
        assert_eq!(
            summary,
            [
                ("a", 0, 1),
                ("a", 60, 1),
                ("b", 0, 5),
                ("b", 60, 2),
                ("b", 60, 3)
            ]
        );
        assert_eq!(slots, [vec![3, 2], vec![1, 0], vec![4, 2]]);
        let counts = unfold_counts(&counters, &slots, &[10, 11, 12, 13, 14]);
        assert_eq!(counts[2][0].count, 14);
        assert_eq!(
            counts[2][1],
            WindowCount {
                count: 12,
                resets_at: None
            }
        );
    }

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
            Window::MONTH.bounds(t).unwrap(),
            (
                datetime!(2025-03-01 0:00 UTC),
                datetime!(2025-04-01 0:00 UTC)
            )
        );
        assert_eq!(
            Window::MONTH
                .bounds(datetime!(2025-12-31 23:59:59.999 UTC))
                .unwrap(),
            (
                datetime!(2025-12-01 0:00 UTC),
                datetime!(2026-01-01 0:00 UTC)
            ),
            "December ends with the year"
        );
        assert_eq!(
            Window::MONTH
                .bounds(datetime!(2024-02-29 12:00 +5))
                .unwrap()
                .1,
            datetime!(2024-03-01 0:00 UTC),
            "months are UTC, whatever the offset given"
        );
        assert_eq!(
            Window::Seconds(0).seconds(),
            1,
            "a zero-length window is treated as one second"
        );
    }
}
