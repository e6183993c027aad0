//! Delivering queued events: sign, post, log, and retry on the Standard
//! Webhooks schedule; an endpoint that has failed for three days is
//! turned off.

use std::collections::HashMap;

use async_trait::async_trait;
use time::Duration;

use crate::*;

/// What a receiver did with a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookResponse {
    /// It answered with this status (2xx is success).
    Status(u16),
    /// No answer: the address was refused, the connection failed, or it
    /// timed out.
    Failed(String),
}

/// Posts a delivery. The adapter MUST refuse (as `Failed`) an address
/// `policy` does not allow, checking every address the host resolves to,
/// MUST NOT follow redirects, and MUST give up after its timeout.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait WebhookTransport: Send + Sync {
    /// Posts `body` (JSON) to `url` with `headers`.
    async fn post(
        &self,
        url: &WebhookUrl,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> WebhookResponse;
}

/// How the queue is worked.
#[derive(Debug, Clone)]
pub struct WebhookDispatchPolicy {
    /// Deliveries claimed per round.
    pub batch: u32,
    /// How long a claimed delivery stays hidden from other workers.
    pub claim_for: Duration,
    /// The waits before each retry; a delivery is dropped after the last.
    pub retries: Vec<Duration>,
    /// An endpoint failing this long (with no success) is turned off.
    pub disable_after: Duration,
}

impl Default for WebhookDispatchPolicy {
    /// 50 a round; retries after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and
    /// 10 h (8 attempts over about 28 hours, the specification's schedule);
    /// endpoints off after 3 days of failures.
    fn default() -> Self {
        Self {
            batch: 50,
            claim_for: Duration::minutes(2),
            retries: vec![
                Duration::seconds(5),
                Duration::minutes(5),
                Duration::minutes(30),
                Duration::hours(2),
                Duration::hours(5),
                Duration::hours(10),
                Duration::hours(10),
            ],
            disable_after: Duration::days(3),
        }
    }
}

/// What one round did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Deliveries claimed.
    pub claimed: usize,
    /// Whether the claim took a full batch, so more may be due at once.
    pub more_due: bool,
    /// Taken by their receiver (2xx).
    pub delivered: usize,
    /// Failed, to be tried again.
    pub retried: usize,
    /// Failed for the last time, or for an endpoint that is gone or off.
    pub dropped: usize,
    /// Endpoints turned off in this round.
    pub disabled: Vec<WebhookId>,
}

/// Works the webhook queue (the server runs it in every instance: claims
/// keep two from sending one delivery at once).
#[derive(Clone)]
pub struct WebhookDispatch {
    stores: Stores,
    system: System,
    transport: std::sync::Arc<dyn WebhookTransport>,
    policy: WebhookDispatchPolicy,
}

impl WebhookDispatch {
    /// Builds the worker's service.
    pub fn new(
        stores: Stores,
        system: System,
        transport: std::sync::Arc<dyn WebhookTransport>,
        policy: WebhookDispatchPolicy,
    ) -> Self {
        Self {
            stores,
            system,
            transport,
            policy,
        }
    }

    /// Claims one batch of due deliveries and works each; `more_due` in
    /// the report says whether to run again at once. Deliveries go out
    /// concurrently (one slow receiver does not hold the others back).
    pub async fn deliver_due(&self) -> Result<DispatchReport, StoreError> {
        let now = self.system.now();
        let claimed = self
            .stores
            .webhook_queue
            .claim(now, now + self.policy.claim_for, self.policy.batch)
            .await?;
        let mut report = DispatchReport {
            claimed: claimed.len(),
            more_due: claimed.len() >= self.policy.batch as usize,
            ..DispatchReport::default()
        };
        let mut endpoints: HashMap<WebhookId, Option<WebhookEndpoint>> = HashMap::new();
        for d in &claimed {
            if let std::collections::hash_map::Entry::Vacant(slot) = endpoints.entry(d.endpoint_id)
            {
                slot.insert(self.stores.webhooks.get(d.endpoint_id).await?);
            }
        }
        let outcomes = futures::future::join_all(claimed.into_iter().map(|d| {
            let endpoint = endpoints.get(&d.endpoint_id).cloned().flatten();
            async move { self.work(d, endpoint).await }
        }))
        .await;
        for outcome in outcomes {
            match outcome? {
                Outcome::Delivered => report.delivered += 1,
                Outcome::Retried => report.retried += 1,
                Outcome::Dropped => report.dropped += 1,
                Outcome::Disabled(id) => {
                    report.dropped += 1;
                    report.disabled.push(id);
                }
            }
        }
        Ok(report)
    }

    async fn work(
        &self,
        delivery: WebhookDelivery,
        endpoint: Option<WebhookEndpoint>,
    ) -> Result<Outcome, StoreError> {
        let queue = &self.stores.webhook_queue;
        let Some(endpoint) = endpoint.filter(|e| e.enabled) else {
            queue.remove(delivery.id).await?;
            return Ok(Outcome::Dropped);
        };
        let secret = self
            .system
            .sealer
            .open(
                &WebhookEndpoint::secret_context(endpoint.id),
                &endpoint.secret,
            )
            .ok()
            .and_then(WebhookSecret::from_bytes);
        let response = match secret {
            Some(secret) => {
                let msg_id = message_id(delivery.event_id);
                let timestamp = self.system.now().unix_timestamp();
                let headers = [
                    ("webhook-id", msg_id.clone()),
                    ("webhook-timestamp", timestamp.to_string()),
                    (
                        "webhook-signature",
                        secret.sign(&msg_id, timestamp, &delivery.payload),
                    ),
                ];
                self.transport
                    .post(&endpoint.url, &headers, &delivery.payload)
                    .await
            }
            // Not sent unsigned: the keyring lacks the key it was sealed with.
            None => WebhookResponse::Failed(
                "the endpoint's secret does not open with this server's keyring".into(),
            ),
        };
        let at = self.system.now();
        let (status, error) = match response {
            WebhookResponse::Status(s) if (200..300).contains(&s) => (Some(s), None),
            WebhookResponse::Status(s) => (Some(s), Some(format!("answered {s}"))),
            WebhookResponse::Failed(e) => (None, Some(e.chars().take(300).collect())),
        };
        let attempt = WebhookAttempt {
            endpoint_id: endpoint.id,
            event_id: delivery.event_id,
            event_type: delivery.event_type,
            attempt: delivery.attempts,
            status,
            error,
            at,
        };
        self.stores.webhooks.log_attempt(&attempt).await?;
        let webhooks = &self.stores.webhooks;
        if attempt.succeeded() {
            queue.remove(delivery.id).await?;
            if endpoint.failing_since.is_some() {
                webhooks.record_success(endpoint.id).await?;
            }
            return Ok(Outcome::Delivered);
        }
        let since = match webhooks.record_failure(endpoint.id, at).await {
            Ok(since) => since,
            Err(WriteError::NotFound) => {
                queue.remove(delivery.id).await?;
                return Ok(Outcome::Dropped);
            }
            Err(WriteError::Store(e)) => return Err(e),
        };
        if at - since >= self.policy.disable_after
            && webhooks.disable_failing(endpoint.id, since).await?
        {
            queue.remove(delivery.id).await?;
            return Ok(Outcome::Disabled(endpoint.id));
        }
        let Some(wait) = self
            .policy
            .retries
            .get(delivery.attempts.saturating_sub(1) as usize)
        else {
            queue.remove(delivery.id).await?;
            return Ok(Outcome::Dropped);
        };
        match queue.retry_at(delivery.id, at + *wait).await {
            Ok(()) | Err(WriteError::NotFound) => Ok(Outcome::Retried),
            Err(WriteError::Store(e)) => Err(e),
        }
    }
}

enum Outcome {
    Delivered,
    Retried,
    Dropped,
    Disabled(WebhookId),
}
