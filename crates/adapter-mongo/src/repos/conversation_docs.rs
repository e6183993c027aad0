//! Conversations, participants and their messages as documents.

use domain::*;
use mongodb::bson::{Document, doc};
use time::OffsetDateTime;

use crate::codec::*;
use crate::error::corrupt;

pub(super) fn conversation_doc(c: &Conversation) -> Document {
    doc! {
        "_id": uuid(c.id.as_uuid()),
        "kind": c.kind.as_str(),
        "title": opt_str(c.title.as_deref()),
        "createdBy": uuid(c.created_by.as_uuid()),
        "createdAt": time(c.created_at),
        "lastSeq": int(c.last_seq),
        "lastActivityAt": time(c.last_activity_at),
        "key": &c.key,
    }
}

pub(super) fn conversation(d: &Document) -> Result<Conversation, StoreError> {
    let f = Fields::of(d, "conversation");
    Ok(Conversation {
        id: ConversationId::from_uuid(f.uuid("_id")?),
        kind: ConversationKind::parse(f.str("kind")?)
            .ok_or_else(|| corrupt("conversation", "kind"))?,
        title: f.opt_str("title")?.map(str::to_owned),
        created_by: UserId::from_uuid(f.uuid("createdBy")?),
        created_at: f.time("createdAt")?,
        last_seq: f.u64("lastSeq")?,
        last_activity_at: f.time("lastActivityAt")?,
        key: f.str("key")?.to_owned(),
    })
}

pub(super) fn participant_doc(
    id: ConversationId,
    user: UserId,
    joined_at: OffsetDateTime,
    read_seq: u64,
    last_activity_at: OffsetDateTime,
) -> Document {
    doc! {
        "conversationId": uuid(id.as_uuid()),
        "userId": uuid(user.as_uuid()),
        "joinedAt": time(joined_at),
        "readSeq": int(read_seq),
        "lastActivityAt": time(last_activity_at),
    }
}

pub(super) fn participant(d: &Document) -> Result<Participant, StoreError> {
    let f = Fields::of(d, "participant");
    Ok(Participant {
        conversation_id: ConversationId::from_uuid(f.uuid("conversationId")?),
        user_id: UserId::from_uuid(f.uuid("userId")?),
        joined_at: f.time("joinedAt")?,
        read_seq: f.u64("readSeq")?,
        last_activity_at: f.time("lastActivityAt")?,
    })
}

pub(super) fn message_doc(m: &ConversationMessage, seq: u64) -> Document {
    doc! {
        "_id": uuid(m.id.as_uuid()),
        "conversationId": uuid(m.conversation_id.as_uuid()),
        "seq": int(seq),
        "senderId": uuid(m.sender_id.as_uuid()),
        "content": opt_str(m.content.as_deref()),
        "parentId": opt_uuid(m.parent_id.map(|p| p.as_uuid())),
        "createdAt": time(m.created_at),
        "deletedAt": opt_time(m.deleted_at),
    }
}

pub(super) fn message(d: &Document) -> Result<ConversationMessage, StoreError> {
    let f = Fields::of(d, "conversation message");
    Ok(ConversationMessage {
        id: MessageId::from_uuid(f.uuid("_id")?),
        conversation_id: ConversationId::from_uuid(f.uuid("conversationId")?),
        seq: f.u64("seq")?,
        sender_id: UserId::from_uuid(f.uuid("senderId")?),
        content: f.opt_str("content")?.map(str::to_owned),
        parent_id: f.opt_uuid("parentId")?.map(MessageId::from_uuid),
        created_at: f.time("createdAt")?,
        deleted_at: f.opt_time("deletedAt")?,
    })
}

pub(super) fn id_of(id: ConversationId) -> Document {
    doc! {"_id": uuid(id.as_uuid())}
}

pub(super) fn member(id: ConversationId, user: UserId) -> Document {
    doc! {"conversationId": uuid(id.as_uuid()), "userId": uuid(user.as_uuid())}
}
