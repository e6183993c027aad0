//! The contract suite on file-backed SQLite (WAL mode, a pool of connections).

mod common;

async fn fresh() -> Box<dyn contract_tests::TestStore> {
    Box::new(common::SqliteTest::file().await)
}

contract_tests::contract_suite!(fresh);
