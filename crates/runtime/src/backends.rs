//! Connects the stores the configuration uses and picks, per port group,
//! which one serves it: SQL (SQLite or PostgreSQL), MongoDB or Redis.

use std::sync::Arc;
use std::time::Duration;

use adapter_mongo::{MongoConfig, MongoStore};
use adapter_redis::{RedisConfig, RedisStore};
use adapter_sql::{SqlConfig, SqlStore};
use async_trait::async_trait;
use domain::StoreError;
use domain::{PortGroup, Stores};

use crate::config::{Backend, Config, redact_url};

/// Why a store could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// The SQL database.
    #[error("cannot open the SQL database at {url}")]
    Sql {
        /// The URL, password redacted.
        url: String,
        /// The underlying error.
        #[source]
        source: adapter_sql::SqlError,
    },
    /// MongoDB.
    #[error("cannot open MongoDB at {url}")]
    Mongo {
        /// The URL, password redacted.
        url: String,
        /// The underlying error.
        #[source]
        source: adapter_mongo::MongoError,
    },
    /// Redis could not be reached or refused the connection.
    #[error("cannot open Redis at {url}")]
    Redis {
        /// The URL, password redacted.
        url: String,
        /// The underlying error.
        #[source]
        source: adapter_redis::RedisError,
    },
    /// Nothing answers at the store's address: said before any driver
    /// tries (and times out, or explains in its own words).
    #[error("cannot reach {store} at {address}: {reason} (is it running? check {setting})")]
    Unreachable {
        /// Which store.
        store: &'static str,
        /// `host:port`.
        address: String,
        /// What the connection attempt said.
        reason: String,
        /// The setting that names the address.
        setting: &'static str,
    },
    /// A port group names a backend that was not connected.
    #[error("[stores] uses {0:?}, but that store is not connected")]
    Missing(Backend),
}

/// The connected stores.
#[derive(Clone, Default)]
pub struct Backends {
    sql: Option<SqlStore>,
    mongo: Option<MongoStore>,
    redis: Option<RedisStore>,
    /// The SQL migrations this connect applied.
    migrated: Vec<String>,
}

/// `host:port` of each host of a `scheme://[user[:pass]@]host[:port][,…][/…]`
/// URL, with `default_port` where none is given; empty for URLs without a
/// plain host (SQLite, `mongodb+srv`, Unix sockets).
fn addresses(url: &str, default_port: u16) -> Vec<String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Vec::new();
    };
    if scheme.ends_with("+srv") || scheme.starts_with("sqlite") {
        return Vec::new();
    }
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let hosts = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    hosts
        .split(',')
        .filter(|h| !h.is_empty() && !h.starts_with('%'))
        .map(|host| {
            let has_port = match host.rfind(']') {
                Some(end) => host[end..].contains(':'),
                None => host.contains(':'),
            };
            if has_port {
                host.to_owned()
            } else {
                format!("{host}:{default_port}")
            }
        })
        .collect()
}

/// Fails with a one-line [`ConnectError::Unreachable`] when none of the
/// URL's hosts accepts a TCP connection within `timeout`.
async fn probe(
    store: &'static str,
    setting: &'static str,
    url: &str,
    default_port: u16,
    timeout: Duration,
) -> Result<(), ConnectError> {
    let all = addresses(url, default_port);
    let mut first_failure = None;
    for address in all {
        let reason =
            match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(&address)).await {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("no answer within {} ms", timeout.as_millis()),
            };
        first_failure.get_or_insert((address, reason));
    }
    match first_failure {
        None => Ok(()),
        Some((address, reason)) => Err(ConnectError::Unreachable {
            store,
            address,
            reason,
            setting,
        }),
    }
}

impl Backends {
    /// The SQL migrations [`Backends::connect`] applied (`<version> <name>`;
    /// empty when the schema was current or no group uses SQL).
    pub fn migrated(&self) -> &[String] {
        &self.migrated
    }

    /// Connects every store the configuration uses (applying pending SQL
    /// migrations, creating MongoDB indexes).
    pub async fn connect(config: &Config) -> Result<Self, ConnectError> {
        let mut backends = Self::default();
        if config.uses(Backend::Sql) {
            let url = config.database_url();
            let sql_config = SqlConfig {
                url: url.clone(),
                max_connections: match config.database.max_connections {
                    0 => 10,
                    n => n,
                },
                pg_schema: config.database.pg_schema.clone(),
                acquire_timeout: config.database.acquire_timeout(),
            };
            probe(
                "PostgreSQL",
                "database.url / DATABASE_URL",
                &url,
                5432,
                config.database.acquire_timeout(),
            )
            .await?;
            let failed = |source| ConnectError::Sql {
                url: redact_url(&url),
                source,
            };
            let sql = SqlStore::open(&sql_config).await.map_err(failed)?;
            backends.migrated = sql.migrate().await.map_err(failed)?;
            backends.sql = Some(sql);
        }
        if config.uses(Backend::Mongodb) {
            let m = &config.mongodb;
            probe(
                "MongoDB",
                "mongodb.url / MONGODB_URL",
                &m.url,
                27017,
                Duration::from_millis(m.connect_timeout_ms.max(1)),
            )
            .await?;
            let mongo_config = MongoConfig {
                url: m.url.clone(),
                database: m.database.clone(),
                transactions: true,
                connect_timeout: Duration::from_millis(m.connect_timeout_ms.max(1)),
                server_selection_timeout: Duration::from_millis(
                    m.server_selection_timeout_ms.max(1),
                ),
            };
            let mongo =
                MongoStore::connect(&mongo_config)
                    .await
                    .map_err(|source| ConnectError::Mongo {
                        url: redact_url(&config.mongodb.url),
                        source,
                    })?;
            backends.mongo = Some(mongo);
        }
        if config.uses(Backend::Redis) {
            let r = &config.redis;
            probe(
                "Redis",
                "redis.url / REDIS_URL",
                &r.url,
                6379,
                Duration::from_millis(r.connect_timeout_ms.max(1)),
            )
            .await?;
            let redis_config = RedisConfig {
                url: r.url.clone(),
                prefix: r.prefix.clone(),
                pool_size: r.pool_size,
                connect_timeout: Duration::from_millis(r.connect_timeout_ms.max(1)),
                command_timeout: Duration::from_millis(r.command_timeout_ms.max(1)),
                reconnect_max_delay: Duration::from_millis(r.reconnect_max_delay_ms.max(100)),
            };
            let redis =
                RedisStore::connect(&redis_config)
                    .await
                    .map_err(|source| ConnectError::Redis {
                        url: redact_url(&config.redis.url),
                        source,
                    })?;
            backends.redis = Some(redis);
        }
        Ok(backends)
    }

    /// Stores already connected (tests pass their own isolated databases).
    pub fn from_parts(
        sql: Option<SqlStore>,
        mongo: Option<MongoStore>,
        redis: Option<RedisStore>,
    ) -> Self {
        Self {
            sql,
            mongo,
            redis,
            migrated: Vec::new(),
        }
    }

    /// An already connected SQL database only.
    pub fn from_sql(sql: SqlStore) -> Self {
        Self::from_parts(Some(sql), None, None)
    }

    /// Every port, each from the backend its group is configured to use.
    pub fn stores(&self, config: &Config) -> Result<Stores, ConnectError> {
        let sql = self.sql.as_ref().map(SqlStore::stores);
        let mongo = self.mongo.as_ref().map(MongoStore::stores);
        let redis = self.redis.as_ref().map(RedisStore::stores);
        let pick = |backend: Backend| {
            match backend {
                Backend::Sql => sql.as_ref(),
                Backend::Mongodb => mongo.as_ref(),
                Backend::Redis => redis.as_ref(),
            }
            .ok_or(ConnectError::Missing(backend))
        };
        let groups = &config.stores;
        let durable = pick(groups.durable)?;
        let sessions = pick(groups.sessions())?;
        let limits = pick(groups.rate_limits())?;
        let uploads = pick(groups.uploads())?;
        Ok(Stores::from_groups(|group| match group {
            PortGroup::Durable => durable,
            PortGroup::Sessions => sessions,
            PortGroup::RateLimits => limits,
            PortGroup::Uploads => uploads,
        }))
    }

    /// The SQL store, when one is connected.
    pub fn sql(&self) -> Option<&SqlStore> {
        self.sql.as_ref()
    }

    /// What `/readyz` checks: each connected store.
    pub fn readiness(&self) -> Vec<Arc<dyn ReadinessCheck>> {
        let mut checks: Vec<Arc<dyn ReadinessCheck>> = Vec::new();
        if let Some(sql) = &self.sql {
            checks.push(Arc::new(SqlReady(sql.clone())));
        }
        if let Some(mongo) = &self.mongo {
            checks.push(Arc::new(MongoReady(mongo.clone())));
        }
        if let Some(redis) = &self.redis {
            checks.push(Arc::new(RedisReady(redis.clone())));
        }
        checks
    }

    /// Closes connections.
    pub async fn close(&self) {
        if let Some(sql) = &self.sql {
            sql.close().await;
        }
        if let Some(redis) = &self.redis {
            redis.close().await;
        }
    }
}

struct SqlReady(SqlStore);

#[async_trait]
impl ReadinessCheck for SqlReady {
    fn name(&self) -> &str {
        self.0.engine()
    }
    async fn check(&self) -> Result<(), StoreError> {
        self.0.ping().await
    }
}

struct MongoReady(MongoStore);

#[async_trait]
impl ReadinessCheck for MongoReady {
    fn name(&self) -> &str {
        "mongodb"
    }
    async fn check(&self) -> Result<(), StoreError> {
        self.0.ping().await
    }
}

struct RedisReady(RedisStore);

#[async_trait]
impl ReadinessCheck for RedisReady {
    fn name(&self) -> &str {
        if self.0.is_cluster() {
            "redis-cluster"
        } else {
            "redis"
        }
    }
    async fn check(&self) -> Result<(), StoreError> {
        self.0.ping().await
    }
}

/// Something `/readyz` checks.
#[async_trait]
pub trait ReadinessCheck: Send + Sync {
    /// Short name shown in `/readyz`.
    fn name(&self) -> &str;
    /// `Ok` when the dependency answers.
    async fn check(&self) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::addresses;

    #[test]
    fn the_hosts_of_a_store_url() {
        for (url, want) in [
            ("postgres://u:p@db.internal/app", vec!["db.internal:5432"]),
            ("postgres://db:6543/app?sslmode=require", vec!["db:6543"]),
            ("mongodb://a:1,b/?replicaSet=rs", vec!["a:1", "b:5432"]),
            ("redis://:secret@[::1]:7000/0", vec!["[::1]:7000"]),
            ("redis://[::1]", vec!["[::1]:5432"]),
            ("mongodb+srv://cluster.example/db", vec![]),
            ("sqlite:///data/portico.db", vec![]),
            ("postgres:///app?host=/run/postgresql", vec![]),
        ] {
            assert_eq!(addresses(url, 5432), want, "{url}");
        }
    }
}
