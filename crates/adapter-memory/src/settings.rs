//! `SettingsRepository`: the record, replaced under the store's lock.

use async_trait::async_trait;
use domain::*;

use super::MemoryStore;

#[async_trait]
impl SettingsRepository for MemoryStore {
    async fn load(&self) -> Result<Option<StoredSettings>, StoreError> {
        Ok(self.state().settings.clone())
    }

    async fn save(&self, expected: u64, next: &StoredSettings) -> Result<(), SaveSettingsError> {
        let mut state = self.state();
        let stored = state.settings.as_ref().map_or(0, |s| s.version);
        if stored != expected {
            return Err(SaveSettingsError::Stale);
        }
        state.settings = Some(next.clone());
        Ok(())
    }
}
