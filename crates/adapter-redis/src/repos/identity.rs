//! Identity links and sign-in flows, all in the `{P:identity}` slot:
//! `link:<user>:<provider>` hashes, `providers:<user>` sets,
//! `subject:<provider>:<subject>` strings naming the linked user (the
//! uniqueness of an identity), a `links` index sorted by
//! `<user>:<provider>` (for re-encryption), and `flow:<state hash>` hashes
//! expiring natively, with `flows:<user>` sets of a user's linking flows.
//! Every write is one Lua script that checks before it changes anything.

use std::sync::LazyLock;

use async_trait::async_trait;
use domain::*;
use fred::prelude::*;
use fred::types::Value;
use fred::types::scripts::Script;
use time::OffsetDateTime;

use crate::codec::*;
use crate::error::{corrupt, store};
use crate::{Family, RedisStore};

/// KEYS: link, user's providers, subject, index. ARGV: provider, user,
/// pairs.
static LINK: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return 0 end
redis.call('SET', KEYS[3], ARGV[2])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[4], 0, ARGV[2] .. ':' .. ARGV[1])
return 1
"#,
    )
});

/// KEYS: link. ARGV: tokens or '', expiry text or ''.
static TOKENS: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[1] == '' then redis.call('HDEL', KEYS[1], 'tokens')
else redis.call('HSET', KEYS[1], 'tokens', ARGV[1]) end
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], 'tokensExpireAt')
else redis.call('HSET', KEYS[1], 'tokensExpireAt', ARGV[2]) end
return 1
"#,
    )
});

/// KEYS: link. ARGV: old, new.
static RESEAL: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('HGET', KEYS[1], 'tokens') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'tokens', ARGV[2])
return 1
"#,
    )
});

/// KEYS: user's providers, index. ARGV: user, link prefix (`link:<user>:`),
/// subject prefix (`subject:`), provider or '' for all, keep one ('1').
/// Returns how many went, or -1 when the last was kept.
static UNLINK: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local providers
if ARGV[4] == '' then
  providers = redis.call('SMEMBERS', KEYS[1])
else
  if redis.call('SISMEMBER', KEYS[1], ARGV[4]) == 0 then return 0 end
  if ARGV[5] == '1' and redis.call('SCARD', KEYS[1]) < 2 then return -1 end
  providers = {ARGV[4]}
end
for _, p in ipairs(providers) do
  local link = ARGV[2] .. p
  local subject = redis.call('HGET', link, 'subject')
  if subject then redis.call('DEL', ARGV[3] .. p .. ':' .. subject) end
  redis.call('DEL', link)
  redis.call('SREM', KEYS[1], p)
  redis.call('ZREM', KEYS[2], ARGV[1] .. ':' .. p)
end
return #providers
"#,
    )
});

/// KEYS: flow, owner's flows or ''. ARGV: expiry ms, state hash, pairs.
static ADD_FLOW: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
if #KEYS > 1 then
  redis.call('SADD', KEYS[2], ARGV[2])
  if redis.call('PEXPIRETIME', KEYS[2]) < tonumber(ARGV[1]) then
    redis.call('PEXPIREAT', KEYS[2], ARGV[1])
  end
end
return 1
"#,
    )
});

/// KEYS: flow. ARGV: now ms, flows prefix (`flows:`), state hash.
static TAKE_FLOW: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local exp = redis.call('HGET', KEYS[1], 'expiresAtMs')
if not exp or tonumber(exp) <= tonumber(ARGV[1]) then return {} end
local r = redis.call('HGETALL', KEYS[1])
local owner = redis.call('HGET', KEYS[1], 'linkingUser')
redis.call('DEL', KEYS[1])
if owner then redis.call('SREM', ARGV[2] .. owner, ARGV[3]) end
return r
"#,
    )
});

/// KEYS: user's flows. ARGV: flow prefix (`flow:`).
static DELETE_FLOWS: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local n = 0
for _, h in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  n = n + redis.call('DEL', ARGV[1] .. h)
end
redis.call('DEL', KEYS[1])
return n
"#,
    )
});

impl RedisStore {
    fn id_key(&self, rest: &str) -> String {
        self.key(Family::Identity, rest)
    }
    fn link_key(&self, user: UserId, provider: &ProviderName) -> String {
        self.id_key(&format!("link:{user}:{provider}"))
    }
    fn providers_key(&self, user: UserId) -> String {
        self.id_key(&format!("providers:{user}"))
    }
    fn subject_key(&self, provider: &ProviderName, subject: &str) -> String {
        self.id_key(&format!("subject:{provider}:{subject}"))
    }
    fn links_index(&self) -> String {
        self.id_key("links")
    }
    fn flow_key(&self, hash: &TokenHash) -> String {
        self.id_key(&format!("flow:{}", hash.as_str()))
    }

    async fn read_link(
        &self,
        user: UserId,
        provider: &ProviderName,
    ) -> Result<Option<IdentityLink>, StoreError> {
        let map = self
            .hgetall(self.link_key(user, provider), "read link")
            .await?;
        if map.is_empty() {
            return Ok(None);
        }
        let f = Fields::new(map, "identity link");
        Ok(Some(IdentityLink {
            user_id: user,
            provider: provider.clone(),
            subject: f.str("subject")?.to_owned(),
            email: f
                .opt_str("email")
                .map(|e| Email::from_stored(e).map_err(|_| corrupt("identity link", "email")))
                .transpose()?,
            tokens: f.opt_str("tokens").map(Sealed::from_stored),
            tokens_expire_at: f.opt_time("tokensExpireAt")?,
            created_at: f.time("createdAt")?,
        }))
    }

    async fn unlink_script(
        &self,
        user: UserId,
        provider: Option<&ProviderName>,
        keep_one: bool,
    ) -> Result<i64, StoreError> {
        self.eval(
            &UNLINK,
            vec![self.providers_key(user), self.links_index()],
            vec![
                user.to_string(),
                self.id_key(&format!("link:{user}:")),
                self.id_key("subject:"),
                provider.map_or_else(String::new, |p| p.as_str().to_owned()),
                if keep_one { "1" } else { "0" }.to_owned(),
            ],
            "unlink provider",
        )
        .await
    }
}

fn parse_user(s: &str, what: &'static str) -> Result<UserId, StoreError> {
    s.parse::<uuid::Uuid>()
        .map(UserId::from_uuid)
        .map_err(|_| corrupt(what, "user"))
}

#[async_trait]
impl IdentityLinkRepository for RedisStore {
    async fn link(&self, l: &IdentityLink) -> Result<(), LinkError> {
        let mut r = Record::default();
        r.set("subject", l.subject.as_str())
            .opt("email", l.email.as_ref().map(|e| e.as_str().to_owned()))
            .opt("tokens", l.tokens.as_ref().map(|t| t.as_str().to_owned()))
            .opt("tokensExpireAt", l.tokens_expire_at.map(ts))
            .set("createdAt", ts(l.created_at));
        let mut args = vec![l.provider.as_str().to_owned(), l.user_id.to_string()];
        args.extend(r.args());
        let keys = vec![
            self.link_key(l.user_id, &l.provider),
            self.providers_key(l.user_id),
            self.subject_key(&l.provider, &l.subject),
            self.links_index(),
        ];
        let n: i64 = self.eval(&LINK, keys, args, "link provider").await?;
        if n == 1 {
            Ok(())
        } else {
            Err(LinkError::Conflict)
        }
    }

    async fn find(
        &self,
        provider: &ProviderName,
        subject: &str,
    ) -> Result<Option<IdentityLink>, StoreError> {
        let user: Option<String> = self
            .pool()
            .get(self.subject_key(provider, subject))
            .await
            .map_err(store("find link"))?;
        let Some(user) = user else { return Ok(None) };
        let link = self
            .read_link(parse_user(&user, "identity subject")?, provider)
            .await?;
        Ok(link.filter(|l| l.subject == subject))
    }

    async fn list_for_user(&self, user_id: UserId) -> Result<Vec<IdentityLink>, StoreError> {
        let mut providers: Vec<String> = self
            .pool()
            .smembers(self.providers_key(user_id))
            .await
            .map_err(store("list links"))?;
        providers.sort();
        let mut links = Vec::with_capacity(providers.len());
        for p in providers {
            let p = ProviderName::parse(&p).map_err(|_| corrupt("identity link", "provider"))?;
            if let Some(l) = self.read_link(user_id, &p).await? {
                links.push(l);
            }
        }
        Ok(links)
    }

    async fn store_tokens(
        &self,
        user_id: UserId,
        provider: &ProviderName,
        tokens: Option<Sealed>,
        expire_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        let n: i64 = self
            .eval(
                &TOKENS,
                vec![self.link_key(user_id, provider)],
                vec![
                    tokens.map_or_else(String::new, |t| t.as_str().to_owned()),
                    expire_at.map_or_else(String::new, ts),
                ],
                "store provider tokens",
            )
            .await?;
        Ok(n == 1)
    }

    async fn reseal(
        &self,
        user_id: UserId,
        provider: &ProviderName,
        old: &Sealed,
        new: &Sealed,
    ) -> Result<bool, StoreError> {
        let n: i64 = self
            .eval(
                &RESEAL,
                vec![self.link_key(user_id, provider)],
                vec![old.as_str().to_owned(), new.as_str().to_owned()],
                "reseal provider tokens",
            )
            .await?;
        Ok(n == 1)
    }

    async fn unlink(
        &self,
        user_id: UserId,
        provider: &ProviderName,
        keep_one: bool,
    ) -> Result<Unlinked, StoreError> {
        Ok(
            match self
                .unlink_script(user_id, Some(provider), keep_one)
                .await?
            {
                -1 => Unlinked::LastLink,
                0 => Unlinked::NotLinked,
                _ => Unlinked::Removed,
            },
        )
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let n = self.unlink_script(user_id, None, false).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn list_after(
        &self,
        after: Option<(UserId, ProviderName)>,
        limit: u32,
    ) -> Result<Vec<IdentityLink>, StoreError> {
        let from = after.map_or_else(|| "-".to_owned(), |(u, p)| format!("({u}:{p}"));
        let members: Vec<String> = self
            .pool()
            .zrangebylex(self.links_index(), from, "+", Some((0, i64::from(limit))))
            .await
            .map_err(store("walk links"))?;
        let mut links = Vec::with_capacity(members.len());
        for m in members {
            let (user, provider) = m
                .split_once(':')
                .ok_or_else(|| corrupt("link index", "member"))?;
            let provider =
                ProviderName::parse(provider).map_err(|_| corrupt("link index", "provider"))?;
            if let Some(l) = self
                .read_link(parse_user(user, "link index")?, &provider)
                .await?
            {
                links.push(l);
            }
        }
        Ok(links)
    }
}

#[async_trait]
impl OAuthFlowRepository for RedisStore {
    async fn insert(&self, f: &OAuthFlow) -> Result<(), StoreError> {
        let mut r = Record::default();
        r.set("provider", f.provider.as_str())
            .set("pkceVerifier", f.pkce_verifier.as_str())
            .set("nonce", f.nonce.as_str())
            .set("redirectUri", f.redirect_uri.as_str())
            .opt("linkingUser", f.linking_user.map(|u| u.to_string()))
            .set("createdAt", ts(f.created_at))
            .time("expiresAt", "expiresAtMs", f.expires_at);
        let mut keys = vec![self.flow_key(&f.state_hash)];
        if let Some(user) = f.linking_user {
            keys.push(self.id_key(&format!("flows:{user}")));
        }
        let mut args = vec![
            ms(f.expires_at).to_string(),
            f.state_hash.as_str().to_owned(),
        ];
        args.extend(r.args());
        let _: i64 = self
            .eval(&ADD_FLOW, keys, args, "store sign-in flow")
            .await?;
        Ok(())
    }

    async fn take(
        &self,
        state_hash: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<OAuthFlow>, StoreError> {
        let v: Value = self
            .eval(
                &TAKE_FLOW,
                vec![self.flow_key(state_hash)],
                vec![
                    ms(now).to_string(),
                    self.id_key("flows:"),
                    state_hash.as_str().to_owned(),
                ],
                "take sign-in flow",
            )
            .await?;
        let map = pairs(v)?;
        if map.is_empty() {
            return Ok(None);
        }
        let f = Fields::new(map, "sign-in flow");
        Ok(Some(OAuthFlow {
            state_hash: state_hash.clone(),
            provider: ProviderName::parse(f.str("provider")?)
                .map_err(|_| corrupt("sign-in flow", "provider"))?,
            pkce_verifier: f.str("pkceVerifier")?.to_owned(),
            nonce: f.str("nonce")?.to_owned(),
            redirect_uri: f.str("redirectUri")?.to_owned(),
            linking_user: f.opt_uuid("linkingUser")?.map(UserId::from_uuid),
            created_at: f.time("createdAt")?,
            expires_at: f.time("expiresAt")?,
        }))
    }

    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        let n: i64 = self
            .eval(
                &DELETE_FLOWS,
                vec![self.id_key(&format!("flows:{user_id}"))],
                vec![self.id_key("flow:")],
                "delete sign-in flows",
            )
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn purge_expired(&self, _now: OffsetDateTime, _limit: u32) -> Result<u64, StoreError> {
        // Flows expire natively.
        Ok(0)
    }
}
