//! `dailyStats` (`_id` = the day as `YYYY-MM-DD`): counters summed with
//! `$inc` in one upsert, the day's totals in a `totals` subdocument.

use async_trait::async_trait;
use domain::*;
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use time::Date;

use crate::MongoStore;
use crate::codec::*;
use crate::error::{corrupt, store};
use crate::indexes::names::DAILY_STATS;

fn day(d: &Document) -> Result<DayStats, StoreError> {
    let f = Fields::of(d, "daily statistics");
    let date = parse_day(f.str("_id")?).ok_or_else(|| corrupt("daily statistics", "_id"))?;
    let totals = match d.get("totals") {
        Some(Bson::Document(doc)) => {
            let t = Fields::of(doc, "daily totals");
            Some(Totals {
                users_total: t.u64("usersTotal")?,
                users_verified: t.u64("usersVerified")?,
                users_suspended: t.u64("usersSuspended")?,
                sessions_active: match doc.get("sessionsActive") {
                    None | Some(Bson::Null) => None,
                    Some(_) => Some(t.u64("sessionsActive")?),
                },
            })
        }
        _ => None,
    };
    Ok(DayStats {
        date,
        counts: DayCounts::read(|name| f.u64(name))?,
        totals,
    })
}

#[async_trait]
impl StatsRepository for MongoStore {
    async fn add(&self, date: Date, c: &DayCounts) -> Result<(), StoreError> {
        let mut inc = Document::new();
        for (name, n) in DayCounts::FIELDS.iter().zip(c.values()) {
            inc.insert(*name, int(n));
        }
        self.coll(DAILY_STATS)
            .update_one(doc! {"_id": day_key(date)}, doc! {"$inc": inc})
            .upsert(true)
            .await
            .map_err(store("add to daily statistics"))?;
        Ok(())
    }

    async fn set_totals(&self, date: Date, t: &Totals) -> Result<(), StoreError> {
        let totals = doc! {
            "usersTotal": int(t.users_total),
            "usersVerified": int(t.users_verified),
            "usersSuspended": int(t.users_suspended),
            "sessionsActive": t.sessions_active.map_or(Bson::Null, int),
        };
        self.coll(DAILY_STATS)
            .update_one(
                doc! {"_id": day_key(date)},
                doc! {"$set": {"totals": totals}},
            )
            .upsert(true)
            .await
            .map_err(store("set daily totals"))?;
        Ok(())
    }

    async fn days(&self, from: Date, to: Date) -> Result<Vec<DayStats>, StoreError> {
        let docs: Vec<Document> = self
            .coll(DAILY_STATS)
            .find(doc! {"_id": {"$gte": day_key(from), "$lte": day_key(to)}})
            .sort(doc! {"_id": 1})
            .await
            .map_err(store("read daily statistics"))?
            .try_collect()
            .await
            .map_err(store("read daily statistics"))?;
        docs.iter().map(day).collect()
    }
}
