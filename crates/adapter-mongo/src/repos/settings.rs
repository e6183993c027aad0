//! `settings`: one document (`_id` = `settings`) holding the version and
//! the body; the first save inserts it (the `_id` refuses a second), later
//! ones update it where the version is the expected one.

use async_trait::async_trait;
use domain::*;
use mongodb::bson::doc;

use crate::MongoStore;
use crate::codec::*;
use crate::error::{is_duplicate, store};
use crate::indexes::names::SETTINGS;

const ID: &str = "settings";

#[async_trait]
impl SettingsRepository for MongoStore {
    async fn load(&self) -> Result<Option<StoredSettings>, StoreError> {
        let Some(d) = self
            .coll(SETTINGS)
            .find_one(doc! {"_id": ID})
            .await
            .map_err(store("read the settings"))?
        else {
            return Ok(None);
        };
        let f = Fields::of(&d, "settings");
        Ok(Some(StoredSettings {
            version: f.u64("version")?,
            body: f.str("body")?.to_owned(),
        }))
    }

    async fn save(&self, expected: u64, next: &StoredSettings) -> Result<(), SaveSettingsError> {
        let coll = self.coll(SETTINGS);
        if expected == 0 {
            return match coll
                .insert_one(doc! {"_id": ID, "version": int(next.version), "body": &next.body})
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if is_duplicate(&e) => Err(SaveSettingsError::Stale),
                Err(e) => Err(store("save the settings")(e).into()),
            };
        }
        let done = coll
            .update_one(
                doc! {"_id": ID, "version": int(expected)},
                doc! {"$set": {"version": int(next.version), "body": &next.body}},
            )
            .await
            .map_err(store("save the settings"))?;
        if done.matched_count == 0 {
            return Err(SaveSettingsError::Stale);
        }
        Ok(())
    }
}
