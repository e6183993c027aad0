//! `PlanRepository`.

use async_trait::async_trait;
use domain::*;

use super::MemoryStore;

#[async_trait]
impl PlanRepository for MemoryStore {
    async fn create(&self, plan: &Plan) -> Result<(), InsertPlanError> {
        let mut state = self.state();
        if state.plans.contains_key(&plan.name) {
            return Err(InsertPlanError::Duplicate);
        }
        state.plans.insert(plan.name.clone(), plan.clone());
        Ok(())
    }

    async fn get(&self, name: &PlanName) -> Result<Option<Plan>, StoreError> {
        Ok(self.state().plans.get(name).cloned())
    }

    async fn list(&self) -> Result<Vec<Plan>, StoreError> {
        Ok(self.state().plans.values().cloned().collect())
    }

    async fn update(&self, name: &PlanName, changes: &PlanChanges) -> Result<(), WriteError> {
        let mut state = self.state();
        let plan = state.plans.get_mut(name).ok_or(WriteError::NotFound)?;
        if let Some(display_name) = &changes.display_name {
            plan.display_name.clone_from(display_name);
        }
        if let Some(limit) = changes.daily_limit {
            plan.daily_limit = limit;
        }
        if let Some(limit) = changes.monthly_limit {
            plan.monthly_limit = limit;
        }
        if let Some(features) = &changes.features {
            plan.features.clone_from(features);
        }
        if let Some(at) = changes.updated_at {
            plan.updated_at = at;
        }
        Ok(())
    }

    async fn delete(&self, name: &PlanName) -> Result<(), WriteError> {
        self.state()
            .plans
            .remove(name)
            .map(drop)
            .ok_or(WriteError::NotFound)
    }
}
