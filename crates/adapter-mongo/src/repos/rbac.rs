//! `roles` (`_id` = name) and `permissionsTokens` (one grant per
//! user and role, unique on both).

use std::collections::BTreeSet;

use async_trait::async_trait;
use domain::*;
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use time::OffsetDateTime;

use crate::codec::*;
use crate::error::{corrupt, is_duplicate, store};
use crate::indexes::names::{GRANTS, ROLES};
use crate::{MongoStore, commit, retrying, run};

fn role_doc(r: &Role) -> Document {
    let permissions: Vec<&str> = r.permissions.iter().map(Permission::as_str).collect();
    doc! {
        "_id": r.name.as_str(),
        "description": opt_str(r.description.as_deref()),
        "permissions": permissions,
        "createdAt": time(r.created_at),
        "updatedAt": time(r.updated_at),
    }
}

fn role(d: &Document) -> Result<Role, StoreError> {
    let f = Fields::of(d, "role");
    let permissions = f
        .array("permissions")?
        .iter()
        .map(|p| {
            p.as_str()
                .and_then(|p| Permission::parse(p).ok())
                .ok_or_else(|| corrupt("role", "permissions"))
        })
        .collect::<Result<BTreeSet<_>, _>>()?;
    Ok(Role {
        name: RoleName::parse(f.str("_id")?).map_err(|_| corrupt("role", "_id"))?,
        description: f.opt_str("description")?.map(str::to_owned),
        permissions,
        created_at: f.time("createdAt")?,
        updated_at: f.time("updatedAt")?,
    })
}

impl MongoStore {
    async fn roles_where(&self, filter: Document) -> Result<Vec<Role>, StoreError> {
        let docs: Vec<Document> = self
            .coll(ROLES)
            .find(filter)
            .sort(doc! {"_id": 1})
            .await
            .map_err(store("list roles"))?
            .try_collect()
            .await
            .map_err(store("list roles"))?;
        docs.iter().map(role).collect()
    }

    /// Grants first, then the role: a failure in between leaves a role
    /// nobody holds, never a grant of a missing role.
    async fn delete_role(&self, name: &str) -> Result<u64, mongodb::error::Error> {
        let mut s = self.begin().await?;
        run!(self.coll(GRANTS).delete_many(doc! {"role": name}), s)?;
        let r = run!(self.coll(ROLES).delete_one(doc! {"_id": name}), s)?;
        commit(s).await?;
        Ok(r.deleted_count)
    }
}

#[async_trait]
impl RoleRepository for MongoStore {
    async fn create(&self, r: &Role) -> Result<(), InsertError> {
        match self.coll(ROLES).insert_one(role_doc(r)).await {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate(&e) => Err(InsertError::Conflict),
            Err(e) => Err(InsertError::Store(store("insert role")(e))),
        }
    }

    async fn get(&self, name: &RoleName) -> Result<Option<Role>, StoreError> {
        self.coll(ROLES)
            .find_one(doc! {"_id": name.as_str()})
            .await
            .map_err(store("get role"))?
            .as_ref()
            .map(role)
            .transpose()
    }

    async fn list(&self) -> Result<Vec<Role>, StoreError> {
        self.roles_where(doc! {}).await
    }

    async fn update_fields(&self, name: &RoleName, c: &RoleChanges) -> Result<(), WriteError> {
        let mut set = doc! {"updatedAt": time(c.updated_at)};
        if let Some(description) = &c.description {
            set.insert("description", opt_str(description.as_deref()));
        }
        if let Some(permissions) = &c.permissions {
            let list: Vec<&str> = permissions.iter().map(Permission::as_str).collect();
            set.insert("permissions", list);
        }
        let result = self
            .coll(ROLES)
            .update_one(doc! {"_id": name.as_str()}, doc! {"$set": set})
            .await
            .map_err(store("update role"))?;
        WriteError::found(result.matched_count)
    }

    async fn delete(&self, name: &RoleName) -> Result<(), WriteError> {
        let n = retrying!(self.delete_role(name.as_str())).map_err(store("delete role"))?;
        WriteError::found(n)
    }

    async fn grant(
        &self,
        user_id: UserId,
        role: &RoleName,
        at: OffsetDateTime,
    ) -> Result<(), GrantWriteError> {
        if RoleRepository::get(self, role).await?.is_none() {
            return Err(GrantWriteError::RoleNotFound);
        }
        let filter = doc! {"userId": uuid(user_id.as_uuid()), "role": role.as_str()};
        let result = self
            .coll(GRANTS)
            .update_one(
                filter,
                doc! {"$setOnInsert": {"createdAt": time(at), "lastAccessed": time(at)}},
            )
            .upsert(true)
            .await;
        match result {
            // Two concurrent first grants: the loser's upsert hits the unique
            // index, and the grant exists either way.
            Ok(_) => Ok(()),
            Err(e) if is_duplicate(&e) => Ok(()),
            Err(e) => Err(GrantWriteError::Store(store("grant role")(e))),
        }
    }

    async fn revoke(&self, user_id: UserId, role: &RoleName) -> Result<(), WriteError> {
        let r = self
            .coll(GRANTS)
            .delete_one(doc! {"userId": uuid(user_id.as_uuid()), "role": role.as_str()})
            .await
            .map_err(store("revoke role"))?;
        WriteError::found(r.deleted_count)
    }

    async fn revoke_unless_last(
        &self,
        user_id: UserId,
        role: &RoleName,
    ) -> Result<LastHolder, WriteError> {
        // Remove, then count what is left: of concurrent revocations the
        // last to count sees none and puts its grant back, so the role
        // always keeps a holder (this works without transactions too).
        let grants = self.coll(GRANTS);
        let filter = doc! {"userId": uuid(user_id.as_uuid()), "role": role.as_str()};
        let Some(removed) = grants
            .find_one_and_delete(filter)
            .await
            .map_err(store("revoke role"))?
        else {
            return Err(WriteError::NotFound);
        };
        let left = grants
            .count_documents(doc! {"role": role.as_str()})
            .limit(1)
            .await
            .map_err(store("revoke role"))?;
        if left > 0 {
            return Ok(LastHolder::Revoked);
        }
        match grants.insert_one(removed).await {
            Ok(_) => Ok(LastHolder::Kept),
            Err(e) if is_duplicate(&e) => Ok(LastHolder::Kept),
            Err(e) => Err(WriteError::Store(store("restore the last grant")(e))),
        }
    }

    async fn roles_of(&self, user_id: UserId) -> Result<Vec<Role>, StoreError> {
        let grants: Vec<Document> = self
            .coll(GRANTS)
            .find(doc! {"userId": uuid(user_id.as_uuid())})
            .await
            .map_err(store("list grants"))?
            .try_collect()
            .await
            .map_err(store("list grants"))?;
        let names: Vec<Bson> = grants
            .iter()
            .filter_map(|g| g.get("role").cloned())
            .collect();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        self.roles_where(doc! {"_id": {"$in": names}}).await
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let r = self
            .coll(GRANTS)
            .delete_many(doc! {"userId": uuid(user_id.as_uuid())})
            .await
            .map_err(store("delete grants"))?;
        Ok(r.deleted_count)
    }
}
