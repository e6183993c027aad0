//! Counting, the roll-up and the report.

use time::{Date, OffsetDateTime};

use crate::{
    DayCounts, DayStats, Permission, Principal, ReadError, StoreError, Stores, System, Totals,
    UserFilter, UserStatus,
};

/// The longest report, in days.
pub const MAX_REPORT_DAYS: i64 = 366;

/// Adds `counts` to the day of `at`. What a service calls where the thing
/// counted happens.
pub(crate) async fn count(
    stores: &Stores,
    at: OffsetDateTime,
    counts: DayCounts,
) -> Result<(), StoreError> {
    if counts.is_empty() {
        return Ok(());
    }
    stores.stats.add(at.date(), &counts).await
}

/// Why a report was refused.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// The caller lacks `stats:read`.
    #[error(transparent)]
    Forbidden(#[from] crate::Denied),
    /// `to` is before `from`, or the range is longer than [`MAX_REPORT_DAYS`].
    #[error("the range must be 1 to {MAX_REPORT_DAYS} days, from <= to")]
    BadRange,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[from] StoreError),
}

impl From<ReadError> for StatsError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Forbidden(d) => Self::Forbidden(d),
            ReadError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

/// A report: a record for every day of the range (days without one are
/// zeros, without totals) and the totals now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsReport {
    /// Every day of the range, oldest first.
    pub days: Vec<DayStats>,
    /// The latest roll-up's totals with today's new and deleted accounts
    /// applied (zeros before the first roll-up).
    pub totals: Totals,
}

/// Statistics: the report and the roll-up.
#[derive(Clone)]
pub struct Statistics {
    stores: Stores,
    system: System,
}

impl Statistics {
    /// Builds the service.
    pub fn new(stores: Stores, system: System) -> Self {
        Self { stores, system }
    }

    /// The days `from..=to` (at most [`MAX_REPORT_DAYS`]; `to` defaults
    /// to today, `from` to 29 days before `to`) and the totals now; `by`
    /// needs `stats:read`. Reads the range's day records and the last two
    /// days' for the totals: never the users.
    pub async fn report(
        &self,
        by: &Principal,
        from: Option<Date>,
        to: Option<Date>,
    ) -> Result<StatsReport, StatsError> {
        by.require(&Permission::STATS_READ)?;
        let today = self.system.now().date();
        let to = to.unwrap_or(today);
        let from = from.unwrap_or(to - time::Duration::days(29));
        let length = (to - from).whole_days() + 1;
        if !(1..=MAX_REPORT_DAYS).contains(&length) {
            return Err(StatsError::BadRange);
        }
        let stored = self.stores.stats.days(from, to).await?;
        let mut days = Vec::with_capacity(usize::try_from(length).unwrap_or(0));
        let mut date = from;
        let mut stored = stored.into_iter().peekable();
        loop {
            match stored.next_if(|d| d.date == date) {
                Some(day) => days.push(day),
                None => days.push(DayStats {
                    date,
                    counts: DayCounts::default(),
                    totals: None,
                }),
            }
            match date.next_day() {
                Some(next) if next <= to => date = next,
                _ => break,
            }
        }
        let recent = match today.previous_day() {
            Some(yesterday) => self.stores.stats.days(yesterday, today).await?,
            None => Vec::new(),
        };
        Ok(StatsReport {
            days,
            totals: totals_now(&recent, today),
        })
    }

    /// Counts the totals now and keeps them on today's record; returns
    /// them. The work of the roll-up job: one count of the users per
    /// figure (an index or table count in SQL and MongoDB, a walk of the
    /// users' index in Redis) and one of the active sessions.
    pub async fn roll_up(&self) -> Result<Totals, StoreError> {
        let now = self.system.now();
        let users = &self.stores.users;
        let all = UserFilter::default();
        let of = |status| UserFilter {
            status: Some(status),
            at: now,
            ..UserFilter::default()
        };
        let users_total = users.count(&UserFilter { at: now, ..all }).await?;
        let unverified = users.count(&of(UserStatus::Unverified)).await?;
        let users_suspended = users.count(&of(UserStatus::Suspended)).await?;
        let totals = Totals {
            users_total,
            users_verified: users_total.saturating_sub(unverified),
            users_suspended,
            sessions_active: self.stores.sessions.count_active(now).await?,
        };
        self.stores.stats.set_totals(now.date(), &totals).await?;
        Ok(totals)
    }
}

/// The latest totals among `recent` (yesterday's and today's records),
/// with the accounts made and deleted since applied where they are known
/// (today's, when the totals are yesterday's).
fn totals_now(recent: &[DayStats], today: Date) -> Totals {
    let Some(latest) = recent.iter().rev().find(|d| d.totals.is_some()) else {
        return Totals::default();
    };
    let mut totals = latest.totals.unwrap_or_default();
    if latest.date < today
        && let Some(now) = recent.iter().find(|d| d.date == today)
    {
        let (new, gone) = (now.counts.users_new, now.counts.users_deleted);
        totals.users_total = (totals.users_total + new).saturating_sub(gone);
        totals.users_verified = (totals.users_verified + new).saturating_sub(gone);
    }
    totals
}
