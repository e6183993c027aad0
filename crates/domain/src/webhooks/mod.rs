//! Outgoing webhooks, as the Standard Webhooks specification describes
//! them: endpoints subscribe to event types; each event the domain
//! publishes (from its activity events, payments and uploads) is queued
//! durably per endpoint in the call that made the change, then signed and
//! posted by a background worker, retried with back-off, logged per
//! attempt, and dropped once its schedule is spent. An endpoint failing
//! for three days is turned off.

mod destinations;
mod dispatch;
mod model;
mod service;
mod signature;

pub use destinations::*;
pub use dispatch::*;
pub use model::*;
pub use service::{
    CreatedWebhook, MAX_LISTED_ATTEMPTS, MAX_WEBHOOKS, NewWebhook, WebhookError, Webhooks,
};
pub(crate) use service::{publish, publish_activity};
pub use signature::*;

#[cfg(test)]
mod tests;
