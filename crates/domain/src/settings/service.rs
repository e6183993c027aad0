//! The settings in force in a process ([`LiveSettings`], which the rules
//! read), and reading and changing them ([`Settings`]).

use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::activity::{Happened, RequestOrigin};
use crate::{
    ActivityKind, Actor, AuthChange, Catalog, Denied, EffectiveSettings, Permission, Principal,
    SaveSettingsError, SettingDef, SettingEntry, SettingType, SettingValue, SettingsRecord,
    StoreError, Stores, System, UserId,
};

/// The settings in force in this process: the catalog, and the values of
/// the last record read. Cheap to clone (every clone shares them); the
/// services that apply a rule read [`LiveSettings::current`] each time, so
/// a change heard from the store applies to the next request.
#[derive(Clone)]
pub struct LiveSettings {
    catalog: Arc<Catalog>,
    current: Arc<RwLock<Arc<EffectiveSettings>>>,
}

impl std::fmt::Debug for LiveSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LiveSettings")
            .field(&self.current())
            .finish()
    }
}

impl Default for LiveSettings {
    fn default() -> Self {
        Self::new(Catalog::default())
    }
}

impl LiveSettings {
    /// The catalog's defaults in force, until a record is read.
    pub fn new(catalog: Catalog) -> Self {
        let current = EffectiveSettings::resolve(&catalog, 0, |_| None);
        Self {
            catalog: Arc::new(catalog),
            current: Arc::new(RwLock::new(Arc::new(current))),
        }
    }

    /// The catalog of `defaults`, its defaults in force; an error names a
    /// default out of its key's range.
    pub fn from_defaults(defaults: &crate::SettingDefaults) -> Result<Self, String> {
        Catalog::new(defaults).map(Self::new)
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The values in force now.
    pub fn current(&self) -> Arc<EffectiveSettings> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Puts `record`'s values in force, unless they are already; whether
    /// anything changed.
    pub fn apply(&self, record: &SettingsRecord) -> bool {
        let next = EffectiveSettings::resolve(&self.catalog, record.version, |def| {
            stored_value(record, def)
        });
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        if **current == next {
            return false;
        }
        *current = Arc::new(next);
        true
    }
}

/// The value `record` sets for `def`, if it sets one the catalog accepts.
fn stored_value(record: &SettingsRecord, def: &SettingDef) -> Option<SettingValue> {
    record
        .entries
        .get(&def.key)
        .and_then(|e| def.parse(&e.value).ok())
}

/// One setting as an administrator sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingItem {
    /// The key.
    pub key: String,
    /// The value in force.
    pub value: Value,
    /// The value from the configuration file.
    pub default: Value,
    /// Its type.
    pub kind: SettingType,
    /// What it does.
    pub description: String,
    /// When it was last set through the API (`None`: it is the default).
    pub updated_at: Option<OffsetDateTime>,
    /// Who set it.
    pub updated_by: Option<UserId>,
}

/// Every setting, at one version.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingsView {
    /// The record's version (for `If-Match`).
    pub version: u64,
    /// Every key of the catalog, sorted.
    pub items: Vec<SettingItem>,
}

/// Why settings could not be read or changed.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The caller lacks `settings:write`.
    #[error(transparent)]
    Forbidden(#[from] Denied),
    /// Keys that are not in the catalog, or values of the wrong type or
    /// range: `(key, message)` for each, by key.
    #[error("invalid settings")]
    Invalid(Vec<(String, String)>),
    /// The settings changed since the version the caller named.
    #[error("the settings changed since version {expected}")]
    Stale {
        /// The version the caller expected.
        expected: u64,
    },
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

unexpected_from_store!(SettingsError);

/// How often a change without `If-Match` is merged again onto a record
/// another writer saved first.
const MERGE_TRIES: usize = 8;

/// Reading and changing the runtime settings.
#[derive(Clone)]
pub struct Settings {
    stores: Stores,
    system: System,
    live: LiveSettings,
}

impl Settings {
    /// The service over `stores`, keeping `live` up to date.
    pub fn new(stores: Stores, system: System, live: LiveSettings) -> Self {
        Self {
            stores,
            system,
            live,
        }
    }

    /// The settings in force in this process.
    pub fn live(&self) -> &LiveSettings {
        &self.live
    }

    /// The stored record (empty before the first save).
    async fn stored(&self) -> Result<SettingsRecord, StoreError> {
        Ok(self
            .stores
            .settings
            .load()
            .await?
            .map(|stored| SettingsRecord::decode(&stored))
            .unwrap_or_default())
    }

    /// The stored record, put in force here.
    async fn load(&self) -> Result<SettingsRecord, StoreError> {
        let record = self.stored().await?;
        self.live.apply(&record);
        Ok(record)
    }

    /// Reads the stored record and puts it in force here; whether anything
    /// changed. Each instance calls it when it hears of a change, and on a
    /// timer in case it missed one.
    pub async fn refresh(&self) -> Result<bool, StoreError> {
        Ok(self.live.apply(&self.stored().await?))
    }

    /// The app's flags (`features.*`) in force: public.
    pub fn features(&self) -> std::collections::BTreeMap<String, bool> {
        self.live.current().features.clone()
    }

    /// Every setting, read from the store; `by` needs `settings:write`.
    pub async fn read(&self, by: &Principal) -> Result<SettingsView, SettingsError> {
        by.require(&Permission::SETTINGS_WRITE)?;
        Ok(self.view(&self.load().await?))
    }

    fn view(&self, record: &SettingsRecord) -> SettingsView {
        let items = self
            .live
            .catalog()
            .defs()
            .iter()
            .map(|def| {
                let set = record
                    .entries
                    .get(&def.key)
                    .filter(|e| def.parse(&e.value).is_ok());
                SettingItem {
                    key: def.key.clone(),
                    value: set.map_or_else(|| def.default.to_json(), |e| e.value.clone()),
                    default: def.default.to_json(),
                    kind: def.kind,
                    description: def.description.clone(),
                    updated_at: set.map(|e| e.updated_at),
                    updated_by: set.and_then(|e| e.updated_by),
                }
            })
            .collect();
        SettingsView {
            version: record.version,
            items,
        }
    }

    /// Checks each of `changes` against the catalog (a `null` value puts
    /// the key back to its default); every problem, by key.
    async fn parse(
        &self,
        changes: &Map<String, Value>,
    ) -> Result<Vec<(SettingDef, Option<Value>)>, SettingsError> {
        if changes.is_empty() {
            return Err(SettingsError::Invalid(vec![(
                String::new(),
                "name at least one setting to change".into(),
            )]));
        }
        let mut parsed = Vec::with_capacity(changes.len());
        let mut errors = Vec::new();
        for (key, value) in changes {
            let Some(def) = self.live.catalog().get(key) else {
                errors.push((key.clone(), "there is no such setting".into()));
                continue;
            };
            if value.is_null() {
                parsed.push((def.clone(), None));
                continue;
            }
            match def.parse(value) {
                Ok(SettingValue::Plan(name))
                    if !name.is_free() && self.stores.plans.get(&name).await?.is_none() =>
                {
                    errors.push((key.clone(), format!("there is no plan named {name}")));
                }
                Ok(v) => parsed.push((def.clone(), Some(v.to_json()))),
                Err(message) => errors.push((key.clone(), message)),
            }
        }
        errors.sort();
        if errors.is_empty() {
            Ok(parsed)
        } else {
            Err(SettingsError::Invalid(errors))
        }
    }

    /// Sets each key of `changes` to its value (`null`: back to the
    /// default), if the record is at version `if_match` when one is given;
    /// `by` needs `settings:write`. Keys not named keep what they hold,
    /// whoever saved last. A change writes one `settings.changed` event
    /// (details: `version`, and `changes` with each key's `from` and `to`;
    /// from the IP and device of `by`'s session), bumps the version, applies
    /// here at once and is announced to every other instance. Values equal
    /// to what is stored change nothing.
    pub async fn change(
        &self,
        by: &Principal,
        if_match: Option<u64>,
        changes: &Map<String, Value>,
    ) -> Result<SettingsView, SettingsError> {
        by.require(&Permission::SETTINGS_WRITE)?;
        let parsed = self.parse(changes).await?;
        for _ in 0..MERGE_TRIES {
            let record = self.load().await?;
            if let Some(expected) = if_match
                && expected != record.version
            {
                return Err(SettingsError::Stale { expected });
            }
            let (next, details) = self.merged(&record, &parsed, by.user_id());
            if next.entries == record.entries {
                return Ok(self.view(&record));
            }
            let version = record.version + 1;
            match self
                .stores
                .settings
                .save(record.version, &next.encode(version))
                .await
            {
                Ok(()) => {}
                Err(SaveSettingsError::Stale) => match if_match {
                    Some(expected) => return Err(SettingsError::Stale { expected }),
                    None => continue,
                },
                Err(SaveSettingsError::Store(e)) => return Err(e.into()),
            }
            let next = SettingsRecord { version, ..next };
            self.live.apply(&next);
            self.stores.announce(AuthChange::Settings).await;
            let origin = RequestOrigin::of_session(by);
            let happened = Happened::new(
                ActivityKind::SettingsChanged,
                by.user_id(),
                Actor::Admin(by.user_id()),
                &origin,
            )
            .with("version", version)
            .with("changes", details);
            crate::activity::record(&self.stores, &self.system, happened).await?;
            return Ok(self.view(&next));
        }
        Err(StoreError::busy("the settings kept changing while this change was merged").into())
    }

    /// `record` with `parsed` applied, and the event's `changes` detail.
    fn merged(
        &self,
        record: &SettingsRecord,
        parsed: &[(SettingDef, Option<Value>)],
        by: UserId,
    ) -> (SettingsRecord, Map<String, Value>) {
        let now = self.system.now();
        let mut next = record.clone();
        let mut details = Map::new();
        for (def, value) in parsed {
            let in_force = |r: &SettingsRecord| {
                stored_value(r, def)
                    .unwrap_or_else(|| def.default.clone())
                    .to_json()
            };
            let from = in_force(&next);
            let stored = next.entries.get(&def.key).map(|e| &e.value);
            if stored == value.as_ref() {
                continue;
            }
            match value {
                None => {
                    next.entries.remove(&def.key);
                }
                Some(value) => {
                    next.entries.insert(
                        def.key.clone(),
                        SettingEntry {
                            value: value.clone(),
                            updated_at: now,
                            updated_by: Some(by),
                        },
                    );
                }
            }
            let mut change = Map::new();
            change.insert("from".into(), from);
            change.insert("to".into(), in_force(&next));
            details.insert(def.key.clone(), Value::Object(change));
        }
        (next, details)
    }
}
