//! Rate limits (per client IP, per user) and per-user usage counters
//! (`requests.lastMinute/lastDay/allTime`).

use time::OffsetDateTime;

use crate::{StoreError, UserId, Window};
use crate::{Stores, System};

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
    /// Requests in the current calendar month (UTC).
    pub last_month: u64,
    /// Requests ever.
    pub all_time: u64,
}

/// The windows of a user's usage figures, in [`Usage`]'s order.
const USAGE_WINDOWS: [Window; 4] = [Window::MINUTE, Window::DAY, Window::MONTH, Window::AllTime];

/// Counter key of a user's usage figures.
pub fn usage_key(user_id: UserId) -> String {
    format!("usage:user:{user_id}")
}

/// Counter key of username-availability look-ups from one IP .
pub fn username_status_key(ip: &str) -> String {
    format!("username_status_req:{ip}")
}

/// Rate limiting and usage counting.
///
/// Usage counters are written through to the store on every request
/// ([`RateLimits::new`]), or counted in memory and written in batches
/// ([`RateLimits::buffered`], then [`RateLimits::flush`] at an interval and
/// at shutdown). Buffered, a user's figures are what the store held at this
/// instance's last flush (or first read) plus what this instance counted
/// since: exact for one instance; with N instances each sees the others'
/// counts one flush late, so a per-minute limit can be overshot by what the
/// other N−1 instances count in one interval. A crash loses at most the
/// counts since the last flush.
#[derive(Clone)]
pub struct RateLimits {
    stores: Stores,
    system: System,
    buffer: Option<std::sync::Arc<UsageBuffer>>,
}

/// Usage counted in memory and not yet written.
#[derive(Default)]
struct UsageBuffer {
    state: std::sync::Mutex<BufferState>,
    /// Set while a flush runs; a second flush meanwhile does nothing.
    flushing: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct BufferState {
    /// Counted and not written: per user, counts per minute (window start).
    pending: std::collections::HashMap<UserId, Vec<(OffsetDateTime, u64)>>,
    /// Taken by the running flush, still counted until its result is in.
    in_flight: std::collections::HashMap<UserId, Vec<(OffsetDateTime, u64)>>,
    /// The store's figures per user as last seen, with the windows they are of.
    stored: std::collections::HashMap<UserId, Stored>,
    /// The minute each user was last marked active in the store.
    marked: std::collections::HashMap<UserId, OffsetDateTime>,
}

/// A user's stored figures and the minute and day they belong to.
#[derive(Debug, Clone, Copy)]
struct Stored {
    minute_start: OffsetDateTime,
    day_start: OffsetDateTime,
    month_start: OffsetDateTime,
    usage: Usage,
    /// The last minute this instance counted a request of the user.
    used: OffsetDateTime,
}

/// The start of the window containing `at` (the epoch for all time).
fn window_start(window: Window, at: OffsetDateTime) -> OffsetDateTime {
    window
        .bounds(at)
        .map_or(OffsetDateTime::UNIX_EPOCH, |(start, _)| start)
}

impl BufferState {
    /// Stored plus counted figures of `user` in the windows containing `now`.
    fn usage(&self, user: UserId, now: OffsetDateTime) -> Usage {
        let mut usage = self.counted(user, now);
        if let Some(s) = self.stored.get(&user) {
            usage.all_time += s.usage.all_time;
            if s.day_start == window_start(Window::DAY, now) {
                usage.last_day += s.usage.last_day;
            }
            if s.month_start == window_start(Window::MONTH, now) {
                usage.last_month += s.usage.last_month;
            }
            if s.minute_start == window_start(Window::MINUTE, now) {
                usage.last_minute += s.usage.last_minute;
            }
        }
        usage
    }

    /// What this instance counted for `user` and has not written, in the
    /// windows containing `now`.
    fn counted(&self, user: UserId, now: OffsetDateTime) -> Usage {
        let (minute, day, month) = (
            window_start(Window::MINUTE, now),
            window_start(Window::DAY, now),
            window_start(Window::MONTH, now),
        );
        let mut usage = Usage::default();
        let counted = [&self.in_flight, &self.pending]
            .into_iter()
            .filter_map(|map| map.get(&user))
            .flatten();
        for &(at, n) in counted {
            usage.all_time += n;
            if window_start(Window::DAY, at) == day {
                usage.last_day += n;
            }
            if window_start(Window::MONTH, at) == month {
                usage.last_month += n;
            }
            if at == minute {
                usage.last_minute += n;
            }
        }
        usage
    }
}

/// What one flush adds to the statistics, per day: its requests, and the
/// users whose day counter this batch started (their day count after the
/// batch is what the batch added), so that each user is counted active
/// once a day across every instance.
fn daily_counts(
    users: &[UserId],
    additions: &[crate::Addition],
    counts: &[Vec<crate::WindowCount>],
) -> std::collections::BTreeMap<time::Date, crate::DayCounts> {
    let mut added: std::collections::HashMap<(UserId, time::Date), (u64, u64)> = Default::default();
    for ((user, addition), windows) in users.iter().zip(additions).zip(counts) {
        let day_count = windows.get(1).map_or(0, |w| w.count);
        let entry = added
            .entry((*user, addition.at.date()))
            .or_insert((0, day_count));
        entry.0 += addition.n;
    }
    let mut daily: std::collections::BTreeMap<time::Date, crate::DayCounts> = Default::default();
    for ((_, date), (n, day_count)) in added {
        let day = daily.entry(date).or_default();
        day.requests += n;
        day.users_active += u64::from(day_count == n);
    }
    daily
}

fn add_counts(
    into: &mut std::collections::HashMap<UserId, Vec<(OffsetDateTime, u64)>>,
    user: UserId,
    at: OffsetDateTime,
    n: u64,
) {
    let counts = into.entry(user).or_default();
    match counts.iter_mut().find(|(minute, _)| *minute == at) {
        Some((_, count)) => *count += n,
        None => counts.push((at, n)),
    }
}

/// Stored figures of users not counted here for this long are forgotten
/// (read again from the store when they come back).
const FORGET_STORED_AFTER: time::Duration = time::Duration::minutes(10);

impl RateLimits {
    /// Builds the service, writing usage counters through to the store.
    pub fn new(stores: Stores, system: System) -> Self {
        Self {
            stores,
            system,
            buffer: None,
        }
    }

    /// Builds the service counting usage in memory: call
    /// [`RateLimits::flush`] at an interval (at most a second or so) and once
    /// more at shutdown, or the counts are lost.
    pub fn buffered(stores: Stores, system: System) -> Self {
        Self {
            stores,
            system,
            buffer: Some(std::sync::Arc::default()),
        }
    }

    /// Writes the usage counted in memory since the last flush in one batch
    /// and returns how many requests it wrote. On failure the counts stay
    /// for the next flush. (Unbuffered: nothing to do.) A flush that is
    /// dropped before it finishes may lose or double its batch: let it end.
    pub async fn flush(&self) -> Result<u64, StoreError> {
        use std::sync::atomic::Ordering;
        let Some(buffer) = &self.buffer else {
            return Ok(0);
        };
        if buffer.flushing.swap(true, Ordering::AcqRel) {
            return Ok(0);
        }
        struct Done<'a>(&'a std::sync::atomic::AtomicBool);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.store(false, std::sync::atomic::Ordering::Release);
            }
        }
        let _done = Done(&buffer.flushing);
        let lock = || buffer.state.lock().unwrap_or_else(|e| e.into_inner());
        let taken = {
            let mut state = lock();
            let taken = std::mem::take(&mut state.pending);
            state.in_flight = taken.clone();
            taken
        };
        if taken.is_empty() {
            return Ok(0);
        }
        let mut users = Vec::new();
        let mut additions = Vec::new();
        for (user, counts) in &taken {
            for &(at, n) in counts {
                users.push(*user);
                additions.push(crate::Addition {
                    key: usage_key(*user),
                    at,
                    n,
                });
            }
        }
        let written: u64 = additions.iter().map(|a| a.n).sum();
        let result = self
            .stores
            .rate_limiter
            .add_batch(&additions, &USAGE_WINDOWS)
            .await;
        // The lock is held only here: never across the writes below.
        let (due, daily) = {
            let mut state = lock();
            let in_flight = std::mem::take(&mut state.in_flight);
            let counts = match result {
                Ok(counts) if counts.len() == additions.len() => counts,
                outcome => {
                    for (user, counts) in in_flight {
                        for (at, n) in counts {
                            add_counts(&mut state.pending, user, at, n);
                        }
                    }
                    return Err(outcome.err().unwrap_or_else(|| {
                        StoreError::msg("the rate limiter answered the wrong number of counts")
                    }));
                }
            };
            let daily = daily_counts(&users, &additions, &counts);
            for ((user, addition), windows) in users.iter().zip(&additions).zip(counts) {
                let [minute, day, month, all_time] = windows[..] else {
                    continue;
                };
                let fresh = Stored {
                    minute_start: addition.at,
                    day_start: window_start(Window::DAY, addition.at),
                    month_start: window_start(Window::MONTH, addition.at),
                    usage: Usage {
                        last_minute: minute.count,
                        last_day: day.count,
                        last_month: month.count,
                        all_time: all_time.count,
                    },
                    used: addition.at,
                };
                let keep = state
                    .stored
                    .get(user)
                    .is_some_and(|s| s.minute_start > fresh.minute_start);
                if !keep {
                    state.stored.insert(*user, fresh);
                }
            }
            let horizon = self.system.now() - FORGET_STORED_AFTER;
            let BufferState {
                pending,
                stored,
                marked,
                ..
            } = &mut *state;
            stored.retain(|user, s| s.used > horizon || pending.contains_key(user));
            // `last_active_at`, at most once a minute per user: the latest
            // minute each user was counted in, if not marked yet.
            let mut latest: std::collections::HashMap<UserId, OffsetDateTime> = Default::default();
            for (user, counts) in &taken {
                if let Some(&(minute, _)) = counts.iter().max_by_key(|(minute, _)| *minute) {
                    latest.insert(*user, minute);
                }
            }
            let mut due: std::collections::BTreeMap<OffsetDateTime, Vec<UserId>> =
                Default::default();
            for (user, minute) in latest {
                if marked.get(&user).is_none_or(|m| *m < minute) {
                    due.entry(minute).or_default().push(user);
                }
            }
            marked.retain(|user, m| *m > horizon || pending.contains_key(user));
            (due, daily)
        };
        for (date, counts) in daily {
            self.stores.stats.add(date, &counts).await?;
        }
        for (minute, users) in due {
            // A failure is reported; the next flush that counts these
            // users tries again.
            self.stores.users.mark_active(&users, minute).await?;
            let mut state = lock();
            for user in users {
                state.marked.insert(user, minute);
            }
        }
        Ok(written)
    }

    /// Forgets what this instance counted for `user` and has not written
    /// (after the account is deleted, so that no counter comes back).
    pub fn discard(&self, user_id: UserId) {
        if let Some(buffer) = &self.buffer {
            let mut state = buffer.state.lock().unwrap_or_else(|e| e.into_inner());
            state.pending.remove(&user_id);
            state.stored.remove(&user_id);
            state.marked.remove(&user_id);
        }
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

    /// Counts one request of the user in the minute, day, month and
    /// all-time counters and returns the figures including it. Buffered, this is a
    /// memory update, after one store read the first time this instance
    /// sees the user.
    pub async fn record_usage(&self, user_id: UserId) -> Result<Usage, StoreError> {
        let now = self.system.now();
        if let Some(buffer) = &self.buffer {
            let known = {
                let state = buffer.state.lock().unwrap_or_else(|e| e.into_inner());
                state.stored.contains_key(&user_id)
            };
            let read = if known {
                None
            } else {
                Some(self.stored_usage(user_id, now).await?)
            };
            let mut state = buffer.state.lock().unwrap_or_else(|e| e.into_inner());
            let minute = window_start(Window::MINUTE, now);
            if let Some(usage) = read {
                state.stored.entry(user_id).or_insert(Stored {
                    minute_start: minute,
                    day_start: window_start(Window::DAY, now),
                    month_start: window_start(Window::MONTH, now),
                    usage,
                    used: minute,
                });
            }
            if let Some(s) = state.stored.get_mut(&user_id) {
                s.used = minute;
            }
            add_counts(&mut state.pending, user_id, minute, 1);
            return Ok(state.usage(user_id, now));
        }
        let key = usage_key(user_id);
        let counts = self
            .stores
            .rate_limiter
            .hit_many(&key, &USAGE_WINDOWS, now)
            .await?;
        let first_of_day = counts.get(1).is_some_and(|day| day.count == 1);
        crate::stats::count(
            &self.stores,
            now,
            crate::DayCounts {
                requests: 1,
                users_active: u64::from(first_of_day),
                ..crate::DayCounts::default()
            },
        )
        .await?;
        if counts.first().is_some_and(|minute| minute.count == 1) {
            // Written through: the first request of a minute marks the user active.
            let minute = window_start(Window::MINUTE, now);
            self.stores.users.mark_active(&[user_id], minute).await?;
        }
        match counts[..] {
            [minute, day, month, all_time] => Ok(Usage {
                last_minute: minute.count,
                last_day: day.count,
                last_month: month.count,
                all_time: all_time.count,
            }),
            _ => Err(StoreError::msg(format!(
                "the rate limiter answered {} counts for 4 windows",
                counts.len()
            ))),
        }
    }

    /// The user's counters without counting (with what this instance has
    /// counted and not written yet, when buffered).
    pub async fn usage(&self, user_id: UserId) -> Result<Usage, StoreError> {
        let now = self.system.now();
        let mut usage = self.stored_usage(user_id, now).await?;
        if let Some(buffer) = &self.buffer {
            let state = buffer.state.lock().unwrap_or_else(|e| e.into_inner());
            let counted = state.counted(user_id, now);
            usage.last_minute += counted.last_minute;
            usage.last_day += counted.last_day;
            usage.last_month += counted.last_month;
            usage.all_time += counted.all_time;
        }
        Ok(usage)
    }

    /// The user's counters as the store holds them.
    async fn stored_usage(
        &self,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> Result<Usage, StoreError> {
        stored_usage(&*self.stores.rate_limiter, user_id, now).await
    }
}

/// A user's usage counters at `now` as `limiter` holds them.
pub(crate) async fn stored_usage(
    limiter: &dyn crate::RateLimiter,
    user_id: UserId,
    now: OffsetDateTime,
) -> Result<Usage, StoreError> {
    let key = usage_key(user_id);
    Ok(Usage {
        last_minute: limiter.peek(&key, Window::MINUTE, now).await?,
        last_day: limiter.peek(&key, Window::DAY, now).await?,
        last_month: limiter.peek(&key, Window::MONTH, now).await?,
        all_time: limiter.peek(&key, Window::AllTime, now).await?,
    })
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
