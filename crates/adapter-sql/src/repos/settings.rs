//! `SettingsRepository`: one row (`id = 1`) of `settings`; the first save
//! inserts it (the primary key refuses a second), later ones update it
//! where the version is the expected one.

use domain::{SaveSettingsError, StoredSettings};

use crate::engine::col;

use super::Store;

fn version(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait::async_trait]
impl domain::SettingsRepository for Store {
    async fn load(&self) -> Result<Option<StoredSettings>, domain::StoreError> {
        let row = sqlx::query("SELECT version, body FROM settings WHERE id = 1")
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("reading the settings"))?;
        row.map(|row| {
            Ok(StoredSettings {
                version: u64::try_from(col::<i64, _>(&row, "version")?)
                    .map_err(|_| crate::error::corrupt("version"))?,
                body: col(&row, "body")?,
            })
        })
        .transpose()
    }

    async fn save(&self, expected: u64, next: &StoredSettings) -> Result<(), SaveSettingsError> {
        if expected == 0 {
            let inserted =
                sqlx::query("INSERT INTO settings (id, version, body) VALUES (1, $1, $2)")
                    .bind(version(next.version))
                    .bind(&next.body)
                    .execute(self.pool())
                    .await;
            return match crate::error::inserted(inserted, "saving the settings") {
                Ok(()) => Ok(()),
                Err(domain::InsertError::Conflict) => Err(SaveSettingsError::Stale),
                Err(domain::InsertError::Store(e)) => Err(e.into()),
            };
        }
        let done = sqlx::query(
            "UPDATE settings SET version = $1, body = $2 WHERE id = 1 AND version = $3",
        )
        .bind(version(next.version))
        .bind(&next.body)
        .bind(version(expected))
        .execute(self.pool())
        .await
        .map_err(crate::error::store("saving the settings"))?;
        if done.rows_affected() == 0 {
            return Err(SaveSettingsError::Stale);
        }
        Ok(())
    }
}
