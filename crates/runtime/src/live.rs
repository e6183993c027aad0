//! Live notifications: one subscription to the store's notification feed
//! per process (PostgreSQL LISTEN, Redis pub/sub, or polling), fanned out in
//! memory to every open `GET /v1/notifications/stream`. A notification
//! created on any instance reaches the streams of every instance, because
//! the announcement travels through the store.

use std::sync::Arc;
use std::time::Duration;

use domain::{FeedEvent, NotificationFeed};
use tokio::sync::{broadcast, watch};

/// What a stream hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveEvent {
    /// A new notification.
    New(FeedEvent),
    /// Announcements may have been missed (the feed reconnected): streams
    /// re-read the list to catch up.
    Gap,
}

/// The in-process fan-out of the store's feed.
pub struct Live {
    feed: Arc<dyn NotificationFeed>,
    sender: broadcast::Sender<LiveEvent>,
    /// Turns true when the server shuts down: open streams end, so graceful
    /// shutdown need not wait for them.
    closing: watch::Sender<bool>,
}

impl Live {
    /// A hub over `feed`; nothing is subscribed until [`Live::run`].
    pub fn new(feed: Arc<dyn NotificationFeed>) -> Arc<Self> {
        let (sender, _) = broadcast::channel(4096);
        let (closing, _) = watch::channel(false);
        Arc::new(Self {
            feed,
            sender,
            closing,
        })
    }

    /// Ends every open stream (at shutdown).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Becomes true when streams should end.
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// A receiver of everything announced from now on.
    pub fn receiver(&self) -> broadcast::Receiver<LiveEvent> {
        self.sender.subscribe()
    }

    /// Subscribes to the feed and forwards announcements until the task is
    /// dropped. A broken subscription is logged, announced as a gap, and
    /// re-opened after a pause that grows to 30 s.
    pub async fn run(self: Arc<Self>) {
        let mut pause = Duration::from_millis(500);
        loop {
            match self.feed.subscribe().await {
                Ok(mut subscription) => {
                    tracing::debug!("listening for new notifications");
                    pause = Duration::from_millis(500);
                    loop {
                        match subscription.next().await {
                            // No receivers is not an error: nobody is streaming.
                            Ok(event) => drop(self.sender.send(LiveEvent::New(event))),
                            Err(e) => {
                                tracing::warn!(error = %crate::error_chain(&e), "notification feed broke; resubscribing");
                                break;
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %crate::error_chain(&e), "cannot subscribe to the notification feed; retrying");
                }
            }
            let _ = self.sender.send(LiveEvent::Gap);
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(30));
        }
    }
}
