//! Conversation use cases: start (direct or group), read, rename, list,
//! post, read messages, mark read, leave, remove a message; and blocks.
//! Every rule is here: a conversation is seen only by its participants
//! (anyone else is told it does not exist), a blocked user cannot start a
//! conversation with the blocker nor post in a direct one with them, and
//! only the sender or a holder of `messages:moderate` removes a message.

use std::collections::BTreeSet;

use super::model::*;
use crate::activity::{Actor, Happened};
use crate::{
    ActivityKind, ConversationId, MessageId, Notification, NotificationId, Page, PageRequest,
    Permission, Principal, RequestOrigin, StoreError, Stores, System, Urgency, UserId, Window,
    WriteError,
};

/// How often a user may post.
#[derive(Debug, Clone, Copy)]
pub struct ConversationLimits {
    /// Messages one sender may post per minute, in all conversations.
    pub posts_per_minute: u64,
}

impl Default for ConversationLimits {
    fn default() -> Self {
        Self {
            posts_per_minute: 60,
        }
    }
}

/// Why a conversation operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    /// No such conversation, or the caller is not a participant (the same
    /// answer, so conversations cannot be probed).
    #[error("conversation not found")]
    NotFound,
    /// No such message in the conversation.
    #[error("message not found")]
    MessageNotFound,
    /// A user named as a participant does not exist, or cannot be reached
    /// by the caller (they block the caller): the same answer for both.
    #[error("user {0} not found")]
    UserNotFound(UserId),
    /// A field is not acceptable: its name and why.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The other participant of a direct conversation blocks the caller.
    #[error("blocked")]
    Blocked,
    /// The caller may not remove this message (not theirs, no
    /// `messages:moderate`).
    #[error(transparent)]
    Forbidden(#[from] crate::Denied),
    /// The caller posted too often; they may again after this many seconds.
    #[error("too many messages; retry after {retry_after} s")]
    RateLimited {
        /// Seconds until the window ends.
        retry_after: u64,
    },
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

unexpected_from_store!(ConversationError);

impl From<WriteError> for ConversationError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::NotFound => Self::NotFound,
            WriteError::Store(e) => Self::Unexpected(e),
        }
    }
}

pub(super) fn invalid(field: &'static str, reason: impl ToString) -> ConversationError {
    ConversationError::Invalid {
        field,
        reason: reason.to_string(),
    }
}

/// Conversations between users, and blocks.
#[derive(Clone)]
pub struct Conversations {
    pub(super) stores: Stores,
    pub(super) system: System,
    limits: ConversationLimits,
}

impl Conversations {
    /// Builds the service.
    pub fn new(stores: Stores, system: System, limits: ConversationLimits) -> Self {
        Self {
            stores,
            system,
            limits,
        }
    }

    /// Starts a conversation of the caller with `others` (1 makes a direct
    /// conversation, returned as it is if the pair has one; 2–49 a group).
    /// Each must be an existing user who does not block the caller.
    pub async fn start(
        &self,
        by: &Principal,
        others: &[UserId],
        title: Option<&str>,
    ) -> Result<Started, ConversationError> {
        let me = by.user_id();
        let unique: BTreeSet<UserId> = others.iter().copied().collect();
        if unique.len() != others.len() {
            return Err(invalid("participant_ids", "must not repeat a user"));
        }
        if unique.contains(&me) {
            return Err(invalid("participant_ids", "must not include yourself"));
        }
        if others.is_empty() || others.len() >= MAX_PARTICIPANTS {
            return Err(invalid(
                "participant_ids",
                format!("must name 1 to {} other users", MAX_PARTICIPANTS - 1),
            ));
        }
        let kind = if others.len() == 1 {
            ConversationKind::Direct
        } else {
            ConversationKind::Group
        };
        let title = match (kind, title) {
            (_, None) => None,
            (ConversationKind::Direct, Some(_)) => {
                return Err(invalid("title", "a direct conversation has no title"));
            }
            (ConversationKind::Group, Some(t)) => Some(
                ConversationTitle::parse(t)
                    .map_err(|e| invalid("title", e))?
                    .into_inner(),
            ),
        };
        for &other in others {
            let reachable = match self.stores.users.get(other).await? {
                Some(user) => !self.stores.blocks.is_blocked(user.id, me).await?,
                None => false,
            };
            if !reachable {
                return Err(ConversationError::UserNotFound(other));
            }
        }
        let now = self.system.now();
        let id = ConversationId::from_uuid(self.system.ids.new_id());
        let key = match kind {
            ConversationKind::Direct => Conversation::direct_key(me, others[0]),
            ConversationKind::Group => id.to_string(),
        };
        let conversation = Conversation {
            id,
            kind,
            title,
            created_by: me,
            created_at: now,
            last_seq: 0,
            last_activity_at: now,
            key,
        };
        let mut members = vec![me];
        members.extend_from_slice(others);
        if self
            .stores
            .conversations
            .create(&conversation, &members)
            .await?
        {
            let participants = self
                .stores
                .conversations
                .participants(conversation.id)
                .await?;
            let view = self.view(conversation, participants).await?;
            return Ok(Started {
                view,
                created: true,
            });
        }
        // The pair's direct conversation exists: whoever of the two had
        // left is back in it.
        let existing = self
            .stores
            .conversations
            .find_by_key(&conversation.key)
            .await?
            .ok_or(ConversationError::NotFound)?;
        self.stores
            .conversations
            .join(existing.id, &members, now)
            .await?;
        let participants = self.stores.conversations.participants(existing.id).await?;
        Ok(Started {
            view: self.view(existing, participants).await?,
            created: false,
        })
    }

    /// The conversation, if the caller takes part in it.
    pub async fn get(
        &self,
        by: &Principal,
        id: ConversationId,
    ) -> Result<ConversationDetails, ConversationError> {
        let participants = self.members(by, id).await?;
        let conversation = self.conversation(id).await?;
        Ok(self.view(conversation, participants).await?)
    }

    /// Renames a group.
    pub async fn rename(
        &self,
        by: &Principal,
        id: ConversationId,
        title: Option<&str>,
    ) -> Result<ConversationDetails, ConversationError> {
        let conversation = self.visible(by, id).await?;
        if conversation.kind == ConversationKind::Direct {
            return Err(invalid("title", "a direct conversation has no title"));
        }
        let title = title
            .map(ConversationTitle::parse)
            .transpose()
            .map_err(|e| invalid("title", e))?
            .map(ConversationTitle::into_inner);
        self.stores.conversations.rename(id, title).await?;
        self.get(by, id).await
    }

    /// The caller's conversations, most recent activity first.
    pub async fn list(
        &self,
        by: &Principal,
        page: PageRequest,
    ) -> Result<Page<ConversationEntry>, StoreError> {
        self.stores
            .conversations
            .list_for_user(by.user_id(), page)
            .await
    }

    /// Posts a message; every other participant is notified (kind
    /// `message`, live on every instance's stream).
    pub async fn post(
        &self,
        by: &Principal,
        id: ConversationId,
        content: &str,
        parent_id: Option<MessageId>,
    ) -> Result<ConversationMessage, ConversationError> {
        let content = MessageContent::parse(content).map_err(|e| invalid("content", e))?;
        let me = by.user_id();
        let participants = self.members(by, id).await?;
        let conversation = self.conversation(id).await?;
        if conversation.kind == ConversationKind::Direct {
            for other in participants.iter().filter(|p| p.user_id != me) {
                if self.stores.blocks.is_blocked(other.user_id, me).await? {
                    return Err(ConversationError::Blocked);
                }
            }
        }
        if let Some(parent) = parent_id
            && self
                .stores
                .conversations
                .get_message(id, parent)
                .await?
                .is_none()
        {
            return Err(invalid(
                "parent_id",
                "is not a message of this conversation",
            ));
        }
        self.within_rate(me).await?;
        let mut message = ConversationMessage {
            id: MessageId::from_uuid(self.system.ids.new_id()),
            conversation_id: id,
            seq: 0,
            sender_id: me,
            content: Some(content.into_inner()),
            parent_id,
            created_at: self.system.now(),
            deleted_at: None,
        };
        message.seq = self.stores.conversations.post(&message).await?;
        let notices = participants
            .iter()
            .filter(|p| p.user_id != me)
            .map(|p| self.notify(p.user_id, by, &message));
        futures::future::try_join_all(notices).await?;
        Ok(message)
    }

    async fn within_rate(&self, sender: UserId) -> Result<(), ConversationError> {
        let now = self.system.now();
        let hit = self
            .stores
            .rate_limiter
            .hit(&format!("conversation_post:{sender}"), Window::MINUTE, now)
            .await?;
        if hit.count > self.limits.posts_per_minute {
            let retry_after = hit
                .resets_at
                .map_or(60, |at| (at - now).whole_seconds().max(1) as u64);
            return Err(ConversationError::RateLimited { retry_after });
        }
        Ok(())
    }

    async fn notify(
        &self,
        user_id: UserId,
        from: &Principal,
        message: &ConversationMessage,
    ) -> Result<(), StoreError> {
        let notification = Notification {
            id: NotificationId::from_uuid(self.system.ids.new_id()),
            user_id,
            content_session_id: None,
            conversation_id: Some(message.conversation_id),
            message_id: Some(message.id),
            task_id: None,
            kind: "message".to_owned(),
            toast_message: Some(format!("New message from {}", from.user().username)),
            image: None,
            urgency: Urgency::Normal,
            persistent: false,
            seen_at: None,
            response_data: None,
            created_at: message.created_at,
            expires_at: None,
        };
        self.stores.notifications.create(&notification).await
    }

    /// The conversation's messages, newest first, each with who of the
    /// other participants has read it.
    pub async fn messages(
        &self,
        by: &Principal,
        id: ConversationId,
        page: PageRequest,
    ) -> Result<Page<MessageReads>, ConversationError> {
        let participants = self.members(by, id).await?;
        let page = self.stores.conversations.list_messages(id, page).await?;
        let items = page
            .items
            .into_iter()
            .map(|message| MessageReads {
                read_by: participants
                    .iter()
                    .filter(|p| p.user_id != message.sender_id && p.read_seq >= message.seq)
                    .map(|p| p.user_id)
                    .collect(),
                message,
            })
            .collect();
        Ok(Page {
            items,
            next_cursor: page.next_cursor,
        })
    }

    /// Marks everything up to and including `up_to` read for the caller.
    pub async fn mark_read(
        &self,
        by: &Principal,
        id: ConversationId,
        up_to: MessageId,
    ) -> Result<(), ConversationError> {
        self.visible(by, id).await?;
        let message = self
            .stores
            .conversations
            .get_message(id, up_to)
            .await?
            .ok_or_else(|| invalid("up_to", "is not a message of this conversation"))?;
        self.stores
            .conversations
            .mark_read(id, by.user_id(), message.seq)
            .await
            .map_err(ConversationError::from)
    }

    /// The caller leaves the conversation (it stays for the others).
    pub async fn leave(&self, by: &Principal, id: ConversationId) -> Result<(), ConversationError> {
        if self.stores.conversations.leave(id, by.user_id()).await? {
            Ok(())
        } else {
            Err(ConversationError::NotFound)
        }
    }

    /// Removes a message: its sender may, and a holder of
    /// `messages:moderate` (recorded as `message.removed`, the moderator
    /// the actor). A moderator need not take part in the conversation.
    pub async fn remove_message(
        &self,
        by: &Principal,
        id: ConversationId,
        message_id: MessageId,
    ) -> Result<(), ConversationError> {
        let moderator = by.holds(&Permission::MESSAGES_MODERATE);
        if !moderator {
            self.visible(by, id).await?;
        }
        let message = self
            .stores
            .conversations
            .get_message(id, message_id)
            .await?
            .ok_or(ConversationError::MessageNotFound)?;
        let own = message.sender_id == by.user_id();
        if !own && !moderator {
            return Err(crate::Denied(Permission::MESSAGES_MODERATE).into());
        }
        if message.is_deleted() {
            return Ok(());
        }
        let now = self.system.now();
        self.stores
            .conversations
            .remove_message(id, message_id, now)
            .await
            .map_err(|e| match e {
                WriteError::NotFound => ConversationError::MessageNotFound,
                WriteError::Store(e) => ConversationError::Unexpected(e),
            })?;
        if !own {
            let origin = RequestOrigin::of_session(by);
            let happened = Happened::new(
                ActivityKind::MessageRemoved,
                message.sender_id,
                Actor::Admin(by.user_id()),
                &origin,
            )
            .with("conversation_id", id.to_string())
            .with("message_id", message_id.to_string());
            crate::activity::record(&self.stores, &self.system, happened).await?;
        }
        Ok(())
    }

    /// The conversation, when the caller takes part in it.
    async fn visible(
        &self,
        by: &Principal,
        id: ConversationId,
    ) -> Result<Conversation, ConversationError> {
        if self
            .stores
            .conversations
            .participant(id, by.user_id())
            .await?
            .is_none()
        {
            return Err(ConversationError::NotFound);
        }
        self.conversation(id).await
    }

    /// The conversation's participants, when the caller is one of them
    /// (one read, where the conversation itself is not needed).
    async fn members(
        &self,
        by: &Principal,
        id: ConversationId,
    ) -> Result<Vec<Participant>, ConversationError> {
        let participants = self.stores.conversations.participants(id).await?;
        if participants.iter().any(|p| p.user_id == by.user_id()) {
            Ok(participants)
        } else {
            Err(ConversationError::NotFound)
        }
    }

    async fn conversation(&self, id: ConversationId) -> Result<Conversation, ConversationError> {
        self.stores
            .conversations
            .get(id)
            .await?
            .ok_or(ConversationError::NotFound)
    }

    /// The conversation with its participants' usernames.
    async fn view(
        &self,
        conversation: Conversation,
        participants: Vec<Participant>,
    ) -> Result<ConversationDetails, StoreError> {
        let users = futures::future::try_join_all(
            participants
                .iter()
                .map(|p| self.stores.users.get(p.user_id)),
        )
        .await?;
        let participants = participants
            .into_iter()
            .zip(users)
            .map(|(p, user)| ParticipantName {
                user_id: p.user_id,
                username: user.map(|u| u.username),
                read_seq: p.read_seq,
            })
            .collect();
        Ok(ConversationDetails {
            conversation,
            participants,
        })
    }
}
