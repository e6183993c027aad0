//! The mailer port: delivers a rendered [`crate::Mail`].

use async_trait::async_trait;

use crate::{Mail, StoreError};

/// Outgoing mail.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Delivers `mail` or fails; MUST NOT report success for mail it dropped.
    async fn send(&self, mail: &Mail) -> Result<(), StoreError>;
}
