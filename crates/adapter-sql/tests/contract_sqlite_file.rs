//! The contract suite on file-backed SQLite (WAL mode, a pool of connections).

mod common;

async fn fresh() -> Box<dyn contract_tests::TestStore> {
    Box::new(common::Db(
        adapter_sql::testing::TestDatabase::sqlite_file().await,
    ))
}

fn main() {
    contract_tests::run_suite(fresh);
}
