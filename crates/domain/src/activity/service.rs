//! Writing events from the services that make changes, and reading them:
//! one's own, or everyone's with `activity:read`.

use time::OffsetDateTime;

use crate::{
    ActivityEvent, ActivityEventId, ActivityFilter, ActivityKind, Actor, Page, PageRequest,
    Permission, Principal, StoreError, UserId,
};
use crate::{Stores, System};

/// Where a change was asked from: the client's IP and User-Agent, when
/// there was a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestOrigin {
    /// The client's IP address.
    pub ip: Option<String>,
    /// The client's device, parsed from its User-Agent.
    pub device: Option<crate::Device>,
}

/// No request: a job, or a change whose request is not known here.
pub(crate) static NO_ORIGIN: RequestOrigin = RequestOrigin {
    ip: None,
    device: None,
};

impl RequestOrigin {
    /// The origin recorded on `principal`'s session (at its sign-in): an
    /// action made with that session.
    pub fn of_session(principal: &Principal) -> Self {
        Self {
            ip: principal.session().ip.clone(),
            device: principal.session().device.clone(),
        }
    }
}

/// An event to write: what, to whom, by whom, from where.
#[derive(Debug, Clone)]
pub(crate) struct Happened<'a> {
    pub(crate) kind: ActivityKind,
    pub(crate) user_id: UserId,
    pub(crate) actor: Actor,
    pub(crate) origin: &'a RequestOrigin,
    pub(crate) details: serde_json::Map<String, serde_json::Value>,
}

impl<'a> Happened<'a> {
    /// `kind` happened to `user_id` by `actor` from `origin`, with no details.
    pub(crate) fn new(
        kind: ActivityKind,
        user_id: UserId,
        actor: Actor,
        origin: &'a RequestOrigin,
    ) -> Self {
        Self {
            kind,
            user_id,
            actor,
            origin,
            details: serde_json::Map::new(),
        }
    }

    /// The same with a detail.
    pub(crate) fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// An administrator's action on a user: the actor is the user when
    /// acting on oneself.
    pub(crate) fn by_admin(
        kind: ActivityKind,
        user_id: UserId,
        by: &Principal,
        origin: &'a RequestOrigin,
    ) -> Self {
        let actor = if by.user_id() == user_id {
            Actor::User(user_id)
        } else {
            Actor::Admin(by.user_id())
        };
        Self::new(kind, user_id, actor, origin)
    }
}

fn bounded(text: &Option<String>, max: usize) -> Option<String> {
    text.as_ref().map(|t| t.chars().take(max).collect())
}

/// Writes the event of a change that was just made. The change is not
/// acknowledged without it: a failure here is the operation's failure
/// (the caller answers an error, never success), and the error names the
/// event, so the gap is in the log, not silent.
pub(crate) async fn record(
    stores: &Stores,
    system: &System,
    happened: Happened<'_>,
) -> Result<(), StoreError> {
    let event = ActivityEvent {
        id: ActivityEventId::from_uuid(system.ids.new_id()),
        kind: happened.kind,
        at: system.now(),
        user_id: happened.user_id,
        actor: happened.actor,
        ip: bounded(&happened.origin.ip, 64),
        device: happened.origin.device.clone(),
        details: happened.details,
    };
    stores.activity.append(&event).await.map_err(|e| {
        StoreError::msg(format!(
            "the change was made but its activity event ({} of user {}) was not stored: {e}",
            event.kind.as_str(),
            event.user_id
        ))
    })?;
    crate::stats::count(stores, event.at, day_counts(&event)).await?;
    crate::webhooks::publish_activity(stores, system, &event).await
}

/// What `event` adds to the day's statistics: sign-ins (not refreshes),
/// failed sign-ins, deleted accounts.
fn day_counts(event: &ActivityEvent) -> crate::DayCounts {
    let mut counts = crate::DayCounts::default();
    match event.kind {
        ActivityKind::SignInSucceeded
            if event.details.get("method").and_then(|m| m.as_str()) != Some("refresh") =>
        {
            counts.sign_ins = 1;
        }
        ActivityKind::SignInFailed => counts.sign_in_failures = 1,
        ActivityKind::AccountDeleted => counts.users_deleted = 1,
        _ => {}
    }
    counts
}

/// Reading the activity log, and its retention.
#[derive(Clone)]
pub struct ActivityLog {
    stores: Stores,
    system: System,
}

impl ActivityLog {
    /// Builds the service.
    pub fn new(stores: Stores, system: System) -> Self {
        Self { stores, system }
    }

    /// The signed-in user's own events, newest first (optionally of one type).
    pub async fn mine(
        &self,
        by: &Principal,
        kind: Option<ActivityKind>,
        page: PageRequest,
    ) -> Result<Page<ActivityEvent>, StoreError> {
        let filter = ActivityFilter {
            user_id: Some(by.user_id()),
            kind,
            ..ActivityFilter::default()
        };
        self.stores.activity.list(&filter, page).await
    }

    /// Every event that passes `filter`; `by` needs `activity:read`.
    pub async fn list(
        &self,
        by: &Principal,
        filter: &ActivityFilter,
        page: PageRequest,
    ) -> Result<Page<ActivityEvent>, crate::ReadError> {
        by.require(&Permission::ACTIVITY_READ)?;
        Ok(self.stores.activity.list(filter, page).await?)
    }

    /// Deletes events older than `retention`, in batches; returns how many.
    pub async fn purge(&self, retention: time::Duration) -> Result<u64, StoreError> {
        let before: OffsetDateTime = self.system.now() - retention;
        crate::jobs::in_batches(|n| self.stores.activity.purge_before(before, n)).await
    }
}
