//! The day record and its repository.

use async_trait::async_trait;
use time::Date;

use crate::StoreError;

/// What happened during a day, added as it happens: every field is a sum
/// of [`StatsRepository::add`] calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DayCounts {
    /// Accounts made.
    pub users_new: u64,
    /// Accounts deleted.
    pub users_deleted: u64,
    /// Users who made an authenticated request (each counted once a day).
    pub users_active: u64,
    /// Successful sign-ins (every method, refreshes not included).
    pub sign_ins: u64,
    /// Failed sign-ins of existing accounts.
    pub sign_in_failures: u64,
    /// Authenticated requests under `/v1`.
    pub requests: u64,
}

impl DayCounts {
    /// The counters' names as document and hash stores key them, in the
    /// order of [`values`](Self::values).
    pub const FIELDS: [&'static str; 6] = [
        "usersNew",
        "usersDeleted",
        "usersActive",
        "signIns",
        "signInFailures",
        "requests",
    ];

    /// The counters, in the order of [`FIELDS`](Self::FIELDS).
    pub fn values(&self) -> [u64; 6] {
        [
            self.users_new,
            self.users_deleted,
            self.users_active,
            self.sign_ins,
            self.sign_in_failures,
            self.requests,
        ]
    }

    /// Counters read by name (`read` is given each of [`FIELDS`](Self::FIELDS)).
    pub fn read<E>(mut read: impl FnMut(&'static str) -> Result<u64, E>) -> Result<Self, E> {
        let [
            users_new,
            users_deleted,
            users_active,
            sign_ins,
            sign_in_failures,
            requests,
        ] = Self::FIELDS;
        Ok(Self {
            users_new: read(users_new)?,
            users_deleted: read(users_deleted)?,
            users_active: read(users_active)?,
            sign_ins: read(sign_ins)?,
            sign_in_failures: read(sign_in_failures)?,
            requests: read(requests)?,
        })
    }

    /// One account made.
    pub fn new_user() -> Self {
        Self {
            users_new: 1,
            ..Self::default()
        }
    }

    /// Whether nothing is counted.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl std::ops::AddAssign<&DayCounts> for DayCounts {
    fn add_assign(&mut self, more: &DayCounts) {
        self.users_new += more.users_new;
        self.users_deleted += more.users_deleted;
        self.users_active += more.users_active;
        self.sign_ins += more.sign_ins;
        self.sign_in_failures += more.sign_in_failures;
        self.requests += more.requests;
    }
}

/// The totals at a roll-up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Totals {
    /// Every account.
    pub users_total: u64,
    /// Accounts with a verified address.
    pub users_verified: u64,
    /// Accounts suspended at the time.
    pub users_suspended: u64,
    /// Sessions whose access token worked at the time; `None` where the
    /// store cannot count them without walking every user.
    pub sessions_active: Option<u64>,
}

/// A day as stores and the API write it: `YYYY-MM-DD`.
pub fn day_key(date: Date) -> String {
    let (y, m, d) = (date.year(), u8::from(date.month()), date.day());
    format!("{y:04}-{m:02}-{d:02}")
}

/// Reads a day written as `YYYY-MM-DD`; `None` for anything else.
pub fn parse_day(text: &str) -> Option<Date> {
    Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .ok()
}

/// One day's record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DayStats {
    /// The day (UTC).
    #[serde(with = "crate::transfer::iso_date")]
    pub date: Date,
    /// What happened.
    pub counts: DayCounts,
    /// The totals of the day's last roll-up, if one ran that day.
    pub totals: Option<Totals>,
}

/// Stores one small record per day.
#[portico_macros::port("stats")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait StatsRepository: Send + Sync {
    /// Adds `counts` to the record of `date`, creating it. MUST be atomic
    /// per field: concurrent adds MUST all be counted.
    async fn add(&self, date: Date, counts: &DayCounts) -> Result<(), StoreError>;

    /// Sets the totals of `date`'s record (creating it), replacing earlier
    /// totals of that day; the counters stay as they are.
    async fn set_totals(&self, date: Date, totals: &Totals) -> Result<(), StoreError>;

    /// The records of `from..=to` that exist, oldest first.
    async fn days(&self, from: Date, to: Date) -> Result<Vec<DayStats>, StoreError>;
}
