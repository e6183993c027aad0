//! `NotificationFeed` and `AuthChangeFeed` over broadcast channels: every
//! subscription hears what is sent after it starts, once, in order. One
//! that falls more than the channel's capacity behind reports an error on
//! its next read (it may have missed announcements), as the ports ask.

use async_trait::async_trait;
use domain::*;
use tokio::sync::broadcast::{self, error::RecvError};

use super::MemoryStore;

/// Reads the next message of `receiver`, or why it cannot.
async fn next<T: Clone>(
    receiver: &mut broadcast::Receiver<T>,
    what: &str,
) -> Result<T, StoreError> {
    match receiver.recv().await {
        Ok(item) => Ok(item),
        Err(RecvError::Lagged(missed)) => Err(StoreError::msg(format!(
            "the {what} subscription fell behind and missed {missed} announcements"
        ))),
        Err(RecvError::Closed) => Err(StoreError::msg(format!("the {what} feed was closed"))),
    }
}

struct NotificationSubscription(broadcast::Receiver<FeedEvent>);

#[async_trait]
impl FeedSubscription for NotificationSubscription {
    async fn next(&mut self) -> Result<FeedEvent, StoreError> {
        next(&mut self.0, "notification").await
    }
}

#[async_trait]
impl NotificationFeed for MemoryStore {
    async fn subscribe(&self) -> Result<Box<dyn FeedSubscription>, StoreError> {
        // Under the store's lock: `create` announces under it too, so a
        // notification is either stored before (never announced here) or
        // after (always announced here).
        let _state = self.state();
        Ok(Box::new(NotificationSubscription(
            self.shared.notifications.subscribe(),
        )))
    }
}

struct AuthSubscription(broadcast::Receiver<AuthChange>);

#[async_trait]
impl AuthChangeSubscription for AuthSubscription {
    async fn next(&mut self) -> Result<AuthChange, StoreError> {
        next(&mut self.0, "auth change").await
    }
}

#[async_trait]
impl AuthChangeFeed for MemoryStore {
    async fn publish(&self, change: AuthChange) -> Result<(), StoreError> {
        // No subscriber is not a failure.
        let _ = self.shared.auth_changes.send(change);
        Ok(())
    }

    async fn subscribe(&self) -> Result<Box<dyn AuthChangeSubscription>, StoreError> {
        Ok(Box::new(AuthSubscription(
            self.shared.auth_changes.subscribe(),
        )))
    }
}
