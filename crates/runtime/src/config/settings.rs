//! The defaults of the runtime settings: each setting's key is the
//! configuration key of the same name (`registration.open`,
//! `password.min_length`, `security.lockout_attempts`, …, and the app's
//! flags under `[features]`); what administrators change through
//! `PATCH /v1/settings` overrides them while the server runs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Config;

/// The `[registration]` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrationConfig {
    /// Default of `registration.open`: whether new accounts can be made.
    pub open: bool,
    /// Default of `registration.default_plan`: the plan new accounts start
    /// on (a stored plan's name, or the built-in `free`).
    pub default_plan: String,
}

impl Default for RegistrationConfig {
    fn default() -> Self {
        Self {
            open: true,
            default_plan: "free".into(),
        }
    }
}

/// The `[password]` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordConfig {
    /// Default of `password.min_length` (8–128).
    pub min_length: u32,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        Self { min_length: 10 }
    }
}

/// An app flag under `[features]`: `beta = false`, or
/// `beta = { default = false, description = "The new editor" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum FlagConfig {
    /// Just the default.
    Plain(bool),
    /// The default and what the flag turns on.
    Described {
        /// Its value until someone sets one.
        default: bool,
        /// What it turns on (shown beside it).
        description: String,
    },
}

/// The `[settings]` section: how instances follow changes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SettingsConfig {
    /// How often each instance reads the settings again, in milliseconds,
    /// besides applying the changes it hears of at once: the longest a
    /// change takes to apply everywhere when an announcement is lost.
    pub poll_interval_ms: u64,
}

impl Default for SettingsConfig {
    fn default() -> Self {
        Self {
            poll_interval_ms: 1000,
        }
    }
}

impl Config {
    /// The catalog's defaults from this configuration; an error names the
    /// key that is wrong.
    pub fn setting_defaults(&self) -> Result<domain::SettingDefaults, String> {
        let default_plan = domain::PlanName::parse(&self.registration.default_plan)
            .map_err(|e| format!("registration.default_plan: {e}"))?;
        let features = self
            .features
            .iter()
            .map(|(name, flag)| {
                let name =
                    domain::Feature::parse(name).map_err(|e| format!("features.{name}: {e}"))?;
                let (default, description) = match flag {
                    FlagConfig::Plain(on) => (*on, None),
                    FlagConfig::Described {
                        default,
                        description,
                    } => (*default, Some(description.clone())),
                };
                Ok(domain::FlagDefault {
                    name,
                    default,
                    description,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let defaults = domain::SettingDefaults {
            registration_open: self.registration.open,
            default_plan,
            password_min_length: self.password.min_length,
            lockout_attempts: self.security.lockout_attempts,
            lockout_minutes: self.security.lockout_minutes,
            new_device_alerts: self.mail.new_device_alerts,
            sign_in_by_mail: self.mail.sign_in,
            features,
        };
        domain::Catalog::new(&defaults)?;
        Ok(defaults)
    }
}

/// The `[features]` section: the app's flags by name.
pub type FeaturesConfig = BTreeMap<String, FlagConfig>;
