//! Registration candidates: `user_candidate:<email>` hashes with
//! `token:<hash>` pointers, both expiring natively.

use std::collections::HashMap;
use std::sync::LazyLock;

use async_trait::async_trait;
use domain::*;
use fred::types::Value;
use fred::types::scripts::Script;
use time::OffsetDateTime;

use crate::codec::*;
use crate::error::corrupt;
use crate::{Family, RedisStore};

/// KEYS: candidate, token pointer. ARGV: expiry ms, normalized email, pairs.
static PUT_CANDIDATE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2], 'PXAT', ARGV[1])
return 1
"#,
    )
});

/// KEYS: token pointer. ARGV: candidate key prefix, token hash, now ms.
/// Removes and returns the candidate when the token is its current one and
/// it has not expired.
static TAKE_CANDIDATE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local email = redis.call('GET', KEYS[1])
if not email then return {} end
local key = ARGV[1] .. email
if redis.call('HGET', key, 'validation_token') ~= ARGV[2] then return {} end
local exp = redis.call('HGET', key, 'expiresAtMs')
if not exp or tonumber(exp) <= tonumber(ARGV[3]) then return {} end
local r = redis.call('HGETALL', key)
redis.call('DEL', key, KEYS[1])
return r
"#,
    )
});

fn candidate(map: HashMap<String, String>) -> Result<Option<RegistrationCandidate>, StoreError> {
    if map.is_empty() {
        return Ok(None);
    }
    let f = Fields::new(map, "candidate");
    let bad = |k| corrupt("candidate", k);
    Ok(Some(RegistrationCandidate {
        email: Email::from_stored(f.str("email")?).map_err(|_| bad("email"))?,
        username: Username::parse(f.str("username")?).map_err(|_| bad("username"))?,
        role: RoleName::parse(f.str("role")?).map_err(|_| bad("role"))?,
        password_hash: PasswordHash::new(f.str("password_hash")?),
        token_hash: TokenHash::from_stored(f.str("validation_token")?),
        created_at: f.time("createdAt")?,
        expires_at: f.time("expiresAt")?,
        origin: f
            .opt_str("origin")
            .map(UserOrigin::from_stored)
            .transpose()?,
    }))
}

#[async_trait]
impl CandidateRepository for RedisStore {
    async fn put(&self, c: &RegistrationCandidate) -> Result<(), StoreError> {
        let mut r = Record::default();
        r.set("email", c.email.as_str())
            .set("username", c.username.as_str())
            .set("role", c.role.as_str())
            .set("password_hash", c.password_hash.as_str())
            .set("validation_token", c.token_hash.as_str())
            .set("createdAt", ts(c.created_at))
            .time("expiresAt", "expiresAtMs", c.expires_at)
            .opt("origin", c.origin.as_ref().map(UserOrigin::to_stored));
        let keys = vec![
            self.key(
                Family::Candidates,
                &format!("user_candidate:{}", c.email.normalized()),
            ),
            self.key(
                Family::Candidates,
                &format!("token:{}", c.token_hash.as_str()),
            ),
        ];
        let mut args = vec![
            ms(c.expires_at).to_string(),
            c.email.normalized().to_owned(),
        ];
        args.extend(r.args());
        let _: i64 = self
            .eval(&PUT_CANDIDATE, keys, args, "store candidate")
            .await?;
        Ok(())
    }

    async fn take(
        &self,
        token_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<RegistrationCandidate>, StoreError> {
        let v: Value = self
            .eval(
                &TAKE_CANDIDATE,
                vec![self.key(
                    Family::Candidates,
                    &format!("token:{}", token_hash.as_str()),
                )],
                vec![
                    self.key(Family::Candidates, "user_candidate:"),
                    token_hash.as_str().to_owned(),
                    ms(now).to_string(),
                ],
                "take candidate",
            )
            .await?;
        candidate(pairs(v)?)
    }

    async fn find_by_email(
        &self,
        email: &Email,
        now: OffsetDateTime,
    ) -> Result<Option<RegistrationCandidate>, StoreError> {
        let key = self.key(
            Family::Candidates,
            &format!("user_candidate:{}", email.normalized()),
        );
        let map: HashMap<String, String> = self.hgetall(key, "find candidate").await?;
        Ok(candidate(map)?.filter(|c| now < c.expires_at))
    }

    async fn purge_expired(&self, _now: OffsetDateTime, _limit: u32) -> Result<u64, StoreError> {
        // Candidates expire natively.
        Ok(0)
    }
}
