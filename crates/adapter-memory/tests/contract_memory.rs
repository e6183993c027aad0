//! The contract suite on the in-memory adapter: a new store per test.

use adapter_memory::MemoryStore;
use async_trait::async_trait;
use contract_tests::TestStore;
use domain::Stores;

struct Memory(MemoryStore);

#[async_trait]
impl TestStore for Memory {
    fn stores(&self) -> Stores {
        self.0.stores()
    }
    async fn cleanup(self: Box<Self>) {}
}

async fn fresh() -> Box<dyn TestStore> {
    Box::new(Memory(MemoryStore::new()))
}

fn main() {
    contract_tests::run_suite(fresh);
}
