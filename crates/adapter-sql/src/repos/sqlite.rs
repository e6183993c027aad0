//! The ports on SQLite, which stores instants as `i64` microseconds.
//! Every file below is shared with the other engine; only the three
//! aliases differ.

#![allow(clippy::duplicate_mod)] // both engines load the same files: that is the point

/// The store the ports are implemented on.
type Store = crate::engine::SqliteStore;
/// Its sqlx database.
type Db = sqlx::Sqlite;
/// How it stores an instant.
type Ts = i64;

#[path = "accounts.rs"]
mod accounts;
#[path = "activity.rs"]
mod activity;
#[path = "api_keys.rs"]
mod api_keys;
#[path = "blocks.rs"]
mod blocks;
#[path = "content.rs"]
mod content;
#[path = "conversation_rows.rs"]
mod conversation_rows;
#[path = "conversations.rs"]
mod conversations;
#[path = "helpers.rs"]
mod helpers;
#[path = "identity.rs"]
mod identity;
#[path = "leases.rs"]
mod leases;
#[path = "mail_queue.rs"]
mod mail_queue;
#[path = "mfa.rs"]
mod mfa;
#[path = "notifications.rs"]
mod notifications;
#[path = "one_time.rs"]
mod one_time;
#[path = "passkeys.rs"]
mod passkeys;
#[path = "payments.rs"]
mod payments;
#[path = "plans.rs"]
mod plans;
#[path = "rate_limit.rs"]
mod rate_limit;
#[path = "rbac.rs"]
mod rbac;
#[path = "settings.rs"]
mod settings;
#[path = "stats.rs"]
mod stats;
#[path = "uploads.rs"]
mod uploads;
#[path = "users.rs"]
mod users;
#[path = "webhooks.rs"]
mod webhooks;
