//! Fresh, isolated databases for tests (feature `testing`): a new SQLite
//! database in memory or in a temporary file, or a new schema in the
//! PostgreSQL server named by `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). Call [`TestDatabase::cleanup`]
//! when done; it drops the schema or deletes the file.

use std::path::PathBuf;

use uuid::Uuid;

use crate::{SqlConfig, SqlStore};

/// The PostgreSQL server tests use: `DATABASE_URL` when it names PostgreSQL,
/// else the loopback default.
pub fn postgres_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A migrated, empty database that belongs to one test.
pub struct TestDatabase {
    /// The store.
    pub store: SqlStore,
    cleanup: Cleanup,
}

enum Cleanup {
    None,
    File(PathBuf),
    Schema(String),
}

impl TestDatabase {
    /// In-memory SQLite.
    pub async fn sqlite_memory() -> Self {
        let store = SqlStore::connect(&SqlConfig::new("sqlite::memory:"))
            .await
            .expect("open in-memory SQLite");
        Self {
            store,
            cleanup: Cleanup::None,
        }
    }

    /// SQLite in a new file under the system's temporary folder.
    pub async fn sqlite_file() -> Self {
        let path =
            std::env::temp_dir().join(format!("portico-test-{}.db", Uuid::new_v4().simple()));
        // `sqlite:` + an absolute path: the `sqlite:///` form reads its path
        // as relative (the SQLAlchemy form), which left these files under the
        // crate that ran the test.
        let url = format!("sqlite:{}", path.display());
        let store = SqlStore::connect(&SqlConfig::new(url))
            .await
            .expect("open SQLite file");
        Self {
            store,
            cleanup: Cleanup::File(path),
        }
    }

    /// A new schema in the test PostgreSQL server. Panics with a hint when the server is unreachable.
    pub async fn postgres() -> Self {
        let schema = format!("test_{}", Uuid::new_v4().simple());
        let config = SqlConfig {
            max_connections: 8,
            pg_schema: Some(schema.clone()),
            // A loaded test machine can be slow to hand out connections.
            acquire_timeout: std::time::Duration::from_secs(10),
            ..SqlConfig::new(postgres_url())
        };
        let store = SqlStore::connect(&config).await.unwrap_or_else(|e| {
            panic!(
                "connect to PostgreSQL at {} (start it with `make services`): {e}",
                config.url
            )
        });
        Self {
            store,
            cleanup: Cleanup::Schema(schema),
        }
    }

    /// The PostgreSQL schema of this database (to open a second, separate
    /// connection pool on it, as another server instance would).
    pub fn pg_schema(&self) -> Option<&str> {
        match &self.cleanup {
            Cleanup::Schema(schema) => Some(schema),
            Cleanup::None | Cleanup::File(_) => None,
        }
    }

    /// Drops the schema or deletes the file, and closes the pool.
    pub async fn cleanup(self) {
        if let Cleanup::Schema(schema) = &self.cleanup {
            // A connection of its own: the pool's may belong to runtimes that
            // are gone (an HTTP server's workers open connections on theirs).
            use sqlx::Connection as _;
            let drop = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
            let dropped = match sqlx::PgConnection::connect(&postgres_url()).await {
                Ok(mut conn) => {
                    let result = sqlx::query(&drop).execute(&mut conn).await.map(|_| ());
                    let _ = conn.close().await;
                    result
                }
                Err(e) => Err(e),
            };
            if let Err(e) = dropped {
                eprintln!("could not drop test schema {schema}: {e}");
            }
        }
        self.store.close().await;
        if let Cleanup::File(path) = &self.cleanup {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
    }
}
