//! The contract suite against an adapter: how an embedder checks an
//! adapter of their own. Every rule of `contract-tests` runs as a test, on
//! a fresh store each, with the standard test runner's options:
//!
//! ```text
//! cargo run -p portico-examples --example contract               # every rule
//! cargo run -p portico-examples --example contract -- users::    # a filter
//! cargo run -p portico-examples --example contract -- --list
//! ```
//!
//! For your adapter, replace `MemoryStore` with your store: `fresh` makes
//! a new, isolated one (a database, schema or key prefix of its own) and
//! `cleanup` removes it. In your crate the same `main` goes in a test
//! target with `harness = false`, so that `cargo test` runs it.

use adapter_memory::MemoryStore;
use async_trait::async_trait;
use contract_tests::TestStore;
use domain::Stores;

/// A fresh store under test.
struct Fresh(MemoryStore);

#[async_trait]
impl TestStore for Fresh {
    fn stores(&self) -> Stores {
        self.0.stores()
    }

    async fn cleanup(self: Box<Self>) {
        // Nothing outlives the value; a real store drops its database here.
    }
}

async fn fresh() -> Box<dyn TestStore> {
    Box::new(Fresh(MemoryStore::new()))
}

fn main() {
    contract_tests::run_suite(fresh);
}
