//! `webhooks` (one document per endpoint, `_id` = its id), `webhookAttempts`
//! (the delivery log, listed by (`endpointId`, `at` desc), purged by `at`)
//! and `webhookQueue` (claimed as the mail queue: one atomic
//! `findOneAndUpdate` per delivery). An update `$set`s only the fields it
//! changes; a failure sets `failingSince` only where it is unset, so the
//! first one stays.

use async_trait::async_trait;
use domain::*;
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ReturnDocument;
use time::OffsetDateTime;

use crate::MongoStore;
use crate::codec::*;
use crate::error::{corrupt, store};
use crate::indexes::names::{WEBHOOK_ATTEMPTS, WEBHOOK_QUEUE, WEBHOOKS};

fn endpoint_doc(e: &WebhookEndpoint) -> Document {
    doc! {
        "_id": uuid(e.id.as_uuid()),
        "url": e.url.as_str(),
        "events": e.events.names(),
        "secret": e.secret.as_str(),
        "description": opt_str(e.description.as_deref()),
        "enabled": e.enabled,
        "failingSince": opt_time(e.failing_since),
        "createdAt": time(e.created_at),
    }
}

fn endpoint(d: &Document) -> Result<WebhookEndpoint, StoreError> {
    let f = Fields::of(d, "webhook endpoint");
    let names = f
        .array("events")?
        .iter()
        .map(|b| {
            b.as_str()
                .map(str::to_owned)
                .ok_or_else(|| corrupt("webhook endpoint", "events"))
        })
        .collect::<Result<Vec<String>, _>>()?;
    Ok(WebhookEndpoint {
        id: WebhookId::from_uuid(f.uuid("_id")?),
        url: WebhookUrl::from_stored(f.str("url")?)?,
        events: WebhookEvents::parse(&names).map_err(|_| corrupt("webhook endpoint", "events"))?,
        secret: Sealed::from_stored(f.str("secret")?),
        description: f.opt_str("description")?.map(str::to_owned),
        enabled: f.bool("enabled")?,
        failing_since: f.opt_time("failingSince")?,
        created_at: f.time("createdAt")?,
    })
}

fn event_type(f: &Fields<'_>, what: &'static str) -> Result<WebhookEventType, StoreError> {
    WebhookEventType::parse(f.str("eventType")?).ok_or_else(|| corrupt(what, "eventType"))
}

fn attempt(d: &Document) -> Result<WebhookAttempt, StoreError> {
    let f = Fields::of(d, "webhook attempt");
    let status = match d.get("status") {
        None | Some(Bson::Null) => None,
        Some(_) => Some(
            u16::try_from(f.i64("status")?).map_err(|_| corrupt("webhook attempt", "status"))?,
        ),
    };
    Ok(WebhookAttempt {
        endpoint_id: WebhookId::from_uuid(f.uuid("endpointId")?),
        event_id: WebhookEventId::from_uuid(f.uuid("eventId")?),
        event_type: event_type(&f, "webhook attempt")?,
        attempt: u32::try_from(f.i64("attempt")?)
            .map_err(|_| corrupt("webhook attempt", "attempt"))?,
        status,
        error: f.opt_str("error")?.map(str::to_owned),
        at: f.time("at")?,
    })
}

fn delivery_doc(d: &WebhookDelivery) -> Document {
    doc! {
        "_id": uuid(d.id.as_uuid()),
        "endpointId": uuid(d.endpoint_id.as_uuid()),
        "eventId": uuid(d.event_id.as_uuid()),
        "eventType": d.event_type.as_str(),
        "payload": d.payload.as_str(),
        "attempts": i64::from(d.attempts),
        "dueAt": time(d.created_at),
        "createdAt": time(d.created_at),
    }
}

fn delivery(d: &Document) -> Result<WebhookDelivery, StoreError> {
    let f = Fields::of(d, "webhook delivery");
    Ok(WebhookDelivery {
        id: WebhookDeliveryId::from_uuid(f.uuid("_id")?),
        endpoint_id: WebhookId::from_uuid(f.uuid("endpointId")?),
        event_id: WebhookEventId::from_uuid(f.uuid("eventId")?),
        event_type: event_type(&f, "webhook delivery")?,
        payload: f.str("payload")?.to_owned(),
        created_at: f.time("createdAt")?,
        attempts: u32::try_from(f.i64("attempts")?)
            .map_err(|_| corrupt("webhook delivery", "attempts"))?,
    })
}

#[async_trait]
impl WebhookRepository for MongoStore {
    async fn create(&self, e: &WebhookEndpoint) -> Result<(), StoreError> {
        self.coll(WEBHOOKS)
            .insert_one(endpoint_doc(e))
            .await
            .map(|_| ())
            .map_err(store("store a webhook endpoint"))
    }

    async fn get(&self, id: WebhookId) -> Result<Option<WebhookEndpoint>, StoreError> {
        self.coll(WEBHOOKS)
            .find_one(doc! {"_id": uuid(id.as_uuid())})
            .await
            .map_err(store("read a webhook endpoint"))?
            .as_ref()
            .map(endpoint)
            .transpose()
    }

    async fn list(&self) -> Result<Vec<WebhookEndpoint>, StoreError> {
        let docs: Vec<Document> = self
            .coll(WEBHOOKS)
            .find(doc! {})
            .sort(doc! {"createdAt": 1, "_id": 1})
            .await
            .map_err(store("list webhook endpoints"))?
            .try_collect()
            .await
            .map_err(store("list webhook endpoints"))?;
        docs.iter().map(endpoint).collect()
    }

    async fn update(
        &self,
        id: WebhookId,
        change: &WebhookChange,
    ) -> Result<WebhookEndpoint, WriteError> {
        let mut set = Document::new();
        if let Some(url) = &change.url {
            set.insert("url", url.as_str());
        }
        if let Some(events) = &change.events {
            set.insert("events", events.names());
        }
        if let Some(description) = &change.description {
            set.insert("description", opt_str(description.as_deref()));
        }
        if let Some(enabled) = change.enabled {
            set.insert("enabled", enabled);
            if enabled {
                set.insert("failingSince", Bson::Null);
            }
        }
        let filter = doc! {"_id": uuid(id.as_uuid())};
        let found = if set.is_empty() {
            self.coll(WEBHOOKS).find_one(filter).await
        } else {
            self.coll(WEBHOOKS)
                .find_one_and_update(filter, doc! {"$set": set})
                .return_document(ReturnDocument::After)
                .await
        }
        .map_err(store("change a webhook endpoint"))?;
        Ok(endpoint(&found.ok_or(WriteError::NotFound)?)?)
    }

    async fn delete(&self, id: WebhookId) -> Result<(), WriteError> {
        let done = self
            .coll(WEBHOOKS)
            .delete_one(doc! {"_id": uuid(id.as_uuid())})
            .await
            .map_err(store("delete a webhook endpoint"))?;
        WriteError::found(done.deleted_count)?;
        self.coll(WEBHOOK_ATTEMPTS)
            .delete_many(doc! {"endpointId": uuid(id.as_uuid())})
            .await
            .map_err(store("delete a webhook's log"))?;
        Ok(())
    }

    async fn record_failure(
        &self,
        id: WebhookId,
        at: OffsetDateTime,
    ) -> Result<OffsetDateTime, WriteError> {
        // Set where unset; otherwise read what the first failure set. A
        // success can clear it between the two: then try again.
        for _ in 0..5 {
            let set = self
                .coll(WEBHOOKS)
                .update_one(
                    doc! {"_id": uuid(id.as_uuid()), "failingSince": Bson::Null},
                    doc! {"$set": {"failingSince": time(at)}},
                )
                .await
                .map_err(store("record a webhook failure"))?;
            if set.modified_count == 1 {
                return Ok(at);
            }
            match WebhookRepository::get(self, id).await? {
                None => return Err(WriteError::NotFound),
                Some(e) => {
                    if let Some(since) = e.failing_since {
                        return Ok(since);
                    }
                }
            }
        }
        Err(StoreError::msg("webhook failure: failingSince kept changing").into())
    }

    async fn record_success(&self, id: WebhookId) -> Result<(), StoreError> {
        self.coll(WEBHOOKS)
            .update_one(
                doc! {"_id": uuid(id.as_uuid())},
                doc! {"$set": {"failingSince": Bson::Null}},
            )
            .await
            .map(|_| ())
            .map_err(store("record a webhook success"))
    }

    async fn disable_failing(
        &self,
        id: WebhookId,
        since: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let done = self
            .coll(WEBHOOKS)
            .update_one(
                doc! {"_id": uuid(id.as_uuid()), "enabled": true, "failingSince": time(since)},
                doc! {"$set": {"enabled": false}},
            )
            .await
            .map_err(store("disable a webhook endpoint"))?;
        Ok(done.modified_count == 1)
    }

    async fn log_attempt(&self, a: &WebhookAttempt) -> Result<(), StoreError> {
        self.coll(WEBHOOK_ATTEMPTS)
            .insert_one(doc! {
                "endpointId": uuid(a.endpoint_id.as_uuid()),
                "eventId": uuid(a.event_id.as_uuid()),
                "eventType": a.event_type.as_str(),
                "attempt": i64::from(a.attempt),
                "status": a.status.map_or(Bson::Null, |s| Bson::Int64(i64::from(s))),
                "error": opt_str(a.error.as_deref()),
                "at": time(a.at),
            })
            .await
            .map(|_| ())
            .map_err(store("log a webhook attempt"))
    }

    async fn attempts(&self, id: WebhookId, limit: u32) -> Result<Vec<WebhookAttempt>, StoreError> {
        let docs: Vec<Document> = self
            .coll(WEBHOOK_ATTEMPTS)
            .find(doc! {"endpointId": uuid(id.as_uuid())})
            .sort(doc! {"at": -1, "attempt": -1})
            .limit(i64::from(limit))
            .await
            .map_err(store("list webhook attempts"))?
            .try_collect()
            .await
            .map_err(store("list webhook attempts"))?;
        docs.iter().map(attempt).collect()
    }

    async fn purge_attempts_before(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<u64, StoreError> {
        self.purge_batch(WEBHOOK_ATTEMPTS, doc! {"at": {"$lt": time(before)}}, limit)
            .await
    }
}

#[async_trait]
impl WebhookQueue for MongoStore {
    async fn enqueue(&self, d: &WebhookDelivery) -> Result<(), StoreError> {
        self.coll(WEBHOOK_QUEUE)
            .insert_one(delivery_doc(d))
            .await
            .map(|_| ())
            .or_else(|e| {
                // A retried insert whose first answer was lost: it is there.
                if crate::error::is_duplicate(&e) {
                    Ok(())
                } else {
                    Err(store("queue a webhook delivery")(e))
                }
            })
    }

    async fn claim(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<WebhookDelivery>, StoreError> {
        let mut claimed = self
            .claim_due(WEBHOOK_QUEUE, now, until, limit)
            .await?
            .iter()
            .map(delivery)
            .collect::<Result<Vec<_>, _>>()?;
        claimed.sort_by_key(|d| (d.created_at, d.id));
        Ok(claimed)
    }

    async fn retry_at(&self, id: WebhookDeliveryId, at: OffsetDateTime) -> Result<(), WriteError> {
        let done = self
            .coll(WEBHOOK_QUEUE)
            .update_one(
                doc! {"_id": uuid(id.as_uuid())},
                doc! {"$set": {"dueAt": time(at)}},
            )
            .await
            .map_err(store("reschedule a webhook delivery"))?;
        WriteError::found(done.matched_count)
    }

    async fn remove(&self, id: WebhookDeliveryId) -> Result<(), StoreError> {
        self.coll(WEBHOOK_QUEUE)
            .delete_one(doc! {"_id": uuid(id.as_uuid())})
            .await
            .map(|_| ())
            .map_err(store("remove a webhook delivery"))
    }

    async fn count(&self) -> Result<u64, StoreError> {
        self.coll(WEBHOOK_QUEUE)
            .count_documents(doc! {})
            .await
            .map_err(store("count webhook deliveries"))
    }
}
