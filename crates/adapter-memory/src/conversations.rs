//! `ConversationRepository` and `BlockRepository`.

use async_trait::async_trait;
use domain::*;
use time::OffsetDateTime;

use super::MemoryStore;
use super::state::{State, page_of};

impl State {
    fn conversation_messages_of(
        &self,
        id: ConversationId,
    ) -> impl DoubleEndedIterator<Item = &ConversationMessage> {
        self.conversation_messages
            .range((id, 0)..=(id, u64::MAX))
            .map(|(_, m)| m)
    }

    fn participants_of(&self, id: ConversationId) -> impl Iterator<Item = &Participant> {
        let lo = UserId::from_uuid(uuid::Uuid::nil());
        let hi = UserId::from_uuid(uuid::Uuid::max());
        self.participants.range((id, lo)..=(id, hi)).map(|(_, p)| p)
    }

    /// Removes the user from the conversation, and the conversation when
    /// nobody is left.
    fn leave(&mut self, id: ConversationId, user_id: UserId) -> bool {
        let left = self.participants.remove(&(id, user_id)).is_some();
        if left && self.participants_of(id).next().is_none() {
            self.conversations.remove(&id);
            self.conversation_messages
                .retain(|(conversation, _), _| *conversation != id);
        }
        left
    }
}

#[async_trait]
impl ConversationRepository for MemoryStore {
    async fn create(
        &self,
        conversation: &Conversation,
        participants: &[UserId],
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        if state
            .conversations
            .values()
            .any(|c| c.key == conversation.key)
        {
            return Ok(false);
        }
        state
            .conversations
            .insert(conversation.id, conversation.clone());
        for &user_id in participants {
            state.participants.insert(
                (conversation.id, user_id),
                Participant {
                    conversation_id: conversation.id,
                    user_id,
                    joined_at: conversation.created_at,
                    read_seq: 0,
                    last_activity_at: conversation.last_activity_at,
                },
            );
        }
        Ok(true)
    }

    async fn get(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError> {
        Ok(self.state().conversations.get(&id).cloned())
    }

    async fn find_by_key(&self, key: &str) -> Result<Option<Conversation>, StoreError> {
        Ok(self
            .state()
            .conversations
            .values()
            .find(|c| c.key == key)
            .cloned())
    }

    async fn rename(&self, id: ConversationId, title: Option<String>) -> Result<(), WriteError> {
        let mut state = self.state();
        let conversation = state
            .conversations
            .get_mut(&id)
            .ok_or(WriteError::NotFound)?;
        conversation.title = title;
        Ok(())
    }

    async fn join(
        &self,
        id: ConversationId,
        users: &[UserId],
        at: OffsetDateTime,
    ) -> Result<(), WriteError> {
        let mut state = self.state();
        let conversation = state
            .conversations
            .get(&id)
            .cloned()
            .ok_or(WriteError::NotFound)?;
        for &user_id in users {
            state
                .participants
                .entry((id, user_id))
                .or_insert_with(|| Participant {
                    conversation_id: id,
                    user_id,
                    joined_at: at,
                    read_seq: conversation.last_seq,
                    last_activity_at: conversation.last_activity_at,
                });
        }
        Ok(())
    }

    async fn participants(&self, id: ConversationId) -> Result<Vec<Participant>, StoreError> {
        let state = self.state();
        let mut all: Vec<Participant> = state.participants_of(id).cloned().collect();
        all.sort_by_key(|p| (p.joined_at, p.user_id));
        Ok(all)
    }

    async fn participant(
        &self,
        id: ConversationId,
        user_id: UserId,
    ) -> Result<Option<Participant>, StoreError> {
        Ok(self.state().participants.get(&(id, user_id)).cloned())
    }

    async fn leave(&self, id: ConversationId, user_id: UserId) -> Result<bool, StoreError> {
        Ok(self.state().leave(id, user_id))
    }

    async fn list_for_user(
        &self,
        user_id: UserId,
        page: PageRequest,
    ) -> Result<Page<ConversationEntry>, StoreError> {
        let state = self.state();
        let entries: Vec<ConversationEntry> = state
            .participants
            .values()
            .filter(|p| p.user_id == user_id)
            .filter_map(|p| {
                let conversation = state.conversations.get(&p.conversation_id)?.clone();
                let last_message = state
                    .conversation_messages
                    .get(&(conversation.id, conversation.last_seq))
                    .cloned();
                Some(ConversationEntry {
                    conversation,
                    read_seq: p.read_seq,
                    last_activity_at: p.last_activity_at,
                    last_message,
                })
            })
            .collect();
        Ok(page_of(&entries, page))
    }

    async fn post(&self, message: &ConversationMessage) -> Result<u64, WriteError> {
        let mut state = self.state();
        let id = message.conversation_id;
        let conversation = state
            .conversations
            .get_mut(&id)
            .ok_or(WriteError::NotFound)?;
        conversation.last_seq += 1;
        let seq = conversation.last_seq;
        let at = message.created_at.max(conversation.last_activity_at);
        conversation.last_activity_at = at;
        let mut stored = message.clone();
        stored.seq = seq;
        state.conversation_messages.insert((id, seq), stored);
        for ((conversation, user), p) in state.participants.iter_mut() {
            if *conversation == id {
                p.last_activity_at = p.last_activity_at.max(at);
                if *user == message.sender_id {
                    p.read_seq = p.read_seq.max(seq);
                }
            }
        }
        Ok(seq)
    }

    async fn get_message(
        &self,
        id: ConversationId,
        message_id: MessageId,
    ) -> Result<Option<ConversationMessage>, StoreError> {
        Ok(self
            .state()
            .conversation_messages_of(id)
            .find(|m| m.id == message_id)
            .cloned())
    }

    async fn list_messages(
        &self,
        id: ConversationId,
        page: PageRequest,
    ) -> Result<Page<ConversationMessage>, StoreError> {
        let state = self.state();
        let below = match page.cursor() {
            None => u64::MAX,
            Some(c) => match state
                .conversation_messages_of(id)
                .find(|m| m.id.as_uuid() == c.id)
            {
                Some(m) => m.seq,
                None => return Ok(Page::from_overfetch(Vec::new(), page)),
            },
        };
        let items: Vec<ConversationMessage> = state
            .conversation_messages_of(id)
            .rev()
            .filter(|m| m.seq < below)
            .take(page.limit() as usize + 1)
            .cloned()
            .collect();
        Ok(Page::from_overfetch(items, page))
    }

    async fn mark_read(
        &self,
        id: ConversationId,
        user_id: UserId,
        seq: u64,
    ) -> Result<(), WriteError> {
        let mut state = self.state();
        let p = state
            .participants
            .get_mut(&(id, user_id))
            .ok_or(WriteError::NotFound)?;
        p.read_seq = p.read_seq.max(seq);
        Ok(())
    }

    async fn remove_message(
        &self,
        id: ConversationId,
        message_id: MessageId,
        at: OffsetDateTime,
    ) -> Result<(), WriteError> {
        let mut state = self.state();
        let message = state
            .conversation_messages
            .range_mut((id, 0)..=(id, u64::MAX))
            .map(|(_, m)| m)
            .find(|m| m.id == message_id)
            .ok_or(WriteError::NotFound)?;
        message.content = None;
        message.deleted_at.get_or_insert(at);
        Ok(())
    }

    async fn list_sent(
        &self,
        user_id: UserId,
        page: PageRequest,
    ) -> Result<Page<ConversationMessage>, StoreError> {
        let state = self.state();
        Ok(page_of(
            state
                .conversation_messages
                .values()
                .filter(|m| m.sender_id == user_id),
            page,
        ))
    }

    async fn forget_user(&self, user_id: UserId, at: OffsetDateTime) -> Result<u64, StoreError> {
        let mut state = self.state();
        for m in state.conversation_messages.values_mut() {
            if m.sender_id == user_id && m.content.is_some() {
                m.content = None;
                m.deleted_at = Some(at);
            }
        }
        let theirs: Vec<ConversationId> = state
            .participants
            .keys()
            .filter(|(_, user)| *user == user_id)
            .map(|(conversation, _)| *conversation)
            .collect();
        for id in &theirs {
            state.leave(*id, user_id);
        }
        Ok(theirs.len() as u64)
    }
}

#[async_trait]
impl BlockRepository for MemoryStore {
    async fn block(&self, block: &Block) -> Result<bool, StoreError> {
        let mut state = self.state();
        let key = (block.blocker_id, block.blocked_id);
        if state.blocks.contains_key(&key) {
            return Ok(false);
        }
        state.blocks.insert(key, block.clone());
        Ok(true)
    }

    async fn unblock(&self, blocker_id: UserId, blocked_id: UserId) -> Result<bool, StoreError> {
        Ok(self
            .state()
            .blocks
            .remove(&(blocker_id, blocked_id))
            .is_some())
    }

    async fn is_blocked(&self, blocker_id: UserId, blocked_id: UserId) -> Result<bool, StoreError> {
        Ok(self.state().blocks.contains_key(&(blocker_id, blocked_id)))
    }

    async fn list(&self, blocker_id: UserId) -> Result<Vec<Block>, StoreError> {
        let mut all: Vec<Block> = self
            .state()
            .blocks
            .values()
            .filter(|b| b.blocker_id == blocker_id)
            .cloned()
            .collect();
        all.sort_by_key(|b| std::cmp::Reverse((b.created_at, b.blocked_id)));
        Ok(all)
    }

    async fn forget_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let mut state = self.state();
        let before = state.blocks.len();
        state
            .blocks
            .retain(|(a, b), _| *a != user_id && *b != user_id);
        Ok((before - state.blocks.len()) as u64)
    }
}
