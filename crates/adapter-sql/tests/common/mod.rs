//! Fresh, isolated stores for the contract suite: a new SQLite database (in
//! memory or in a temporary file) or a new PostgreSQL schema per test.
//! Each test binary uses part of this module.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

use adapter_sql::{SqlConfig, SqlStore};
use async_trait::async_trait;
use contract_tests::TestStore;
use domain::services::Stores;
use uuid::Uuid;

/// The PostgreSQL server tests use: `DATABASE_URL` when it names PostgreSQL,
/// else the loopback default.
pub fn postgres_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

pub struct SqliteTest {
    store: SqlStore,
    file: Option<PathBuf>,
}

impl SqliteTest {
    pub async fn memory() -> Self {
        let store = SqlStore::connect(&SqlConfig::new("sqlite::memory:"))
            .await
            .expect("open in-memory SQLite");
        Self { store, file: None }
    }

    pub async fn file() -> Self {
        let path =
            std::env::temp_dir().join(format!("portico-contract-{}.db", Uuid::new_v4().simple()));
        let url = format!("sqlite://{}", path.display());
        let store = SqlStore::connect(&SqlConfig::new(url))
            .await
            .expect("open SQLite file");
        Self {
            store,
            file: Some(path),
        }
    }
}

#[async_trait]
impl TestStore for SqliteTest {
    fn stores(&self) -> Stores {
        self.store.stores()
    }

    async fn cleanup(self: Box<Self>) {
        self.store.close().await;
        if let Some(path) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

pub struct PostgresTest {
    store: SqlStore,
    schema: String,
}

impl PostgresTest {
    pub async fn fresh() -> Self {
        let schema = format!("contract_{}", Uuid::new_v4().simple());
        let config = SqlConfig {
            url: postgres_url(),
            max_connections: 8,
            pg_schema: Some(schema.clone()),
        };
        let store = SqlStore::connect(&config).await.unwrap_or_else(|e| {
            panic!(
                "connect to PostgreSQL at {} (run `make services`): {e}",
                config.url
            )
        });
        Self { store, schema }
    }
}

#[async_trait]
impl TestStore for PostgresTest {
    fn stores(&self) -> Stores {
        self.store.stores()
    }

    async fn cleanup(self: Box<Self>) {
        if let SqlStore::Postgres(pg) = &self.store {
            let drop = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.schema);
            if let Err(e) = sqlx::query(&drop).execute(pg.pool()).await {
                eprintln!("could not drop test schema {}: {e}", self.schema);
            }
        }
        self.store.close().await;
    }
}
