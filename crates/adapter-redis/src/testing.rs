//! Isolated key prefixes for tests (feature `testing`): each
//! [`TestRedis`] uses a random prefix on the server named by `REDIS_URL`
//! (default `redis://127.0.0.1:6379`), or on the cluster named by
//! `REDIS_CLUSTER_URL` (default `redis-cluster://127.0.0.1:7000`), and
//! deletes its keys in [`TestRedis::cleanup`].

use fred::prelude::*;
use fred::types::scan::Scanner;
use futures::TryStreamExt;
use uuid::Uuid;

use crate::{RedisConfig, RedisStore};

/// The single Redis server tests use.
pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// The Redis Cluster tests use.
pub fn redis_cluster_url() -> String {
    std::env::var("REDIS_CLUSTER_URL")
        .unwrap_or_else(|_| "redis-cluster://127.0.0.1:7000".to_owned())
}

/// A store under a fresh prefix.
pub struct TestRedis {
    /// The store.
    pub store: RedisStore,
}

impl TestRedis {
    /// A fresh prefix on `url`. Panics with a hint when it is unreachable.
    pub async fn fresh(url: &str) -> Self {
        let config = RedisConfig {
            prefix: format!("test-{}", Uuid::new_v4().simple()),
            pool_size: 2,
            ..RedisConfig::new(url)
        };
        let store = RedisStore::connect(&config).await.unwrap_or_else(|e| {
            panic!(
                "connect to Redis at {url} (start it with `make services`): {e}: {:?}",
                std::error::Error::source(&e)
            )
        });
        Self { store }
    }

    /// Deletes every key under the prefix (on every primary of a cluster).
    pub async fn cleanup(self) {
        let pattern = format!("*{}*", self.store.prefix());
        let client = self.store.client().clone();
        let result: Result<(), fred::error::Error> = async {
            if self.store.is_cluster() {
                let mut pages = client.scan_cluster(pattern, Some(500), None);
                while let Some(mut page) = pages.try_next().await? {
                    if let Some(keys) = page.take_results() {
                        for key in keys {
                            let _: i64 = client.del(key).await?;
                        }
                    }
                    page.next();
                }
            } else {
                let mut pages = client.scan(pattern, Some(500), None);
                while let Some(mut page) = pages.try_next().await? {
                    if let Some(keys) = page.take_results()
                        && !keys.is_empty()
                    {
                        let _: i64 = client.del(keys).await?;
                    }
                    page.next();
                }
            }
            Ok(())
        }
        .await;
        if let Err(e) = result {
            eprintln!("could not delete test keys of {}: {e}", self.store.prefix());
        }
        self.store.close().await;
    }
}
