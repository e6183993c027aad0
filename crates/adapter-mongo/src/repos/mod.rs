//! One module per port family; each implements its traits on `MongoStore`.

mod accounts;
mod activity;
mod api_keys;
mod auth_changes;
mod content;
mod identity;
mod jobs;
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
