//! What several server instances share: leases, so that a background job
//! runs on one instance at a time, and the feed of new notifications, so
//! that a notification created on one instance reaches live listeners on
//! every other.

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use crate::StoreError;

/// Named, expiring locks held by one instance at a time.
#[portico_macros::port("leases")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait LeaseRepository: Send + Sync {
    /// Takes the lease `name` for `holder` until `now + ttl` and returns
    /// `true`, if it is free, expired at `now`, or already held by `holder`
    /// (which renews it). Returns `false` without change while another holder
    /// keeps it. MUST be atomic: of N concurrent calls for a free lease by
    /// different holders exactly one gets `true`.
    async fn try_acquire(
        &self,
        name: &str,
        holder: &str,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Result<bool, StoreError>;

    /// Frees the lease if `holder` holds it; does nothing otherwise (another
    /// holder's lease MUST stay).
    async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError>;
}
