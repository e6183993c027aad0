//! Notifications: created for a user by an administrator or a service, listed
//! newest first (optionally unseen only), seen, answered, dismissed, expired.

use time::OffsetDateTime;

use crate::{
    ContentSessionId, MessageId, Notification, NotificationId, Page, PageRequest, StoreError,
    Urgency, UserId, WriteError,
};
use crate::{Stores, System};

/// What a new notification says.
#[derive(Debug, Clone, Default)]
pub struct NewNotification {
    /// Kind, 1–64 characters, for example `payment_received`.
    pub kind: String,
    /// Short text.
    pub toast_message: Option<String>,
    /// Related content session.
    pub content_session_id: Option<ContentSessionId>,
    /// Related message.
    pub message_id: Option<MessageId>,
    /// Related task id.
    pub task_id: Option<String>,
    /// Related image.
    pub image: Option<String>,
    /// How prominently clients should show it (`normal` unless set).
    pub urgency: Urgency,
    /// Stays until dismissed.
    pub persistent: bool,
    /// Disappears at this instant; must be in the future.
    pub expires_at: Option<OffsetDateTime>,
}

/// Why a notification operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    /// The caller lacks `notifications:write`.
    #[error(transparent)]
    Forbidden(#[from] crate::Denied),
    /// No such notification for this user (or it expired).
    #[error("notification not found")]
    NotFound,
    /// The recipient does not exist.
    #[error("user not found")]
    UserNotFound,
    /// A field is invalid (named).
    #[error("invalid {0}")]
    Invalid(&'static str),
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

unexpected_from_store!(NotificationError);

narrows!(WriteError::{NotFound, Store} => NotificationError);

/// Notification use cases: create (with `notifications:write`), list, read, mark seen, respond, dismiss.
#[derive(Clone)]
pub struct Notifications {
    stores: Stores,
    system: System,
}

impl Notifications {
    /// Builds the service.
    pub fn new(stores: Stores, system: System) -> Self {
        Self { stores, system }
    }

    /// Creates a notification for an existing user on behalf of `by`, who
    /// needs `notifications:write`.
    pub async fn create(
        &self,
        by: &crate::Principal,
        user_id: UserId,
        new: NewNotification,
    ) -> Result<Notification, NotificationError> {
        by.require(&crate::Permission::NOTIFICATIONS_WRITE)?;
        let now = self.system.now();
        let kind_len = new.kind.chars().count();
        if kind_len == 0 || kind_len > 64 {
            return Err(NotificationError::Invalid("kind"));
        }
        if new
            .toast_message
            .as_deref()
            .is_some_and(|t| !crate::kernel::stores::within(t, 1_000))
        {
            return Err(NotificationError::Invalid("toast_message"));
        }
        if new.expires_at.is_some_and(|at| at <= now) {
            return Err(NotificationError::Invalid("expires_at"));
        }
        if self.stores.users.get(user_id).await?.is_none() {
            return Err(NotificationError::UserNotFound);
        }
        let notification = Notification {
            id: NotificationId::from_uuid(self.system.ids.new_id()),
            user_id,
            content_session_id: new.content_session_id,
            conversation_id: None,
            message_id: new.message_id,
            task_id: new.task_id,
            kind: new.kind,
            toast_message: new.toast_message,
            image: new.image,
            urgency: new.urgency,
            persistent: new.persistent,
            seen_at: None,
            response_data: None,
            created_at: now,
            expires_at: new.expires_at.map(crate::truncate_to_millis),
        };
        self.stores.notifications.create(&notification).await?;
        Ok(notification)
    }

    /// The user's notifications, newest first.
    pub async fn list(
        &self,
        user_id: UserId,
        unseen_only: bool,
        page: PageRequest,
    ) -> Result<Page<Notification>, StoreError> {
        self.stores
            .notifications
            .list(user_id, unseen_only, self.system.now(), page)
            .await
    }

    /// One of the user's notifications.
    pub async fn get(
        &self,
        user_id: UserId,
        id: NotificationId,
    ) -> Result<Notification, NotificationError> {
        self.stores
            .notifications
            .get(user_id, id, self.system.now())
            .await?
            .ok_or(NotificationError::NotFound)
    }

    /// Marks one seen.
    pub async fn mark_seen(
        &self,
        user_id: UserId,
        id: NotificationId,
    ) -> Result<(), NotificationError> {
        self.get(user_id, id).await?;
        self.stores
            .notifications
            .mark_seen(user_id, id, self.system.now())
            .await
            .map_err(NotificationError::from)
    }

    /// Marks all seen; returns how many changed.
    pub async fn mark_all_seen(&self, user_id: UserId) -> Result<u64, StoreError> {
        self.stores
            .notifications
            .mark_all_seen(user_id, self.system.now())
            .await
    }

    /// Stores the user's response (a JSON object of at most 16 KiB).
    pub async fn respond(
        &self,
        user_id: UserId,
        id: NotificationId,
        data: &serde_json::Value,
    ) -> Result<(), NotificationError> {
        if !data.is_object() {
            return Err(NotificationError::Invalid("response_data"));
        }
        if serde_json::to_vec(data).map_or(usize::MAX, |v| v.len()) > 16 * 1024 {
            return Err(NotificationError::Invalid("response_data"));
        }
        self.get(user_id, id).await?;
        self.stores
            .notifications
            .set_response(user_id, id, data)
            .await
            .map_err(NotificationError::from)
    }

    /// Dismisses (deletes) one.
    pub async fn dismiss(
        &self,
        user_id: UserId,
        id: NotificationId,
    ) -> Result<(), NotificationError> {
        self.stores
            .notifications
            .delete(user_id, id)
            .await
            .map_err(NotificationError::from)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::kernel::principal::testing::principal;
    use crate::test_support::*;
    use crate::{MockNotificationRepository, MockUserRepository};
    use futures::executor::block_on;

    #[test]
    fn expiry_must_be_in_the_future_and_kind_bounded() {
        let h = Harness::new();
        let svc = Notifications::new(h.stores, h.system);
        let past = NewNotification {
            kind: "k".into(),
            expires_at: Some(T0),
            ..Default::default()
        };
        assert!(matches!(
            block_on(svc.create(
                &principal(99, &["notifications:write"]),
                sample_user(1).id,
                past
            )),
            Err(NotificationError::Invalid("expires_at"))
        ));
        let no_kind = NewNotification::default();
        assert!(matches!(
            block_on(svc.create(
                &principal(99, &["notifications:write"]),
                sample_user(1).id,
                no_kind
            )),
            Err(NotificationError::Invalid("kind"))
        ));
    }

    #[test]
    fn notification_for_unknown_user_is_refused() {
        let mut h = Harness::new();
        let mut users = MockUserRepository::new();
        users.expect_get().returning(|_| Ok(None));
        h.stores.users = Arc::new(users);
        let svc = Notifications::new(h.stores, h.system);
        let n = NewNotification {
            kind: "hello".into(),
            ..Default::default()
        };
        assert!(matches!(
            block_on(svc.create(
                &principal(99, &["notifications:write"]),
                sample_user(1).id,
                n
            )),
            Err(NotificationError::UserNotFound)
        ));
    }

    #[test]
    fn response_must_be_an_object() {
        let mut h = Harness::new();
        let mut repo = MockNotificationRepository::new();
        repo.expect_set_response().never();
        h.stores.notifications = Arc::new(repo);
        let svc = Notifications::new(h.stores, h.system);
        let id = NotificationId::from_uuid(uuid::Uuid::from_u128(3));
        let res = block_on(svc.respond(sample_user(1).id, id, &serde_json::json!([1, 2])));
        assert!(matches!(
            res,
            Err(NotificationError::Invalid("response_data"))
        ));
    }

    #[test]
    fn creating_a_notification_needs_its_permission() {
        // The mocks have no expectations: a denied call touches no store.
        let h = Harness::new();
        let svc = Notifications::new(h.stores, h.system);
        let new = NewNotification {
            kind: "reminder".into(),
            toast_message: None,
            image: None,
            urgency: Default::default(),
            persistent: false,
            task_id: None,
            content_session_id: None,
            message_id: None,
            expires_at: None,
        };
        let res = block_on(svc.create(&principal(99, &[]), sample_user(1).id, new));
        assert!(matches!(
            res,
            Err(NotificationError::Forbidden(d)) if d.0 == crate::Permission::NOTIFICATIONS_WRITE
        ));
    }
}
