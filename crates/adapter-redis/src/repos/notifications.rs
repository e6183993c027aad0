//! `notification:<id>` hashes with a native TTL at
//! `expires_at`, and `user:<id>:notifications` indexes; reads also check
//! the expiry, and index entries of expired records are dropped as met.

use std::collections::HashMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use domain::*;
use fred::types::scripts::Script;
use time::OffsetDateTime;

use crate::codec::*;
use crate::error::corrupt;
use crate::scripts::Guarded;
use crate::{Family, RedisStore};

/// KEYS: notification, user's index. ARGV: member, expiry ms or '', feed
/// channel, announcement, publish command (`PUBLISH`, or `SPUBLISH` on a
/// cluster), pairs. The announcement is published in the same script, so it
/// goes out exactly when the notification exists.
static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
if ARGV[2] ~= '' then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call(ARGV[5], ARGV[3], ARGV[4])
return 1
"#,
    )
});

/// KEYS: notification, user's index. ARGV: owner id, member.
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('HGET', KEYS[1], 'userId') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
"#,
    )
});

/// KEYS: user's index. ARGV: notification prefix.
static DELETE_FOR_USER: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local n = 0
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  n = n + redis.call('DEL', ARGV[1] .. string.sub(m, 17))
end
redis.call('DEL', KEYS[1])
return n
"#,
    )
});

fn from_map(map: HashMap<String, String>) -> Result<Option<Notification>, StoreError> {
    if map.is_empty() {
        return Ok(None);
    }
    let f = Fields::new(map, "notification");
    Ok(Some(Notification {
        id: NotificationId::from_uuid(f.uuid("id")?),
        user_id: UserId::from_uuid(f.uuid("userId")?),
        content_session_id: f
            .opt_uuid("contentSessionId")?
            .map(ContentSessionId::from_uuid),
        conversation_id: f.opt_uuid("conversationId")?.map(ConversationId::from_uuid),
        message_id: f.opt_uuid("messageId")?.map(MessageId::from_uuid),
        task_id: f.opt_string("associatedTaskId"),
        kind: f.str("type")?.to_owned(),
        toast_message: f.opt_string("toastMessage"),
        image: f.opt_string("associatedImage"),
        urgency: Urgency::parse(f.str("urgency")?)
            .ok_or_else(|| corrupt("notification", "urgency"))?,
        persistent: f.flag("persistent"),
        seen_at: f.opt_time("seenAt")?,
        response_data: f.json("responseData")?,
        created_at: f.time("createdAt")?,
        expires_at: f.opt_time("expiresAt")?,
    }))
}

fn live(n: Notification, user_id: UserId, now: OffsetDateTime) -> Option<Notification> {
    (n.user_id == user_id && n.expires_at.is_none_or(|e| e > now)).then_some(n)
}

impl RedisStore {
    fn n_key(&self, id: NotificationId) -> String {
        self.key(Family::Notifications, &format!("notification:{id}"))
    }
    fn n_index(&self, user: UserId) -> String {
        self.key(Family::Notifications, &format!("user:{user}:notifications"))
    }
    async fn own_notification(
        &self,
        user_id: UserId,
        id: NotificationId,
    ) -> Result<Option<Notification>, StoreError> {
        Ok(
            from_map(self.hgetall(self.n_key(id), "get notification").await?)?
                .filter(|n| n.user_id == user_id),
        )
    }
}

#[async_trait]
impl NotificationRepository for RedisStore {
    async fn create(&self, n: &Notification) -> Result<(), StoreError> {
        let mut r = Record::default();
        r.set("id", n.id.to_string())
            .set("userId", n.user_id.to_string())
            .opt(
                "contentSessionId",
                n.content_session_id.map(|c| c.to_string()),
            )
            .opt("conversationId", n.conversation_id.map(|c| c.to_string()))
            .opt("messageId", n.message_id.map(|m| m.to_string()))
            .opt("associatedTaskId", n.task_id.clone())
            .set("type", n.kind.clone())
            .opt("toastMessage", n.toast_message.clone())
            .opt("associatedImage", n.image.clone())
            .set("urgency", n.urgency.as_str())
            .flag("persistent", n.persistent)
            .flag("seen", n.seen_at.is_some())
            .opt("seenAt", n.seen_at.map(ts))
            .opt(
                "responseData",
                n.response_data.as_ref().map(|v| v.to_string()),
            )
            .set("createdAt", ts(n.created_at))
            .set("member", member(n.created_at, n.id.as_uuid()));
        if let Some(e) = n.expires_at {
            r.time("expiresAt", "expiresAtMs", e);
        }
        let mut args = vec![
            member(n.created_at, n.id.as_uuid()),
            n.expires_at.map_or_else(String::new, |e| ms(e).to_string()),
            self.feed_channel(),
            crate::repos::jobs::announcement(n.user_id, n.id),
            self.publish_command().into(),
        ];
        args.extend(r.args());
        let _: i64 = self
            .eval(
                &CREATE,
                vec![self.n_key(n.id), self.n_index(n.user_id)],
                args,
                "create notification",
            )
            .await?;
        Ok(())
    }

    async fn get(
        &self,
        user_id: UserId,
        id: NotificationId,
        now: OffsetDateTime,
    ) -> Result<Option<Notification>, StoreError> {
        Ok(self
            .own_notification(user_id, id)
            .await?
            .and_then(|n| live(n, user_id, now)))
    }

    async fn list(
        &self,
        user_id: UserId,
        unseen_only: bool,
        now: OffsetDateTime,
        page: PageRequest,
    ) -> Result<Page<Notification>, StoreError> {
        self.page_of(
            self.n_index(user_id),
            page,
            self.key(Family::Notifications, "notification:"),
            Some(ms(now)),
            unseen_only,
            from_map,
        )
        .await
    }

    async fn mark_seen(
        &self,
        user_id: UserId,
        id: NotificationId,
        at: OffsetDateTime,
    ) -> Result<(), WriteError> {
        let mut r = Record::default();
        r.set("seen", "1").set("seenAt", ts(at));
        let owner = user_id.to_string();
        match self
            .guarded_set(
                self.n_key(id),
                &[("userId", owner.as_str()), ("seen", "0")],
                &[],
                &r,
            )
            .await?
        {
            Guarded::Done => Ok(()),
            Guarded::Missing => Err(WriteError::NotFound),
            // Someone else's, or already seen (which keeps its first time).
            Guarded::Refused => match self.own_notification(user_id, id).await? {
                Some(_) => Ok(()),
                None => Err(WriteError::NotFound),
            },
        }
    }

    async fn mark_all_seen(&self, user_id: UserId, at: OffsetDateTime) -> Result<u64, StoreError> {
        let n: i64 = self
            .eval(
                &crate::scripts::MARK_ALL,
                vec![self.n_index(user_id)],
                vec![
                    self.key(Family::Notifications, "notification:"),
                    "seenAt".into(),
                    "seen".into(),
                    "1".into(),
                    "seenAt".into(),
                    ts(at),
                ],
                "mark notifications seen",
            )
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn set_response(
        &self,
        user_id: UserId,
        id: NotificationId,
        data: &serde_json::Value,
    ) -> Result<(), WriteError> {
        let mut r = Record::default();
        r.set("responseData", data.to_string());
        let owner = user_id.to_string();
        self.guarded_set(self.n_key(id), &[("userId", owner.as_str())], &[], &r)
            .await?
            .written()
    }

    async fn delete(&self, user_id: UserId, id: NotificationId) -> Result<(), WriteError> {
        let Some(n) = self.own_notification(user_id, id).await? else {
            return Err(WriteError::NotFound);
        };
        let deleted: i64 = self
            .eval(
                &DELETE,
                vec![self.n_key(id), self.n_index(user_id)],
                vec![user_id.to_string(), member(n.created_at, n.id.as_uuid())],
                "delete notification",
            )
            .await?;
        WriteError::found(deleted)
    }

    async fn purge_expired(&self, _now: OffsetDateTime, _limit: u32) -> Result<u64, StoreError> {
        // Notifications with an expiry expire natively.
        Ok(0)
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let n: i64 = self
            .eval(
                &DELETE_FOR_USER,
                vec![self.n_index(user_id)],
                vec![self.key(Family::Notifications, "notification:")],
                "delete notifications",
            )
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
