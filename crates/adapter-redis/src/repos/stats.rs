//! `stats:day:<YYYY-MM-DD>` hashes, one per day, all in the stats family's
//! slot: counters summed with `HINCRBY` in one script, the day's totals
//! as fields beside them.

use std::sync::LazyLock;

use async_trait::async_trait;
use domain::*;
use fred::types::Value;
use fred::types::scripts::Script;
use time::Date;

use crate::codec::*;
use crate::{Family, RedisStore};

/// KEYS: the day. ARGV: field, amount, field, amount, …
static ADD: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
for i = 1, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
return 1
"#,
    )
});

/// KEYS: the day. ARGV: '1' when sessions were counted, then field/value
/// pairs of the totals (without sessionsActive when not counted).
static SET_TOTALS: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if ARGV[1] ~= '1' then redis.call('HDEL', KEYS[1], 'sessionsActive') end
redis.call('HSET', KEYS[1], 'rolledUp', '1', unpack(ARGV, 2))
return 1
"#,
    )
});

/// KEYS: days. Returns each day's fields (an empty list for a day without a record).
static DAYS: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HGETALL', key) end
return out
"#,
    )
});

impl RedisStore {
    fn day(&self, date: Date) -> String {
        self.key(Family::Stats, &format!("stats:day:{}", day_key(date)))
    }
}

fn day(date: Date, map: std::collections::HashMap<String, String>) -> Result<DayStats, StoreError> {
    let f = Fields::new(map, "daily statistics");
    let totals = if f.opt_str("rolledUp").is_some() {
        Some(Totals {
            users_total: f.u64("usersTotal")?,
            users_verified: f.u64("usersVerified")?,
            users_suspended: f.u64("usersSuspended")?,
            sessions_active: match f.opt_str("sessionsActive") {
                Some(_) => Some(f.u64("sessionsActive")?),
                None => None,
            },
        })
    } else {
        None
    };
    Ok(DayStats {
        date,
        counts: DayCounts::read(|name| f.u64(name))?,
        totals,
    })
}

#[async_trait]
impl StatsRepository for RedisStore {
    async fn add(&self, date: Date, c: &DayCounts) -> Result<(), StoreError> {
        let mut args = Vec::new();
        for (name, n) in DayCounts::FIELDS.iter().zip(c.values()) {
            if n > 0 {
                args.push((*name).to_owned());
                args.push(n.to_string());
            }
        }
        let _: i64 = self
            .eval(&ADD, vec![self.day(date)], args, "add to daily statistics")
            .await?;
        Ok(())
    }

    async fn set_totals(&self, date: Date, t: &Totals) -> Result<(), StoreError> {
        let mut args = vec![
            if t.sessions_active.is_some() {
                "1"
            } else {
                "0"
            }
            .to_owned(),
            "usersTotal".into(),
            t.users_total.to_string(),
            "usersVerified".into(),
            t.users_verified.to_string(),
            "usersSuspended".into(),
            t.users_suspended.to_string(),
        ];
        if let Some(n) = t.sessions_active {
            args.push("sessionsActive".into());
            args.push(n.to_string());
        }
        let _: i64 = self
            .eval(&SET_TOTALS, vec![self.day(date)], args, "set daily totals")
            .await?;
        Ok(())
    }

    async fn days(&self, from: Date, to: Date) -> Result<Vec<DayStats>, StoreError> {
        let mut dates = Vec::new();
        let mut date = from;
        while date <= to {
            dates.push(date);
            match date.next_day() {
                Some(next) => date = next,
                None => break,
            }
        }
        if dates.is_empty() {
            return Ok(Vec::new());
        }
        let keys = dates.iter().map(|d| self.day(*d)).collect();
        let v: Value = self
            .eval(&DAYS, keys, Vec::new(), "read daily statistics")
            .await?;
        dates
            .into_iter()
            .zip(records(v)?)
            .filter(|(_, map)| !map.is_empty())
            .map(|(date, map)| day(date, map))
            .collect()
    }
}
