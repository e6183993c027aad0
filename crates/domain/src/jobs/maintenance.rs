//! Housekeeping: deletes what expired in stores that do not expire records
//! themselves (sessions, registration candidates, single-use tokens,
//! notifications, rate-limit counters, provider sign-in flows).

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
    }
}

/// Housekeeping jobs.
#[derive(Clone)]
pub struct Maintenance {
    stores: Stores,
    system: System,
}

impl Maintenance {
    /// Builds the service.
    pub fn new(stores: Stores, system: System) -> Self {
        Self { stores, system }
    }

    /// Deletes every record that expired by now. Stores with native expiry
    /// report 0 for their kinds. Stops at the first failure; what was deleted
    /// before it stays deleted, and the next run continues.
    pub async fn purge_expired(&self) -> Result<PurgeReport, StoreError> {
        let now = self.system.now();
        Ok(PurgeReport {
            sessions: self.stores.sessions.purge_expired(now).await?,
            candidates: self.stores.candidates.purge_expired(now).await?,
            one_time_tokens: self.stores.one_time_tokens.purge_expired(now).await?,
            notifications: self.stores.notifications.purge_expired(now).await?,
            rate_limit_counters: self.stores.rate_limiter.purge_expired(now).await?,
            oauth_flows: self.stores.oauth_flows.purge_expired(now).await?,
        })
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
        sessions
            .expect_purge_expired()
            .withf(|now| *now == T0)
            .returning(|_| Ok(1));
        let mut candidates = MockCandidateRepository::new();
        candidates.expect_purge_expired().returning(|_| Ok(2));
        let mut tokens = MockOneTimeTokenRepository::new();
        tokens.expect_purge_expired().returning(|_| Ok(3));
        let mut notifications = MockNotificationRepository::new();
        notifications.expect_purge_expired().returning(|_| Ok(4));
        let mut limits = MockRateLimiter::new();
        limits.expect_purge_expired().returning(|_| Ok(5));
        h.stores.sessions = Arc::new(sessions);
        h.stores.candidates = Arc::new(candidates);
        h.stores.one_time_tokens = Arc::new(tokens);
        h.stores.notifications = Arc::new(notifications);
        h.stores.rate_limiter = Arc::new(limits);
        let mut flows = crate::MockOAuthFlowRepository::new();
        flows.expect_purge_expired().returning(|_| Ok(6));
        h.stores.oauth_flows = Arc::new(flows);
        let report =
            futures::executor::block_on(Maintenance::new(h.stores, h.system).purge_expired())
                .unwrap();
        assert_eq!(
            report,
            PurgeReport {
                sessions: 1,
                candidates: 2,
                one_time_tokens: 3,
                notifications: 4,
                rate_limit_counters: 5,
                oauth_flows: 6,
            }
        );
        assert_eq!(report.total(), 21);
    }

    #[test]
    fn purge_stops_at_the_first_failure() {
        let mut h = Harness::new();
        let mut sessions = MockSessionRepository::new();
        sessions
            .expect_purge_expired()
            .returning(|_| Err(StoreError::msg("down")));
        h.stores.sessions = Arc::new(sessions);
        let result =
            futures::executor::block_on(Maintenance::new(h.stores, h.system).purge_expired());
        assert!(result.is_err());
    }
}
