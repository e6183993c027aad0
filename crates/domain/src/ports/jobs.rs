//! What several server instances share: leases, so that a background job
//! runs on one instance at a time, and the feed of new notifications, so
//! that a notification created on one instance reaches live listeners on
//! every other.

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use crate::{NotificationId, StoreError, UserId};

/// Named, expiring locks held by one instance at a time.
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

/// One announcement: user `user_id` has a new notification `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FeedEvent {
    /// The recipient.
    pub user_id: UserId,
    /// The new notification.
    pub id: NotificationId,
}

/// Live announcements of new notifications, across every process using the
/// same store.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait NotificationFeed: Send + Sync {
    /// Starts listening. Every notification that
    /// [`NotificationRepository::create`](crate::NotificationRepository::create)
    /// stores in the same store after this returns, through this process or any
    /// other, MUST be announced on the subscription within a few seconds
    /// (stores without push MAY poll; at least once a second).
    async fn subscribe(&self) -> Result<Box<dyn FeedSubscription>, StoreError>;
}

/// An open subscription to a [`NotificationFeed`].
#[async_trait]
pub trait FeedSubscription: Send {
    /// Waits for the next announcement. An error means the subscription is
    /// broken; subscribe again. Announcements MAY repeat; each MUST come at least once.
    async fn next(&mut self) -> Result<FeedEvent, StoreError>;
}

/// Bookkeeping for a [`NotificationFeed`] that polls a store by creation
/// time: each poll re-reads a short window back, so rows committed slightly
/// out of time order are still announced, and announces each id once.
#[derive(Debug, Clone)]
pub struct PollWindow {
    since: OffsetDateTime,
    lookback: Duration,
    seen: std::collections::HashMap<NotificationId, OffsetDateTime>,
    first: bool,
    queue: std::collections::VecDeque<FeedEvent>,
}

impl PollWindow {
    /// Starts after `since` (the newest creation time already in the store),
    /// re-reading `lookback` on every poll but the first.
    pub fn new(since: OffsetDateTime, lookback: Duration) -> Self {
        Self {
            since,
            lookback,
            seen: std::collections::HashMap::new(),
            first: true,
            queue: std::collections::VecDeque::new(),
        }
    }

    /// The next announcement read but not handed out yet.
    pub fn pop(&mut self) -> Option<FeedEvent> {
        self.queue.pop_front()
    }

    /// Records a row the poll read, queueing its announcement unless it was
    /// announced before.
    pub fn offer(&mut self, event: FeedEvent, created_at: OffsetDateTime) {
        if self.accept(event.id, created_at) {
            self.queue.push_back(event);
        }
    }

    /// After a poll that read `read` rows of at most `batch`: whether to
    /// pause before the next (nothing queued, and the store had no more).
    pub fn should_pause(&self, read: usize, batch: usize) -> bool {
        self.queue.is_empty() && read < batch
    }

    /// The next poll reads notifications created strictly after this instant.
    pub fn read_after(&mut self) -> OffsetDateTime {
        if std::mem::take(&mut self.first) {
            self.since
        } else {
            self.since - self.lookback
        }
    }

    /// Records a row the poll read; `true` when it was not announced before.
    pub fn accept(&mut self, id: NotificationId, created_at: OffsetDateTime) -> bool {
        self.since = self.since.max(created_at);
        self.seen.insert(id, created_at).is_none()
    }

    /// Forgets ids that fell out of the window (call after each poll).
    pub fn prune(&mut self) {
        let horizon = self.since - self.lookback;
        self.seen.retain(|_, at| *at > horizon);
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn poll_window_rereads_a_window_and_announces_each_id_once() {
        let t = datetime!(2025-03-19 12:00:00 UTC);
        let mut w = PollWindow::new(t, Duration::seconds(5));
        assert_eq!(w.read_after(), t);
        let a = NotificationId::from_uuid(Uuid::from_u128(1));
        let b = NotificationId::from_uuid(Uuid::from_u128(2));
        assert!(w.accept(a, t + Duration::seconds(10)));
        w.prune();
        // Later polls look 5 s back from the newest row seen …
        assert_eq!(w.read_after(), t + Duration::seconds(5));
        // … and see `a` again without announcing it twice, while a late
        // commit `b` with an earlier time is still announced.
        assert!(!w.accept(a, t + Duration::seconds(10)));
        assert!(w.accept(b, t + Duration::seconds(8)));
        w.prune();
        assert_eq!(w.read_after(), t + Duration::seconds(5));
        // Ids older than the window are forgotten.
        assert!(w.accept(
            NotificationId::from_uuid(Uuid::from_u128(3)),
            t + Duration::seconds(30)
        ));
        w.prune();
        assert!(w.seen.len() == 1);
    }

    #[test]
    fn poll_window_queues_new_announcements_once() {
        let t = datetime!(2025-03-19 12:00:00 UTC);
        let mut w = PollWindow::new(t, Duration::seconds(5));
        let event = FeedEvent {
            user_id: crate::UserId::from_uuid(Uuid::from_u128(9)),
            id: NotificationId::from_uuid(Uuid::from_u128(1)),
        };
        w.offer(event, t + Duration::seconds(1));
        w.offer(event, t + Duration::seconds(1));
        assert!(!w.should_pause(2, 500));
        assert_eq!(w.pop(), Some(event));
        assert_eq!(w.pop(), None);
        assert!(w.should_pause(0, 500));
        assert!(!w.should_pause(500, 500));
    }
}
