//! `settings`: one hash (`version`, `body`) in its own slot, replaced by a
//! script that compares the version first.

use std::sync::LazyLock;

use async_trait::async_trait;
use domain::*;
use fred::types::scripts::Script;

use crate::codec::*;
use crate::{Family, RedisStore};

/// KEYS: the record. ARGV: expected version ('0': none yet), next version,
/// next body. Returns 1 when saved, 0 when the version differs.
static SAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local v = redis.call('HGET', KEYS[1], 'version')
if (v or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'body', ARGV[3])
return 1
"#,
    )
});

impl RedisStore {
    fn settings_key(&self) -> String {
        self.key(Family::Settings, "settings")
    }
}

#[async_trait]
impl SettingsRepository for RedisStore {
    async fn load(&self) -> Result<Option<StoredSettings>, StoreError> {
        let map = self
            .hgetall(self.settings_key(), "read the settings")
            .await?;
        if map.is_empty() {
            return Ok(None);
        }
        let f = Fields::new(map, "settings");
        Ok(Some(StoredSettings {
            version: f.u64("version")?,
            body: f.str("body")?.to_owned(),
        }))
    }

    async fn save(&self, expected: u64, next: &StoredSettings) -> Result<(), SaveSettingsError> {
        let saved: i64 = self
            .eval(
                &SAVE,
                vec![self.settings_key()],
                vec![
                    expected.to_string(),
                    next.version.to_string(),
                    next.body.clone(),
                ],
                "save the settings",
            )
            .await?;
        if saved == 0 {
            return Err(SaveSettingsError::Stale);
        }
        Ok(())
    }
}
