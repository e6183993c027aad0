//! Portico's SQL adapter: every port of `domain` on SQLite and PostgreSQL, through sqlx.
//!
//! Layout:
//! - [`SqlConfig`] and [`SqlStore::connect`]: the one entry point. The URL's
//!   scheme picks the engine (`sqlite:`, `postgres:`/`postgresql:`); the SQLAlchemy
//!   `sqlite:///./backend.db` form is understood (three slashes: relative path).
//! - `engine`: the two store types (`SqliteStore`, `PgStore`), their pools,
//!   embedded migrations (`migrations/sqlite`, `migrations/postgres`: one schema
//!   per engine, because their types differ) and the time codec.
//! - `repos/*`: one file per port family. Each holds the port implementation
//!   once, written against the aliases `Store`, `Db` and `Ts`, and is compiled
//!   in both `repos/sqlite.rs` and `repos/postgres.rs`, so the SQL is shared
//!   (`$N` placeholders work on both) while values bind with each engine's
//!   native types.
//!
//! Constraint violations map to domain errors by SQLSTATE / SQLite extended
//! code (23505/2067/1555 unique, 23503/787 foreign key) and, on PostgreSQL, by
//! constraint name — never by message text.
//!
//! Foreign keys only link tables of one port family (a session's refresh
//! tokens, a content session's data and messages, a role's grants, a payment's
//! beneficiaries): each family may be served by another store, so the
//! cross-family cascade of an account deletion is done by
//! `domain::Profiles::delete_account`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use adapter_sql::{SqlConfig, SqlStore};
//! use domain::{Email, UserRepository};
//!
//! // Connects, creates ./data/portico.db if missing, and migrates.
//! let db = SqlStore::connect(&SqlConfig::new("sqlite://data/portico.db")).await?;
//! let stores = db.stores(); // every port, as Arc<dyn …>, for domain::services
//! let ann = stores.users.find_by_email(&Email::parse("ann@example.org")?).await?;
//! # let _ = ann;
//! # Ok(())
//! # }
//! ```

mod engine;
mod error;
mod repos;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;

use domain::StoreError;
use domain::Stores;

pub use engine::{PgStore, SqliteStore};
pub use error::SqlError;

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct SqlConfig {
    /// `sqlite://path`, `sqlite:///relative/path`, `sqlite::memory:`,
    /// or `postgres://user:password@host:port/db`.
    pub url: String,
    /// Pool size (SQLite in-memory databases always use 1).
    pub max_connections: u32,
    /// PostgreSQL schema to keep Portico's tables in (created if missing);
    /// `None` uses the connection's default `search_path`.
    pub pg_schema: Option<String>,
    /// How long a statement may wait for a pooled connection, including
    /// opening a new one. A database that cannot be reached fails within
    /// this time with an unavailable `StoreError`; the pool opens new
    /// connections by itself once the server is back.
    pub acquire_timeout: std::time::Duration,
}

impl SqlConfig {
    /// A config for `url` with default pool size and schema.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            pg_schema: None,
            acquire_timeout: std::time::Duration::from_secs(3),
        }
    }
}

/// A connected SQL database serving every port.
#[derive(Clone)]
pub enum SqlStore {
    /// SQLite.
    Sqlite(SqliteStore),
    /// PostgreSQL.
    Postgres(PgStore),
}

impl SqlStore {
    /// Connects (creating a SQLite file if missing) and runs pending migrations.
    pub async fn connect(config: &SqlConfig) -> Result<Self, SqlError> {
        let store = Self::open(config).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating (see [`SqlStore::migrate`]).
    pub async fn open(config: &SqlConfig) -> Result<Self, SqlError> {
        let url = config.url.trim();
        let store = if url.starts_with("sqlite:") {
            Self::Sqlite(
                SqliteStore::connect(url, config.max_connections, config.acquire_timeout).await?,
            )
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres(
                PgStore::connect(
                    url,
                    config.max_connections,
                    config.pg_schema.as_deref(),
                    config.acquire_timeout,
                )
                .await?,
            )
        } else {
            return Err(SqlError::UnsupportedUrl);
        };
        Ok(store)
    }

    /// Applies embedded migrations that have not run yet; returns the names
    /// of those it applied (none when the schema was current). Safe to call
    /// at every start.
    pub async fn migrate(&self) -> Result<Vec<String>, SqlError> {
        let before = self.applied().await?;
        match self {
            Self::Sqlite(s) => s.migrate().await?,
            Self::Postgres(s) => s.migrate().await?,
        }
        let after = self.applied().await?;
        Ok(after
            .into_iter()
            .filter(|m| !before.contains(m))
            .map(|(version, name)| format!("{version} {name}"))
            .collect())
    }

    /// The migrations recorded as applied, in order (none before the first run).
    async fn applied(&self) -> Result<Vec<(i64, String)>, SqlError> {
        let query = "SELECT version, description FROM _sqlx_migrations ORDER BY version";
        let rows = match self {
            Self::Sqlite(s) => sqlx::query_as(query).fetch_all(s.pool()).await,
            Self::Postgres(s) => sqlx::query_as(query).fetch_all(s.pool()).await,
        };
        match rows {
            Ok(rows) => Ok(rows),
            // The bookkeeping table does not exist before the first run.
            Err(sqlx::Error::Database(e)) if e.message().contains("_sqlx_migrations") => {
                Ok(Vec::new())
            }
            Err(e) => Err(SqlError::Connect(e)),
        }
    }

    /// Every port, backed by this database.
    pub fn stores(&self) -> Stores {
        match self {
            Self::Sqlite(s) => Stores::from_one(Arc::new(s.clone())),
            Self::Postgres(s) => Stores::from_one(Arc::new(s.clone())),
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => s.ping().await,
            Self::Postgres(s) => s.ping().await,
        }
    }

    /// SQLite only: writes a consistent copy of the whole database to `path`
    /// (`VACUUM INTO`, one read transaction, while the server serves), the
    /// engine's own snapshot, much faster than a dump. Refused for
    /// PostgreSQL (use `pg_dump`) and when `path` exists.
    pub async fn snapshot_into(&self, path: &std::path::Path) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(s) => {
                if path.exists() {
                    return Err(StoreError::msg(format!(
                        "{} exists; a snapshot does not overwrite",
                        path.display()
                    )));
                }
                let target = path.to_str().ok_or_else(|| {
                    StoreError::msg(format!("{} is not valid UTF-8", path.display()))
                })?;
                sqlx::query("VACUUM INTO $1")
                    .bind(target)
                    .execute(s.pool())
                    .await
                    .map(|_| ())
                    .map_err(|e| StoreError::with_source("writing the snapshot", e))
            }
            Self::Postgres(_) => Err(StoreError::msg(
                "snapshots are SQLite's (VACUUM INTO); for PostgreSQL use pg_dump, or portico dump",
            )),
        }
    }

    /// Which engine this is: `"sqlite"` or `"postgres"`.
    pub fn engine(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(s) => s.pool().close().await,
            Self::Postgres(s) => s.pool().close().await,
        }
    }
}
