//! Content sessions: create, list, rename, delete; the active session; key/value
//! data (`sessionData`); messages with replies and the unread flag.

use std::collections::BTreeMap;

use super::errors::*;
use crate::{
    ActiveSessionChange, ContentSession, ContentSessionId, Message, MessageId, Page, PageRequest,
    Sender, StorageKey, StoreError, UserId, WriteError,
};
use crate::{Principal, Stores, System};

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

    /// The name limit, when `name` is over it.
    fn name_over_limit(&self, name: &Option<String>) -> Option<usize> {
        let max = self.limits.max_name_chars;
        name.as_deref()
            .filter(|n| !crate::kernel::stores::within(n, max))
            .map(|_| max)
    }

    /// Creates a session owned by the caller.
    pub async fn create(
        &self,
        by: &Principal,
        name: Option<String>,
    ) -> Result<ContentSession, CreateSessionError> {
        if let Some(max) = self.name_over_limit(&name) {
            return Err(CreateSessionError::NameTooLong { max });
        }
        let now = self.system.now();
        let session = ContentSession {
            id: ContentSessionId::from_uuid(self.system.ids.new_id()),
            user_id: by.user_id(),
            name,
            unread_messages: false,
            created_at: now,
            last_accessed_at: now,
        };
        self.stores.content.create(&session).await?;
        Ok(session)
    }

    /// The session, if the caller may see it.
    pub async fn get(
        &self,
        by: &Principal,
        id: ContentSessionId,
    ) -> Result<ContentSession, ContentSessionError> {
        self.stores
            .content
            .get(id)
            .await?
            .filter(|s| by.may_access(s.user_id))
            .ok_or(ContentSessionError::NotFound)
    }

    /// The caller's own sessions, newest first.
    pub async fn list(
        &self,
        by: &Principal,
        page: PageRequest,
    ) -> Result<Page<ContentSession>, StoreError> {
        self.stores.content.list_for_user(by.user_id(), page).await
    }

    /// Renames a session.
    pub async fn rename(
        &self,
        by: &Principal,
        id: ContentSessionId,
        name: Option<String>,
    ) -> Result<ContentSession, RenameError> {
        if let Some(max) = self.name_over_limit(&name) {
            return Err(RenameError::NameTooLong { max });
        }
        let mut session = self.get(by, id).await?;
        let now = self.system.now();
        self.stores.content.rename(id, name.clone(), now).await?;
        session.name = name;
        session.last_accessed_at = now;
        Ok(session)
    }

    /// Deletes a session with its data and messages; clears it as the owner's active session.
    pub async fn delete(
        &self,
        by: &Principal,
        id: ContentSessionId,
    ) -> Result<(), ContentSessionError> {
        let session = self.get(by, id).await?;
        // Only if it is still this one: the owner may switch concurrently.
        self.update_user(session.user_id, ActiveSessionChange::ClearIf(id))
            .await?;
        Ok(self.stores.content.delete(id).await?)
    }

    async fn update_user(
        &self,
        user_id: UserId,
        change: ActiveSessionChange,
    ) -> Result<(), StoreError> {
        let changes = crate::UserChanges {
            active_content_session: Some(change),
            updated_at: Some(self.system.now()),
            ..crate::UserChanges::default()
        };
        match self.stores.users.update_fields(user_id, &changes).await {
            Ok(_) => {
                self.stores.announce(crate::AuthChange::User(user_id)).await;
                Ok(())
            }
            Err(WriteError::NotFound) => Ok(()),
            Err(WriteError::Store(e)) => Err(e),
        }
    }

    /// Makes one of the caller's own sessions their active one (`None`
    /// clears it). An administrator may not make another user's session
    /// their own active one: only owned sessions are taken.
    pub async fn set_active(
        &self,
        by: &Principal,
        id: Option<ContentSessionId>,
    ) -> Result<(), ContentSessionError> {
        let user_id = by.user_id();
        if let Some(id) = id {
            let owned = self.get(by, id).await?;
            if owned.user_id != user_id {
                return Err(ContentSessionError::NotFound);
            }
        }
        if self.stores.users.get(user_id).await?.is_none() {
            return Err(ContentSessionError::NotFound);
        }
        Ok(self
            .update_user(user_id, ActiveSessionChange::Set(id))
            .await?)
    }

    /// Stores a JSON value under `key`, within the size and key-count limits.
    pub async fn put_data(
        &self,
        by: &Principal,
        id: ContentSessionId,
        key: &StorageKey,
        value: &serde_json::Value,
    ) -> Result<(), PutDataError> {
        let size = serde_json::to_vec(value).map_or(usize::MAX, |v| v.len());
        let max = self.limits.max_value_bytes;
        if size > max {
            return Err(PutDataError::ValueTooLarge { max });
        }
        self.get(by, id).await?;
        let max = self.limits.max_keys;
        match self
            .stores
            .content
            .put_data_within(id, key, value, max)
            .await?
        {
            crate::DataPut::Stored => Ok(()),
            crate::DataPut::KeyLimit => Err(PutDataError::KeyLimit { max }),
        }
    }

    /// The value under `key`.
    pub async fn get_data(
        &self,
        by: &Principal,
        id: ContentSessionId,
        key: &StorageKey,
    ) -> Result<serde_json::Value, DataKeyError> {
        self.get(by, id).await?;
        self.stores
            .content
            .get_data(id, key)
            .await?
            .ok_or(DataKeyError::KeyNotFound)
    }

    /// Every key and value of the session.
    pub async fn list_data(
        &self,
        by: &Principal,
        id: ContentSessionId,
    ) -> Result<BTreeMap<StorageKey, serde_json::Value>, ContentSessionError> {
        self.get(by, id).await?;
        Ok(self.stores.content.list_data(id).await?)
    }

    /// Removes `key`.
    pub async fn delete_data(
        &self,
        by: &Principal,
        id: ContentSessionId,
        key: &StorageKey,
    ) -> Result<(), DataKeyError> {
        self.get(by, id).await?;
        match self.stores.content.delete_data(id, key).await {
            Ok(()) => Ok(()),
            Err(WriteError::NotFound) => Err(DataKeyError::KeyNotFound),
            Err(WriteError::Store(e)) => Err(DataKeyError::Unexpected(e)),
        }
    }

    /// Posts a message as the caller. A message from anyone but the owner marks
    /// the session unread for the owner.
    pub async fn post(
        &self,
        by: &Principal,
        id: ContentSessionId,
        content: String,
        parent_id: Option<MessageId>,
    ) -> Result<Message, PostError> {
        let session = self.get(by, id).await?;
        let mark_unread = session.user_id != by.user_id();
        self.append(
            id,
            Sender::User(by.user_id()),
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
        by: &crate::Principal,
        sender: Sender,
        id: ContentSessionId,
        content: String,
        parent_id: Option<MessageId>,
    ) -> Result<Message, PostError> {
        by.require(&crate::Permission::CONTENT_POST_AS)?;
        self.stores
            .content
            .get(id)
            .await?
            .ok_or(PostError::NotFound)?;
        self.append(id, sender, content, parent_id, true).await
    }

    async fn append(
        &self,
        id: ContentSessionId,
        sender: Sender,
        content: String,
        parent_id: Option<MessageId>,
        mark_unread: bool,
    ) -> Result<Message, PostError> {
        if content.trim().is_empty() {
            return Err(PostError::Empty);
        }
        let max = self.limits.max_message_chars;
        if !crate::kernel::stores::within(&content, max) {
            return Err(PostError::TooLong { max });
        }
        if let Some(parent) = parent_id
            && self.stores.content.get_message(id, parent).await?.is_none()
        {
            return Err(PostError::ParentNotFound);
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
            .await?;
        Ok(message)
    }

    /// The session's messages, newest first.
    pub async fn messages(
        &self,
        by: &Principal,
        id: ContentSessionId,
        page: PageRequest,
    ) -> Result<Page<Message>, ContentSessionError> {
        self.get(by, id).await?;
        Ok(self.stores.content.list_messages(id, page).await?)
    }

    /// Clears the unread flag.
    pub async fn mark_read(
        &self,
        by: &Principal,
        id: ContentSessionId,
    ) -> Result<(), ContentSessionError> {
        self.get(by, id).await?;
        Ok(self.stores.content.mark_read(id).await?)
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
