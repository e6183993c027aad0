//! The mail worker: delivers queued mail in the background, in every
//! instance (whatever `jobs.enabled` says: the queue's claims keep instances
//! from sending one message twice). It wakes at once when this instance
//! queues mail, and every `mail.poll_interval_ms` for mail queued elsewhere
//! and for retries.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::MailDelivery;
use domain::{MailQueue, QueuedMail, QueuedMailId, StoreError, WriteError};
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::metrics::Metrics;

/// A [`MailQueue`] that wakes the worker when mail is queued.
pub struct Waking {
    inner: Arc<dyn MailQueue>,
    wake: Arc<Notify>,
}

impl Waking {
    /// Wraps `inner`; `wake` is the worker's.
    pub fn new(inner: Arc<dyn MailQueue>, wake: Arc<Notify>) -> Self {
        Self { inner, wake }
    }
}

#[async_trait]
impl MailQueue for Waking {
    async fn enqueue(&self, message: &QueuedMail) -> Result<(), StoreError> {
        self.inner.enqueue(message).await?;
        self.wake.notify_one();
        Ok(())
    }

    async fn claim(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        self.inner.claim(now, until, limit).await
    }

    async fn retry_at(&self, id: QueuedMailId, at: OffsetDateTime) -> Result<(), WriteError> {
        self.inner.retry_at(id, at).await
    }

    async fn remove(&self, id: QueuedMailId) -> Result<(), StoreError> {
        self.inner.remove(id).await
    }

    async fn count(&self) -> Result<u64, StoreError> {
        self.inner.count().await
    }
}

/// The longest pause after the queue's store failed.
const MAX_OUTAGE_PAUSE: Duration = Duration::from_secs(30);

/// Works the queue until aborted.
pub async fn run(
    delivery: MailDelivery,
    wake: Arc<Notify>,
    poll_every: Duration,
    metrics: Arc<Metrics>,
) {
    let mut outages = 0_u32;
    loop {
        let more = match delivery.deliver_due().await {
            Ok(report) => {
                outages = 0;
                for f in &report.failures {
                    let error = crate::error_chain(&f.error);
                    if f.dropped {
                        tracing::error!(mail = %f.id, kind = f.kind.as_str(), attempts = f.attempts, %error, "mail not delivered; giving up");
                    } else {
                        tracing::warn!(mail = %f.id, kind = f.kind.as_str(), attempts = f.attempts, %error, "mail not delivered; will retry");
                    }
                }
                let dropped = report.failures.iter().filter(|f| f.dropped).count();
                for (outcome, n) in [
                    ("delivered", report.delivered),
                    ("expired", report.expired),
                    ("retried", report.failures.len() - dropped),
                    ("dropped", dropped),
                ] {
                    metrics.mail(outcome, n as u64);
                }
                if report.delivered > 0 {
                    tracing::debug!(delivered = report.delivered, "mail delivered");
                }
                report.more_due
            }
            Err(e) => {
                outages = outages.saturating_add(1);
                tracing::warn!(error = %crate::error_chain(&e), "mail queue unreachable; retrying");
                false
            }
        };
        if more {
            continue;
        }
        let pause = if outages == 0 {
            poll_every
        } else {
            (poll_every * 2_u32.saturating_pow(outages.min(16))).min(MAX_OUTAGE_PAUSE)
        };
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(pause) => {}
        }
    }
}
