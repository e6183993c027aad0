//! The contract suite on file-backed SQLite (WAL mode, a pool of connections).

mod common;

async fn fresh() -> Box<dyn contract_tests::TestStore> {
    Box::new(common::Db(
        adapter_sql::testing::TestDatabase::sqlite_file().await,
    ))
}

contract_tests::contract_suite!(fresh);
