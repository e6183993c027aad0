//! The contract suite on a Redis Cluster (`REDIS_CLUSTER_URL`, default
//! `redis-cluster://127.0.0.1:7000`, the 3-master cluster `make services`
//! starts), each test under a random key prefix whose keys are deleted
//! afterwards on every primary.

use adapter_redis::testing::{TestRedis, redis_cluster_url};
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
    let db = TestRedis::fresh(&redis_cluster_url()).await;
    assert!(
        db.store.is_cluster(),
        "REDIS_CLUSTER_URL must name a cluster"
    );
    Box::new(Db(db))
}

fn main() {
    contract_tests::run_suite(fresh);
}
