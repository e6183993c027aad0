//! The contract suite on a single Redis server (`REDIS_URL`, default
//! `redis://127.0.0.1:6379`), each test under a random key prefix whose keys
//! are deleted afterwards.

use adapter_redis::testing::{TestRedis, redis_url};
use async_trait::async_trait;
use domain::Stores;

struct Db(TestRedis);

#[async_trait]
impl contract_tests::TestStore for Db {
    fn stores(&self) -> Stores {
        self.0.store.stores()
    }
    async fn cleanup(self: Box<Self>) {
        self.0.cleanup().await;
    }
}

async fn fresh() -> Box<dyn contract_tests::TestStore> {
    Box::new(Db(TestRedis::fresh(&redis_url()).await))
}

fn main() {
    contract_tests::run_suite(fresh);
}
