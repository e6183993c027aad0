//! The fixed catalog of runtime settings: each key's type, range, default
//! (from configuration) and description, and the typed values the rules
//! read.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{Feature, PlanName};

/// The keys of the catalog (besides `features.<name>`).
pub mod setting_keys {
    /// Whether `POST /v1/registrations` (and a first sign-in through an
    /// identity provider) may create accounts.
    pub const REGISTRATION_OPEN: &str = "registration.open";
    /// The plan new accounts start on.
    pub const DEFAULT_PLAN: &str = "registration.default_plan";
    /// Fewest characters a new password may have.
    pub const PASSWORD_MIN_LENGTH: &str = "password.min_length";
    /// Password attempts per account and client IP within the lockout window.
    pub const LOCKOUT_ATTEMPTS: &str = "security.lockout_attempts";
    /// The lockout window, in minutes.
    pub const LOCKOUT_MINUTES: &str = "security.lockout_minutes";
    /// Whether a sign-in from a new device kind mails the user.
    pub const NEW_DEVICE_ALERTS: &str = "mail.new_device_alerts";
    /// Whether users may sign in by a link and code mailed to them.
    pub const SIGN_IN_BY_MAIL: &str = "mail.sign_in";
    /// The prefix of the app's own flags (`features.<name>`).
    pub const FEATURE_PREFIX: &str = "features.";
}

/// The type (and range) of a setting's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingType {
    /// `true` or `false`.
    Bool,
    /// A whole number in `min..=max`.
    Integer {
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },
    /// The name of a plan that exists (or the built-in default).
    Plan,
}

impl SettingType {
    /// The type's name on the wire: `bool`, `integer` or `plan`.
    pub fn name(self) -> &'static str {
        match self {
            SettingType::Bool => "bool",
            SettingType::Integer { .. } => "integer",
            SettingType::Plan => "plan",
        }
    }
}

/// A setting's value, of its key's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingValue {
    /// A flag.
    Bool(bool),
    /// A number in its key's range.
    Integer(i64),
    /// A plan's name.
    Plan(PlanName),
}

impl SettingValue {
    /// The value as JSON (`true`, `12`, `"pro"`).
    pub fn to_json(&self) -> Value {
        match self {
            SettingValue::Bool(b) => Value::Bool(*b),
            SettingValue::Integer(n) => Value::from(*n),
            SettingValue::Plan(p) => Value::String(p.as_str().to_owned()),
        }
    }
}

/// One key of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingDef {
    /// The key (`password.min_length`).
    pub key: String,
    /// Its type and range.
    pub kind: SettingType,
    /// The value while nobody set one: from the configuration file.
    pub default: SettingValue,
    /// What it does, for people.
    pub description: String,
}

impl SettingDef {
    /// Reads `value` as this key's type: the message says what is wrong.
    /// A plan name is only parsed here; whether the plan exists is the
    /// service's check.
    pub fn parse(&self, value: &Value) -> Result<SettingValue, String> {
        match self.kind {
            SettingType::Bool => value
                .as_bool()
                .map(SettingValue::Bool)
                .ok_or_else(|| "must be true or false".to_owned()),
            SettingType::Integer { min, max } => value
                .as_i64()
                .filter(|n| (min..=max).contains(n))
                .map(SettingValue::Integer)
                .ok_or_else(|| format!("must be a whole number from {min} to {max}")),
            SettingType::Plan => match value.as_str().map(PlanName::parse) {
                Some(Ok(name)) => Ok(SettingValue::Plan(name)),
                Some(Err(e)) => Err(format!("must be a plan's name: {e}")),
                None => Err("must be a plan's name".to_owned()),
            },
        }
    }
}

/// An app flag the configuration declares (`features.<name>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagDefault {
    /// The flag's name (the part after `features.`).
    pub name: Feature,
    /// Its value until someone sets one.
    pub default: bool,
    /// What it turns on; `None`: a generic description.
    pub description: Option<String>,
}

/// The defaults of the catalog, as the configuration file gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingDefaults {
    /// `registration.open`.
    pub registration_open: bool,
    /// `registration.default_plan`.
    pub default_plan: PlanName,
    /// `password.min_length`.
    pub password_min_length: u32,
    /// `security.lockout_attempts`.
    pub lockout_attempts: u32,
    /// `security.lockout_minutes`.
    pub lockout_minutes: u32,
    /// `mail.new_device_alerts`.
    pub new_device_alerts: bool,
    /// `mail.sign_in`.
    pub sign_in_by_mail: bool,
    /// The app's flags.
    pub features: Vec<FlagDefault>,
}

impl Default for SettingDefaults {
    fn default() -> Self {
        Self {
            registration_open: true,
            default_plan: PlanName::free(),
            password_min_length: 10,
            lockout_attempts: 5,
            lockout_minutes: 15,
            new_device_alerts: true,
            sign_in_by_mail: true,
            features: Vec::new(),
        }
    }
}

/// The ranges of the numeric keys.
pub const PASSWORD_MIN_LENGTH_RANGE: (i64, i64) = (8, 128);
/// `security.lockout_attempts`'s range.
pub const LOCKOUT_ATTEMPTS_RANGE: (i64, i64) = (1, 100);
/// `security.lockout_minutes`'s range (one day at most).
pub const LOCKOUT_MINUTES_RANGE: (i64, i64) = (1, 1440);
/// The most app flags a catalog declares.
pub const MAX_FLAGS: usize = 100;

/// The fixed catalog: every key, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    defs: Vec<SettingDef>,
}

impl Default for Catalog {
    fn default() -> Self {
        Self::new(&SettingDefaults::default()).unwrap_or(Self { defs: Vec::new() })
    }
}

impl Catalog {
    /// The catalog with `defaults`; an error names a default of the wrong
    /// range (a configuration mistake to report at start-up).
    pub fn new(defaults: &SettingDefaults) -> Result<Self, String> {
        let int = |key: &str, (min, max): (i64, i64), value: u32, description: &str| {
            let value = i64::from(value);
            if !(min..=max).contains(&value) {
                return Err(format!("{key}: {value} is outside {min}..={max}"));
            }
            Ok(SettingDef {
                key: key.to_owned(),
                kind: SettingType::Integer { min, max },
                default: SettingValue::Integer(value),
                description: description.to_owned(),
            })
        };
        let flag = |key: &str, value: bool, description: &str| SettingDef {
            key: key.to_owned(),
            kind: SettingType::Bool,
            default: SettingValue::Bool(value),
            description: description.to_owned(),
        };
        let mut defs = vec![
            flag(
                setting_keys::REGISTRATION_OPEN,
                defaults.registration_open,
                "Whether new accounts can be created (registration, and a first sign-in \
                 through an identity provider). When off, registration answers \
                 registration-closed.",
            ),
            SettingDef {
                key: setting_keys::DEFAULT_PLAN.to_owned(),
                kind: SettingType::Plan,
                default: SettingValue::Plan(defaults.default_plan.clone()),
                description: "The plan new accounts start on.".to_owned(),
            },
            int(
                setting_keys::PASSWORD_MIN_LENGTH,
                PASSWORD_MIN_LENGTH_RANGE,
                defaults.password_min_length,
                "Fewest characters a new password may have (passwords set before keep working).",
            )?,
            int(
                setting_keys::LOCKOUT_ATTEMPTS,
                LOCKOUT_ATTEMPTS_RANGE,
                defaults.lockout_attempts,
                "Password attempts per account and client IP before that IP is locked out \
                 of the account for the lockout window.",
            )?,
            int(
                setting_keys::LOCKOUT_MINUTES,
                LOCKOUT_MINUTES_RANGE,
                defaults.lockout_minutes,
                "The lockout window, in minutes: attempts are counted in it, and a lockout lasts it.",
            )?,
            flag(
                setting_keys::NEW_DEVICE_ALERTS,
                defaults.new_device_alerts,
                "Whether a sign-in from a device kind the user has not used in 90 days \
                 mails them a new-sign-in notice.",
            ),
            flag(
                setting_keys::SIGN_IN_BY_MAIL,
                defaults.sign_in_by_mail,
                "Whether users may sign in by a link and code mailed to their address \
                 (POST /v1/sessions/email). When off, asking and finishing are refused, \
                 also for mails already sent.",
            ),
        ];
        if defaults.features.len() > MAX_FLAGS {
            return Err(format!("at most {MAX_FLAGS} feature flags"));
        }
        for f in &defaults.features {
            let key = format!("{}{}", setting_keys::FEATURE_PREFIX, f.name);
            if defs.iter().any(|d| d.key == key) {
                return Err(format!("{key} is declared twice"));
            }
            let description = f
                .description
                .clone()
                .unwrap_or_else(|| format!("The app's flag `{}`.", f.name));
            defs.push(flag(&key, f.default, &description));
        }
        defs.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self { defs })
    }

    /// Every key, sorted.
    pub fn defs(&self) -> &[SettingDef] {
        &self.defs
    }

    /// The key `key`, if the catalog has it.
    pub fn get(&self, key: &str) -> Option<&SettingDef> {
        self.defs
            .binary_search_by(|d| d.key.as_str().cmp(key))
            .ok()
            .map(|i| &self.defs[i])
    }
}

/// The settings in force: the typed values the rules read, from the stored
/// record over the catalog's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveSettings {
    /// The stored record's version (0: nothing stored yet).
    pub version: u64,
    /// `registration.open`.
    pub registration_open: bool,
    /// `registration.default_plan`.
    pub default_plan: PlanName,
    /// `password.min_length`.
    pub password_min_length: usize,
    /// `security.lockout_attempts`.
    pub lockout_attempts: u32,
    /// `security.lockout_minutes`, as a duration.
    pub lockout_window: time::Duration,
    /// `mail.new_device_alerts`.
    pub new_device_alerts: bool,
    /// `mail.sign_in`.
    pub sign_in_by_mail: bool,
    /// The app's flags, by name (without the `features.` prefix).
    pub features: BTreeMap<String, bool>,
}

impl Default for EffectiveSettings {
    fn default() -> Self {
        Self::resolve(&Catalog::default(), 0, |_| None)
    }
}

impl EffectiveSettings {
    /// The values in force: `stored(key)` where it gives one, the default
    /// elsewhere.
    pub fn resolve(
        catalog: &Catalog,
        version: u64,
        stored: impl Fn(&SettingDef) -> Option<SettingValue>,
    ) -> Self {
        let mut s = Self {
            version,
            registration_open: true,
            default_plan: PlanName::free(),
            password_min_length: 10,
            lockout_attempts: 5,
            lockout_window: time::Duration::minutes(15),
            new_device_alerts: true,
            sign_in_by_mail: true,
            features: BTreeMap::new(),
        };
        let positive = |n: i64| u32::try_from(n.max(1)).unwrap_or(u32::MAX);
        for def in catalog.defs() {
            let value = stored(def).unwrap_or_else(|| def.default.clone());
            match (def.key.as_str(), &value) {
                (setting_keys::REGISTRATION_OPEN, SettingValue::Bool(b)) => {
                    s.registration_open = *b
                }
                (setting_keys::DEFAULT_PLAN, SettingValue::Plan(p)) => s.default_plan = p.clone(),
                (setting_keys::PASSWORD_MIN_LENGTH, SettingValue::Integer(n)) => {
                    s.password_min_length = positive(*n) as usize;
                }
                (setting_keys::LOCKOUT_ATTEMPTS, SettingValue::Integer(n)) => {
                    s.lockout_attempts = positive(*n);
                }
                (setting_keys::LOCKOUT_MINUTES, SettingValue::Integer(n)) => {
                    s.lockout_window = time::Duration::minutes(i64::from(positive(*n)));
                }
                (setting_keys::NEW_DEVICE_ALERTS, SettingValue::Bool(b)) => {
                    s.new_device_alerts = *b
                }
                (setting_keys::SIGN_IN_BY_MAIL, SettingValue::Bool(b)) => s.sign_in_by_mail = *b,
                (key, SettingValue::Bool(b)) => {
                    if let Some(name) = key.strip_prefix(setting_keys::FEATURE_PREFIX) {
                        s.features.insert(name.to_owned(), *b);
                    }
                }
                _ => {}
            }
        }
        s
    }
}
