//! `conversations` (unique on `key`), `conversationParticipants` (one
//! document per participant with `readSeq` and a copy of the conversation's
//! `lastActivityAt`, listed per user by an index on (`userId`,
//! `lastActivityAt` desc)), `conversationMessages` (unique on
//! (`conversationId`, `seq`)) and `blocks`.
//!
//! A post is single-document steps in a safe order, each atomic, so
//! concurrent posts never conflict: `$inc` of the conversation's `lastSeq`
//! (with `findOneAndUpdate`, which returns the number it took), the insert
//! of the message under that number, then `$max` on the participants' last
//! activity and the sender's read position (commutative, so concurrent
//! posts end at the highest). A process that stops between the first two
//! steps leaves a number with no message: the count of unread messages is
//! one too high until the next read.

use async_trait::async_trait;
use domain::*;
use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use mongodb::options::ReturnDocument;
use time::OffsetDateTime;

use crate::MongoStore;
use crate::codec::*;
use crate::error::{is_duplicate, store};
use crate::indexes::names::{CONVERSATION_MESSAGES, CONVERSATIONS, PARTICIPANTS};

#[path = "conversation_docs.rs"]
mod docs;
use docs::*;

impl MongoStore {
    pub(super) async fn all_of(
        &self,
        collection: &str,
        filter: Document,
        sort: Document,
        limit: Option<i64>,
        what: &'static str,
    ) -> Result<Vec<Document>, StoreError> {
        let coll = self.coll(collection);
        let mut find = coll.find(filter).sort(sort);
        if let Some(n) = limit {
            find = find.limit(n);
        }
        find.await
            .map_err(store(what))?
            .try_collect()
            .await
            .map_err(store(what))
    }

    /// Removes the participant; deletes the conversation (messages first)
    /// when nobody is left.
    async fn leave_conversation(
        &self,
        id: ConversationId,
        user: UserId,
    ) -> Result<bool, StoreError> {
        let what = "leave conversation";
        let gone = self
            .coll(PARTICIPANTS)
            .delete_one(member(id, user))
            .await
            .map_err(store(what))?;
        let remaining = self
            .coll(PARTICIPANTS)
            .count_documents(doc! {"conversationId": uuid(id.as_uuid())})
            .limit(1)
            .await
            .map_err(store(what))?;
        if remaining == 0 {
            self.coll(CONVERSATION_MESSAGES)
                .delete_many(doc! {"conversationId": uuid(id.as_uuid())})
                .await
                .map_err(store(what))?;
            self.coll(CONVERSATIONS)
                .delete_one(id_of(id))
                .await
                .map_err(store(what))?;
        }
        Ok(gone.deleted_count > 0)
    }
}

#[async_trait]
impl ConversationRepository for MongoStore {
    async fn create(&self, c: &Conversation, participants: &[UserId]) -> Result<bool, StoreError> {
        match self
            .coll(CONVERSATIONS)
            .insert_one(conversation_doc(c))
            .await
        {
            Ok(_) => {}
            Err(e) if is_duplicate(&e) => return Ok(false),
            Err(e) => return Err(store("create conversation")(e)),
        }
        let docs = participants
            .iter()
            .map(|u| participant_doc(c.id, *u, c.created_at, 0, c.last_activity_at));
        self.coll(PARTICIPANTS)
            .insert_many(docs)
            .await
            .map_err(store("create conversation"))?;
        Ok(true)
    }

    async fn get(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError> {
        self.coll(CONVERSATIONS)
            .find_one(id_of(id))
            .await
            .map_err(store("get conversation"))?
            .as_ref()
            .map(conversation)
            .transpose()
    }

    async fn find_by_key(&self, key: &str) -> Result<Option<Conversation>, StoreError> {
        self.coll(CONVERSATIONS)
            .find_one(doc! {"key": key})
            .await
            .map_err(store("find conversation"))?
            .as_ref()
            .map(conversation)
            .transpose()
    }

    async fn rename(&self, id: ConversationId, title: Option<String>) -> Result<(), WriteError> {
        let r = self
            .coll(CONVERSATIONS)
            .update_one(
                id_of(id),
                doc! {"$set": {"title": opt_str(title.as_deref())}},
            )
            .await
            .map_err(store("rename conversation"))?;
        WriteError::found(r.matched_count)
    }

    async fn join(
        &self,
        id: ConversationId,
        users: &[UserId],
        at: OffsetDateTime,
    ) -> Result<(), WriteError> {
        let c = ConversationRepository::get(self, id)
            .await?
            .ok_or(WriteError::NotFound)?;
        for user in users {
            // Inserted only where missing: an existing participant stays.
            self.coll(PARTICIPANTS)
                .update_one(
                    member(id, *user),
                    doc! {"$setOnInsert": {
                        "joinedAt": time(at),
                        "readSeq": int(c.last_seq),
                        "lastActivityAt": time(c.last_activity_at),
                    }},
                )
                .upsert(true)
                .await
                .map_err(store("join conversation"))?;
        }
        Ok(())
    }

    async fn participants(&self, id: ConversationId) -> Result<Vec<Participant>, StoreError> {
        self.all_of(
            PARTICIPANTS,
            doc! {"conversationId": uuid(id.as_uuid())},
            doc! {"joinedAt": 1, "userId": 1},
            None,
            "list participants",
        )
        .await?
        .iter()
        .map(participant)
        .collect()
    }

    async fn participant(
        &self,
        id: ConversationId,
        user_id: UserId,
    ) -> Result<Option<Participant>, StoreError> {
        self.coll(PARTICIPANTS)
            .find_one(member(id, user_id))
            .await
            .map_err(store("get participant"))?
            .as_ref()
            .map(participant)
            .transpose()
    }

    async fn leave(&self, id: ConversationId, user_id: UserId) -> Result<bool, StoreError> {
        self.leave_conversation(id, user_id).await
    }

    async fn list_for_user(
        &self,
        user_id: UserId,
        page: PageRequest,
    ) -> Result<Page<ConversationEntry>, StoreError> {
        let what = "list conversations";
        let mine = doc! {"userId": uuid(user_id.as_uuid())};
        let filter = match page.cursor() {
            None => mine,
            Some(c) => doc! {"$and": [mine, {"$or": [
                {"lastActivityAt": {"$lt": time(c.at)}},
                {"lastActivityAt": time(c.at), "conversationId": {"$lt": uuid(c.id)}},
            ]}]},
        };
        let rows = self
            .all_of(
                PARTICIPANTS,
                filter,
                doc! {"lastActivityAt": -1, "conversationId": -1},
                Some(overfetch(&page)),
                what,
            )
            .await?
            .iter()
            .map(participant)
            .collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<_> = rows
            .iter()
            .map(|p| uuid(p.conversation_id.as_uuid()))
            .collect();
        let conversations = self
            .all_of(
                CONVERSATIONS,
                doc! {"_id": {"$in": ids}},
                doc! {},
                None,
                what,
            )
            .await?
            .iter()
            .map(conversation)
            .collect::<Result<Vec<_>, _>>()?;
        let newest: Vec<Document> = conversations
            .iter()
            .filter(|c| c.last_seq > 0)
            .map(|c| doc! {"conversationId": uuid(c.id.as_uuid()), "seq": int(c.last_seq)})
            .collect();
        let last_messages = if newest.is_empty() {
            Vec::new()
        } else {
            self.all_of(
                CONVERSATION_MESSAGES,
                doc! {"$or": newest},
                doc! {},
                None,
                what,
            )
            .await?
            .iter()
            .map(message)
            .collect::<Result<Vec<_>, _>>()?
        };
        let items = rows
            .into_iter()
            .filter_map(|p| {
                let c = conversations
                    .iter()
                    .find(|c| c.id == p.conversation_id)?
                    .clone();
                let last_message = last_messages
                    .iter()
                    .find(|m| m.conversation_id == c.id && m.seq == c.last_seq)
                    .cloned();
                Some(ConversationEntry {
                    conversation: c,
                    read_seq: p.read_seq,
                    last_activity_at: p.last_activity_at,
                    last_message,
                })
            })
            .collect();
        Ok(Page::from_overfetch(items, page))
    }

    async fn post(&self, m: &ConversationMessage) -> Result<u64, WriteError> {
        let what = "post message";
        let cid = uuid(m.conversation_id.as_uuid());
        let c = self
            .coll(CONVERSATIONS)
            .find_one_and_update(
                id_of(m.conversation_id),
                doc! {"$inc": {"lastSeq": 1_i64}, "$max": {"lastActivityAt": time(m.created_at)}},
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(store(what))?
            .ok_or(WriteError::NotFound)?;
        let c = conversation(&c)?;
        let number = c.last_seq;
        self.coll(CONVERSATION_MESSAGES)
            .insert_one(message_doc(m, number))
            .await
            .map_err(store(what))?;
        self.coll(PARTICIPANTS)
            .update_many(
                doc! {"conversationId": cid.clone()},
                doc! {"$max": {"lastActivityAt": time(c.last_activity_at)}},
            )
            .await
            .map_err(store(what))?;
        self.coll(PARTICIPANTS)
            .update_one(
                member(m.conversation_id, m.sender_id),
                doc! {"$max": {"readSeq": int(number)}},
            )
            .await
            .map_err(store(what))?;
        Ok(number)
    }

    async fn get_message(
        &self,
        id: ConversationId,
        message_id: MessageId,
    ) -> Result<Option<ConversationMessage>, StoreError> {
        self.coll(CONVERSATION_MESSAGES)
            .find_one(
                doc! {"_id": uuid(message_id.as_uuid()), "conversationId": uuid(id.as_uuid())},
            )
            .await
            .map_err(store("get message"))?
            .as_ref()
            .map(message)
            .transpose()
    }

    async fn list_messages(
        &self,
        id: ConversationId,
        page: PageRequest,
    ) -> Result<Page<ConversationMessage>, StoreError> {
        let mut filter = doc! {"conversationId": uuid(id.as_uuid())};
        if let Some(c) = page.cursor() {
            let at =
                ConversationRepository::get_message(self, id, MessageId::from_uuid(c.id)).await?;
            let Some(at) = at else {
                return Ok(Page::from_overfetch(Vec::new(), page));
            };
            filter.insert("seq", doc! {"$lt": int(at.seq)});
        }
        let items = self
            .all_of(
                CONVERSATION_MESSAGES,
                filter,
                doc! {"conversationId": 1, "seq": -1},
                Some(overfetch(&page)),
                "list messages",
            )
            .await?
            .iter()
            .map(message)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page))
    }

    async fn mark_read(
        &self,
        id: ConversationId,
        user_id: UserId,
        seq: u64,
    ) -> Result<(), WriteError> {
        let r = self
            .coll(PARTICIPANTS)
            .update_one(member(id, user_id), doc! {"$max": {"readSeq": int(seq)}})
            .await
            .map_err(store("mark conversation read"))?;
        WriteError::found(r.matched_count)
    }

    async fn remove_message(
        &self,
        id: ConversationId,
        message_id: MessageId,
        at: OffsetDateTime,
    ) -> Result<(), WriteError> {
        let filter = doc! {"_id": uuid(message_id.as_uuid()), "conversationId": uuid(id.as_uuid())};
        let r = self
            .coll(CONVERSATION_MESSAGES)
            .update_one(
                filter.clone(),
                doc! {"$set": {"content": mongodb::bson::Bson::Null}},
            )
            .await
            .map_err(store("remove message"))?;
        // The first removal's time stays.
        let mut first = filter;
        first.insert("deletedAt", mongodb::bson::Bson::Null);
        self.coll(CONVERSATION_MESSAGES)
            .update_one(first, doc! {"$set": {"deletedAt": time(at)}})
            .await
            .map_err(store("remove message"))?;
        WriteError::found(r.matched_count)
    }

    async fn list_sent(
        &self,
        user_id: UserId,
        page: PageRequest,
    ) -> Result<Page<ConversationMessage>, StoreError> {
        let items = self
            .all_of(
                CONVERSATION_MESSAGES,
                page_filter(doc! {"senderId": uuid(user_id.as_uuid())}, &page),
                newest_first(),
                Some(overfetch(&page)),
                "list sent messages",
            )
            .await?
            .iter()
            .map(message)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page))
    }

    async fn forget_user(&self, user_id: UserId, at: OffsetDateTime) -> Result<u64, StoreError> {
        let what = "forget a user's conversations";
        self.coll(CONVERSATION_MESSAGES)
            .update_many(
                doc! {"senderId": uuid(user_id.as_uuid()), "content": {"$ne": mongodb::bson::Bson::Null}},
                doc! {"$set": {"content": mongodb::bson::Bson::Null, "deletedAt": time(at)}},
            )
            .await
            .map_err(store(what))?;
        let theirs = self
            .all_of(
                PARTICIPANTS,
                doc! {"userId": uuid(user_id.as_uuid())},
                doc! {},
                None,
                what,
            )
            .await?
            .iter()
            .map(participant)
            .collect::<Result<Vec<_>, _>>()?;
        let mut left = 0;
        for p in theirs {
            if self.leave_conversation(p.conversation_id, user_id).await? {
                left += 1;
            }
        }
        Ok(left)
    }
}
