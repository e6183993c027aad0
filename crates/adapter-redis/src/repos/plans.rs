//! `plan:<name>` hashes and the `plans` index (by name).

use std::collections::HashMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use domain::*;
use fred::types::Value;
use fred::types::scripts::Script;

use super::rbac::{CREATE_NAMED, NAMED_RECORDS};
use crate::codec::*;
use crate::error::corrupt;
use crate::{Family, RedisStore};

/// KEYS: plan, plans index. ARGV: name.
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"#,
    )
});

fn features(f: &[Feature]) -> String {
    let list: Vec<&str> = f.iter().map(Feature::as_str).collect();
    serde_json::to_string(&list).unwrap_or_else(|_| "[]".into())
}

/// A limit as a field, or its deletion (unlimited).
fn limit(rec: &mut Record, delete: &mut Vec<&'static str>, field: &'static str, l: Option<u64>) {
    match l {
        Some(l) => {
            rec.set(field, l.to_string());
        }
        None => delete.push(field),
    }
}

fn record(p: &Plan) -> Record {
    let mut rec = Record::default();
    rec.set("name", p.name.as_str())
        .set("displayName", p.display_name.as_str())
        .set("features", features(&p.features))
        .set("createdAt", ts(p.created_at))
        .set("updatedAt", ts(p.updated_at));
    let mut none = Vec::new();
    limit(&mut rec, &mut none, "dailyLimit", p.daily_limit);
    limit(&mut rec, &mut none, "monthlyLimit", p.monthly_limit);
    rec
}

fn plan(map: HashMap<String, String>) -> Result<Option<Plan>, StoreError> {
    if map.is_empty() {
        return Ok(None);
    }
    let f = Fields::new(map, "plan");
    let names: Vec<String> = match f.json("features")? {
        Some(v) => serde_json::from_value(v).map_err(|_| corrupt("plan", "features"))?,
        None => Vec::new(),
    };
    let limit = |key: &str| -> Result<Option<u64>, StoreError> {
        match f.opt_str(key) {
            None => Ok(None),
            Some(_) => f.u64(key).map(Some),
        }
    };
    Ok(Some(Plan {
        name: PlanName::from_stored(f.str("name")?),
        display_name: PlanDisplayName::from_stored(f.str("displayName")?),
        daily_limit: limit("dailyLimit")?,
        monthly_limit: limit("monthlyLimit")?,
        features: names.into_iter().map(Feature::from_stored).collect(),
        created_at: f.time("createdAt")?,
        updated_at: f.time("updatedAt")?,
    }))
}

impl RedisStore {
    fn plan_key(&self, name: &PlanName) -> String {
        self.key(Family::Plans, &format!("plan:{name}"))
    }
}

#[async_trait]
impl PlanRepository for RedisStore {
    async fn create(&self, p: &Plan) -> Result<(), InsertPlanError> {
        let mut args = vec![p.name.as_str().to_owned()];
        args.extend(record(p).args());
        let n: i64 = self
            .eval(
                &CREATE_NAMED,
                vec![self.plan_key(&p.name), self.key(Family::Plans, "plans")],
                args,
                "create plan",
            )
            .await?;
        if n == 0 {
            return Err(InsertPlanError::Duplicate);
        }
        Ok(())
    }

    async fn get(&self, name: &PlanName) -> Result<Option<Plan>, StoreError> {
        plan(self.hgetall(self.plan_key(name), "get plan").await?)
    }

    async fn list(&self) -> Result<Vec<Plan>, StoreError> {
        let v: Value = self
            .eval(
                &NAMED_RECORDS,
                vec![self.key(Family::Plans, "plans")],
                vec![self.key(Family::Plans, "plan:")],
                "list plans",
            )
            .await?;
        records(v)?
            .into_iter()
            .filter_map(|m| plan(m).transpose())
            .collect()
    }

    async fn update(&self, name: &PlanName, c: &PlanChanges) -> Result<(), WriteError> {
        let mut rec = Record::default();
        let mut delete: Vec<&str> = Vec::new();
        if let Some(d) = &c.display_name {
            rec.set("displayName", d.as_str());
        }
        if let Some(l) = c.daily_limit {
            limit(&mut rec, &mut delete, "dailyLimit", l);
        }
        if let Some(l) = c.monthly_limit {
            limit(&mut rec, &mut delete, "monthlyLimit", l);
        }
        if let Some(f) = &c.features {
            rec.set("features", features(f));
        }
        if let Some(at) = c.updated_at {
            rec.set("updatedAt", ts(at));
        }
        self.guarded_set(self.plan_key(name), &[], &delete, &rec)
            .await?
            .written()
    }

    async fn delete(&self, name: &PlanName) -> Result<(), WriteError> {
        let n: i64 = self
            .eval(
                &DELETE,
                vec![self.plan_key(name), self.key(Family::Plans, "plans")],
                vec![name.as_str().to_owned()],
                "delete plan",
            )
            .await?;
        WriteError::found(n)
    }
}
