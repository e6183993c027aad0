//! Ports: the traits adapters implement. Each method's documentation says what an
//! adapter MUST do; `contract-tests` holds one test per such rule.
//!
//! Every trait is object safe (`Arc<dyn UserRepository>` works) and `Send + Sync`.
//! With the `mock` feature each trait also has a mockall mock (`MockUserRepository`, …).

mod accounts;
mod auth_changes;
mod content;
mod identity;
mod jobs;
mod mail_queue;
mod mfa;
mod notifications;
mod payments;
mod rate_limit;
mod rbac;
mod system;
mod uploads;
mod users;

pub use accounts::*;
pub use auth_changes::*;
pub use content::*;
pub use identity::*;
pub use jobs::*;
pub use mail_queue::*;
pub use mfa::*;
pub use notifications::*;
pub use payments::*;
pub use rate_limit::*;
pub use rbac::*;
pub use system::*;
pub use uploads::*;
pub use users::*;
