//! The contract suite on PostgreSQL (`DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`), each test in a fresh schema
//! dropped afterwards.

mod common;

async fn fresh() -> Box<dyn contract_tests::TestStore> {
    Box::new(common::Db(
        adapter_sql::testing::TestDatabase::postgres().await,
    ))
}

fn main() {
    contract_tests::run_suite(fresh);
}
