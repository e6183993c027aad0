//! Leases (`{<prefix>:leases}:lease:<name>`, a string holding the holder,
//! with a native TTL) and the notification feed: Redis pub/sub on the
//! channel `{<prefix>:notifications}:feed`, published by the script that
//! creates a notification.
//!
//! On a single server that is classic pub/sub (`PUBLISH`, `SUBSCRIBE`). On
//! Redis Cluster it is sharded pub/sub (`SPUBLISH`, `SSUBSCRIBE`, Redis 7):
//! the channel carries the notifications family's hash tag, so it lives on
//! the node that owns the family's slot, the creating script publishes there
//! and subscribers listen there. Classic pub/sub on a cluster forwards each
//! message between nodes over the cluster bus, which does not guarantee
//! delivery: announcements were lost under load.

use std::sync::LazyLock;

use async_trait::async_trait;
use domain::*;
use fred::clients::SubscriberClient;
use fred::prelude::*;
use fred::types::scripts::Script;
use time::{Duration, OffsetDateTime};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::error::store;
use crate::{Family, RedisStore};

/// KEYS: lease. ARGV: holder, TTL in ms. 1 when taken or renewed.
static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local h = redis.call('GET', KEYS[1])
if h and h ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"#,
    )
});

/// KEYS: lease. ARGV: holder.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"#,
    )
});

/// The message announcing `id` for `user`: `"<user id> <notification id>"`.
pub(crate) fn announcement(user: UserId, id: NotificationId) -> String {
    format!("{user} {id}")
}

fn parse_announcement(text: &str) -> Option<FeedEvent> {
    let (user, id) = text.split_once(' ')?;
    Some(FeedEvent {
        user_id: UserId::from_uuid(Uuid::parse_str(user).ok()?),
        id: NotificationId::from_uuid(Uuid::parse_str(id).ok()?),
    })
}

impl RedisStore {
    fn lease_key(&self, name: &str) -> String {
        self.key(Family::Leases, &format!("lease:{name}"))
    }

    /// The pub/sub channel of new notifications.
    pub(crate) fn feed_channel(&self) -> String {
        self.key(Family::Notifications, "feed")
    }

    /// The command that announces on [`Self::feed_channel`].
    pub(crate) fn feed_publish(&self) -> &'static str {
        if self.is_cluster() {
            "SPUBLISH"
        } else {
            "PUBLISH"
        }
    }
}

#[async_trait]
impl LeaseRepository for RedisStore {
    async fn try_acquire(
        &self,
        name: &str,
        holder: &str,
        _now: OffsetDateTime,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        // Redis expires the lease by its own clock.
        let ttl_ms = ttl.whole_milliseconds().max(1).to_string();
        let taken: i64 = self
            .eval(
                &ACQUIRE,
                vec![self.lease_key(name)],
                vec![holder.to_owned(), ttl_ms],
                "take lease",
            )
            .await?;
        Ok(taken == 1)
    }

    async fn release(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let _: i64 = self
            .eval(
                &RELEASE,
                vec![self.lease_key(name)],
                vec![holder.to_owned()],
                "release lease",
            )
            .await?;
        Ok(())
    }
}

#[async_trait]
impl NotificationFeed for RedisStore {
    async fn subscribe(&self) -> Result<Box<dyn FeedSubscription>, StoreError> {
        let client = self
            .subscriber_builder()
            // Room for bursts between two reads of the subscriber; past it
            // the subscription reports a gap.
            .with_performance_config(|p| p.broadcast_channel_capacity = 65_536)
            .build_subscriber_client()
            .map_err(store("listen for notifications"))?;
        client
            .init()
            .await
            .map_err(store("listen for notifications"))?;
        // Subscribe again by itself after a reconnect.
        let resubscriber = client.manage_subscriptions();
        let messages = client.message_rx();
        let reconnects = client.reconnect_rx();
        let subscribed = if self.is_cluster() {
            client.ssubscribe(self.feed_channel()).await
        } else {
            client.subscribe(self.feed_channel()).await
        };
        subscribed.map_err(store("listen for notifications"))?;
        Ok(Box::new(RedisSubscription {
            client,
            messages,
            reconnects,
            resubscriber,
        }))
    }
}

struct RedisSubscription {
    client: SubscriberClient,
    messages: broadcast::Receiver<fred::types::Message>,
    /// Announcements published while the connection was down are lost:
    /// a reconnect is reported as a broken subscription, so that the
    /// caller catches up from the store.
    reconnects: broadcast::Receiver<fred::types::config::Server>,
    resubscriber: tokio::task::JoinHandle<()>,
}

#[async_trait]
impl FeedSubscription for RedisSubscription {
    async fn next(&mut self) -> Result<FeedEvent, StoreError> {
        loop {
            let message = tokio::select! {
                message = self.messages.recv() => message,
                _ = self.reconnects.recv() => {
                    return Err(StoreError::msg(
                        "notification feed reconnected; announcements may have been missed",
                    ));
                }
            };
            match message {
                Ok(message) => {
                    if let Some(event) = message
                        .value
                        .as_str()
                        .and_then(|text| parse_announcement(&text))
                    {
                        return Ok(event);
                    }
                }
                // Announcements were dropped: a gap the caller cannot see, so
                // report it as a broken subscription.
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    return Err(StoreError::msg(format!(
                        "notification feed fell behind by {n} announcements"
                    )));
                }
                Err(broadcast::error::RecvError::Closed) => {
                    return Err(StoreError::msg("notification feed connection closed"));
                }
            }
        }
    }
}

impl Drop for RedisSubscription {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_round_trip() {
        let user = UserId::from_uuid(Uuid::from_u128(7));
        let id = NotificationId::from_uuid(Uuid::from_u128(8));
        assert_eq!(
            parse_announcement(&announcement(user, id)),
            Some(FeedEvent { user_id: user, id })
        );
        assert_eq!(parse_announcement("junk"), None);
    }
}
