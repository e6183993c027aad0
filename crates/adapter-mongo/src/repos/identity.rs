//! `identityLinks`: one document per link, unique on (`provider`,
//! `subject`) and on (`userId`, `provider`). Beside them,
//! `identityLinkCounts` holds each user's number of links, so that an
//! unlink that must keep the last one decides with one conditional
//! decrement (`count >= 2`) that concurrent unlinks cannot both pass. The
//! count moves before a removal and after an addition, so a crash between
//! the two writes leaves it too low, which only ever refuses an unlink.
//!
//! `oauthFlows`: one document per flow, `_id` = the state's hash, taken
//! with `findOneAndDelete` on an unexpired `expiresAt`; a TTL index removes
//! the ones never taken.

use async_trait::async_trait;
use domain::*;
use futures::TryStreamExt;
use mongodb::bson::{Document, doc};
use time::OffsetDateTime;

use crate::MongoStore;
use crate::codec::*;
use crate::error::{corrupt, is_duplicate, store};
use crate::indexes::names::{FLOWS, LINK_COUNTS, LINKS};

fn link(d: &Document) -> Result<IdentityLink, StoreError> {
    let f = Fields::of(d, "identity link");
    Ok(IdentityLink {
        user_id: UserId::from_uuid(f.uuid("userId")?),
        provider: ProviderName::parse(f.str("provider")?)
            .map_err(|_| corrupt("identity link", "provider"))?,
        subject: f.str("subject")?.to_owned(),
        email: f
            .opt_str("email")?
            .map(|e| Email::from_stored(e).map_err(|_| corrupt("identity link", "email")))
            .transpose()?,
        tokens: f.opt_str("tokens")?.map(Sealed::from_stored),
        tokens_expire_at: f.opt_time("tokensExpireAt")?,
        created_at: f.time("createdAt")?,
    })
}

fn flow(d: &Document) -> Result<OAuthFlow, StoreError> {
    let f = Fields::of(d, "sign-in flow");
    Ok(OAuthFlow {
        state_hash: TokenHash::from_stored(f.str("_id")?),
        provider: ProviderName::parse(f.str("provider")?)
            .map_err(|_| corrupt("sign-in flow", "provider"))?,
        pkce_verifier: f.str("pkceVerifier")?.to_owned(),
        nonce: f.str("nonce")?.to_owned(),
        redirect_uri: f.str("redirectUri")?.to_owned(),
        linking_user: f.opt_uuid("linkingUser")?.map(UserId::from_uuid),
        created_at: f.time("createdAt")?,
        expires_at: f.time("expiresAt")?,
    })
}

fn of_user(user: UserId, provider: &ProviderName) -> Document {
    doc! {"userId": uuid(user.as_uuid()), "provider": provider.as_str()}
}

impl MongoStore {
    /// Adds `by` to the user's link count (creating it).
    async fn remove_link(&self, user: UserId, provider: &ProviderName) -> Result<bool, StoreError> {
        Ok(self
            .coll(LINKS)
            .delete_one(of_user(user, provider))
            .await
            .map_err(store("unlink provider"))?
            .deleted_count
            == 1)
    }
}

#[async_trait]
impl IdentityLinkRepository for MongoStore {
    async fn link(&self, l: &IdentityLink) -> Result<(), LinkError> {
        let r = self
            .coll(LINKS)
            .insert_one(doc! {
                "userId": uuid(l.user_id.as_uuid()),
                "provider": l.provider.as_str(),
                "subject": &l.subject,
                "email": opt_str(l.email.as_ref().map(Email::as_str)),
                "tokens": opt_str(l.tokens.as_ref().map(Sealed::as_str)),
                "tokensExpireAt": opt_time(l.tokens_expire_at),
                "createdAt": time(l.created_at),
            })
            .await;
        match r {
            Ok(_) => Ok(self.count_by(LINK_COUNTS, l.user_id, 1).await?),
            Err(e) if is_duplicate(&e) => Err(LinkError::Conflict),
            Err(e) => Err(LinkError::Store(store("link provider")(e))),
        }
    }

    async fn find(
        &self,
        provider: &ProviderName,
        subject: &str,
    ) -> Result<Option<IdentityLink>, StoreError> {
        self.coll(LINKS)
            .find_one(doc! {"provider": provider.as_str(), "subject": subject})
            .await
            .map_err(store("read link"))?
            .as_ref()
            .map(link)
            .transpose()
    }

    async fn list_for_user(&self, user_id: UserId) -> Result<Vec<IdentityLink>, StoreError> {
        let docs: Vec<Document> = self
            .coll(LINKS)
            .find(doc! {"userId": uuid(user_id.as_uuid())})
            .sort(doc! {"provider": 1})
            .await
            .map_err(store("list links"))?
            .try_collect()
            .await
            .map_err(store("list links"))?;
        docs.iter().map(link).collect()
    }

    async fn store_tokens(
        &self,
        user_id: UserId,
        provider: &ProviderName,
        tokens: Option<Sealed>,
        expire_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        let r = self
            .coll(LINKS)
            .update_one(
                of_user(user_id, provider),
                doc! {"$set": {
                    "tokens": opt_str(tokens.as_ref().map(Sealed::as_str)),
                    "tokensExpireAt": opt_time(expire_at),
                }},
            )
            .await
            .map_err(store("store provider tokens"))?;
        Ok(r.matched_count == 1)
    }

    async fn reseal(
        &self,
        user_id: UserId,
        provider: &ProviderName,
        old: &Sealed,
        new: &Sealed,
    ) -> Result<bool, StoreError> {
        let mut filter = of_user(user_id, provider);
        filter.insert("tokens", old.as_str());
        let r = self
            .coll(LINKS)
            .update_one(filter, doc! {"$set": {"tokens": new.as_str()}})
            .await
            .map_err(store("reseal provider tokens"))?;
        Ok(r.matched_count == 1)
    }

    async fn unlink(
        &self,
        user_id: UserId,
        provider: &ProviderName,
        keep_one: bool,
    ) -> Result<Unlinked, StoreError> {
        let linked = self
            .coll(LINKS)
            .find_one(of_user(user_id, provider))
            .await
            .map_err(store("unlink provider"))?
            .is_some();
        if !linked {
            return Ok(Unlinked::NotLinked);
        }
        let taken = self.count_down(LINK_COUNTS, user_id, keep_one).await?;
        if !taken && keep_one {
            return Ok(Unlinked::LastLink);
        }
        if self.remove_link(user_id, provider).await? {
            return Ok(Unlinked::Removed);
        }
        // A parallel unlink of the same link removed it first.
        if taken {
            self.count_by(LINK_COUNTS, user_id, 1).await?;
        }
        Ok(Unlinked::NotLinked)
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let r = self
            .coll(LINKS)
            .delete_many(doc! {"userId": uuid(user_id.as_uuid())})
            .await
            .map_err(store("delete links"))?;
        self.coll(LINK_COUNTS)
            .delete_one(doc! {"_id": uuid(user_id.as_uuid())})
            .await
            .map_err(store("delete links"))?;
        Ok(r.deleted_count)
    }

    async fn list_after(
        &self,
        after: Option<(UserId, ProviderName)>,
        limit: u32,
    ) -> Result<Vec<IdentityLink>, StoreError> {
        let filter = match &after {
            Some((user, provider)) => doc! {"$or": [
                {"userId": {"$gt": uuid(user.as_uuid())}},
                {"userId": uuid(user.as_uuid()), "provider": {"$gt": provider.as_str()}},
            ]},
            None => doc! {},
        };
        let docs: Vec<Document> = self
            .coll(LINKS)
            .find(filter)
            .sort(doc! {"userId": 1, "provider": 1})
            .limit(i64::from(limit))
            .await
            .map_err(store("walk links"))?
            .try_collect()
            .await
            .map_err(store("walk links"))?;
        docs.iter().map(link).collect()
    }
}

#[async_trait]
impl OAuthFlowRepository for MongoStore {
    async fn insert(&self, f: &OAuthFlow) -> Result<(), StoreError> {
        self.coll(FLOWS)
            .insert_one(doc! {
                "_id": f.state_hash.as_str(),
                "provider": f.provider.as_str(),
                "pkceVerifier": &f.pkce_verifier,
                "nonce": &f.nonce,
                "redirectUri": &f.redirect_uri,
                "linkingUser": opt_uuid(f.linking_user.map(|u| u.as_uuid())),
                "createdAt": time(f.created_at),
                "expiresAt": time(f.expires_at),
            })
            .await
            .map(drop)
            .map_err(store("store sign-in flow"))
    }

    async fn take(
        &self,
        state_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<OAuthFlow>, StoreError> {
        self.coll(FLOWS)
            .find_one_and_delete(doc! {
                "_id": state_hash.as_str(),
                "expiresAt": {"$gt": time(now)},
            })
            .await
            .map_err(store("take sign-in flow"))?
            .as_ref()
            .map(flow)
            .transpose()
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        self.coll(FLOWS)
            .delete_many(doc! {"linkingUser": uuid(user_id.as_uuid())})
            .await
            .map(|r| r.deleted_count)
            .map_err(store("delete sign-in flows"))
    }

    async fn purge_expired(&self, now: OffsetDateTime, limit: u32) -> Result<u64, StoreError> {
        self.purge_batch(FLOWS, doc! {"expiresAt": {"$lte": time(now)}}, limit)
            .await
    }
}
