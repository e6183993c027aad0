//! Connects the configured stores and picks, per port group, which one
//! serves it. Only the SQL adapter exists so far; the Redis and MongoDB
//! adapters slot into [`Backends::stores`]' `match`es.

use std::sync::Arc;

use adapter_sql::{SqlConfig, SqlStore};
use async_trait::async_trait;
use domain::StoreError;
use domain::services::Stores;

use crate::config::{Backend, Config};
use crate::state::ReadinessCheck;

/// Why a store could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the SQL database at {url}: {source}")]
pub struct ConnectError {
    url: String,
    #[source]
    source: adapter_sql::SqlError,
}

/// The connected stores.
#[derive(Clone)]
pub struct Backends {
    sql: SqlStore,
}

impl Backends {
    /// Connects every store the configuration uses and applies pending
    /// migrations.
    pub async fn connect(config: &Config) -> Result<Self, ConnectError> {
        let url = config.database_url();
        let sql_config = SqlConfig {
            url: url.clone(),
            max_connections: if config.database.max_connections == 0 {
                10
            } else {
                config.database.max_connections
            },
            pg_schema: config.database.pg_schema.clone(),
        };
        let sql = SqlStore::connect(&sql_config)
            .await
            .map_err(|source| ConnectError {
                url: crate::config::redact_url(&url),
                source,
            })?;
        Ok(Self { sql })
    }

    /// Stores already connected (tests pass their own isolated database).
    pub fn from_sql(sql: SqlStore) -> Self {
        Self { sql }
    }

    /// Every port, each from the backend its group is configured to use.
    pub fn stores(&self, config: &Config) -> Stores {
        let sql = self.sql.stores();
        let pick = |backend: Backend| match backend {
            Backend::Sql => &sql,
        };
        let durable = pick(config.stores.durable);
        let sessions = pick(config.stores.sessions);
        let limits = pick(config.stores.rate_limits);
        Stores {
            users: durable.users.clone(),
            roles: durable.roles.clone(),
            content: durable.content.clone(),
            notifications: durable.notifications.clone(),
            uploads: durable.uploads.clone(),
            payments: durable.payments.clone(),
            candidates: sessions.candidates.clone(),
            sessions: sessions.sessions.clone(),
            one_time_tokens: sessions.one_time_tokens.clone(),
            rate_limiter: limits.rate_limiter.clone(),
        }
    }

    /// What `/readyz` checks: each connected store.
    pub fn readiness(&self) -> Vec<Arc<dyn ReadinessCheck>> {
        vec![Arc::new(SqlReady(self.sql.clone()))]
    }

    /// Closes connections.
    pub async fn close(&self) {
        self.sql.close().await;
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
