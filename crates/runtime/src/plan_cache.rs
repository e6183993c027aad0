//! Plans kept in memory for a short while: resolving a principal reads its
//! user's plan, and plans change rarely, so an uncached resolve (the
//! principal cache off or missed) should not pay a store round trip for
//! it. Changes made through this instance drop its entries at once; other
//! instances see them within `plans.cache_ttl_ms` (2 s by default), the
//! bound the principal cache already gives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use domain::{
    InsertPlanError, Plan, PlanChanges, PlanName, PlanRepository, StoreError, WriteError,
};

/// A [`PlanRepository`] that answers `get` from memory for `ttl`.
pub struct CachedPlans {
    inner: Arc<dyn PlanRepository>,
    ttl: Duration,
    entries: Mutex<HashMap<PlanName, (Instant, Option<Plan>)>>,
}

impl CachedPlans {
    /// Caches `inner`'s plans for `ttl` (zero: no caching).
    pub fn new(inner: Arc<dyn PlanRepository>, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            entries: Mutex::default(),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<PlanName, (Instant, Option<Plan>)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn forget(&self, name: &PlanName) {
        self.entries().remove(name);
    }
}

#[async_trait]
impl PlanRepository for CachedPlans {
    async fn create(&self, plan: &Plan) -> Result<(), InsertPlanError> {
        let done = self.inner.create(plan).await;
        self.forget(&plan.name);
        done
    }

    async fn get(&self, name: &PlanName) -> Result<Option<Plan>, StoreError> {
        if self.ttl.is_zero() {
            return self.inner.get(name).await;
        }
        if let Some((at, plan)) = self.entries().get(name)
            && at.elapsed() < self.ttl
        {
            return Ok(plan.clone());
        }
        let plan = self.inner.get(name).await?;
        let mut entries = self.entries();
        // Plans are few; a cache grown by look-ups of names that are no
        // plan is cleared rather than left to grow.
        if entries.len() >= 1024 {
            entries.clear();
        }
        entries.insert(name.clone(), (Instant::now(), plan.clone()));
        Ok(plan)
    }

    async fn list(&self) -> Result<Vec<Plan>, StoreError> {
        self.inner.list().await
    }

    async fn update(&self, name: &PlanName, changes: &PlanChanges) -> Result<(), WriteError> {
        let done = self.inner.update(name, changes).await;
        self.forget(name);
        done
    }

    async fn delete(&self, name: &PlanName) -> Result<(), WriteError> {
        let done = self.inner.delete(name).await;
        self.forget(name);
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use adapter_memory::MemoryStore;

    fn plan(limit: u64) -> Plan {
        Plan {
            name: PlanName::parse("pro").unwrap(),
            daily_limit: Some(limit),
            ..Plan::default()
        }
    }

    #[tokio::test]
    async fn gets_come_from_memory_until_a_change_here_or_the_ttl() {
        let store = MemoryStore::new();
        let behind: Arc<dyn PlanRepository> = Arc::new(store.clone());
        let cached = CachedPlans::new(behind.clone(), Duration::from_millis(200));
        let name = PlanName::parse("pro").unwrap();
        assert_eq!(cached.get(&name).await.unwrap(), None);
        // Created behind the cache's back (another instance): the cached
        // "none" holds until the TTL.
        behind.create(&plan(5)).await.unwrap();
        assert_eq!(cached.get(&name).await.unwrap(), None);
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(cached.get(&name).await.unwrap(), Some(plan(5)));
        // Changed through the cache: seen at once.
        let changes = PlanChanges {
            daily_limit: Some(Some(9)),
            ..PlanChanges::default()
        };
        cached.update(&name, &changes).await.unwrap();
        assert_eq!(cached.get(&name).await.unwrap(), Some(plan(9)));
        cached.delete(&name).await.unwrap();
        assert_eq!(cached.get(&name).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_zero_ttl_caches_nothing() {
        let store = MemoryStore::new();
        let behind: Arc<dyn PlanRepository> = Arc::new(store.clone());
        let cached = CachedPlans::new(behind.clone(), Duration::ZERO);
        let name = PlanName::parse("pro").unwrap();
        assert_eq!(cached.get(&name).await.unwrap(), None);
        behind.create(&plan(5)).await.unwrap();
        assert_eq!(cached.get(&name).await.unwrap(), Some(plan(5)));
    }
}
