//! Live announcements of new notifications: the [`NotificationFeed`] port
//! and the [`Poller`] that stores without push use.

use async_trait::async_trait;
use time::{Duration, OffsetDateTime};

use crate::*;

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
    /// (stores without push MAY poll; at least once a second). A notification
    /// stored before this was called MUST NOT be announced on it, and none
    /// MUST be announced twice.
    async fn subscribe(&self) -> Result<Box<dyn FeedSubscription>, StoreError>;
}

/// An open subscription to a [`NotificationFeed`].
#[async_trait]
pub trait FeedSubscription: Send {
    /// Waits for the next announcement. An error means the subscription is
    /// broken and may have missed announcements; subscribe again. Until then
    /// each announcement MUST come once and MUST NOT repeat.
    async fn next(&mut self) -> Result<FeedEvent, StoreError>;
}

/// Bookkeeping for a [`NotificationFeed`] that polls a store by creation
/// time. Each poll makes two reads:
///
/// 1. the rows after [`PollWindow::cursor`] in `(created_at, id)` order, a
///    batch at a time, which always makes progress however many rows share
///    an instant;
/// 2. the newest rows of the look-back window before the cursor
///    ([`PollWindow::lookback_from`]), newest first and bounded, which
///    catches rows committed slightly out of time order.
///
/// Each id is announced once. Rows already in the look-back window when the
/// subscription starts are read once with [`PollWindow::skip`] before the
/// first poll, so they are never announced: the subscription tells only of
/// what is stored after it started.
#[derive(Debug, Clone)]
pub struct PollWindow {
    cursor: (OffsetDateTime, uuid::Uuid),
    lookback: Duration,
    seen: std::collections::HashMap<NotificationId, OffsetDateTime>,
    queue: std::collections::VecDeque<FeedEvent>,
}

impl PollWindow {
    /// Starts after every row created at or before `since` (the newest
    /// creation time already in the store), re-reading `lookback` before the
    /// cursor for late commits.
    pub fn new(since: OffsetDateTime, lookback: Duration) -> Self {
        Self {
            cursor: (since, uuid::Uuid::max()),
            lookback,
            seen: std::collections::HashMap::new(),
            queue: std::collections::VecDeque::new(),
        }
    }

    /// Read 1 takes rows whose `(created_at, id)` is greater than this.
    pub fn cursor(&self) -> (OffsetDateTime, uuid::Uuid) {
        self.cursor
    }

    /// Read 2 takes rows created after this instant (and at or before the cursor).
    pub fn lookback_from(&self) -> OffsetDateTime {
        self.cursor.0 - self.lookback
    }

    /// The next announcement read but not handed out yet.
    pub fn pop(&mut self) -> Option<FeedEvent> {
        self.queue.pop_front()
    }

    /// Records a row either read returned, queueing its announcement unless
    /// it was announced before, and moving the cursor past it.
    pub fn offer(&mut self, event: FeedEvent, created_at: OffsetDateTime) {
        let position = (created_at, event.id.as_uuid());
        if position > self.cursor {
            self.cursor = position;
        }
        if self.seen.insert(event.id, created_at).is_none() {
            self.queue.push_back(event);
        }
    }

    /// Records a row that was stored before the subscription started: the
    /// look-back read will not announce it.
    pub fn skip(&mut self, id: NotificationId, created_at: OffsetDateTime) {
        self.seen.insert(id, created_at);
    }

    /// Forgets ids that fell out of the look-back window (after each poll).
    pub fn prune(&mut self) {
        let horizon = self.lookback_from();
        self.seen.retain(|_, at| *at > horizon);
    }

    /// After a poll whose read 1 returned `read` rows of at most `batch`:
    /// whether to pause before the next (nothing queued, and no more rows).
    pub fn should_pause(&self, read: usize, batch: usize) -> bool {
        self.queue.is_empty() && read < batch
    }
}

/// A row a polling feed read: the announcement and the row's creation time.
pub type PolledRow = (FeedEvent, OffsetDateTime);

/// What a store without push gives a [`Poller`]: two reads and a pause.
#[async_trait]
pub trait PollSource: Send {
    /// The newest creation time stored (the epoch when there is none).
    async fn newest(&mut self) -> Result<OffsetDateTime, StoreError>;
    /// At most `batch` rows whose `(created_at, id)` is greater than
    /// `after`, in that order.
    async fn after(
        &mut self,
        after: (OffsetDateTime, uuid::Uuid),
        batch: u32,
    ) -> Result<Vec<PolledRow>, StoreError>;
    /// At most `batch` of the newest rows created after `from` and at or
    /// before `to`, newest first.
    async fn between(
        &mut self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        batch: u32,
    ) -> Result<Vec<PolledRow>, StoreError>;
    /// Waits before the next poll, when the last one found nothing new.
    async fn pause(&mut self);
}

/// A [`FeedSubscription`] over a [`PollSource`], with the [`PollWindow`]
/// bookkeeping: every polling adapter shares it.
pub struct Poller<S> {
    source: S,
    window: PollWindow,
    batch: u32,
}

impl<S: PollSource> Poller<S> {
    /// Starts after the newest stored row, re-reading `lookback` on each
    /// poll; rows already in that window are marked seen, never announced.
    pub async fn start(mut source: S, lookback: Duration, batch: u32) -> Result<Self, StoreError> {
        let since = source.newest().await?;
        let mut window = PollWindow::new(since, lookback);
        let (to, _) = window.cursor();
        for (event, at) in source.between(window.lookback_from(), to, batch).await? {
            window.skip(event.id, at);
        }
        Ok(Self {
            source,
            window,
            batch,
        })
    }

    /// New rows after the cursor, then the newest of the look-back window;
    /// returns how many new rows the first read found.
    async fn poll(&mut self) -> Result<usize, StoreError> {
        let fresh = self.source.after(self.window.cursor(), self.batch).await?;
        let read = fresh.len();
        for (event, at) in fresh {
            self.window.offer(event, at);
        }
        let (to, _) = self.window.cursor();
        let late = self
            .source
            .between(self.window.lookback_from(), to, self.batch)
            .await?;
        for (event, at) in late {
            self.window.offer(event, at);
        }
        self.window.prune();
        Ok(read)
    }
}

#[async_trait]
impl<S: PollSource> FeedSubscription for Poller<S> {
    async fn next(&mut self) -> Result<FeedEvent, StoreError> {
        loop {
            if let Some(event) = self.window.pop() {
                return Ok(event);
            }
            let read = self.poll().await?;
            if self.window.should_pause(read, self.batch as usize) {
                self.source.pause().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use uuid::Uuid;

    use super::*;

    fn event(n: u128) -> FeedEvent {
        FeedEvent {
            user_id: crate::UserId::from_uuid(Uuid::from_u128(9)),
            id: NotificationId::from_uuid(Uuid::from_u128(n)),
        }
    }

    #[test]
    fn the_cursor_moves_past_every_row_even_at_one_instant() {
        let t = datetime!(2025-03-19 12:00:00 UTC);
        let mut w = PollWindow::new(t, Duration::seconds(5));
        assert_eq!(w.cursor(), (t, Uuid::max()));
        // Many rows at one instant: the cursor still advances row by row.
        let at = t + Duration::seconds(1);
        for n in 1..=3 {
            w.offer(event(n), at);
            assert_eq!(w.cursor(), (at, Uuid::from_u128(n)));
        }
        assert_eq!(w.lookback_from(), at - Duration::seconds(5));
    }

    #[test]
    fn late_rows_are_announced_once_and_do_not_move_the_cursor_back() {
        let t = datetime!(2025-03-19 12:00:00 UTC);
        let mut w = PollWindow::new(t, Duration::seconds(5));
        w.offer(event(1), t + Duration::seconds(10));
        w.offer(event(2), t + Duration::seconds(8)); // committed late
        w.offer(event(1), t + Duration::seconds(10)); // read again by the look-back
        assert_eq!(w.cursor(), (t + Duration::seconds(10), Uuid::from_u128(1)));
        assert_eq!(w.pop(), Some(event(1)));
        assert_eq!(w.pop(), Some(event(2)));
        assert_eq!(w.pop(), None);
        assert!(w.should_pause(0, 500));
        assert!(!w.should_pause(500, 500));
        // A row skipped at the start is never announced.
        w.skip(event(4).id, t + Duration::seconds(9));
        w.offer(event(4), t + Duration::seconds(9));
        assert_eq!(w.pop(), None);
        // Ids older than the window are forgotten.
        w.offer(event(3), t + Duration::seconds(30));
        w.prune();
        assert_eq!(w.seen.len(), 1);
        assert!(w.seen.contains_key(&event(3).id));
    }
}
