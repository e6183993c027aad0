//! One module per port family; each implements its traits on `RedisStore`.

mod accounts;
mod activity;
mod api_keys;
mod content;
mod identity;
pub(crate) mod jobs;
mod mail_queue;
mod mfa;
mod notifications;
mod passkeys;
mod payments;
mod plans;
mod rate_limit;
mod rbac;
mod settings;
mod stats;
mod uploads;
mod users;
