//! The contract suite's view of [`adapter_sql::testing::TestDatabase`].

use adapter_sql::testing::TestDatabase;
use async_trait::async_trait;
use contract_tests::TestStore;
use domain::Stores;

pub(crate) struct Db(pub(crate) TestDatabase);

#[async_trait]
impl TestStore for Db {
    fn stores(&self) -> Stores {
        self.0.store.stores()
    }

    async fn cleanup(self: Box<Self>) {
        self.0.cleanup().await;
    }
}
