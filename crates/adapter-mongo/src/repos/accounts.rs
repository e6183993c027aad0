//! `userCandidates`, `sessions` + `refreshTokens`, `oneTimeTokens`: every
//! expiring record has a TTL index and every read also filters on expiry.

use async_trait::async_trait;
use domain::*;
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ReturnDocument;
use time::OffsetDateTime;

use crate::codec::*;
use crate::error::{corrupt, store};
use crate::indexes::names::{CANDIDATES, REFRESH, SESSIONS, TOKENS};
use crate::{MongoStore, retrying};

fn candidate_doc(c: &RegistrationCandidate) -> Document {
    doc! {
        "_id": c.email.normalized(),
        "email": c.email.as_str(),
        "username": c.username.as_str(),
        "role": c.role.as_str(),
        "passwordHash": c.password_hash.as_str(),
        "tokenHash": c.token_hash.as_str(),
        "createdAt": time(c.created_at),
        "expiresAt": time(c.expires_at),
        "origin": opt_str(c.origin.as_ref().map(domain::UserOrigin::to_stored).as_deref()),
    }
}

fn candidate(d: &Document) -> Result<RegistrationCandidate, StoreError> {
    let f = Fields::of(d, "candidate");
    let bad = |k| corrupt("candidate", k);
    Ok(RegistrationCandidate {
        email: Email::from_stored(f.str("email")?).map_err(|_| bad("email"))?,
        username: Username::parse(f.str("username")?).map_err(|_| bad("username"))?,
        role: RoleName::parse(f.str("role")?).map_err(|_| bad("role"))?,
        password_hash: PasswordHash::new(f.str("passwordHash")?),
        token_hash: TokenHash::from_stored(f.str("tokenHash")?),
        created_at: f.time("createdAt")?,
        expires_at: f.time("expiresAt")?,
        origin: f
            .opt_str("origin")?
            .map(domain::UserOrigin::from_stored)
            .transpose()?,
    })
}

#[async_trait]
impl CandidateRepository for MongoStore {
    async fn put(&self, c: &RegistrationCandidate) -> Result<(), StoreError> {
        self.coll(CANDIDATES)
            .replace_one(doc! {"_id": c.email.normalized()}, candidate_doc(c))
            .upsert(true)
            .await
            .map_err(store("store candidate"))?;
        Ok(())
    }

    async fn take(
        &self,
        token_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<RegistrationCandidate>, StoreError> {
        self.coll(CANDIDATES)
            .find_one_and_delete(
                doc! {"tokenHash": token_hash.as_str(), "expiresAt": {"$gt": time(now)}},
            )
            .await
            .map_err(store("take candidate"))?
            .as_ref()
            .map(candidate)
            .transpose()
    }

    async fn find_by_email(
        &self,
        email: &Email,
        now: OffsetDateTime,
    ) -> Result<Option<RegistrationCandidate>, StoreError> {
        self.coll(CANDIDATES)
            .find_one(doc! {"_id": email.normalized(), "expiresAt": {"$gt": time(now)}})
            .await
            .map_err(store("find candidate"))?
            .as_ref()
            .map(candidate)
            .transpose()
    }

    async fn purge_expired(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError> {
        self.purge_batch(CANDIDATES, doc! {"expiresAt": {"$lte": time(now)}}, limit)
            .await
    }
}

fn session_doc(s: &AuthSession) -> Document {
    doc! {
        "_id": uuid(s.id.as_uuid()),
        "userId": uuid(s.user_id.as_uuid()),
        "tokenHash": s.token_hash.as_str(),
        "device": opt_str(s.device.as_ref().map(domain::Device::to_stored).as_deref()),
        "ip": opt_str(s.ip.as_deref()),
        "createdAt": time(s.created_at),
        "lastAccessed": time(s.last_accessed_at),
        "expiresAt": time(s.expires_at),
        "refreshExpiresAt": time(s.refresh_expires_at),
        "revokedAt": opt_time(s.revoked_at),
    }
}

fn session(d: &Document) -> Result<AuthSession, StoreError> {
    let f = Fields::of(d, "session");
    Ok(AuthSession {
        id: AuthSessionId::from_uuid(f.uuid("_id")?),
        user_id: UserId::from_uuid(f.uuid("userId")?),
        token_hash: TokenHash::from_stored(f.str("tokenHash")?),
        device: f.opt_str("device")?.map(domain::Device::from_stored),
        ip: f.opt_str("ip")?.map(str::to_owned),
        created_at: f.time("createdAt")?,
        last_accessed_at: f.time("lastAccessed")?,
        expires_at: f.time("expiresAt")?,
        refresh_expires_at: f.time("refreshExpiresAt")?,
        revoked_at: f.opt_time("revokedAt")?,
    })
}

fn refresh_doc(t: &RefreshToken) -> Document {
    doc! {
        "_id": uuid(t.id.as_uuid()),
        "sessionId": uuid(t.session_id.as_uuid()),
        "userId": uuid(t.user_id.as_uuid()),
        "tokenHash": t.token_hash.as_str(),
        "createdAt": time(t.created_at),
        "expiresAt": time(t.expires_at),
        "usedAt": opt_time(t.used_at),
    }
}

fn refresh(d: &Document) -> Result<RefreshToken, StoreError> {
    let f = Fields::of(d, "refresh token");
    Ok(RefreshToken {
        id: RefreshTokenId::from_uuid(f.uuid("_id")?),
        session_id: AuthSessionId::from_uuid(f.uuid("sessionId")?),
        user_id: UserId::from_uuid(f.uuid("userId")?),
        token_hash: TokenHash::from_stored(f.str("tokenHash")?),
        created_at: f.time("createdAt")?,
        expires_at: f.time("expiresAt")?,
        used_at: f.opt_time("usedAt")?,
    })
}

/// Sessions that are not revoked.
fn unrevoked(mut filter: Document) -> Document {
    filter.insert("revokedAt", Bson::Null);
    filter
}

impl MongoStore {
    async fn set_session(&self, filter: Document, set: Document) -> Result<(), WriteError> {
        let r = self
            .coll(SESSIONS)
            .update_one(unrevoked(filter), doc! {"$set": set})
            .await
            .map_err(store("update session"))?;
        WriteError::found(r.matched_count)
    }

    /// Deletes the matching sessions' refresh tokens, then the sessions (in
    /// that order, so no token outlives its session).
    async fn delete_sessions(&self, filter: Document) -> Result<u64, mongodb::error::Error> {
        self.delete_cascade(SESSIONS, filter, REFRESH, "sessionId")
            .await
    }
}

#[async_trait]
impl SessionRepository for MongoStore {
    async fn create(&self, s: &AuthSession) -> Result<(), StoreError> {
        self.coll(SESSIONS)
            .insert_one(session_doc(s))
            .await
            .map_err(store("insert session"))?;
        Ok(())
    }

    async fn get(&self, id: AuthSessionId) -> Result<Option<AuthSession>, StoreError> {
        self.coll(SESSIONS)
            .find_one(doc! {"_id": uuid(id.as_uuid())})
            .await
            .map_err(store("get session"))?
            .as_ref()
            .map(session)
            .transpose()
    }

    async fn find_active_by_token(
        &self,
        token_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<AuthSession>, StoreError> {
        let filter =
            unrevoked(doc! {"tokenHash": token_hash.as_str(), "expiresAt": {"$gt": time(now)}});
        self.coll(SESSIONS)
            .find_one(filter)
            .await
            .map_err(store("find session"))?
            .as_ref()
            .map(session)
            .transpose()
    }

    async fn touch(
        &self,
        id: AuthSessionId,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> Result<(), WriteError> {
        self.set_session(
            doc! {"_id": uuid(id.as_uuid())},
            doc! {"lastAccessed": time(at), "expiresAt": time(expires_at)},
        )
        .await
    }

    async fn rotate(
        &self,
        id: AuthSessionId,
        token_hash: &TokenHash,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
        refresh_expires_at: OffsetDateTime,
    ) -> Result<(), WriteError> {
        self.set_session(
            doc! {"_id": uuid(id.as_uuid())},
            doc! {
                "tokenHash": token_hash.as_str(),
                "lastAccessed": time(at),
                "expiresAt": time(expires_at),
                "refreshExpiresAt": time(refresh_expires_at),
            },
        )
        .await
    }

    async fn list_active(
        &self,
        user_id: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<AuthSession>, StoreError> {
        let filter =
            unrevoked(doc! {"userId": uuid(user_id.as_uuid()), "expiresAt": {"$gt": time(now)}});
        let docs: Vec<Document> = self
            .coll(SESSIONS)
            .find(filter)
            .sort(newest_first())
            .await
            .map_err(store("list sessions"))?
            .try_collect()
            .await
            .map_err(store("list sessions"))?;
        docs.iter().map(session).collect()
    }

    async fn revoke(
        &self,
        user_id: UserId,
        id: AuthSessionId,
        at: OffsetDateTime,
    ) -> Result<(), WriteError> {
        self.set_session(
            doc! {"_id": uuid(id.as_uuid()), "userId": uuid(user_id.as_uuid())},
            doc! {"revokedAt": time(at)},
        )
        .await
    }

    async fn revoke_all(&self, user_id: UserId, at: OffsetDateTime) -> Result<u64, StoreError> {
        let r = self
            .coll(SESSIONS)
            .update_many(
                unrevoked(doc! {"userId": uuid(user_id.as_uuid())}),
                doc! {"$set": {"revokedAt": time(at)}},
            )
            .await
            .map_err(store("revoke sessions"))?;
        Ok(r.modified_count)
    }

    async fn add_refresh_token(&self, t: &RefreshToken) -> Result<(), StoreError> {
        self.coll(REFRESH)
            .insert_one(refresh_doc(t))
            .await
            .map_err(store("insert refresh token"))?;
        Ok(())
    }

    async fn use_refresh_token(
        &self,
        token_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<RefreshOutcome, StoreError> {
        // Marking used is one conditional update: of concurrent callers exactly
        // one matches `usedAt: null`.
        let fresh = self
            .coll(REFRESH)
            .find_one_and_update(
                doc! {"tokenHash": token_hash.as_str(), "usedAt": Bson::Null, "expiresAt": {"$gt": time(now)}},
                doc! {"$set": {"usedAt": time(now)}},
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(store("use refresh token"))?;
        if let Some(d) = fresh {
            return Ok(RefreshOutcome::Fresh(refresh(&d)?));
        }
        let seen = self
            .coll(REFRESH)
            .find_one(doc! {"tokenHash": token_hash.as_str(), "expiresAt": {"$gt": time(now)}})
            .await
            .map_err(store("find refresh token"))?;
        match seen {
            Some(d) => {
                let t = refresh(&d)?;
                Ok(if t.used_at.is_some() {
                    RefreshOutcome::Reused(t)
                } else {
                    RefreshOutcome::Invalid
                })
            }
            None => Ok(RefreshOutcome::Invalid),
        }
    }

    async fn purge_expired(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError> {
        let expired = doc! {"refreshExpiresAt": {"$lt": time(now)}};
        let ids = self.ids_matching(SESSIONS, expired.clone(), limit).await?;
        let n = if ids.is_empty() {
            0
        } else {
            let mut bounded = doc! {"_id": {"$in": ids}};
            bounded.extend(expired);
            retrying!(self.delete_sessions(bounded.clone())).map_err(store("purge sessions"))?
        };
        // Tokens whose session is gone by TTL, or which expired on their own.
        self.purge_batch(REFRESH, doc! {"expiresAt": {"$lt": time(now)}}, limit)
            .await?;
        Ok(n)
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let n = retrying!(self.delete_sessions(doc! {"userId": uuid(user_id.as_uuid())}))
            .map_err(store("delete sessions"))?;
        self.coll(REFRESH)
            .delete_many(doc! {"userId": uuid(user_id.as_uuid())})
            .await
            .map_err(store("delete refresh tokens"))?;
        Ok(n)
    }

    async fn count_active(&self, now: OffsetDateTime) -> Result<Option<u64>, StoreError> {
        self.coll(SESSIONS)
            .count_documents(doc! {"revokedAt": Bson::Null, "expiresAt": {"$gt": time(now)}})
            .await
            .map(Some)
            .map_err(store("count active sessions"))
    }
}

fn token_doc(t: &OneTimeToken) -> Document {
    doc! {
        "_id": t.token_hash.as_str(),
        "purpose": t.purpose.as_str(),
        "userId": uuid(t.user_id.as_uuid()),
        "createdAt": time(t.created_at),
        "expiresAt": time(t.expires_at),
    }
}

fn token(d: &Document) -> Result<OneTimeToken, StoreError> {
    let f = Fields::of(d, "one-time token");
    Ok(OneTimeToken {
        token_hash: TokenHash::from_stored(f.str("_id")?),
        purpose: TokenPurpose::parse(f.str("purpose")?)
            .ok_or_else(|| corrupt("one-time token", "purpose"))?,
        user_id: UserId::from_uuid(f.uuid("userId")?),
        created_at: f.time("createdAt")?,
        expires_at: f.time("expiresAt")?,
    })
}

#[async_trait]
impl OneTimeTokenRepository for MongoStore {
    async fn insert(&self, t: &OneTimeToken) -> Result<(), StoreError> {
        self.coll(TOKENS)
            .insert_one(token_doc(t))
            .await
            .map_err(store("insert token"))?;
        Ok(())
    }

    async fn consume(
        &self,
        token_hash: &TokenHash,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<OneTimeToken>, StoreError> {
        self.coll(TOKENS)
            .find_one_and_delete(doc! {
                "_id": token_hash.as_str(),
                "purpose": purpose.as_str(),
                "expiresAt": {"$gt": time(now)},
            })
            .await
            .map_err(store("consume token"))?
            .as_ref()
            .map(token)
            .transpose()
    }

    async fn find(
        &self,
        token_hash: &TokenHash,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<OneTimeToken>, StoreError> {
        self.coll(TOKENS)
            .find_one(doc! {
                "_id": token_hash.as_str(),
                "purpose": purpose.as_str(),
                "expiresAt": {"$gt": time(now)},
            })
            .await
            .map_err(store("read token"))?
            .as_ref()
            .map(token)
            .transpose()
    }

    async fn spend_try(
        &self,
        token_hash: &TokenHash,
        purpose: TokenPurpose,
        now: OffsetDateTime,
    ) -> Result<Option<u32>, StoreError> {
        let after = self
            .coll(TOKENS)
            .find_one_and_update(
                doc! {
                    "_id": token_hash.as_str(),
                    "purpose": purpose.as_str(),
                    "expiresAt": {"$gt": time(now)},
                },
                doc! {"$inc": {"tries": 1_i64}},
            )
            .return_document(mongodb::options::ReturnDocument::After)
            .await
            .map_err(store("count token try"))?;
        after
            .map(|d| {
                Fields::of(&d, "one-time token")
                    .i64("tries")
                    .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
            })
            .transpose()
    }

    async fn delete_for_user(
        &self,
        user_id: UserId,
        purpose: Option<TokenPurpose>,
    ) -> Result<u64, StoreError> {
        let mut filter = doc! {"userId": uuid(user_id.as_uuid())};
        if let Some(p) = purpose {
            filter.insert("purpose", p.as_str());
        }
        let r = self
            .coll(TOKENS)
            .delete_many(filter)
            .await
            .map_err(store("delete tokens"))?;
        Ok(r.deleted_count)
    }

    async fn purge_expired(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError> {
        self.purge_batch(TOKENS, doc! {"expiresAt": {"$lte": time(now)}}, limit)
            .await
    }
}
