//! `mfaFactors`: one document per user (`_id` = user id) holding the sealed
//! secret, the last accepted step and the backup-code hashes in an array.
//! Every write is one `updateOne`/`deleteOne` whose filter carries its
//! condition (the factor id, confirmed or not, the step below, the code
//! present), so concurrent writers cannot both match.

use async_trait::async_trait;
use domain::*;
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::UpdateOptions;
use time::OffsetDateTime;

use crate::MongoStore;
use crate::codec::*;
use crate::error::{corrupt, is_duplicate, store};
use crate::indexes::names::MFA;

fn factor(d: &Document) -> Result<MfaFactor, StoreError> {
    let f = Fields::of(d, "factor");
    let last_step = match d.get("lastStep") {
        None | Some(Bson::Null) => None,
        Some(_) => Some(f.i64("lastStep")?),
    };
    let backup_codes = f
        .array("backupCodes")?
        .into_iter()
        .map(|b| match b {
            Bson::String(s) => Ok(TokenHash::from_stored(s)),
            _ => Err(corrupt("factor", "backupCodes")),
        })
        .collect::<Result<_, _>>()?;
    Ok(MfaFactor {
        id: MfaFactorId::from_uuid(f.uuid("factorId")?),
        user_id: UserId::from_uuid(f.uuid("_id")?),
        secret: Sealed::from_stored(f.str("secret")?),
        confirmed_at: f.opt_time("confirmedAt")?,
        last_step,
        backup_codes,
        created_at: f.time("createdAt")?,
    })
}

fn hashes(codes: &[TokenHash]) -> Vec<Bson> {
    codes.iter().map(|c| Bson::from(c.as_str())).collect()
}

/// The filter of factor `id` of `user`, confirmed.
fn confirmed(user: UserId, id: MfaFactorId) -> Document {
    doc! {
        "_id": uuid(user.as_uuid()),
        "factorId": uuid(id.as_uuid()),
        "confirmedAt": {"$ne": Bson::Null},
    }
}

impl MongoStore {
    async fn update_matched(
        &self,
        filter: Document,
        update: Document,
        what: &'static str,
    ) -> Result<bool, StoreError> {
        let r = self
            .coll(MFA)
            .update_one(filter, update)
            .await
            .map_err(store(what))?;
        Ok(r.matched_count == 1)
    }
}

#[async_trait]
impl MfaRepository for MongoStore {
    async fn begin(&self, f: &MfaFactor) -> Result<bool, StoreError> {
        // Upsert on "no confirmed factor": with a confirmed one the filter
        // misses, the upsert's insert collides on `_id`, and nothing changes.
        let r = self
            .coll(MFA)
            .update_one(
                doc! {"_id": uuid(f.user_id.as_uuid()), "confirmedAt": Bson::Null},
                doc! {"$set": {
                    "factorId": uuid(f.id.as_uuid()),
                    "secret": f.secret.as_str(),
                    "confirmedAt": Bson::Null,
                    "lastStep": Bson::Null,
                    "backupCodes": [],
                    "createdAt": time(f.created_at),
                }},
            )
            .with_options(UpdateOptions::builder().upsert(true).build())
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if is_duplicate(&e) => Ok(false),
            Err(e) => Err(store("begin enrolment")(e)),
        }
    }

    async fn get(&self, user_id: UserId) -> Result<Option<MfaFactor>, StoreError> {
        self.coll(MFA)
            .find_one(doc! {"_id": uuid(user_id.as_uuid())})
            .await
            .map_err(store("read factor"))?
            .as_ref()
            .map(factor)
            .transpose()
    }

    async fn confirm(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        step: i64,
        backup_codes: &[TokenHash],
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.update_matched(
            doc! {
                "_id": uuid(user_id.as_uuid()),
                "factorId": uuid(id.as_uuid()),
                "confirmedAt": Bson::Null,
            },
            doc! {"$set": {
                "confirmedAt": time(at),
                "lastStep": step,
                "backupCodes": hashes(backup_codes),
            }},
            "confirm factor",
        )
        .await
    }

    async fn accept_step(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        step: i64,
    ) -> Result<bool, StoreError> {
        let mut filter = confirmed(user_id, id);
        filter.insert(
            "$or",
            vec![
                doc! {"lastStep": Bson::Null},
                doc! {"lastStep": {"$lt": step}},
            ],
        );
        self.update_matched(filter, doc! {"$set": {"lastStep": step}}, "accept code")
            .await
    }

    async fn use_backup_code(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        code: &TokenHash,
    ) -> Result<bool, StoreError> {
        let mut filter = confirmed(user_id, id);
        filter.insert("backupCodes", code.as_str());
        self.update_matched(
            filter,
            doc! {"$pull": {"backupCodes": code.as_str()}},
            "use backup code",
        )
        .await
    }

    async fn replace_backup_codes(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        codes: &[TokenHash],
    ) -> Result<bool, StoreError> {
        self.update_matched(
            confirmed(user_id, id),
            doc! {"$set": {"backupCodes": hashes(codes)}},
            "replace backup codes",
        )
        .await
    }

    async fn reseal(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        old: &Sealed,
        new: &Sealed,
    ) -> Result<bool, StoreError> {
        self.update_matched(
            doc! {
                "_id": uuid(user_id.as_uuid()),
                "factorId": uuid(id.as_uuid()),
                "secret": old.as_str(),
            },
            doc! {"$set": {"secret": new.as_str()}},
            "reseal factor",
        )
        .await
    }

    async fn delete(&self, user_id: UserId, id: MfaFactorId) -> Result<bool, StoreError> {
        let r = self
            .coll(MFA)
            .delete_one(doc! {"_id": uuid(user_id.as_uuid()), "factorId": uuid(id.as_uuid())})
            .await
            .map_err(store("delete factor"))?;
        Ok(r.deleted_count == 1)
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let r = self
            .coll(MFA)
            .delete_many(doc! {"_id": uuid(user_id.as_uuid())})
            .await
            .map_err(store("delete factors"))?;
        Ok(r.deleted_count)
    }

    async fn list_after(
        &self,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<MfaFactor>, StoreError> {
        let filter = match after {
            Some(after) => doc! {"_id": {"$gt": uuid(after.as_uuid())}},
            None => doc! {},
        };
        let docs: Vec<Document> = self
            .coll(MFA)
            .find(filter)
            .sort(doc! {"_id": 1})
            .limit(i64::from(limit))
            .await
            .map_err(store("list factors"))?
            .try_collect()
            .await
            .map_err(store("list factors"))?;
        docs.iter().map(factor).collect()
    }
}
