//! `ContentSessionRepository`: sessions, their data and their messages.

use std::collections::BTreeMap;

use async_trait::async_trait;
use domain::*;
use time::OffsetDateTime;

use super::MemoryStore;
use super::state::{State, count, page_of};

/// Removes a session with its data and messages.
fn remove_session(state: &mut State, id: ContentSessionId) -> bool {
    state.data.remove(&id);
    state.messages.retain(|_, m| m.content_session_id != id);
    state.content.remove(&id).is_some()
}

#[async_trait]
impl ContentSessionRepository for MemoryStore {
    async fn create(&self, session: &ContentSession) -> Result<(), StoreError> {
        self.state().content.insert(session.id, session.clone());
        Ok(())
    }

    async fn get(&self, id: ContentSessionId) -> Result<Option<ContentSession>, StoreError> {
        Ok(self.state().content.get(&id).cloned())
    }

    async fn list_for_user(
        &self,
        user_id: UserId,
        page: PageRequest,
    ) -> Result<Page<ContentSession>, StoreError> {
        let state = self.state();
        Ok(page_of(
            state.content.values().filter(|s| s.user_id == user_id),
            page,
        ))
    }

    async fn rename(
        &self,
        id: ContentSessionId,
        name: Option<String>,
        at: OffsetDateTime,
    ) -> Result<(), WriteError> {
        let mut state = self.state();
        let session = state.content.get_mut(&id).ok_or(WriteError::NotFound)?;
        session.name = name;
        session.last_accessed_at = at;
        Ok(())
    }

    async fn delete(&self, id: ContentSessionId) -> Result<(), WriteError> {
        if remove_session(&mut self.state(), id) {
            Ok(())
        } else {
            Err(WriteError::NotFound)
        }
    }

    async fn put_data_within(
        &self,
        id: ContentSessionId,
        key: &StorageKey,
        value: &serde_json::Value,
        max_keys: usize,
    ) -> Result<DataPut, WriteError> {
        let mut state = self.state();
        if !state.content.contains_key(&id) {
            return Err(WriteError::NotFound);
        }
        let data = state.data.entry(id).or_default();
        if !data.contains_key(key) && data.len() >= max_keys {
            return Ok(DataPut::KeyLimit);
        }
        data.insert(key.clone(), value.clone());
        Ok(DataPut::Stored)
    }

    async fn put_data(
        &self,
        id: ContentSessionId,
        key: &StorageKey,
        value: &serde_json::Value,
    ) -> Result<(), WriteError> {
        let mut state = self.state();
        if !state.content.contains_key(&id) {
            return Err(WriteError::NotFound);
        }
        state
            .data
            .entry(id)
            .or_default()
            .insert(key.clone(), value.clone());
        Ok(())
    }

    async fn get_data(
        &self,
        id: ContentSessionId,
        key: &StorageKey,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        Ok(self
            .state()
            .data
            .get(&id)
            .and_then(|data| data.get(key))
            .cloned())
    }

    async fn list_data(
        &self,
        id: ContentSessionId,
    ) -> Result<BTreeMap<StorageKey, serde_json::Value>, StoreError> {
        Ok(self.state().data.get(&id).cloned().unwrap_or_default())
    }

    async fn delete_data(&self, id: ContentSessionId, key: &StorageKey) -> Result<(), WriteError> {
        self.state()
            .data
            .get_mut(&id)
            .and_then(|data| data.remove(key))
            .map(drop)
            .ok_or(WriteError::NotFound)
    }

    async fn add_message(&self, message: &Message, mark_unread: bool) -> Result<(), WriteError> {
        let mut state = self.state();
        let session = state
            .content
            .get_mut(&message.content_session_id)
            .ok_or(WriteError::NotFound)?;
        session.last_accessed_at = message.created_at;
        if mark_unread {
            session.unread_messages = true;
        }
        state.messages.insert(message.id, message.clone());
        Ok(())
    }

    async fn get_message(
        &self,
        session: ContentSessionId,
        id: MessageId,
    ) -> Result<Option<Message>, StoreError> {
        Ok(self
            .state()
            .messages
            .get(&id)
            .filter(|m| m.content_session_id == session)
            .cloned())
    }

    async fn list_messages(
        &self,
        session: ContentSessionId,
        page: PageRequest,
    ) -> Result<Page<Message>, StoreError> {
        let state = self.state();
        Ok(page_of(
            state
                .messages
                .values()
                .filter(|m| m.content_session_id == session),
            page,
        ))
    }

    async fn mark_read(&self, id: ContentSessionId) -> Result<(), WriteError> {
        let mut state = self.state();
        let session = state.content.get_mut(&id).ok_or(WriteError::NotFound)?;
        session.unread_messages = false;
        for message in state.messages.values_mut() {
            if message.content_session_id == id {
                message.read = true;
            }
        }
        Ok(())
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let mut state = self.state();
        let doomed: Vec<ContentSessionId> = state
            .content
            .values()
            .filter(|s| s.user_id == user_id)
            .map(|s| s.id)
            .collect();
        for id in &doomed {
            remove_session(&mut state, *id);
        }
        Ok(count(doomed.len()))
    }
}
