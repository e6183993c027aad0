//! How an account came to be: registration, an administrator, an identity
//! provider, or the bootstrap administrator of the configuration — by
//! whom, and from where.

use serde::{Deserialize, Serialize};

use crate::UserId;

/// The ways an account is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OriginKind {
    /// Registered and verified by its owner.
    Registration,
    /// Made by an administrator for someone (an embedder's call; the HTTP
    /// API has no such operation yet).
    Admin,
    /// Made at the first sign-in through an identity provider.
    Provider,
    /// The administrator of the configuration (`security.bootstrap_admin`)
    /// or of `portico admin create`.
    Bootstrap,
}

impl OriginKind {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registration => "registration",
            Self::Admin => "admin",
            Self::Provider => "provider",
            Self::Bootstrap => "bootstrap",
        }
    }
}

/// Where an account came from. Kept on the user record (and on the
/// registration candidate until it is verified); every text is bounded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserOrigin {
    /// How.
    pub kind: OriginKind,
    /// The identity provider's configured name (`provider` only).
    pub provider: Option<String>,
    /// The administrator who made it (`admin` only).
    pub created_by: Option<UserId>,
    /// The client's IP address at registration or first sign-in.
    pub ip: Option<String>,
    /// Its User-Agent (at most [`USER_AGENT_MAX_BYTES`](crate::USER_AGENT_MAX_BYTES)).
    pub user_agent: Option<String>,
}

impl UserOrigin {
    /// An origin of `kind` from a request's IP and User-Agent (bounded here).
    pub fn new(kind: OriginKind, ip: Option<&str>, user_agent: Option<&str>) -> Self {
        Self {
            kind,
            provider: None,
            created_by: None,
            ip: ip.map(|ip| ip.chars().take(64).collect()),
            user_agent: user_agent.map(|ua| crate::bounded_user_agent(ua).to_owned()),
        }
    }

    /// The text every adapter stores (JSON in one column or field).
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads [`to_stored`](Self::to_stored)'s text back; anything else is
    /// a corrupt record.
    pub fn from_stored(stored: &str) -> Result<Self, crate::StoreError> {
        let origin: Self = serde_json::from_str(stored)
            .map_err(|e| crate::StoreError::with_source("stored user origin", e))?;
        let mut bounded = Self::new(
            origin.kind,
            origin.ip.as_deref(),
            origin.user_agent.as_deref(),
        );
        bounded.provider = origin.provider.map(|p| p.chars().take(64).collect());
        bounded.created_by = origin.created_by;
        Ok(bounded)
    }
}
