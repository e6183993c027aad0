//! `contentSessions` (with `sessionData` keyed by storage key) and
//! `messages`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use domain::*;
use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use time::OffsetDateTime;

use crate::codec::*;
use crate::error::{corrupt, store};
use crate::indexes::names::{CONTENT, MESSAGES};
use crate::{MongoStore, commit, retrying, run};

/// Storage keys may hold `.`, which MongoDB reads as a path separator in
/// updates; `%` cannot occur in a key, so `%2E` escapes it unambiguously.
fn field(key: &StorageKey) -> String {
    key.as_str().replace('.', "%2E")
}

fn data_path(key: &StorageKey) -> String {
    format!("sessionData.{}", field(key))
}

fn session_doc(s: &ContentSession) -> Document {
    doc! {
        "_id": uuid(s.id.as_uuid()),
        "userId": uuid(s.user_id.as_uuid()),
        "name": opt_str(s.name.as_deref()),
        "unreadMessages": s.unread_messages,
        "createdAt": time(s.created_at),
        "lastAccessed": time(s.last_accessed_at),
        "sessionData": {},
    }
}

fn session(d: &Document) -> Result<ContentSession, StoreError> {
    let f = Fields::of(d, "content session");
    Ok(ContentSession {
        id: ContentSessionId::from_uuid(f.uuid("_id")?),
        user_id: UserId::from_uuid(f.uuid("userId")?),
        name: f.opt_str("name")?.map(str::to_owned),
        unread_messages: f.bool("unreadMessages")?,
        created_at: f.time("createdAt")?,
        last_accessed_at: f.time("lastAccessed")?,
    })
}

fn sender_doc(s: &Sender) -> Document {
    match s {
        Sender::User(id) => doc! {"kind": "user", "userId": uuid(id.as_uuid())},
        Sender::Assistant => doc! {"kind": "assistant"},
        Sender::System => doc! {"kind": "system"},
    }
}

fn message_doc(m: &Message) -> Document {
    doc! {
        "_id": uuid(m.id.as_uuid()),
        "contentSessionId": uuid(m.content_session_id.as_uuid()),
        "sender": sender_doc(&m.sender),
        "content": &m.content,
        "parentId": opt_uuid(m.parent_id.map(|p| p.as_uuid())),
        "read": m.read,
        "createdAt": time(m.created_at),
    }
}

fn message(d: &Document) -> Result<Message, StoreError> {
    let f = Fields::of(d, "message");
    let sender = f.doc("sender")?;
    let sf = Fields::of(&sender, "message sender");
    let sender = match sf.str("kind")? {
        "user" => Sender::User(UserId::from_uuid(sf.uuid("userId")?)),
        "assistant" => Sender::Assistant,
        "system" => Sender::System,
        _ => return Err(corrupt("message", "sender.kind")),
    };
    Ok(Message {
        id: MessageId::from_uuid(f.uuid("_id")?),
        content_session_id: ContentSessionId::from_uuid(f.uuid("contentSessionId")?),
        sender,
        content: f.str("content")?.to_owned(),
        parent_id: f.opt_uuid("parentId")?.map(MessageId::from_uuid),
        read: f.bool("read")?,
        created_at: f.time("createdAt")?,
    })
}

fn id_of(id: ContentSessionId) -> Document {
    doc! {"_id": uuid(id.as_uuid())}
}

impl MongoStore {
    /// Messages first, then the sessions: no message outlives its session.
    async fn delete_sessions_where(&self, filter: Document) -> Result<u64, mongodb::error::Error> {
        self.delete_cascade(CONTENT, filter, MESSAGES, "contentSessionId")
            .await
    }

    /// The session update first (it proves the session exists), then the
    /// message; one transaction where the deployment has them.
    async fn append(&self, m: &Message, mark_unread: bool) -> Result<bool, mongodb::error::Error> {
        let mut s = self.begin().await?;
        let mut set = doc! {"lastAccessed": time(m.created_at)};
        if mark_unread {
            set.insert("unreadMessages", true);
        }
        let r = run!(
            self.coll(CONTENT)
                .update_one(id_of(m.content_session_id), doc! {"$set": set}),
            s
        )?;
        if r.matched_count == 0 {
            return Ok(false);
        }
        run!(self.coll(MESSAGES).insert_one(message_doc(m)), s)?;
        commit(s).await?;
        Ok(true)
    }

    async fn read_all(&self, id: ContentSessionId) -> Result<bool, mongodb::error::Error> {
        let mut s = self.begin().await?;
        let r = run!(
            self.coll(CONTENT)
                .update_one(id_of(id), doc! {"$set": {"unreadMessages": false}}),
            s
        )?;
        if r.matched_count == 0 {
            return Ok(false);
        }
        run!(
            self.coll(MESSAGES).update_many(
                doc! {"contentSessionId": uuid(id.as_uuid()), "read": false},
                doc! {"$set": {"read": true}}
            ),
            s
        )?;
        commit(s).await?;
        Ok(true)
    }
}

#[async_trait]
impl ContentSessionRepository for MongoStore {
    async fn create(&self, s: &ContentSession) -> Result<(), StoreError> {
        self.coll(CONTENT)
            .insert_one(session_doc(s))
            .await
            .map_err(store("insert content session"))?;
        Ok(())
    }

    async fn get(&self, id: ContentSessionId) -> Result<Option<ContentSession>, StoreError> {
        self.coll(CONTENT)
            .find_one(id_of(id))
            .projection(doc! {"sessionData": 0})
            .await
            .map_err(store("get content session"))?
            .as_ref()
            .map(session)
            .transpose()
    }

    async fn list_for_user(
        &self,
        user_id: UserId,
        page: PageRequest,
    ) -> Result<Page<ContentSession>, StoreError> {
        let docs: Vec<Document> = self
            .coll(CONTENT)
            .find(page_filter(doc! {"userId": uuid(user_id.as_uuid())}, &page))
            .projection(doc! {"sessionData": 0})
            .sort(newest_first())
            .limit(overfetch(&page))
            .await
            .map_err(store("list content sessions"))?
            .try_collect()
            .await
            .map_err(store("list content sessions"))?;
        let items = docs.iter().map(session).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page))
    }

    async fn rename(
        &self,
        id: ContentSessionId,
        name: Option<String>,
        at: OffsetDateTime,
    ) -> Result<(), WriteError> {
        let r = self
            .coll(CONTENT)
            .update_one(
                id_of(id),
                doc! {"$set": {"name": opt_str(name.as_deref()), "lastAccessed": time(at)}},
            )
            .await
            .map_err(store("rename content session"))?;
        WriteError::found(r.matched_count)
    }

    async fn delete(&self, id: ContentSessionId) -> Result<(), WriteError> {
        let n = retrying!(self.delete_sessions_where(id_of(id)))
            .map_err(store("delete content session"))?;
        WriteError::found(n)
    }

    async fn put_data(
        &self,
        id: ContentSessionId,
        key: &StorageKey,
        value: &serde_json::Value,
    ) -> Result<(), WriteError> {
        let mut set = Document::new();
        set.insert(data_path(key), json(value)?);
        let r = self
            .coll(CONTENT)
            .update_one(id_of(id), doc! {"$set": set})
            .await
            .map_err(store("put session data"))?;
        WriteError::found(r.matched_count)
    }

    async fn put_data_within(
        &self,
        id: ContentSessionId,
        key: &StorageKey,
        value: &serde_json::Value,
        max_keys: usize,
    ) -> Result<DataPut, WriteError> {
        // One document update: the filter admits a held key, or a new one
        // while the session holds fewer than `max_keys`.
        let path = data_path(key);
        let mut filter = id_of(id);
        let mut held = Document::new();
        held.insert(path.clone(), doc! {"$exists": true});
        let max = i64::try_from(max_keys).unwrap_or(i64::MAX);
        filter.insert(
            "$or",
            vec![
                held,
                doc! {"$expr": {"$lt": [
                    {"$size": {"$objectToArray": {"$ifNull": ["$sessionData", {}]}}},
                    max,
                ]}},
            ],
        );
        let mut set = Document::new();
        set.insert(path, json(value)?);
        let r = self
            .coll(CONTENT)
            .update_one(filter, doc! {"$set": set})
            .await
            .map_err(store("put session data"))?;
        if r.matched_count > 0 {
            return Ok(DataPut::Stored);
        }
        let exists = self
            .coll(CONTENT)
            .find_one(id_of(id))
            .projection(doc! {"_id": 1})
            .await
            .map_err(store("put session data"))?
            .is_some();
        if exists {
            Ok(DataPut::KeyLimit)
        } else {
            Err(WriteError::NotFound)
        }
    }

    async fn get_data(
        &self,
        id: ContentSessionId,
        key: &StorageKey,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let mut projection = Document::new();
        projection.insert(data_path(key), 1);
        let found = self
            .coll(CONTENT)
            .find_one(id_of(id))
            .projection(projection)
            .await
            .map_err(store("get session data"))?;
        Ok(found
            .and_then(|d| d.get_document("sessionData").ok().cloned())
            .and_then(|data| data.get(field(key)).cloned())
            .map(to_json))
    }

    async fn list_data(
        &self,
        id: ContentSessionId,
    ) -> Result<BTreeMap<StorageKey, serde_json::Value>, StoreError> {
        let found = self
            .coll(CONTENT)
            .find_one(id_of(id))
            .projection(doc! {"sessionData": 1})
            .await
            .map_err(store("list session data"))?;
        let Some(d) = found else {
            return Ok(BTreeMap::new());
        };
        let data = Fields::of(&d, "content session").doc("sessionData")?;
        data.into_iter()
            .map(|(k, v)| {
                let key = StorageKey::parse(&k.replace("%2E", "."))
                    .map_err(|_| corrupt("content session", "sessionData"))?;
                Ok((key, to_json(v)))
            })
            .collect()
    }

    async fn delete_data(&self, id: ContentSessionId, key: &StorageKey) -> Result<(), WriteError> {
        let path = data_path(key);
        let mut filter = id_of(id);
        filter.insert(path.clone(), doc! {"$exists": true});
        let mut unset = Document::new();
        unset.insert(path, "");
        let r = self
            .coll(CONTENT)
            .update_one(filter, doc! {"$unset": unset})
            .await
            .map_err(store("delete session data"))?;
        WriteError::found(r.matched_count)
    }

    async fn add_message(&self, m: &Message, mark_unread: bool) -> Result<(), WriteError> {
        if retrying!(self.append(m, mark_unread)).map_err(store("add message"))? {
            Ok(())
        } else {
            Err(WriteError::NotFound)
        }
    }

    async fn get_message(
        &self,
        session: ContentSessionId,
        id: MessageId,
    ) -> Result<Option<Message>, StoreError> {
        self.coll(MESSAGES)
            .find_one(doc! {"_id": uuid(id.as_uuid()), "contentSessionId": uuid(session.as_uuid())})
            .await
            .map_err(store("get message"))?
            .as_ref()
            .map(message)
            .transpose()
    }

    async fn list_messages(
        &self,
        session: ContentSessionId,
        page: PageRequest,
    ) -> Result<Page<Message>, StoreError> {
        let docs: Vec<Document> = self
            .coll(MESSAGES)
            .find(page_filter(
                doc! {"contentSessionId": uuid(session.as_uuid())},
                &page,
            ))
            .sort(newest_first())
            .limit(overfetch(&page))
            .await
            .map_err(store("list messages"))?
            .try_collect()
            .await
            .map_err(store("list messages"))?;
        let items = docs.iter().map(message).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page))
    }

    async fn mark_read(&self, id: ContentSessionId) -> Result<(), WriteError> {
        if retrying!(self.read_all(id)).map_err(store("mark read"))? {
            Ok(())
        } else {
            Err(WriteError::NotFound)
        }
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        retrying!(self.delete_sessions_where(doc! {"userId": uuid(user_id.as_uuid())}))
            .map_err(store("delete content sessions"))
    }
}
