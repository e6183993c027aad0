//! One module per port family; each implements its traits on `MongoStore`.

mod accounts;
mod activity;
mod api_keys;
mod auth_changes;
mod content;
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
