//! Blocks: a user blocks another, lifts it, lists whom they block. What a
//! block prevents is checked where conversations start and messages are
//! posted (`service.rs`).

use super::model::Block;
use super::service::{ConversationError, Conversations, invalid};
use crate::{Principal, StoreError, UserId};

impl Conversations {
    /// Blocks `user_id` for the caller (again: no change).
    pub async fn block(&self, by: &Principal, user_id: UserId) -> Result<(), ConversationError> {
        if user_id == by.user_id() {
            return Err(invalid("user_id", "you cannot block yourself"));
        }
        if self.stores.users.get(user_id).await?.is_none() {
            return Err(ConversationError::UserNotFound(user_id));
        }
        let block = Block {
            blocker_id: by.user_id(),
            blocked_id: user_id,
            created_at: self.system.now(),
        };
        self.stores.blocks.block(&block).await?;
        Ok(())
    }

    /// Lifts the caller's block of `user_id`; `UserNotFound` when there was none.
    pub async fn unblock(&self, by: &Principal, user_id: UserId) -> Result<(), ConversationError> {
        if self.stores.blocks.unblock(by.user_id(), user_id).await? {
            Ok(())
        } else {
            Err(ConversationError::UserNotFound(user_id))
        }
    }

    /// The users the caller blocks, most recent first.
    pub async fn blocks(&self, by: &Principal) -> Result<Vec<Block>, StoreError> {
        self.stores.blocks.list(by.user_id()).await
    }
}
