//! Every Portico port on Redis, through `fred`.
//!
//! Layout: [`RedisConfig`] and [`RedisStore::connect`]; `codec` turns
//! records into hash fields and back; `scripts` holds the Lua that makes
//! every multi-key change atomic; `repos` has one module per port family;
//! [`testing`] (feature `testing`) gives each test its own key prefix.
//!
//! # Key schema
//!
//! Every key starts with a hash tag naming its port family,
//! `{<prefix>:<family>}`, so each family lives in one hash slot: the Lua
//! scripts that change several keys of a family at once run unchanged on a
//! single server and on Redis Cluster (the cluster spreads families, not the
//! records of one family, over its masters). Rate-limit counters are tagged
//! per counted key instead, so they spread record by record. The names after
//! the tag follow the original data model (`user:<id>`, `accessToken:<token hash>`,
//! `user_candidate:<email>`, `upload_request:<user id>:<object key>`,
//! `payment:<id>` as JSON, `username_status_req:<ip>`). See `docs/storage-redis.md` for
//! the full list and which keys carry TTLs.
//!
//! Needs Redis 7.0 or newer (the scripts use `PEXPIRETIME`), or a Valkey of
//! the same level.

mod codec;
mod error;
mod pubsub;
mod repos;
mod scripts;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;
use std::time::Duration;

use domain::StoreError;
use domain::Stores;
use fred::prelude::*;

pub use error::RedisError;

/// How to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]`, `rediss://…` (TLS), or
    /// `redis-cluster://host:port?node=host2:port2` for Redis Cluster.
    pub url: String,
    /// Prepended to every key, so several deployments (or tests) can share
    /// one server. No `{`, `}` or `:`.
    pub prefix: String,
    /// Connections in the pool.
    pub pool_size: usize,
    /// How long opening one connection (TCP and TLS) may take.
    pub connect_timeout: Duration,
    /// How long one command may wait for its answer, including the time it
    /// waits for a connection that is reconnecting. Past it the call fails
    /// with an unavailable [`StoreError`] instead of hanging.
    pub command_timeout: Duration,
    /// The longest pause between two reconnection attempts. The client
    /// reconnects by itself, forever, with exponential backoff from 100 ms up
    /// to this.
    pub reconnect_max_delay: Duration,
}

impl RedisConfig {
    /// `url` with prefix `portico`, a pool of 4, a 3 s connect and command
    /// timeout, and reconnects at most 2 s apart.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            prefix: "portico".into(),
            pool_size: 4,
            connect_timeout: Duration::from_secs(3),
            command_timeout: Duration::from_secs(3),
            reconnect_max_delay: Duration::from_secs(2),
        }
    }

    /// A fred builder for `config` with this configuration's timeouts and
    /// reconnection policy. `commands`: a client that sends commands and
    /// waits for answers, so one whose answers stop coming is reconnected (a
    /// pub/sub client only listens, and gets no such check).
    fn builder(&self, config: &Config, commands: bool) -> Builder {
        let mut builder = Builder::from_config(config.clone());
        let connect_timeout = self.connect_timeout;
        let command_timeout = self.command_timeout;
        builder
            .with_connection_config(|c| {
                c.connection_timeout = connect_timeout;
                c.internal_command_timeout = connect_timeout;
                // A connection that stops answering (a paused server, a
                // dropped route) is closed and reconnected.
                if commands {
                    c.unresponsive.max_timeout = Some(command_timeout.max(Duration::from_secs(1)));
                    c.unresponsive.interval = Duration::from_millis(500);
                }
            })
            .with_performance_config(|p| p.default_command_timeout = command_timeout)
            .set_policy(ReconnectPolicy::new_exponential(
                0,
                100,
                u32::try_from(self.reconnect_max_delay.as_millis())
                    .unwrap_or(u32::MAX)
                    .max(100),
                2,
            ));
        builder
    }
}

/// A connected Redis (single server or cluster) serving every port.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    /// Kept to open pub/sub connections next to the pool.
    config: Config,
    /// The timeouts and reconnection policy, for those connections too.
    settings: RedisConfig,
    prefix: String,
    cluster: bool,
}

/// Port families: each is one hash tag, so one slot.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Family {
    Users,
    Candidates,
    Sessions,
    Tokens,
    Rbac,
    Content,
    Notifications,
    Uploads,
    Payments,
    Leases,
    Mail,
    Mfa,
    Identity,
    Plans,
    Activity,
    Stats,
    Settings,
    ApiKeys,
    Passkeys,
    Webhooks,
    Conversations,
}

impl Family {
    fn tag(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Candidates => "candidates",
            Self::Sessions => "sessions",
            Self::Tokens => "tokens",
            Self::Rbac => "rbac",
            Self::Content => "content",
            Self::Notifications => "notifications",
            Self::Uploads => "uploads",
            Self::Payments => "payments",
            Self::Leases => "leases",
            Self::Mail => "mail",
            Self::Mfa => "mfa",
            Self::Identity => "identity",
            Self::Plans => "plans",
            Self::Activity => "activity",
            Self::Stats => "stats",
            Self::Settings => "settings",
            Self::ApiKeys => "apikeys",
            Self::Passkeys => "passkeys",
            Self::Webhooks => "webhooks",
            Self::Conversations => "conversations",
        }
    }
}

impl RedisStore {
    /// Connects a pool and checks the server answers.
    pub async fn connect(config: &RedisConfig) -> Result<Self, RedisError> {
        if config.prefix.is_empty() || config.prefix.contains(['{', '}', ':']) {
            return Err(RedisError::Prefix(config.prefix.clone()));
        }
        let mut fred_config = Config::from_url(&config.url).map_err(RedisError::Connect)?;
        // The first connection fails at once when the server is not there;
        // later ones reconnect by the policy.
        fred_config.fail_fast = true;
        let cluster = fred_config.server.is_clustered();
        let pool = config
            .builder(&fred_config, true)
            .build_pool(config.pool_size.max(1))
            .map_err(RedisError::Connect)?;
        // `init` retries nothing with `fail_fast`, but a server that accepts
        // and never answers must not hang start-up either.
        let deadline = config.connect_timeout + config.command_timeout;
        match tokio::time::timeout(deadline, pool.init()).await {
            Ok(result) => {
                result.map_err(RedisError::Connect)?;
            }
            Err(_) => {
                let _ = pool.quit().await;
                return Err(RedisError::Connect(fred::error::Error::new(
                    fred::error::ErrorKind::Timeout,
                    format!("no answer within {} ms", deadline.as_millis()),
                )));
            }
        }
        let _: String = pool.ping(None).await.map_err(RedisError::Connect)?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                config: fred_config,
                settings: config.clone(),
                prefix: config.prefix.clone(),
                cluster,
            }),
        })
    }

    /// Every port, backed by this Redis.
    pub fn stores(&self) -> Stores {
        Stores::from_one(Arc::new(self.clone()))
    }

    /// Checks that the server answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        let _: String = self
            .inner
            .pool
            .ping(None)
            .await
            .map_err(error::store("ping"))?;
        Ok(())
    }

    /// Whether this is a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        self.inner.cluster
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// A builder for a pub/sub connection to the same server, with the
    /// pool's timeouts and reconnection policy.
    pub(crate) fn subscriber_builder(&self) -> Builder {
        self.inner.settings.builder(&self.inner.config, false)
    }

    /// Closes the connections.
    pub async fn close(&self) {
        let _ = self.inner.pool.quit().await;
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    pub(crate) fn client(&self) -> &Client {
        self.inner.pool.next()
    }

    /// `{<prefix>:<family>}:` — the start of every key of a family.
    pub(crate) fn base(&self, family: Family) -> String {
        format!("{{{}:{}}}:", self.inner.prefix, family.tag())
    }

    /// A key of `family`.
    pub(crate) fn key(&self, family: Family, rest: &str) -> String {
        let mut k = self.base(family);
        k.push_str(rest);
        k
    }
}
