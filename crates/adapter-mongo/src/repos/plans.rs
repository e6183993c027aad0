//! `plans` (`_id` = name).

use async_trait::async_trait;
use domain::*;
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};

use crate::MongoStore;
use crate::codec::*;
use crate::error::{corrupt, is_duplicate, store};
use crate::indexes::names::PLANS;

fn limit(l: Option<u64>) -> Bson {
    l.map_or(Bson::Null, int)
}

fn features(f: &[Feature]) -> Vec<&str> {
    f.iter().map(Feature::as_str).collect()
}

fn plan_doc(p: &Plan) -> Document {
    doc! {
        "_id": p.name.as_str(),
        "displayName": p.display_name.as_str(),
        "dailyLimit": limit(p.daily_limit),
        "monthlyLimit": limit(p.monthly_limit),
        "features": features(&p.features),
        "createdAt": time(p.created_at),
        "updatedAt": time(p.updated_at),
    }
}

fn plan(d: &Document) -> Result<Plan, StoreError> {
    let f = Fields::of(d, "plan");
    let limit = |key: &str| -> Result<Option<u64>, StoreError> {
        match d.get(key) {
            None | Some(Bson::Null) => Ok(None),
            Some(_) => f.u64(key).map(Some),
        }
    };
    let features = f
        .array("features")?
        .iter()
        .map(|b| {
            b.as_str()
                .map(Feature::from_stored)
                .ok_or_else(|| corrupt("plan", "features"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Plan {
        name: PlanName::from_stored(f.str("_id")?),
        display_name: PlanDisplayName::from_stored(f.str("displayName")?),
        daily_limit: limit("dailyLimit")?,
        monthly_limit: limit("monthlyLimit")?,
        features,
        created_at: f.time("createdAt")?,
        updated_at: f.time("updatedAt")?,
    })
}

#[async_trait]
impl PlanRepository for MongoStore {
    async fn create(&self, p: &Plan) -> Result<(), InsertPlanError> {
        match self.coll(PLANS).insert_one(plan_doc(p)).await {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate(&e) => Err(InsertPlanError::Duplicate),
            Err(e) => Err(InsertPlanError::Store(store("insert plan")(e))),
        }
    }

    async fn get(&self, name: &PlanName) -> Result<Option<Plan>, StoreError> {
        self.coll(PLANS)
            .find_one(doc! {"_id": name.as_str()})
            .await
            .map_err(store("get plan"))?
            .as_ref()
            .map(plan)
            .transpose()
    }

    async fn list(&self) -> Result<Vec<Plan>, StoreError> {
        let docs: Vec<Document> = self
            .coll(PLANS)
            .find(doc! {})
            .sort(doc! {"_id": 1})
            .await
            .map_err(store("list plans"))?
            .try_collect()
            .await
            .map_err(store("list plans"))?;
        docs.iter().map(plan).collect()
    }

    async fn update(&self, name: &PlanName, c: &PlanChanges) -> Result<(), WriteError> {
        let mut set = Document::new();
        if let Some(d) = &c.display_name {
            set.insert("displayName", d.as_str());
        }
        if let Some(l) = c.daily_limit {
            set.insert("dailyLimit", limit(l));
        }
        if let Some(l) = c.monthly_limit {
            set.insert("monthlyLimit", limit(l));
        }
        if let Some(f) = &c.features {
            set.insert("features", features(f));
        }
        if let Some(at) = c.updated_at {
            set.insert("updatedAt", time(at));
        }
        if set.is_empty() {
            set.insert("_id", name.as_str());
        }
        let r = self
            .coll(PLANS)
            .update_one(doc! {"_id": name.as_str()}, doc! {"$set": set})
            .await
            .map_err(store("update plan"))?;
        WriteError::found(r.matched_count)
    }

    async fn delete(&self, name: &PlanName) -> Result<(), WriteError> {
        let r = self
            .coll(PLANS)
            .delete_one(doc! {"_id": name.as_str()})
            .await
            .map_err(store("delete plan"))?;
        WriteError::found(r.deleted_count)
    }
}
