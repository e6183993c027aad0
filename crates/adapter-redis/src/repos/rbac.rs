//! `role:<name>` hashes, the `roles` index (by name), and grants kept both
//! ways: `user:<id>:roles` and `role:<name>:users` sets.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use async_trait::async_trait;
use domain::*;
use fred::types::Value;
use fred::types::scripts::Script;
use time::OffsetDateTime;

use crate::codec::*;
use crate::error::corrupt;
use crate::{Family, RedisStore};

/// KEYS: a named record (a role, a plan), its index. ARGV: name, pairs.
pub(super) static CREATE_NAMED: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
"#,
    )
});

/// KEYS: role, roles index, role's users. ARGV: user key prefix, name.
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for _, uid in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  redis.call('SREM', ARGV[1] .. uid .. ':roles', ARGV[2])
end
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
"#,
    )
});

/// KEYS: role, user's roles, role's users. ARGV: name, user id.
static GRANT: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
return 1
"#,
    )
});

/// KEYS: user's roles, role's users. ARGV: name, user id.
static REVOKE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[2])
return 1
"#,
    )
});

/// KEYS: the user's roles, the role's users. ARGV: role name, user id.
/// 0 when not granted, 2 when the user is the last holder (kept), 1 revoked.
static REVOKE_UNLESS_LAST: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('SCARD', KEYS[2]) <= 1 then return 2 end
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('SREM', KEYS[2], ARGV[2])
return 1
"#,
    )
});

/// KEYS: a set or sorted set of names (of roles, of plans). ARGV: the
/// records' key prefix. The records, ordered by name.
pub(super) static NAMED_RECORDS: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local names
if redis.call('TYPE', KEYS[1])['ok'] == 'zset' then
  names = redis.call('ZRANGE', KEYS[1], 0, -1)
else
  names = redis.call('SMEMBERS', KEYS[1])
end
table.sort(names)
local out = {}
for _, n in ipairs(names) do
  local key = ARGV[1] .. n
  if redis.call('EXISTS', key) == 1 then table.insert(out, redis.call('HGETALL', key)) end
end
return out
"#,
    )
});

/// KEYS: user's roles. ARGV: role key prefix, user id.
static DELETE_FOR_USER: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local names = redis.call('SMEMBERS', KEYS[1])
for _, n in ipairs(names) do
  redis.call('SREM', ARGV[1] .. n .. ':users', ARGV[2])
end
redis.call('DEL', KEYS[1])
return #names
"#,
    )
});

fn record(r: &Role) -> Record {
    let perms: Vec<&str> = r.permissions.iter().map(Permission::as_str).collect();
    let mut rec = Record::default();
    rec.set("name", r.name.as_str())
        .opt("description", r.description.clone())
        .set(
            "permissions",
            serde_json::to_string(&perms).unwrap_or_else(|_| "[]".into()),
        )
        .set("createdAt", ts(r.created_at))
        .set("updatedAt", ts(r.updated_at));
    rec
}

fn role(map: HashMap<String, String>) -> Result<Option<Role>, StoreError> {
    if map.is_empty() {
        return Ok(None);
    }
    let f = Fields::new(map, "role");
    let bad = |k| corrupt("role", k);
    let names: Vec<String> = match f.json("permissions")? {
        Some(v) => serde_json::from_value(v).map_err(|_| bad("permissions"))?,
        None => Vec::new(),
    };
    let permissions = names
        .iter()
        .map(|p| Permission::parse(p).map_err(|_| bad("permissions")))
        .collect::<Result<BTreeSet<_>, _>>()?;
    Ok(Some(Role {
        name: RoleName::parse(f.str("name")?).map_err(|_| bad("name"))?,
        description: f.opt_string("description"),
        permissions,
        created_at: f.time("createdAt")?,
        updated_at: f.time("updatedAt")?,
    }))
}

impl RedisStore {
    fn r_key(&self, rest: &str) -> String {
        self.key(Family::Rbac, rest)
    }
    fn role_key(&self, name: &RoleName) -> String {
        self.r_key(&format!("role:{name}"))
    }
    fn user_roles_key(&self, user: UserId) -> String {
        self.r_key(&format!("user:{user}:roles"))
    }
    fn role_users_key(&self, name: &RoleName) -> String {
        self.r_key(&format!("role:{name}:users"))
    }

    async fn roles_in(&self, set: String) -> Result<Vec<Role>, StoreError> {
        let v: Value = self
            .eval(
                &NAMED_RECORDS,
                vec![set],
                vec![self.r_key("role:")],
                "list roles",
            )
            .await?;
        records(v)?
            .into_iter()
            .filter_map(|m| role(m).transpose())
            .collect()
    }
}

#[async_trait]
impl RoleRepository for RedisStore {
    async fn create(&self, r: &Role) -> Result<(), InsertError> {
        let mut args = vec![r.name.as_str().to_owned()];
        args.extend(record(r).args());
        let n: i64 = self
            .eval(
                &CREATE_NAMED,
                vec![self.role_key(&r.name), self.r_key("roles")],
                args,
                "create role",
            )
            .await?;
        if n == 0 {
            return Err(InsertError::Conflict);
        }
        Ok(())
    }

    async fn get(&self, name: &RoleName) -> Result<Option<Role>, StoreError> {
        role(self.hgetall(self.role_key(name), "get role").await?)
    }

    async fn list(&self) -> Result<Vec<Role>, StoreError> {
        self.roles_in(self.r_key("roles")).await
    }

    async fn update_fields(&self, name: &RoleName, c: &RoleChanges) -> Result<(), WriteError> {
        let mut rec = Record::default();
        rec.set("updatedAt", ts(c.updated_at));
        if let Some(permissions) = &c.permissions {
            let perms: Vec<&str> = permissions.iter().map(Permission::as_str).collect();
            rec.set(
                "permissions",
                serde_json::to_string(&perms).unwrap_or_else(|_| "[]".into()),
            );
        }
        let mut delete: Vec<&str> = Vec::new();
        match &c.description {
            Some(Some(d)) => {
                rec.set("description", d.clone());
            }
            Some(None) => delete.push("description"),
            None => {}
        }
        self.guarded_set(self.role_key(name), &[], &delete, &rec)
            .await?
            .written()
    }

    async fn delete(&self, name: &RoleName) -> Result<(), WriteError> {
        let n: i64 = self
            .eval(
                &DELETE,
                vec![
                    self.role_key(name),
                    self.r_key("roles"),
                    self.role_users_key(name),
                ],
                vec![self.r_key("user:"), name.as_str().to_owned()],
                "delete role",
            )
            .await?;
        WriteError::found(n)
    }

    async fn grant(
        &self,
        user_id: UserId,
        role: &RoleName,
        _at: OffsetDateTime,
    ) -> Result<(), GrantWriteError> {
        let n: i64 = self
            .eval(
                &GRANT,
                vec![
                    self.role_key(role),
                    self.user_roles_key(user_id),
                    self.role_users_key(role),
                ],
                vec![role.as_str().to_owned(), user_id.to_string()],
                "grant role",
            )
            .await?;
        if n == 0 {
            return Err(GrantWriteError::RoleNotFound);
        }
        Ok(())
    }

    async fn revoke(&self, user_id: UserId, role: &RoleName) -> Result<(), WriteError> {
        let n: i64 = self
            .eval(
                &REVOKE,
                vec![self.user_roles_key(user_id), self.role_users_key(role)],
                vec![role.as_str().to_owned(), user_id.to_string()],
                "revoke role",
            )
            .await?;
        WriteError::found(n)
    }

    async fn revoke_unless_last(
        &self,
        user_id: UserId,
        role: &RoleName,
    ) -> Result<LastHolder, WriteError> {
        let n: i64 = self
            .eval(
                &REVOKE_UNLESS_LAST,
                vec![self.user_roles_key(user_id), self.role_users_key(role)],
                vec![role.as_str().to_owned(), user_id.to_string()],
                "revoke role",
            )
            .await?;
        match n {
            0 => Err(WriteError::NotFound),
            2 => Ok(LastHolder::Kept),
            _ => Ok(LastHolder::Revoked),
        }
    }

    async fn roles_of(&self, user_id: UserId) -> Result<Vec<Role>, StoreError> {
        self.roles_in(self.user_roles_key(user_id)).await
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let n: i64 = self
            .eval(
                &DELETE_FOR_USER,
                vec![self.user_roles_key(user_id)],
                vec![self.r_key("role:"), user_id.to_string()],
                "delete grants",
            )
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
