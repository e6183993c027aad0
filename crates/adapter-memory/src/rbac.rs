//! `RoleRepository`.

use async_trait::async_trait;
use domain::*;
use time::OffsetDateTime;

use super::MemoryStore;
use super::state::count;

#[async_trait]
impl RoleRepository for MemoryStore {
    async fn create(&self, role: &Role) -> Result<(), InsertError> {
        let mut state = self.state();
        if state.roles.contains_key(&role.name) {
            return Err(InsertError::Conflict);
        }
        state.roles.insert(role.name.clone(), role.clone());
        Ok(())
    }

    async fn get(&self, name: &RoleName) -> Result<Option<Role>, StoreError> {
        Ok(self.state().roles.get(name).cloned())
    }

    async fn list(&self) -> Result<Vec<Role>, StoreError> {
        Ok(self.state().roles.values().cloned().collect())
    }

    async fn update_fields(
        &self,
        name: &RoleName,
        changes: &RoleChanges,
    ) -> Result<(), WriteError> {
        let mut state = self.state();
        let role = state.roles.get_mut(name).ok_or(WriteError::NotFound)?;
        if let Some(description) = &changes.description {
            role.description.clone_from(description);
        }
        if let Some(permissions) = &changes.permissions {
            role.permissions.clone_from(permissions);
        }
        role.updated_at = changes.updated_at;
        Ok(())
    }

    async fn delete(&self, name: &RoleName) -> Result<(), WriteError> {
        let mut state = self.state();
        state.roles.remove(name).ok_or(WriteError::NotFound)?;
        state.grants.retain(|(_, role)| role != name);
        Ok(())
    }

    async fn grant(
        &self,
        user_id: UserId,
        role: &RoleName,
        _at: OffsetDateTime,
    ) -> Result<(), GrantWriteError> {
        let mut state = self.state();
        if !state.roles.contains_key(role) {
            return Err(GrantWriteError::RoleNotFound);
        }
        state.grants.insert((user_id, role.clone()));
        Ok(())
    }

    async fn revoke(&self, user_id: UserId, role: &RoleName) -> Result<(), WriteError> {
        if self.state().grants.remove(&(user_id, role.clone())) {
            Ok(())
        } else {
            Err(WriteError::NotFound)
        }
    }

    async fn revoke_unless_last(
        &self,
        user_id: UserId,
        role: &RoleName,
    ) -> Result<LastHolder, WriteError> {
        let mut state = self.state();
        let grant = (user_id, role.clone());
        if !state.grants.contains(&grant) {
            return Err(WriteError::NotFound);
        }
        let holders = state.grants.iter().filter(|(_, r)| r == role).count();
        if holders <= 1 {
            return Ok(LastHolder::Kept);
        }
        state.grants.remove(&grant);
        Ok(LastHolder::Revoked)
    }

    async fn roles_of(&self, user_id: UserId) -> Result<Vec<Role>, StoreError> {
        let state = self.state();
        Ok(state
            .grants
            .iter()
            .filter(|(holder, _)| *holder == user_id)
            .filter_map(|(_, name)| state.roles.get(name).cloned())
            .collect())
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let mut state = self.state();
        let before = state.grants.len();
        state.grants.retain(|(holder, _)| *holder != user_id);
        Ok(count(before - state.grants.len()))
    }
}
