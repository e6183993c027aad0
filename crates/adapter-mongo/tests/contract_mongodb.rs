//! The contract suite on MongoDB (`MONGODB_URL`, default
//! `mongodb://127.0.0.1:27017`), each test in a database of its own, dropped
//! afterwards. Multi-document changes run in transactions when the server
//! has them (a replica set or mongos; the test server reports one).

use adapter_mongo::testing::TestDatabase;
use async_trait::async_trait;
use domain::Stores;

struct Db(TestDatabase);

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
    Box::new(Db(TestDatabase::fresh().await))
}

fn main() {
    contract_tests::run_suite(fresh);
}
