//! Managing endpoints (`webhooks:write`), and publishing events: what
//! happens in the domain is queued, per subscribed endpoint, in the same
//! call that records it.

use time::OffsetDateTime;

use crate::*;

/// Most endpoints a deployment may have.
pub const MAX_WEBHOOKS: usize = 50;

/// How many attempts `GET /v1/webhooks/{id}/deliveries` shows at most.
pub const MAX_LISTED_ATTEMPTS: u32 = 100;

/// An endpoint to make.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// Where to post.
    pub url: WebhookUrl,
    /// What to send.
    pub events: WebhookEvents,
    /// Free text.
    pub description: Option<String>,
}

/// An endpoint just made, with its secret (shown this once).
#[derive(Debug, Clone)]
pub struct CreatedWebhook {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// Its signing secret.
    pub secret: WebhookSecret,
}

/// Why a webhook operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The caller lacks `webhooks:write`.
    #[error(transparent)]
    Forbidden(#[from] Denied),
    /// No such endpoint.
    #[error("not found")]
    NotFound,
    /// Bad input (a URL the policy refuses, unknown events, …).
    #[error(transparent)]
    Invalid(#[from] WebhookInputError),
    /// [`MAX_WEBHOOKS`] endpoints exist already.
    #[error("at most {MAX_WEBHOOKS} webhook endpoints")]
    TooMany,
    /// The endpoint is disabled: enable it first (for the test event).
    #[error("the endpoint is disabled")]
    Disabled,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[from] StoreError),
}

impl From<WriteError> for WebhookError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::NotFound => Self::NotFound,
            WriteError::Store(e) => Self::Unexpected(e),
        }
    }
}

/// Outgoing webhooks: the endpoints, and the events they receive.
#[derive(Clone)]
pub struct Webhooks {
    stores: Stores,
    system: System,
    net: WebhookNetPolicy,
}

impl Webhooks {
    /// Builds the service; `net` says where endpoints may point.
    pub fn new(stores: Stores, system: System, net: WebhookNetPolicy) -> Self {
        Self {
            stores,
            system,
            net,
        }
    }

    fn checked_description(text: Option<String>) -> Result<Option<String>, WebhookInputError> {
        let text = text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
        match text {
            Some(t) if !crate::within(&t, 500) => Err(WebhookInputError::Description),
            other => Ok(other),
        }
    }

    /// Makes an endpoint; its secret is in the answer and, sealed, in the
    /// store only.
    pub async fn create(
        &self,
        by: &Principal,
        new: NewWebhook,
    ) -> Result<CreatedWebhook, WebhookError> {
        by.require(&Permission::WEBHOOKS_WRITE)?;
        self.net.check_url(&new.url)?;
        let description = Self::checked_description(new.description)?;
        if self.stores.webhooks.list().await?.len() >= MAX_WEBHOOKS {
            return Err(WebhookError::TooMany);
        }
        let id = WebhookId::from_uuid(self.system.ids.new_id());
        let secret = WebhookSecret::from_bytes(crate::mfa::random_bytes(&self.system, 32))
            .ok_or_else(|| StoreError::msg("the token generator gave too few bytes"))?;
        let endpoint = WebhookEndpoint {
            id,
            url: new.url,
            events: new.events,
            secret: self
                .system
                .sealer
                .seal(&WebhookEndpoint::secret_context(id), secret.bytes())?,
            description,
            enabled: true,
            failing_since: None,
            created_at: self.system.now(),
        };
        self.stores.webhooks.create(&endpoint).await?;
        Ok(CreatedWebhook { endpoint, secret })
    }

    /// Every endpoint, oldest first.
    pub async fn list(&self, by: &Principal) -> Result<Vec<WebhookEndpoint>, WebhookError> {
        by.require(&Permission::WEBHOOKS_WRITE)?;
        Ok(self.stores.webhooks.list().await?)
    }

    /// One endpoint.
    pub async fn get(
        &self,
        by: &Principal,
        id: WebhookId,
    ) -> Result<WebhookEndpoint, WebhookError> {
        by.require(&Permission::WEBHOOKS_WRITE)?;
        self.stores
            .webhooks
            .get(id)
            .await?
            .ok_or(WebhookError::NotFound)
    }

    /// Changes an endpoint (a new URL is checked as at creation).
    pub async fn update(
        &self,
        by: &Principal,
        id: WebhookId,
        mut change: WebhookChange,
    ) -> Result<WebhookEndpoint, WebhookError> {
        by.require(&Permission::WEBHOOKS_WRITE)?;
        if let Some(url) = &change.url {
            self.net.check_url(url)?;
        }
        if let Some(description) = change.description.take() {
            change.description = Some(Self::checked_description(description)?);
        }
        Ok(self.stores.webhooks.update(id, &change).await?)
    }

    /// Deletes an endpoint and its log; what is queued for it is dropped
    /// when its turn comes.
    pub async fn delete(&self, by: &Principal, id: WebhookId) -> Result<(), WebhookError> {
        by.require(&Permission::WEBHOOKS_WRITE)?;
        Ok(self.stores.webhooks.delete(id).await?)
    }

    /// The endpoint's newest attempts (at most `limit`, up to
    /// [`MAX_LISTED_ATTEMPTS`]), newest first.
    pub async fn deliveries(
        &self,
        by: &Principal,
        id: WebhookId,
        limit: u32,
    ) -> Result<Vec<WebhookAttempt>, WebhookError> {
        self.get(by, id).await?;
        Ok(self
            .stores
            .webhooks
            .attempts(id, limit.clamp(1, MAX_LISTED_ATTEMPTS))
            .await?)
    }

    /// Queues a `webhook.test` event for this endpoint only; returns its id.
    pub async fn send_test(
        &self,
        by: &Principal,
        id: WebhookId,
    ) -> Result<WebhookEventId, WebhookError> {
        let endpoint = self.get(by, id).await?;
        if !endpoint.enabled {
            return Err(WebhookError::Disabled);
        }
        let event = Event::new(
            &self.system,
            WebhookEventType::Test,
            serde_json::json!({ "webhook_id": id, "requested_by": by.user_id() }),
        );
        event
            .enqueue_for(&self.stores, &self.system, &endpoint)
            .await?;
        Ok(event.id)
    }

    /// Publishes an event of the embedder's own to every endpoint
    /// subscribed to `event_type`, as the domain does for its own changes.
    pub async fn publish(
        &self,
        event_type: WebhookEventType,
        data: serde_json::Value,
    ) -> Result<WebhookEventId, StoreError> {
        let event = Event::new(&self.system, event_type, data);
        event.publish(&self.stores, &self.system).await?;
        Ok(event.id)
    }

    #[cfg(test)]
    pub(crate) fn system_for_tests(&self) -> System {
        self.system.clone()
    }

    /// Deletes delivery-log entries older than `retention`, in batches;
    /// returns how many.
    pub async fn purge_log(&self, retention: time::Duration) -> Result<u64, StoreError> {
        let before: OffsetDateTime = self.system.now() - retention;
        crate::jobs::in_batches(|n| self.stores.webhooks.purge_attempts_before(before, n)).await
    }
}

/// An event on its way to the endpoints.
pub(crate) struct Event {
    pub(crate) id: WebhookEventId,
    event_type: WebhookEventType,
    at: OffsetDateTime,
    payload: String,
}

impl Event {
    pub(crate) fn new(
        system: &System,
        event_type: WebhookEventType,
        data: serde_json::Value,
    ) -> Self {
        let at = system.now();
        let timestamp = at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let payload = serde_json::json!({
            "type": event_type.as_str(),
            "timestamp": timestamp,
            "data": data,
        })
        .to_string();
        Self {
            id: WebhookEventId::from_uuid(system.ids.new_id()),
            event_type,
            at,
            payload,
        }
    }

    async fn enqueue_for(
        &self,
        stores: &Stores,
        system: &System,
        endpoint: &WebhookEndpoint,
    ) -> Result<(), StoreError> {
        stores
            .webhook_queue
            .enqueue(&WebhookDelivery {
                id: WebhookDeliveryId::from_uuid(system.ids.new_id()),
                endpoint_id: endpoint.id,
                event_id: self.id,
                event_type: self.event_type,
                payload: self.payload.clone(),
                created_at: self.at,
                attempts: 0,
            })
            .await
    }

    /// Queues the event for every enabled endpoint subscribed to its type.
    /// The change it reports has been made: a failure here is the
    /// operation's failure (as for its activity event), so it is retried,
    /// not silently missing.
    pub(crate) async fn publish(&self, stores: &Stores, system: &System) -> Result<(), StoreError> {
        let endpoints = stores.webhooks.list().await?;
        self.publish_to(stores, system, &endpoints).await
    }

    /// [`Event::publish`] over `endpoints`, read already.
    async fn publish_to(
        &self,
        stores: &Stores,
        system: &System,
        endpoints: &[WebhookEndpoint],
    ) -> Result<(), StoreError> {
        for endpoint in endpoints
            .iter()
            .filter(|e| e.enabled && e.events.contains(self.event_type))
        {
            self.enqueue_for(stores, system, endpoint)
                .await
                .map_err(|e| {
                    StoreError::msg(format!(
                        "the change was made but its webhook event ({}) was not queued for {}: {e}",
                        self.event_type, endpoint.id
                    ))
                })?;
        }
        Ok(())
    }
}

/// Publishes `event_type` with `data`.
pub(crate) async fn publish(
    stores: &Stores,
    system: &System,
    event_type: WebhookEventType,
    data: serde_json::Value,
) -> Result<(), StoreError> {
    Event::new(system, event_type, data)
        .publish(stores, system)
        .await
}

/// The webhook events an activity event makes, with their data: the user,
/// and the activity's details (the role, the plan, the suspension's reason).
pub(crate) async fn publish_activity(
    stores: &Stores,
    system: &System,
    event: &ActivityEvent,
) -> Result<(), StoreError> {
    use WebhookEventType as W;
    let types: &[WebhookEventType] = match event.kind {
        ActivityKind::RegistrationVerified => &[W::UserCreated, W::UserVerified],
        ActivityKind::AccountDeleted => &[W::UserDeleted],
        ActivityKind::UserSuspended => &[W::UserSuspended],
        ActivityKind::UserUnsuspended => &[W::UserUnsuspended],
        ActivityKind::SignInSucceeded
            if event.details.get("method").and_then(|m| m.as_str()) != Some("refresh") =>
        {
            &[W::SessionCreated]
        }
        ActivityKind::RoleGranted => &[W::RoleGranted],
        ActivityKind::RoleRevoked => &[W::RoleRevoked],
        ActivityKind::PlanChanged => &[W::PlanChanged],
        _ => &[],
    };
    if types.is_empty() {
        return Ok(());
    }
    // One read of the endpoints for every webhook event this makes.
    let endpoints = stores.webhooks.list().await?;
    for &event_type in types {
        let mut data = event.details.clone();
        data.insert("user_id".into(), serde_json::json!(event.user_id));
        Event::new(system, event_type, serde_json::Value::Object(data))
            .publish_to(stores, system, &endpoints)
            .await?;
    }
    Ok(())
}
