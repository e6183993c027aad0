//! The ports of conversations between users: conversations with their
//! participants and messages (one port, because posting changes all three
//! in one atomic step), and blocks.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::model::*;
use crate::{ConversationId, MessageId, Page, PageRequest, StoreError, UserId, WriteError};

/// Stores conversations, their participants (with read positions) and
/// their messages.
///
/// Listing a user's conversations by last activity reads the user's
/// participant records through an index on (user, last activity, id);
/// listing a conversation's messages reads them through an index on
/// (conversation, sequence number). Unread counts are never counted: the
/// conversation holds its last sequence number and each participant their
/// read position.
#[portico_macros::port("conversations")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ConversationRepository: Send + Sync {
    /// Inserts the conversation (its `last_seq` is 0) and a participant
    /// record for each of `participants` (read position 0, last activity
    /// the conversation's). Returns `false` and writes nothing when a
    /// conversation with the same `key` exists (a direct conversation of
    /// that pair, created concurrently perhaps).
    async fn create(
        &self,
        conversation: &Conversation,
        participants: &[UserId],
    ) -> Result<bool, StoreError>;

    /// The conversation, or `None`.
    async fn get(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError>;

    /// The conversation whose key is `key`, or `None`.
    async fn find_by_key(&self, key: &str) -> Result<Option<Conversation>, StoreError>;

    /// Sets the title, changing nothing else. `NotFound` for an unknown id.
    async fn rename(&self, id: ConversationId, title: Option<String>) -> Result<(), WriteError>;

    /// Adds each of `users` who is not a participant, with the read
    /// position at the conversation's last message (nothing unread) and
    /// its last activity; a participant already there is left as is.
    /// `NotFound` for an unknown conversation.
    async fn join(
        &self,
        id: ConversationId,
        users: &[UserId],
        at: OffsetDateTime,
    ) -> Result<(), WriteError>;

    /// The conversation's participants, in the order they joined.
    async fn participants(&self, id: ConversationId) -> Result<Vec<Participant>, StoreError>;

    /// The user's participant record in the conversation, or `None`.
    async fn participant(
        &self,
        id: ConversationId,
        user_id: UserId,
    ) -> Result<Option<Participant>, StoreError>;

    /// Removes the user from the conversation; when nobody is left, the
    /// conversation and its messages are deleted in the same step. Returns
    /// whether they were a participant.
    async fn leave(&self, id: ConversationId, user_id: UserId) -> Result<bool, StoreError>;

    /// The user's conversations, most recent activity first (ties by id),
    /// each with their read position and the newest message; the cursor is
    /// an entry's (last activity, conversation id).
    async fn list_for_user(
        &self,
        user_id: UserId,
        page: PageRequest,
    ) -> Result<Page<ConversationEntry>, StoreError>;

    /// Appends `message` (its `seq` is ignored) in one atomic step: it takes
    /// the conversation's next sequence number, which becomes `last_seq`;
    /// the conversation's and every participant's last activity become
    /// its time unless later already; the sender's read position rises to
    /// it. Returns the sequence number. Concurrent posts MUST each get a
    /// different number, with none lost. `NotFound` for an unknown
    /// conversation.
    async fn post(&self, message: &ConversationMessage) -> Result<u64, WriteError>;

    /// The message `id` of the conversation, or `None` (also when it
    /// belongs to another conversation).
    async fn get_message(
        &self,
        id: ConversationId,
        message_id: MessageId,
    ) -> Result<Option<ConversationMessage>, StoreError>;

    /// The conversation's messages, highest sequence number first; a cursor
    /// names a message of the conversation (its id), and the page resumes
    /// below that message's sequence number.
    async fn list_messages(
        &self,
        id: ConversationId,
        page: PageRequest,
    ) -> Result<Page<ConversationMessage>, StoreError>;

    /// Raises the user's read position to `seq`; a higher position stays
    /// (concurrent calls end at the highest). `NotFound` when the user is
    /// not a participant.
    async fn mark_read(
        &self,
        id: ConversationId,
        user_id: UserId,
        seq: u64,
    ) -> Result<(), WriteError>;

    /// Turns the message into a tombstone: content removed, `deleted_at`
    /// set (an existing tombstone keeps its first time). `NotFound` for a
    /// message not in the conversation.
    async fn remove_message(
        &self,
        id: ConversationId,
        message_id: MessageId,
        at: OffsetDateTime,
    ) -> Result<(), WriteError>;

    /// The messages the user sent, in any conversation, newest first by
    /// (time, id) (for the export).
    async fn list_sent(
        &self,
        user_id: UserId,
        page: PageRequest,
    ) -> Result<Page<ConversationMessage>, StoreError>;

    /// For a deleted account: every message the user sent becomes a
    /// tombstone, and the user leaves every conversation (those left with
    /// nobody are deleted). Returns how many conversations they left.
    async fn forget_user(&self, user_id: UserId, at: OffsetDateTime) -> Result<u64, StoreError>;
}

/// Stores who blocks whom.
#[portico_macros::port("blocks")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait BlockRepository: Send + Sync {
    /// Records the block; returns `false` (and keeps the first time) when
    /// it exists.
    async fn block(&self, block: &Block) -> Result<bool, StoreError>;

    /// Removes the block; returns whether it existed.
    async fn unblock(&self, blocker_id: UserId, blocked_id: UserId) -> Result<bool, StoreError>;

    /// Whether `blocker_id` blocks `blocked_id`.
    async fn is_blocked(&self, blocker_id: UserId, blocked_id: UserId) -> Result<bool, StoreError>;

    /// The users `blocker_id` blocks, most recent first.
    async fn list(&self, blocker_id: UserId) -> Result<Vec<Block>, StoreError>;

    /// Removes every block the user made or is the object of (a deleted
    /// account); returns how many.
    async fn forget_user(&self, user_id: UserId) -> Result<u64, StoreError>;
}
