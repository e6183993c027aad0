//! One module per port family; each implements its traits on `MongoStore`.

mod accounts;
mod activity;
mod api_keys;
mod auth_changes;
mod blocks;
mod content;
mod conversations;
mod identity;
mod jobs;
mod mail_queue;
mod mfa;
mod notifications;
mod passkeys;
mod payments;
mod plans;
mod rate_limit;
mod rbac;
mod settings;
mod stats;
mod uploads;
mod users;
mod webhooks;

/// Per-user counts of records (identity links, passkeys) in a collection
/// of `{_id: user id, count}` documents, so that "keep the user's last
/// one" is one conditional update rather than a count before a delete.
mod per_user_counts {
    use domain::{StoreError, UserId};
    use mongodb::bson::doc;
    use mongodb::options::UpdateOptions;

    use crate::MongoStore;
    use crate::codec::uuid;
    use crate::error::store;

    impl MongoStore {
        /// Adds `by` to the user's count in `coll`.
        pub(crate) async fn count_by(
            &self,
            coll: &str,
            user: UserId,
            by: i64,
        ) -> Result<(), StoreError> {
            self.coll(coll)
                .update_one(
                    doc! {"_id": uuid(user.as_uuid())},
                    doc! {"$inc": {"count": by}},
                )
                .with_options(UpdateOptions::builder().upsert(true).build())
                .await
                .map(drop)
                .map_err(store("count records"))
        }

        /// Takes one from the user's count in `coll` before a delete; with
        /// `keep_one`, only while it is 2 or more. Whether it took one: a
        /// caller whose delete then finds nothing gives it back.
        pub(crate) async fn count_down(
            &self,
            coll: &str,
            user: UserId,
            keep_one: bool,
        ) -> Result<bool, StoreError> {
            let mut guard = doc! {"_id": uuid(user.as_uuid())};
            if keep_one {
                guard.insert("count", doc! {"$gte": 2});
            }
            Ok(self
                .coll(coll)
                .update_one(guard, doc! {"$inc": {"count": -1}})
                .await
                .map_err(store("count records"))?
                .matched_count
                == 1)
        }
    }
}

/// Bounded deletes for the purge: at most `limit` documents per call, by
/// their ids, so no delete runs long.
mod batches {
    use domain::StoreError;
    use futures::TryStreamExt;
    use mongodb::bson::{Bson, Document, doc};

    use crate::MongoStore;
    use crate::error::store;

    impl MongoStore {
        /// The ids of at most `limit` documents of `coll` matching
        /// `filter`, oldest ids first.
        pub(crate) async fn ids_matching(
            &self,
            coll: &str,
            filter: Document,
            limit: u32,
        ) -> Result<Vec<Bson>, StoreError> {
            let found: Vec<Document> = self
                .coll(coll)
                .find(filter)
                .projection(doc! {"_id": 1})
                .sort(doc! {"_id": 1})
                .limit(i64::from(limit))
                .await
                .map_err(store("find expired records"))?
                .try_collect()
                .await
                .map_err(store("find expired records"))?;
            Ok(found.iter().filter_map(|d| d.get("_id").cloned()).collect())
        }

        /// Deletes at most `limit` documents of `coll` matching `filter`
        /// (checked again at the delete); how many.
        pub(crate) async fn purge_batch(
            &self,
            coll: &str,
            filter: Document,
            limit: u32,
        ) -> Result<u64, StoreError> {
            let ids = self.ids_matching(coll, filter.clone(), limit).await?;
            if ids.is_empty() {
                return Ok(0);
            }
            let mut bounded = doc! {"_id": {"$in": ids}};
            bounded.extend(filter);
            self.coll(coll)
                .delete_many(bounded)
                .await
                .map(|r| r.deleted_count)
                .map_err(store("purge expired records"))
        }
    }
}

/// The claim both queues (mail, webhook deliveries) make: due documents
/// one `findOneAndUpdate` at a time, each atomic, so no document goes to
/// two claims.
mod queues {
    use domain::StoreError;
    use mongodb::bson::{Document, doc};
    use mongodb::options::ReturnDocument;
    use time::OffsetDateTime;

    use crate::MongoStore;
    use crate::codec::time;
    use crate::error::store;

    impl MongoStore {
        /// Takes up to `limit` documents of `coll` whose `dueAt` is at or
        /// before `now` (due longest first), each with `attempts` one more
        /// and `dueAt` moved to `until`; returns them as they are after.
        pub(crate) async fn claim_due(
            &self,
            coll: &str,
            now: OffsetDateTime,
            until: OffsetDateTime,
            limit: u32,
        ) -> Result<Vec<Document>, StoreError> {
            let mut claimed: Vec<Document> = Vec::new();
            for _ in 0..limit {
                // Not one this claim took already (it is due again at once
                // when `until` is not after `now`).
                let taken: Vec<_> = claimed
                    .iter()
                    .filter_map(|d| d.get("_id").cloned())
                    .collect();
                let found = self
                    .coll(coll)
                    .find_one_and_update(
                        doc! {"dueAt": {"$lte": time(now)}, "_id": {"$nin": taken}},
                        doc! {"$set": {"dueAt": time(until)}, "$inc": {"attempts": 1_i64}},
                    )
                    .sort(doc! {"dueAt": 1, "createdAt": 1, "_id": 1})
                    .return_document(ReturnDocument::After)
                    .await
                    .map_err(store("claim queued records"))?;
                match found {
                    Some(d) => claimed.push(d),
                    None => break,
                }
            }
            Ok(claimed)
        }
    }
}
