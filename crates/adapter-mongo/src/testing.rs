//! Fresh, isolated databases for tests (feature `testing`): each
//! [`TestDatabase`] is a database named by a random id on the server named by
//! `MONGODB_URL` (default `mongodb://127.0.0.1:27017`), dropped by
//! [`TestDatabase::cleanup`].

use uuid::Uuid;

use crate::{MongoConfig, MongoStore};

/// The MongoDB server tests use.
pub fn mongodb_url() -> String {
    std::env::var("MONGODB_URL").unwrap_or_else(|_| "mongodb://127.0.0.1:27017".to_owned())
}

/// A connected, empty database that belongs to one test.
pub struct TestDatabase {
    /// The store.
    pub store: MongoStore,
}

impl TestDatabase {
    /// Connects to a new database with a random name. Panics with a hint when
    /// the server is unreachable.
    pub async fn fresh() -> Self {
        Self::with_transactions(true).await
    }

    /// Like [`Self::fresh`]; `false` makes the store skip transactions even
    /// where the server has them, as on a standalone server.
    pub async fn with_transactions(transactions: bool) -> Self {
        let config = MongoConfig {
            database: format!("portico_test_{}", Uuid::new_v4().simple()),
            transactions,
            // The test server is a Python process on a loaded machine: give
            // it the driver's own defaults rather than production's 3 s.
            server_selection_timeout: std::time::Duration::from_secs(10),
            connect_timeout: std::time::Duration::from_secs(10),
            ..MongoConfig::new(mongodb_url())
        };
        let store = MongoStore::connect(&config).await.unwrap_or_else(|e| {
            panic!(
                "connect to MongoDB at {} (start one with `make services`): {e}: {:?}",
                config.url,
                std::error::Error::source(&e)
            )
        });
        Self { store }
    }

    /// Drops the database.
    pub async fn cleanup(self) {
        if let Err(e) = self.store.database().drop().await {
            eprintln!(
                "could not drop test database {}: {e}",
                self.store.database().name()
            );
        }
    }
}
