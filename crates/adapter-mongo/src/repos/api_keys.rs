//! `apiKeys`: one document per key, unique on `keyHash`, listed by
//! (`userId`, `createdAt` desc). `lastUsedAt` moves forward only, with a
//! conditional update.

use async_trait::async_trait;
use domain::*;
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use time::OffsetDateTime;

use crate::MongoStore;
use crate::codec::*;
use crate::error::{corrupt, store};
use crate::indexes::names::API_KEYS;

fn key_doc(k: &ApiKey) -> Document {
    let permissions = k.permissions.as_ref().map_or(Bson::Null, |p| {
        Bson::Array(
            p.iter()
                .map(|p| Bson::String(p.as_str().to_owned()))
                .collect(),
        )
    });
    doc! {
        "_id": uuid(k.id.as_uuid()),
        "userId": uuid(k.user_id.as_uuid()),
        "name": k.name.as_str(),
        "prefix": k.prefix.as_str(),
        "keyHash": k.key_hash.as_str(),
        "permissions": permissions,
        "createdAt": time(k.created_at),
        "expiresAt": opt_time(k.expires_at),
        "lastUsedAt": opt_time(k.last_used_at),
    }
}

fn key(d: &Document) -> Result<ApiKey, StoreError> {
    let f = Fields::of(d, "API key");
    let permissions = match d.get("permissions") {
        None | Some(Bson::Null) => None,
        Some(_) => Some(
            f.array("permissions")?
                .iter()
                .map(|b| {
                    b.as_str()
                        .and_then(|p| Permission::parse(p).ok())
                        .ok_or_else(|| corrupt("API key", "permissions"))
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    Ok(ApiKey {
        id: ApiKeyId::from_uuid(f.uuid("_id")?),
        user_id: UserId::from_uuid(f.uuid("userId")?),
        name: ApiKeyName::from_stored(f.str("name")?),
        prefix: f.str("prefix")?.to_owned(),
        key_hash: TokenHash::from_stored(f.str("keyHash")?),
        permissions,
        created_at: f.time("createdAt")?,
        expires_at: f.opt_time("expiresAt")?,
        last_used_at: f.opt_time("lastUsedAt")?,
    })
}

#[async_trait]
impl ApiKeyRepository for MongoStore {
    async fn insert(&self, k: &ApiKey) -> Result<(), StoreError> {
        self.coll(API_KEYS)
            .insert_one(key_doc(k))
            .await
            .map_err(store("insert API key"))?;
        Ok(())
    }

    async fn find_by_hash(&self, key_hash: &TokenHash) -> Result<Option<ApiKey>, StoreError> {
        self.coll(API_KEYS)
            .find_one(doc! {"keyHash": key_hash.as_str()})
            .await
            .map_err(store("find API key"))?
            .as_ref()
            .map(key)
            .transpose()
    }

    async fn list_for_user(&self, user_id: UserId) -> Result<Vec<ApiKey>, StoreError> {
        let docs: Vec<Document> = self
            .coll(API_KEYS)
            .find(doc! {"userId": uuid(user_id.as_uuid())})
            .sort(doc! {"createdAt": -1, "_id": -1})
            .await
            .map_err(store("list API keys"))?
            .try_collect()
            .await
            .map_err(store("list API keys"))?;
        docs.iter().map(key).collect()
    }

    async fn delete(&self, user_id: UserId, id: ApiKeyId) -> Result<(), WriteError> {
        let done = self
            .coll(API_KEYS)
            .delete_one(doc! {"_id": uuid(id.as_uuid()), "userId": uuid(user_id.as_uuid())})
            .await
            .map_err(store("delete API key"))?;
        WriteError::found(done.deleted_count)
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let done = self
            .coll(API_KEYS)
            .delete_many(doc! {"userId": uuid(user_id.as_uuid())})
            .await
            .map_err(store("delete a user's API keys"))?;
        Ok(done.deleted_count)
    }

    async fn record_use(&self, id: ApiKeyId, at: OffsetDateTime) -> Result<(), StoreError> {
        // Forward only: the filter keeps a later use from being overwritten.
        self.coll(API_KEYS)
            .update_one(
                doc! {
                    "_id": uuid(id.as_uuid()),
                    "$or": [{"lastUsedAt": Bson::Null}, {"lastUsedAt": {"$lt": time(at)}}],
                },
                doc! {"$set": {"lastUsedAt": time(at)}},
            )
            .await
            .map_err(store("record an API key's use"))?;
        Ok(())
    }
}
