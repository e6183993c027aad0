//! Housekeeping: deletes what expired in stores that do not expire records
//! themselves (sessions, registration candidates, single-use tokens,
//! notifications, rate-limit counters, provider sign-in flows), and
//! activity events older than their retention.

use crate::StoreError;
use crate::{Stores, System};

/// How many records one purge deleted, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Auth sessions past their refresh expiry (with their refresh tokens).
    pub sessions: u64,
    /// Registration candidates.
    pub candidates: u64,
    /// Password-reset, deletion and other single-use tokens.
    pub one_time_tokens: u64,
    /// Notifications past `expires_at`.
    pub notifications: u64,
    /// Rate-limit windows that ended.
    pub rate_limit_counters: u64,
    /// Provider sign-in flows whose callback never came.
    pub oauth_flows: u64,
    /// Passkey ceremonies never finished.
    pub passkey_challenges: u64,
    /// Activity events older than the retention.
    pub activity_events: u64,
    /// Webhook delivery-log entries older than
    /// [`Maintenance::WEBHOOK_LOG_RETENTION`].
    pub webhook_attempts: u64,
}

impl PurgeReport {
    /// Everything deleted.
    pub fn total(&self) -> u64 {
        self.sessions
            + self.candidates
            + self.one_time_tokens
            + self.notifications
            + self.rate_limit_counters
            + self.oauth_flows
            + self.passkey_challenges
            + self.activity_events
            + self.webhook_attempts
    }
}

/// Housekeeping jobs.
#[derive(Clone)]
pub struct Maintenance {
    stores: Stores,
    system: System,
    activity_retention: time::Duration,
}

impl Maintenance {
    /// How long activity events are kept by default: a year.
    pub const ACTIVITY_RETENTION: time::Duration = time::Duration::days(365);

    /// How long webhook delivery attempts are listed: 30 days (a delivery's
    /// retries end within about 28 hours).
    pub const WEBHOOK_LOG_RETENTION: time::Duration = time::Duration::days(30);

    /// Builds the service, keeping activity events a year.
    pub fn new(stores: Stores, system: System) -> Self {
        Self {
            stores,
            system,
            activity_retention: Self::ACTIVITY_RETENTION,
        }
    }

    /// The same, keeping activity events for `retention`.
    pub fn with_activity_retention(mut self, retention: time::Duration) -> Self {
        self.activity_retention = retention;
        self
    }

    /// Deletes every record that expired by now, kind by kind, in batches
    /// of at most [`PURGE_BATCH`] (no statement holds its locks long).
    /// Stores with native expiry report 0 for their kinds. Stops at the
    /// first failure; what was deleted before it stays deleted, and the
    /// next run continues.
    pub async fn purge_expired(&self) -> Result<PurgeReport, StoreError> {
        let now = self.system.now();
        let s = &self.stores;
        Ok(PurgeReport {
            sessions: in_batches(|n| s.sessions.purge_expired(now, n)).await?,
            candidates: in_batches(|n| s.candidates.purge_expired(now, n)).await?,
            one_time_tokens: in_batches(|n| s.one_time_tokens.purge_expired(now, n)).await?,
            notifications: in_batches(|n| s.notifications.purge_expired(now, n)).await?,
            rate_limit_counters: in_batches(|n| s.rate_limiter.purge_expired(now, n)).await?,
            oauth_flows: in_batches(|n| s.oauth_flows.purge_expired(now, n)).await?,
            passkey_challenges: in_batches(|n| s.passkey_challenges.purge_expired(now, n)).await?,
            activity_events: crate::ActivityLog::new(self.stores.clone(), self.system.clone())
                .purge(self.activity_retention)
                .await?,
            webhook_attempts: {
                let before = now - Self::WEBHOOK_LOG_RETENTION;
                in_batches(|n| s.webhooks.purge_attempts_before(before, n)).await?
            },
        })
    }
}

/// The most records one purge call deletes.
pub const PURGE_BATCH: u32 = 500;

/// Calls `batch` with [`PURGE_BATCH`] until a call deletes fewer; the
/// total.
pub(crate) async fn in_batches<F, Fut>(mut batch: F) -> Result<u64, StoreError>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Result<u64, StoreError>>,
{
    let mut total = 0;
    loop {
        let n = batch(PURGE_BATCH).await?;
        total += n;
        if n < u64::from(PURGE_BATCH) {
            return Ok(total);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::test_support::*;
    use crate::{
        MockCandidateRepository, MockNotificationRepository, MockOneTimeTokenRepository,
        MockRateLimiter, MockSessionRepository,
    };

    #[test]
    fn purge_asks_every_expiring_store_with_the_current_time() {
        let mut h = Harness::new();
        let mut sessions = MockSessionRepository::new();
        // Every kind goes in bounded batches until one comes back short.
        let mut session_batches = vec![1u64, 500];
        sessions
            .expect_purge_expired()
            .withf(|now, limit| *now == T0 && *limit == PURGE_BATCH)
            .times(2)
            .returning(move |_, _| Ok(session_batches.pop().unwrap()));
        let mut candidates = MockCandidateRepository::new();
        candidates.expect_purge_expired().returning(|_, _| Ok(2));
        let mut tokens = MockOneTimeTokenRepository::new();
        tokens.expect_purge_expired().returning(|_, _| Ok(3));
        let mut notifications = MockNotificationRepository::new();
        notifications.expect_purge_expired().returning(|_, _| Ok(4));
        let mut limits = MockRateLimiter::new();
        limits.expect_purge_expired().returning(|_, _| Ok(5));
        h.stores.sessions = Arc::new(sessions);
        h.stores.candidates = Arc::new(candidates);
        h.stores.one_time_tokens = Arc::new(tokens);
        h.stores.notifications = Arc::new(notifications);
        h.stores.rate_limiter = Arc::new(limits);
        let mut flows = crate::MockOAuthFlowRepository::new();
        flows.expect_purge_expired().returning(|_, _| Ok(6));
        h.stores.oauth_flows = Arc::new(flows);
        let mut challenges = crate::MockPasskeyChallengeRepository::new();
        challenges.expect_purge_expired().returning(|_, _| Ok(8));
        h.stores.passkey_challenges = Arc::new(challenges);
        // Activity events go in bounded batches until one comes back short.
        let mut activity = crate::MockActivityRepository::new();
        let mut batches = vec![7u64, 500];
        activity
            .expect_purge_before()
            .withf(|before, limit| {
                *before == T0 - time::Duration::days(30) && *limit == crate::PURGE_BATCH
            })
            .times(2)
            .returning(move |_, _| Ok(batches.pop().unwrap()));
        h.stores.activity = Arc::new(activity);
        let mut webhooks = crate::MockWebhookRepository::new();
        webhooks
            .expect_purge_attempts_before()
            .withf(|before, _| *before == T0 - Maintenance::WEBHOOK_LOG_RETENTION)
            .returning(|_, _| Ok(9));
        h.stores.webhooks = Arc::new(webhooks);
        let maintenance =
            Maintenance::new(h.stores, h.system).with_activity_retention(time::Duration::days(30));
        let report = futures::executor::block_on(maintenance.purge_expired()).unwrap();
        assert_eq!(
            report,
            PurgeReport {
                sessions: 501,
                candidates: 2,
                one_time_tokens: 3,
                notifications: 4,
                rate_limit_counters: 5,
                oauth_flows: 6,
                passkey_challenges: 8,
                activity_events: 507,
                webhook_attempts: 9,
            }
        );
        assert_eq!(report.total(), 1045);
    }

    #[test]
    fn purge_stops_at_the_first_failure() {
        let mut h = Harness::new();
        let mut sessions = MockSessionRepository::new();
        sessions
            .expect_purge_expired()
            .returning(|_, _| Err(StoreError::msg("down")));
        h.stores.sessions = Arc::new(sessions);
        let result =
            futures::executor::block_on(Maintenance::new(h.stores, h.system).purge_expired());
        assert!(result.is_err());
    }
}
