//! The `[webhooks]` section: where outgoing webhooks may go, and how the
//! worker sends them.

use serde::{Deserialize, Serialize};

/// Outgoing webhooks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Allow loopback destinations (127.0.0.0/8, ::1, `localhost`), and
    /// plain http to them: a receiver on the same machine.
    pub allow_loopback: bool,
    /// Allow private, link-local and other non-public destinations (a
    /// receiver on the same network). Off, a URL whose host resolves to one
    /// is refused when it is set and again, after DNS, on every delivery.
    pub allow_private: bool,
    /// How long a receiver has to answer, in milliseconds.
    pub timeout_ms: u64,
    /// How often the worker looks for deliveries queued by other instances
    /// and for retries that fell due, in milliseconds (this instance's own
    /// events wake it at once).
    pub poll_interval_ms: u64,
    /// The delay before the first retry, in milliseconds; each later one
    /// follows the Standard Webhooks schedule (5 min, 30 min, 2 h, 5 h,
    /// 10 h, 10 h).
    pub first_retry_ms: u64,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            allow_loopback: false,
            allow_private: false,
            timeout_ms: 10_000,
            poll_interval_ms: 1000,
            first_retry_ms: 5000,
        }
    }
}

impl WebhooksConfig {
    /// Where endpoints may point.
    pub fn net(&self) -> domain::WebhookNetPolicy {
        domain::WebhookNetPolicy {
            allow_loopback: self.allow_loopback,
            allow_private: self.allow_private,
        }
    }

    /// How the queue is worked.
    pub fn dispatch(&self) -> domain::WebhookDispatchPolicy {
        let mut policy = domain::WebhookDispatchPolicy::default();
        let first = i64::try_from(self.first_retry_ms.max(1)).unwrap_or(i64::MAX);
        policy.retries[0] = time::Duration::milliseconds(first);
        policy
    }
}
