//! The contract suite on in-memory SQLite (`sqlite::memory:`).

mod common;

async fn fresh() -> Box<dyn contract_tests::TestStore> {
    Box::new(common::Db(
        adapter_sql::testing::TestDatabase::sqlite_memory().await,
    ))
}

fn main() {
    contract_tests::run_suite(fresh);
}
