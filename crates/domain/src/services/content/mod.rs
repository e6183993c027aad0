//! Content sessions: create, list, rename, delete; the active session; key/value
//! data (`sessionData`); messages with replies and the unread flag.

use std::collections::BTreeMap;

use super::{Actor, Stores, System};
use crate::{
    ActiveSessionChange, ContentSession, ContentSessionId, Message, MessageId, Page, PageRequest,
    Sender, StorageKey, StoreError, UserId, WriteError,
};

/// Size limits of content-session data and messages.
#[derive(Debug, Clone)]
pub struct ContentLimits {
    /// Largest JSON value under one storage key, in bytes.
    pub max_value_bytes: usize,
    /// Most storage keys per session.
    pub max_keys: usize,
    /// Longest message, in characters.
    pub max_message_chars: usize,
    /// Longest session name, in characters.
    pub max_name_chars: usize,
}

impl Default for ContentLimits {
    fn default() -> Self {
        Self {
            max_value_bytes: 64 * 1024,
            max_keys: 100,
            max_message_chars: 32_000,
            max_name_chars: 200,
        }
    }
}

/// Why a content-session operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// The caller lacks `content:post_as`.
    #[error(transparent)]
    Forbidden(#[from] super::Denied),
    /// No such session, or it belongs to someone else (not told apart, so ids do not leak).
    #[error("content session not found")]
    NotFound,
    /// No such storage key or message in the session.
    #[error("item not found")]
    ItemNotFound,
    /// The reply's parent is not a message of this session.
    #[error("parent message not found in this session")]
    ParentNotFound,
    /// A value, name or message exceeds its limit.
    #[error("{0} is too large")]
    TooLarge(&'static str),
    /// The session already holds the most storage keys allowed.
    #[error("too many storage keys")]
    QuotaExceeded,
    /// An empty message.
    #[error("message is empty")]
    EmptyMessage,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

impl From<StoreError> for ContentError {
    fn from(e: StoreError) -> Self {
        Self::Unexpected(e)
    }
}

fn write_to_content(e: WriteError) -> ContentError {
    match e {
        WriteError::NotFound => ContentError::NotFound,
        WriteError::Store(e) => ContentError::Unexpected(e),
    }
}

/// Content sessions and messages.
#[derive(Clone)]
pub struct ContentSessions {
    stores: Stores,
    system: System,
    limits: ContentLimits,
}

impl ContentSessions {
    /// Builds the service.
    pub fn new(stores: Stores, system: System, limits: ContentLimits) -> Self {
        Self {
            stores,
            system,
            limits,
        }
    }

    fn check_name(&self, name: &Option<String>) -> Result<(), ContentError> {
        match name {
            Some(n) if !super::within(n, self.limits.max_name_chars) => {
                Err(ContentError::TooLarge("name"))
            }
            _ => Ok(()),
        }
    }

    /// Creates a session owned by the actor.
    pub async fn create(
        &self,
        actor: Actor,
        name: Option<String>,
    ) -> Result<ContentSession, ContentError> {
        self.check_name(&name)?;
        let now = self.system.now();
        let session = ContentSession {
            id: ContentSessionId::from_uuid(self.system.ids.new_id()),
            user_id: actor.user_id,
            name,
            unread_messages: false,
            created_at: now,
            last_accessed_at: now,
        };
        self.stores.content.create(&session).await?;
        Ok(session)
    }

    /// The session, if the actor may see it.
    pub async fn get(
        &self,
        actor: Actor,
        id: ContentSessionId,
    ) -> Result<ContentSession, ContentError> {
        self.stores
            .content
            .get(id)
            .await?
            .filter(|s| actor.may_access(s.user_id))
            .ok_or(ContentError::NotFound)
    }

    /// The actor's own sessions, newest first.
    pub async fn list(
        &self,
        actor: Actor,
        page: PageRequest,
    ) -> Result<Page<ContentSession>, StoreError> {
        self.stores.content.list_for_user(actor.user_id, page).await
    }

    /// Renames a session.
    pub async fn rename(
        &self,
        actor: Actor,
        id: ContentSessionId,
        name: Option<String>,
    ) -> Result<ContentSession, ContentError> {
        self.check_name(&name)?;
        let mut session = self.get(actor, id).await?;
        let now = self.system.now();
        self.stores
            .content
            .rename(id, name.clone(), now)
            .await
            .map_err(write_to_content)?;
        session.name = name;
        session.last_accessed_at = now;
        Ok(session)
    }

    /// Deletes a session with its data and messages; clears it as the owner's active session.
    pub async fn delete(&self, actor: Actor, id: ContentSessionId) -> Result<(), ContentError> {
        let session = self.get(actor, id).await?;
        // Only if it is still this one: the owner may switch concurrently.
        self.update_user(session.user_id, ActiveSessionChange::ClearIf(id))
            .await?;
        self.stores
            .content
            .delete(id)
            .await
            .map_err(write_to_content)
    }

    async fn update_user(
        &self,
        user_id: UserId,
        change: ActiveSessionChange,
    ) -> Result<(), ContentError> {
        let changes = crate::UserChanges {
            active_content_session: Some(change),
            updated_at: Some(self.system.now()),
            ..crate::UserChanges::default()
        };
        match self.stores.users.update_fields(user_id, &changes).await {
            Ok(_) | Err(WriteError::NotFound) => Ok(()),
            Err(WriteError::Store(e)) => Err(ContentError::Unexpected(e)),
        }
    }

    /// Makes one of the actor's own sessions their active one (`None` clears it).
    pub async fn set_active(
        &self,
        user_id: UserId,
        id: Option<ContentSessionId>,
    ) -> Result<(), ContentError> {
        if let Some(id) = id {
            self.get(Actor::user(user_id), id).await?;
        }
        if self.stores.users.get(user_id).await?.is_none() {
            return Err(ContentError::NotFound);
        }
        self.update_user(user_id, ActiveSessionChange::Set(id))
            .await
    }

    /// Stores a JSON value under `key`, within the size and key-count limits.
    pub async fn put_data(
        &self,
        actor: Actor,
        id: ContentSessionId,
        key: &StorageKey,
        value: &serde_json::Value,
    ) -> Result<(), ContentError> {
        let size = serde_json::to_vec(value).map_or(usize::MAX, |v| v.len());
        if size > self.limits.max_value_bytes {
            return Err(ContentError::TooLarge("value"));
        }
        self.get(actor, id).await?;
        match self
            .stores
            .content
            .put_data_within(id, key, value, self.limits.max_keys)
            .await
            .map_err(write_to_content)?
        {
            crate::DataPut::Stored => Ok(()),
            crate::DataPut::KeyLimit => Err(ContentError::QuotaExceeded),
        }
    }

    /// The value under `key`.
    pub async fn get_data(
        &self,
        actor: Actor,
        id: ContentSessionId,
        key: &StorageKey,
    ) -> Result<serde_json::Value, ContentError> {
        self.get(actor, id).await?;
        self.stores
            .content
            .get_data(id, key)
            .await?
            .ok_or(ContentError::ItemNotFound)
    }

    /// Every key and value of the session.
    pub async fn list_data(
        &self,
        actor: Actor,
        id: ContentSessionId,
    ) -> Result<BTreeMap<StorageKey, serde_json::Value>, ContentError> {
        self.get(actor, id).await?;
        Ok(self.stores.content.list_data(id).await?)
    }

    /// Removes `key`.
    pub async fn delete_data(
        &self,
        actor: Actor,
        id: ContentSessionId,
        key: &StorageKey,
    ) -> Result<(), ContentError> {
        self.get(actor, id).await?;
        match self.stores.content.delete_data(id, key).await {
            Ok(()) => Ok(()),
            Err(WriteError::NotFound) => Err(ContentError::ItemNotFound),
            Err(WriteError::Store(e)) => Err(ContentError::Unexpected(e)),
        }
    }

    /// Posts a message as the actor. A message from anyone but the owner marks
    /// the session unread for the owner.
    pub async fn post(
        &self,
        actor: Actor,
        id: ContentSessionId,
        content: String,
        parent_id: Option<MessageId>,
    ) -> Result<Message, ContentError> {
        let session = self.get(actor, id).await?;
        let mark_unread = session.user_id != actor.user_id;
        self.append(
            id,
            Sender::User(actor.user_id),
            content,
            parent_id,
            mark_unread,
        )
        .await
    }

    /// Posts a message from the assistant or the system (a service, not a
    /// user) on behalf of `by`, who needs `content:post_as`; it marks the
    /// session unread for its owner.
    pub async fn post_as(
        &self,
        by: &super::Principal,
        sender: Sender,
        id: ContentSessionId,
        content: String,
        parent_id: Option<MessageId>,
    ) -> Result<Message, ContentError> {
        by.require(&crate::Permission::CONTENT_POST_AS)?;
        self.stores
            .content
            .get(id)
            .await?
            .ok_or(ContentError::NotFound)?;
        self.append(id, sender, content, parent_id, true).await
    }

    async fn append(
        &self,
        id: ContentSessionId,
        sender: Sender,
        content: String,
        parent_id: Option<MessageId>,
        mark_unread: bool,
    ) -> Result<Message, ContentError> {
        if content.trim().is_empty() {
            return Err(ContentError::EmptyMessage);
        }
        if !super::within(&content, self.limits.max_message_chars) {
            return Err(ContentError::TooLarge("message"));
        }
        if let Some(parent) = parent_id
            && self.stores.content.get_message(id, parent).await?.is_none()
        {
            return Err(ContentError::ParentNotFound);
        }
        let message = Message {
            id: MessageId::from_uuid(self.system.ids.new_id()),
            content_session_id: id,
            sender,
            content,
            parent_id,
            read: !mark_unread,
            created_at: self.system.now(),
        };
        self.stores
            .content
            .add_message(&message, mark_unread)
            .await
            .map_err(write_to_content)?;
        Ok(message)
    }

    /// The session's messages, newest first.
    pub async fn messages(
        &self,
        actor: Actor,
        id: ContentSessionId,
        page: PageRequest,
    ) -> Result<Page<Message>, ContentError> {
        self.get(actor, id).await?;
        Ok(self.stores.content.list_messages(id, page).await?)
    }

    /// Clears the unread flag.
    pub async fn mark_read(&self, actor: Actor, id: ContentSessionId) -> Result<(), ContentError> {
        self.get(actor, id).await?;
        self.stores
            .content
            .mark_read(id)
            .await
            .map_err(write_to_content)
    }
}

#[cfg(test)]
mod tests;
