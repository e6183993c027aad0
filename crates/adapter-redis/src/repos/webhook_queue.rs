//! The webhook delivery queue, under the `webhooks` hash tag: `q:<id>`
//! hashes and the `due` sorted set (ids by due millisecond), claimed,
//! rescheduled and removed by the mail queue's scripts.

use std::collections::HashMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use domain::*;
use fred::types::Value;
use fred::types::scripts::Script;
use time::OffsetDateTime;

use super::mail_queue::{CLAIM, REMOVE, RETRY};
use crate::codec::*;
use crate::error::corrupt;
use crate::{Family, RedisStore};

/// KEYS: delivery, due. ARGV: id, due ms, pairs.
static ENQUEUE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"#,
    )
});

impl RedisStore {
    fn webhook_delivery(&self, id: WebhookDeliveryId) -> String {
        self.key(Family::Webhooks, &format!("q:{id}"))
    }
}

fn delivery(map: HashMap<String, String>) -> Result<WebhookDelivery, StoreError> {
    let f = Fields::new(map, "webhook delivery");
    Ok(WebhookDelivery {
        id: WebhookDeliveryId::from_uuid(f.uuid("id")?),
        endpoint_id: WebhookId::from_uuid(f.uuid("endpointId")?),
        event_id: WebhookEventId::from_uuid(f.uuid("eventId")?),
        event_type: WebhookEventType::parse(f.str("eventType")?)
            .ok_or_else(|| corrupt("webhook delivery", "eventType"))?,
        payload: f.str("payload")?.to_owned(),
        created_at: f.time("createdAt")?,
        attempts: u32::try_from(f.i64("attempts")?)
            .map_err(|_| corrupt("webhook delivery", "attempts"))?,
    })
}

#[async_trait]
impl WebhookQueue for RedisStore {
    async fn enqueue(&self, d: &WebhookDelivery) -> Result<(), StoreError> {
        let mut r = Record::default();
        r.set("id", d.id.to_string())
            .set("endpointId", d.endpoint_id.to_string())
            .set("eventId", d.event_id.to_string())
            .set("eventType", d.event_type.as_str())
            .set("payload", d.payload.clone())
            .set("attempts", d.attempts.to_string())
            .set("createdAt", ts(d.created_at));
        let mut args = vec![d.id.to_string(), ms(d.created_at).to_string()];
        args.extend(r.args());
        let _: i64 = self
            .eval(
                &ENQUEUE,
                vec![
                    self.webhook_delivery(d.id),
                    self.key(Family::Webhooks, "due"),
                ],
                args,
                "queue a webhook delivery",
            )
            .await?;
        Ok(())
    }

    async fn claim(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let args = vec![
            ms(now).to_string(),
            ms(until).to_string(),
            limit.to_string(),
            self.key(Family::Webhooks, "q:"),
        ];
        let reply: Value = self
            .eval(
                &CLAIM,
                vec![self.key(Family::Webhooks, "due")],
                args,
                "claim webhook deliveries",
            )
            .await?;
        let mut claimed = records(reply)?
            .into_iter()
            .map(delivery)
            .collect::<Result<Vec<_>, _>>()?;
        claimed.sort_by_key(|d| (d.created_at, d.id));
        Ok(claimed)
    }

    async fn retry_at(&self, id: WebhookDeliveryId, at: OffsetDateTime) -> Result<(), WriteError> {
        let found: i64 = self
            .eval(
                &RETRY,
                vec![self.webhook_delivery(id), self.key(Family::Webhooks, "due")],
                vec![id.to_string(), ms(at).to_string()],
                "reschedule a webhook delivery",
            )
            .await?;
        WriteError::found(found)
    }

    async fn remove(&self, id: WebhookDeliveryId) -> Result<(), StoreError> {
        let _: i64 = self
            .eval(
                &REMOVE,
                vec![self.webhook_delivery(id), self.key(Family::Webhooks, "due")],
                vec![id.to_string()],
                "remove a webhook delivery",
            )
            .await?;
        Ok(())
    }

    async fn count(&self) -> Result<u64, StoreError> {
        use fred::prelude::*;
        self.pool()
            .zcard(self.key(Family::Webhooks, "due"))
            .await
            .map_err(crate::error::store("count webhook deliveries"))
    }
}
