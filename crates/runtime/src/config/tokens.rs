//! `[tokens]`: the form of the access tokens sign-in and refresh answer.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::accounts::redacted;

/// What an access token is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessFormat {
    /// 256 random bits, checked against the session store.
    #[default]
    Opaque,
    /// An Ed25519-signed JWT (`GET /.well-known/jwks.json` publishes the
    /// keys), still checked against its session by Portico.
    Jwt,
}

/// The access tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokensConfig {
    /// `opaque` (the default) or `jwt`.
    pub access_format: AccessFormat,
    /// A JWT's lifetime in seconds (30–86400): the bound on how long a
    /// service that only checks signatures accepts a revoked session's token.
    pub jwt_ttl_secs: u64,
    /// The JWT signing keys: entries `<id>:<64 hex characters>:<unix time
    /// added>` separated by commas or newlines, the last one current.
    /// Empty: a key file is created once in `<data_dir>/jwt.keys` (mode
    /// 0600), which `portico keys rotate --jwt` extends. Instances must
    /// share the keys.
    #[serde(serialize_with = "redacted")]
    pub jwt_keys: SecretString,
}

impl Default for TokensConfig {
    fn default() -> Self {
        Self {
            access_format: AccessFormat::Opaque,
            jwt_ttl_secs: 300,
            jwt_keys: SecretString::default(),
        }
    }
}

impl TokensConfig {
    /// Checks the lifetime's range.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if !(30..=86_400).contains(&self.jwt_ttl_secs) {
            return Err(format!(
                "tokens.jwt_ttl_secs: {} must be from 30 to 86400",
                self.jwt_ttl_secs
            ));
        }
        Ok(())
    }

    /// A JWT's lifetime.
    pub fn jwt_ttl(&self) -> time::Duration {
        time::Duration::seconds(i64::try_from(self.jwt_ttl_secs).unwrap_or(300))
    }
}
