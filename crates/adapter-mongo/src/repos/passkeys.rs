//! `passkeys`: one document per passkey, unique on `credentialId`, listed
//! by (`userId`, `createdAt`); `passkeyCounts` keeps each user's number so
//! "keep the last one" is one conditional decrement. The counter moves by
//! a conditional update (the compare-and-set). `passkeyChallenges` are
//! taken with `findOneAndDelete` and expire by a TTL index.

use async_trait::async_trait;
use domain::*;
use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use time::OffsetDateTime;

use crate::MongoStore;
use crate::codec::*;
use crate::error::{corrupt, is_duplicate, store};
use crate::indexes::names::{PASSKEY_CHALLENGES, PASSKEY_COUNTS, PASSKEYS};

fn passkey(d: &Document) -> Result<Passkey, StoreError> {
    let f = Fields::of(d, "passkey");
    Ok(Passkey {
        id: PasskeyId::from_uuid(f.uuid("_id")?),
        user_id: UserId::from_uuid(f.uuid("userId")?),
        credential_id: CredentialId::from_stored(f.str("credentialId")?),
        credential: f.str("credential")?.to_owned(),
        counter: u32::try_from(f.i64("counter")?).map_err(|_| corrupt("passkey", "counter"))?,
        name: PasskeyName::from_stored(f.str("name")?),
        created_at: f.time("createdAt")?,
        last_used_at: f.opt_time("lastUsedAt")?,
    })
}

#[async_trait]
impl PasskeyRepository for MongoStore {
    async fn insert(&self, p: &Passkey) -> Result<bool, StoreError> {
        let r = self
            .coll(PASSKEYS)
            .insert_one(doc! {
                "_id": uuid(p.id.as_uuid()),
                "userId": uuid(p.user_id.as_uuid()),
                "credentialId": p.credential_id.as_str(),
                "credential": &p.credential,
                "counter": i64::from(p.counter),
                "name": p.name.as_str(),
                "createdAt": time(p.created_at),
                "lastUsedAt": opt_time(p.last_used_at),
            })
            .await;
        match r {
            Ok(_) => {
                self.count_by(PASSKEY_COUNTS, p.user_id, 1).await?;
                Ok(true)
            }
            Err(e) if is_duplicate(&e) => Ok(false),
            Err(e) => Err(store("insert passkey")(e)),
        }
    }

    async fn find_by_credential(
        &self,
        credential_id: &CredentialId,
    ) -> Result<Option<Passkey>, StoreError> {
        self.coll(PASSKEYS)
            .find_one(doc! {"credentialId": credential_id.as_str()})
            .await
            .map_err(store("find passkey"))?
            .as_ref()
            .map(passkey)
            .transpose()
    }

    async fn list_for_user(&self, user_id: UserId) -> Result<Vec<Passkey>, StoreError> {
        let docs: Vec<Document> = self
            .coll(PASSKEYS)
            .find(doc! {"userId": uuid(user_id.as_uuid())})
            .sort(doc! {"createdAt": 1, "_id": 1})
            .await
            .map_err(store("list passkeys"))?
            .try_collect()
            .await
            .map_err(store("list passkeys"))?;
        docs.iter().map(passkey).collect()
    }

    async fn rename(
        &self,
        user_id: UserId,
        id: PasskeyId,
        name: &PasskeyName,
    ) -> Result<(), WriteError> {
        let done = self
            .coll(PASSKEYS)
            .update_one(
                doc! {"_id": uuid(id.as_uuid()), "userId": uuid(user_id.as_uuid())},
                doc! {"$set": {"name": name.as_str()}},
            )
            .await
            .map_err(store("rename passkey"))?;
        WriteError::found(done.matched_count)
    }

    async fn delete(
        &self,
        user_id: UserId,
        id: PasskeyId,
        keep_one: bool,
    ) -> Result<PasskeyRemoved, StoreError> {
        let mine = doc! {"_id": uuid(id.as_uuid()), "userId": uuid(user_id.as_uuid())};
        let found = self
            .coll(PASSKEYS)
            .find_one(mine.clone())
            .await
            .map_err(store("delete passkey"))?
            .is_some();
        if !found {
            return Ok(PasskeyRemoved::NotFound);
        }
        let taken = self.count_down(PASSKEY_COUNTS, user_id, keep_one).await?;
        if !taken && keep_one {
            return Ok(PasskeyRemoved::LastOne);
        }
        let removed = self
            .coll(PASSKEYS)
            .delete_one(mine)
            .await
            .map_err(store("delete passkey"))?
            .deleted_count
            == 1;
        if removed {
            return Ok(PasskeyRemoved::Removed);
        }
        // A parallel delete of the same passkey removed it first.
        if taken {
            self.count_by(PASSKEY_COUNTS, user_id, 1).await?;
        }
        Ok(PasskeyRemoved::NotFound)
    }

    async fn record_use(
        &self,
        id: PasskeyId,
        counter: u32,
        credential: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let counter = i64::from(counter);
        let moved = if counter == 0 {
            doc! {"counter": 0}
        } else {
            doc! {"counter": {"$lt": counter}}
        };
        let mut filter = doc! {"_id": uuid(id.as_uuid())};
        filter.extend(moved);
        let done = self
            .coll(PASSKEYS)
            .update_one(
                filter,
                doc! {"$set": {"counter": counter, "credential": credential, "lastUsedAt": time(at)}},
            )
            .await
            .map_err(store("record a passkey's use"))?;
        Ok(done.matched_count == 1)
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let done = self
            .coll(PASSKEYS)
            .delete_many(doc! {"userId": uuid(user_id.as_uuid())})
            .await
            .map_err(store("delete a user's passkeys"))?;
        self.coll(PASSKEY_COUNTS)
            .delete_one(doc! {"_id": uuid(user_id.as_uuid())})
            .await
            .map_err(store("delete a user's passkeys"))?;
        Ok(done.deleted_count)
    }
}

#[async_trait]
impl PasskeyChallengeRepository for MongoStore {
    async fn insert(&self, c: &PasskeyChallenge) -> Result<(), StoreError> {
        self.coll(PASSKEY_CHALLENGES)
            .insert_one(doc! {
                "_id": uuid(c.id.as_uuid()),
                "userId": opt_uuid(c.user_id.map(|u| u.as_uuid())),
                "state": &c.state,
                "expiresAt": time(c.expires_at),
            })
            .await
            .map(drop)
            .map_err(store("store passkey challenge"))
    }

    async fn take(
        &self,
        id: PasskeyChallengeId,
        now: OffsetDateTime,
    ) -> Result<Option<PasskeyChallenge>, StoreError> {
        let found = self
            .coll(PASSKEY_CHALLENGES)
            .find_one_and_delete(doc! {"_id": uuid(id.as_uuid()), "expiresAt": {"$gt": time(now)}})
            .await
            .map_err(store("take passkey challenge"))?;
        found
            .map(|d| {
                let f = Fields::of(&d, "passkey challenge");
                Ok(PasskeyChallenge {
                    id: PasskeyChallengeId::from_uuid(f.uuid("_id")?),
                    user_id: f.opt_uuid("userId")?.map(UserId::from_uuid),
                    state: f.str("state")?.to_owned(),
                    expires_at: f.time("expiresAt")?,
                })
            })
            .transpose()
    }

    async fn purge_expired(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError> {
        // The TTL index removes them too, within a minute or so.
        self.purge_batch(
            PASSKEY_CHALLENGES,
            doc! {"expiresAt": {"$lte": time(now)}},
            limit,
        )
        .await
    }
}
