//! Second factors: `factor:<user>` hashes, `codes:<user>` sets of
//! backup-code hashes and a `users` index (sorted by user id, for
//! re-encryption), all in the `{P:mfa}` slot. Every write is one Lua script
//! that checks its condition (the factor id, confirmed or not, the step
//! below, the code present) before it changes anything.

use std::collections::HashMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use domain::*;
use fred::prelude::*;
use fred::types::scripts::Script;
use time::OffsetDateTime;

use crate::codec::*;
use crate::error::store;
use crate::{Family, RedisStore};

/// The checks every script starts with: `ok(KEYS[1], id, confirmed)`
/// answers whether the factor is `id` and confirmed (`'1'`) or pending (`'0'`).
const CHECK: &str = r#"
local function ok(key, id, confirmed)
  if redis.call('HGET', key, 'factorId') ~= id then return false end
  local c = redis.call('HEXISTS', key, 'confirmedAt') == 1
  return (confirmed == '1') == c
end
"#;

fn script(body: &str) -> Script {
    Script::from_lua(format!("{CHECK}{body}"))
}

/// KEYS: factor, codes, index. ARGV: user, pairs.
static BEGIN: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
if redis.call('HEXISTS', KEYS[1], 'confirmedAt') == 1 then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('ZADD', KEYS[3], 0, ARGV[1])
return 1
"#,
    )
});

/// KEYS: factor, codes. ARGV: id, step, confirmed at, code hashes.
static CONFIRM: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
if not ok(KEYS[1], ARGV[1], '0') then return 0 end
redis.call('HSET', KEYS[1], 'confirmedAt', ARGV[3], 'lastStep', ARGV[2])
redis.call('DEL', KEYS[2])
if #ARGV > 3 then redis.call('SADD', KEYS[2], unpack(ARGV, 4)) end
return 1
"#,
    )
});

/// KEYS: factor. ARGV: id, step.
static ACCEPT: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
if not ok(KEYS[1], ARGV[1], '1') then return 0 end
local last = redis.call('HGET', KEYS[1], 'lastStep')
if last and tonumber(last) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'lastStep', ARGV[2])
return 1
"#,
    )
});

/// KEYS: factor, codes. ARGV: id, code hash.
static USE_CODE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
if not ok(KEYS[1], ARGV[1], '1') then return 0 end
return redis.call('SREM', KEYS[2], ARGV[2])
"#,
    )
});

/// KEYS: factor, codes. ARGV: id, code hashes.
static REPLACE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
if not ok(KEYS[1], ARGV[1], '1') then return 0 end
redis.call('DEL', KEYS[2])
if #ARGV > 1 then redis.call('SADD', KEYS[2], unpack(ARGV, 2)) end
return 1
"#,
    )
});

/// KEYS: factor. ARGV: id, old, new.
static RESEAL: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
if redis.call('HGET', KEYS[1], 'factorId') ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[1], 'secret') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'secret', ARGV[3])
return 1
"#,
    )
});

/// KEYS: factor, codes, index. ARGV: user, id ('' for any).
static DELETE: LazyLock<Script> = LazyLock::new(|| {
    script(
        r#"
local id = redis.call('HGET', KEYS[1], 'factorId')
if not id then return 0 end
if ARGV[2] ~= '' and id ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
"#,
    )
});

impl RedisStore {
    fn factor_key(&self, user: UserId) -> String {
        self.key(Family::Mfa, &format!("factor:{user}"))
    }
    fn codes_key(&self, user: UserId) -> String {
        self.key(Family::Mfa, &format!("codes:{user}"))
    }
    fn mfa_index(&self) -> String {
        self.key(Family::Mfa, "users")
    }

    async fn mfa_script(
        &self,
        script: &Script,
        user: UserId,
        args: Vec<String>,
        context: &'static str,
    ) -> Result<bool, StoreError> {
        let keys = vec![
            self.factor_key(user),
            self.codes_key(user),
            self.mfa_index(),
        ];
        let n: i64 = self.eval(script, keys, args, context).await?;
        Ok(n == 1)
    }

    fn factor_of(
        user: UserId,
        map: HashMap<String, String>,
        codes: Vec<String>,
    ) -> Result<Option<MfaFactor>, StoreError> {
        if map.is_empty() {
            return Ok(None);
        }
        let f = Fields::new(map, "factor");
        let mut backup_codes: Vec<TokenHash> =
            codes.into_iter().map(TokenHash::from_stored).collect();
        backup_codes.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        Ok(Some(MfaFactor {
            id: MfaFactorId::from_uuid(f.uuid("factorId")?),
            user_id: user,
            secret: Sealed::from_stored(f.str("secret")?),
            confirmed_at: f.opt_time("confirmedAt")?,
            last_step: f
                .opt_str("lastStep")
                .map(|_| f.i64("lastStep"))
                .transpose()?,
            backup_codes,
            created_at: f.time("createdAt")?,
        }))
    }
}

fn hashes(codes: &[TokenHash]) -> impl Iterator<Item = String> + '_ {
    codes.iter().map(|c| c.as_str().to_owned())
}

#[async_trait]
impl MfaRepository for RedisStore {
    async fn begin(&self, f: &MfaFactor) -> Result<bool, StoreError> {
        let mut r = Record::default();
        r.set("factorId", f.id.to_string())
            .set("secret", f.secret.as_str())
            .set("createdAt", ts(f.created_at));
        let mut args = vec![f.user_id.to_string()];
        args.extend(r.args());
        self.mfa_script(&BEGIN, f.user_id, args, "begin enrolment")
            .await
    }

    async fn get(&self, user_id: UserId) -> Result<Option<MfaFactor>, StoreError> {
        let map = self
            .hgetall(self.factor_key(user_id), "read factor")
            .await?;
        if map.is_empty() {
            return Ok(None);
        }
        let codes: Vec<String> = self
            .pool()
            .smembers(self.codes_key(user_id))
            .await
            .map_err(store("read backup codes"))?;
        Self::factor_of(user_id, map, codes)
    }

    async fn confirm(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        step: i64,
        backup_codes: &[TokenHash],
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut args = vec![id.to_string(), step.to_string(), ts(at)];
        args.extend(hashes(backup_codes));
        self.mfa_script(&CONFIRM, user_id, args, "confirm factor")
            .await
    }

    async fn accept_step(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        step: i64,
    ) -> Result<bool, StoreError> {
        let args = vec![id.to_string(), step.to_string()];
        self.mfa_script(&ACCEPT, user_id, args, "accept code").await
    }

    async fn use_backup_code(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        code: &TokenHash,
    ) -> Result<bool, StoreError> {
        let args = vec![id.to_string(), code.as_str().to_owned()];
        self.mfa_script(&USE_CODE, user_id, args, "use backup code")
            .await
    }

    async fn replace_backup_codes(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        codes: &[TokenHash],
    ) -> Result<bool, StoreError> {
        let mut args = vec![id.to_string()];
        args.extend(hashes(codes));
        self.mfa_script(&REPLACE, user_id, args, "replace backup codes")
            .await
    }

    async fn reseal(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        old: &Sealed,
        new: &Sealed,
    ) -> Result<bool, StoreError> {
        let args = vec![
            id.to_string(),
            old.as_str().to_owned(),
            new.as_str().to_owned(),
        ];
        self.mfa_script(&RESEAL, user_id, args, "reseal factor")
            .await
    }

    async fn delete(&self, user_id: UserId, id: MfaFactorId) -> Result<bool, StoreError> {
        let args = vec![user_id.to_string(), id.to_string()];
        self.mfa_script(&DELETE, user_id, args, "delete factor")
            .await
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let args = vec![user_id.to_string(), String::new()];
        let gone = self
            .mfa_script(&DELETE, user_id, args, "delete factors")
            .await?;
        Ok(u64::from(gone))
    }

    async fn list_after(
        &self,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<MfaFactor>, StoreError> {
        let from = after.map_or_else(|| "-".to_owned(), |u| format!("({u}"));
        let users: Vec<String> = self
            .pool()
            .zrangebylex(self.mfa_index(), from, "+", Some((0, i64::from(limit))))
            .await
            .map_err(store("list factors"))?;
        let mut factors = Vec::with_capacity(users.len());
        for user in users {
            let id = user
                .parse::<uuid::Uuid>()
                .map_err(|_| crate::error::corrupt("factor index", "user"))?;
            if let Some(f) = MfaRepository::get(self, UserId::from_uuid(id)).await? {
                factors.push(f);
            }
        }
        Ok(factors)
    }
}
