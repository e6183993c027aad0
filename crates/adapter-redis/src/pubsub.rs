//! One pub/sub channel, read message by message: the notification feed and
//! the auth change feed both listen this way.
//!
//! On a single server that is classic pub/sub (`PUBLISH`, `SUBSCRIBE`). On
//! Redis Cluster it is sharded pub/sub (`SPUBLISH`, `SSUBSCRIBE`, Redis 7):
//! each channel carries its family's hash tag, so it lives on the node that
//! owns that slot, and publishers and subscribers meet there. Classic
//! pub/sub on a cluster forwards each message between nodes over the
//! cluster bus, which does not guarantee delivery.

use domain::StoreError;
use fred::clients::SubscriberClient;
use fred::prelude::*;
use tokio::sync::broadcast;

use crate::RedisStore;
use crate::error::store;

impl RedisStore {
    /// The command that publishes on a channel of this store.
    pub(crate) fn publish_command(&self) -> &'static str {
        if self.is_cluster() {
            "SPUBLISH"
        } else {
            "PUBLISH"
        }
    }
}

/// An open subscription to one channel.
pub(crate) struct Channel {
    client: SubscriberClient,
    messages: broadcast::Receiver<fred::types::Message>,
    /// Messages published while the connection was down are lost: a
    /// reconnect is reported as a broken subscription, so that the caller
    /// catches up from the store.
    reconnects: broadcast::Receiver<fred::types::config::Server>,
    resubscriber: tokio::task::JoinHandle<()>,
    /// What the channel carries, for error messages.
    what: &'static str,
}

/// Messages a subscriber may fall behind by before it reports a gap.
const SUBSCRIBER_BACKLOG: usize = 4_096;

impl Channel {
    /// Subscribes to `channel` of `store` on a connection of its own.
    pub(crate) async fn subscribe(
        redis: &RedisStore,
        channel: String,
        what: &'static str,
    ) -> Result<Self, StoreError> {
        let client = redis
            .subscriber_builder()
            // Room for bursts between two reads of the subscriber; past it
            // the subscription reports a gap. fred allocates every one of
            // its ten broadcast channels (messages, errors, reconnects, …)
            // at this capacity up front: 65,536 cost some 40 MiB of
            // resident memory per subscriber, 4,096 about 2.5 MiB.
            .with_performance_config(|p| p.broadcast_channel_capacity = SUBSCRIBER_BACKLOG)
            .build_subscriber_client()
            .map_err(store(what))?;
        client.init().await.map_err(store(what))?;
        // Subscribe again by itself after a reconnect.
        let resubscriber = client.manage_subscriptions();
        let messages = client.message_rx();
        let reconnects = client.reconnect_rx();
        let subscribed = if redis.is_cluster() {
            client.ssubscribe(channel).await
        } else {
            client.subscribe(channel).await
        };
        subscribed.map_err(store(what))?;
        // The client may report the subscription before the server has
        // registered it (seen on a single server: a message published just
        // after reached the other subscribers only). The server answers a
        // connection's commands in order, so once this PING is answered the
        // subscription is in place.
        let _: () = client.ping(None).await.map_err(store(what))?;
        Ok(Self {
            client,
            messages,
            reconnects,
            resubscriber,
            what,
        })
    }

    /// The next message's text (messages that are not text are skipped).
    /// An error means messages may have been missed: subscribe again.
    pub(crate) async fn next(&mut self) -> Result<String, StoreError> {
        loop {
            let message = tokio::select! {
                message = self.messages.recv() => message,
                _ = self.reconnects.recv() => {
                    return Err(StoreError::msg(format!(
                        "{} reconnected; messages may have been missed", self.what
                    )));
                }
            };
            match message {
                Ok(message) => {
                    if let Some(text) = message.value.as_str() {
                        return Ok(text.into_owned());
                    }
                }
                // Messages were dropped: a gap the caller cannot see, so
                // report it as a broken subscription.
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    return Err(StoreError::msg(format!(
                        "{} fell behind by {n} messages",
                        self.what
                    )));
                }
                Err(broadcast::error::RecvError::Closed) => {
                    return Err(StoreError::msg(format!("{} connection closed", self.what)));
                }
            }
        }
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.resubscriber.abort();
        let client = self.client.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = client.quit().await;
            });
        }
    }
}

/// `AuthChangeFeed`: pub/sub on `{<prefix>:sessions}:auth-changes`. Each
/// change is one message; a subscription that reconnected or fell behind
/// reports it, because what was published meanwhile is gone.
#[async_trait::async_trait]
impl domain::AuthChangeFeed for RedisStore {
    async fn publish(&self, change: domain::AuthChange) -> Result<(), StoreError> {
        let _: i64 = self
            .pool()
            .custom(
                fred::cmd!(self.publish_command()),
                vec![self.auth_channel(), change.encode()],
            )
            .await
            .map_err(store("announce an auth change"))?;
        Ok(())
    }

    async fn subscribe(&self) -> Result<Box<dyn domain::AuthChangeSubscription>, StoreError> {
        let channel = Channel::subscribe(self, self.auth_channel(), "auth change feed").await?;
        Ok(Box::new(AuthChanges(channel)))
    }
}

impl RedisStore {
    fn auth_channel(&self) -> String {
        self.key(crate::Family::Sessions, "auth-changes")
    }
}

struct AuthChanges(Channel);

#[async_trait::async_trait]
impl domain::AuthChangeSubscription for AuthChanges {
    async fn next(&mut self) -> Result<domain::AuthChange, StoreError> {
        loop {
            if let Some(change) = domain::AuthChange::decode(&self.0.next().await?) {
                return Ok(change);
            }
        }
    }
}
