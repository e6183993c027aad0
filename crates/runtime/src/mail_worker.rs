//! The mail worker: delivers queued mail in the background, in every
//! instance (whatever `jobs.enabled` says: the queue's claims keep instances
//! from sending one message twice). It wakes at once when this instance
//! queues mail, and every `mail.poll_interval_ms` for mail queued elsewhere
//! and for retries.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::MailDelivery;
use domain::{
    MailQueue, QueuedMail, QueuedMailId, StoreError, WebhookDelivery, WebhookDeliveryId,
    WebhookQueue, WriteError,
};
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::metrics::Metrics;

/// A queue that wakes its worker when something is queued: a
/// [`MailQueue`] or a [`WebhookQueue`] wrapped, every other call passed on.
pub struct Waking<Q: ?Sized> {
    inner: Arc<Q>,
    wake: Arc<Notify>,
}

impl<Q: ?Sized> Waking<Q> {
    /// Wraps `inner`; `wake` is the worker's.
    pub fn new(inner: Arc<Q>, wake: Arc<Notify>) -> Self {
        Self { inner, wake }
    }
}

/// The queue port `$port` (of `$item`s with ids `$id`) for [`Waking`].
macro_rules! waking {
    ($port:ident, $item:ty, $id:ty) => {
        #[async_trait]
        impl $port for Waking<dyn $port> {
            async fn enqueue(&self, item: &$item) -> Result<(), StoreError> {
                self.inner.enqueue(item).await?;
                self.wake.notify_one();
                Ok(())
            }

            async fn claim(
                &self,
                now: OffsetDateTime,
                until: OffsetDateTime,
                limit: u32,
            ) -> Result<Vec<$item>, StoreError> {
                self.inner.claim(now, until, limit).await
            }

            async fn retry_at(&self, id: $id, at: OffsetDateTime) -> Result<(), WriteError> {
                self.inner.retry_at(id, at).await
            }

            async fn remove(&self, id: $id) -> Result<(), StoreError> {
                self.inner.remove(id).await
            }

            async fn count(&self) -> Result<u64, StoreError> {
                self.inner.count().await
            }
        }
    };
}

waking!(MailQueue, QueuedMail, QueuedMailId);
waking!(WebhookQueue, WebhookDelivery, WebhookDeliveryId);

/// The longest pause after the queue's store failed.
const MAX_OUTAGE_PAUSE: Duration = Duration::from_secs(30);

/// Runs `round` until aborted: again at once when it says more is due;
/// otherwise after `wake` or `poll_every`; while the queue's store fails,
/// after a doubling pause (at most 30 s), logged as `what` unreachable.
pub(crate) async fn poll_loop<F, Fut>(
    mut round: F,
    wake: Arc<Notify>,
    poll_every: Duration,
    what: &'static str,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, StoreError>>,
{
    let mut outages = 0_u32;
    loop {
        let more = match round().await {
            Ok(more) => {
                outages = 0;
                more
            }
            Err(e) => {
                outages = outages.saturating_add(1);
                tracing::warn!(queue = what, error = %crate::error_chain(&e), "queue unreachable; retrying");
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

/// Works the queue until aborted.
pub async fn run(
    delivery: MailDelivery,
    wake: Arc<Notify>,
    poll_every: Duration,
    metrics: Arc<Metrics>,
) {
    let round = || async {
        let report = delivery.deliver_due().await?;
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
        Ok(report.more_due)
    };
    poll_loop(round, wake, poll_every, "mail").await;
}
