//! `blocks`: one document per block, unique on (`blockerId`, `blockedId`).

use async_trait::async_trait;
use domain::*;
use mongodb::bson::{Document, doc};

use crate::MongoStore;
use crate::codec::*;
use crate::error::{is_duplicate, store};
use crate::indexes::names::BLOCKS;

fn block(d: &Document) -> Result<Block, StoreError> {
    let f = Fields::of(d, "block");
    Ok(Block {
        blocker_id: UserId::from_uuid(f.uuid("blockerId")?),
        blocked_id: UserId::from_uuid(f.uuid("blockedId")?),
        created_at: f.time("createdAt")?,
    })
}

fn pair(blocker: UserId, blocked: UserId) -> Document {
    doc! {"blockerId": uuid(blocker.as_uuid()), "blockedId": uuid(blocked.as_uuid())}
}

#[async_trait]
impl BlockRepository for MongoStore {
    async fn block(&self, b: &Block) -> Result<bool, StoreError> {
        let r = self
            .coll(BLOCKS)
            .update_one(
                pair(b.blocker_id, b.blocked_id),
                doc! {"$setOnInsert": {"createdAt": time(b.created_at)}},
            )
            .upsert(true)
            .await;
        match r {
            Ok(r) => Ok(r.upserted_id.is_some()),
            // Two upserts of one new block: the loser's insert hits the index.
            Err(e) if is_duplicate(&e) => Ok(false),
            Err(e) => Err(store("block")(e)),
        }
    }

    async fn unblock(&self, blocker_id: UserId, blocked_id: UserId) -> Result<bool, StoreError> {
        let r = self
            .coll(BLOCKS)
            .delete_one(pair(blocker_id, blocked_id))
            .await
            .map_err(store("unblock"))?;
        Ok(r.deleted_count > 0)
    }

    async fn is_blocked(&self, blocker_id: UserId, blocked_id: UserId) -> Result<bool, StoreError> {
        Ok(self
            .coll(BLOCKS)
            .find_one(pair(blocker_id, blocked_id))
            .await
            .map_err(store("read block"))?
            .is_some())
    }

    async fn list(&self, blocker_id: UserId) -> Result<Vec<Block>, StoreError> {
        self.all_of(
            BLOCKS,
            doc! {"blockerId": uuid(blocker_id.as_uuid())},
            doc! {"createdAt": -1, "blockedId": -1},
            None,
            "list blocks",
        )
        .await?
        .iter()
        .map(block)
        .collect()
    }

    async fn forget_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let who = uuid(user_id.as_uuid());
        let r = self
            .coll(BLOCKS)
            .delete_many(doc! {"$or": [{"blockerId": who.clone()}, {"blockedId": who}]})
            .await
            .map_err(store("forget blocks"))?;
        Ok(r.deleted_count)
    }
}
