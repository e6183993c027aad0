//! Leases (`{<prefix>:leases}:lease:<name>`, a string holding the holder,
//! with a native TTL) and the notification feed: pub/sub (see
//! [`crate::pubsub`]) on the channel `{<prefix>:notifications}:feed`,
//! published by the script that creates a notification, so that the
//! announcement goes out exactly when the notification is stored.

use std::sync::LazyLock;

use async_trait::async_trait;
use domain::*;
use fred::types::scripts::Script;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

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
        let channel =
            crate::pubsub::Channel::subscribe(self, self.feed_channel(), "notification feed")
                .await?;
        Ok(Box::new(Announcements(channel)))
    }
}

/// The notification feed's channel, read as announcements.
struct Announcements(crate::pubsub::Channel);

#[async_trait]
impl FeedSubscription for Announcements {
    async fn next(&mut self) -> Result<FeedEvent, StoreError> {
        loop {
            if let Some(event) = parse_announcement(&self.0.next().await?) {
                return Ok(event);
            }
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
