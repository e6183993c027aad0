//! Connecting: URL forms, migrations that are safe to re-run, refusals.

use adapter_sql::{SqlConfig, SqlError, SqlStore};
use domain::Email;

#[tokio::test]
async fn sqlalchemy_relative_sqlite_url_creates_the_file_relative_to_the_working_directory() {
    let name = format!("portico-connect-{}.db", std::process::id());
    let url = format!("sqlite:///./{name}");
    let store = SqlStore::connect(&SqlConfig::new(url))
        .await
        .expect("connect");
    assert_eq!(store.engine(), "sqlite");
    store.ping().await.unwrap();
    store.close().await;
    assert!(
        std::path::Path::new(&name).exists(),
        "{name} should exist relative to the working directory"
    );
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{name}{suffix}"));
    }
}

#[tokio::test]
async fn reconnecting_keeps_data_and_does_not_rerun_migrations() {
    let path = std::env::temp_dir().join(format!("portico-reconnect-{}.db", std::process::id()));
    let url = format!("sqlite:{}", path.display());
    let first = SqlStore::connect(&SqlConfig::new(url.clone()))
        .await
        .unwrap();
    let now = domain::truncate_to_millis(time::OffsetDateTime::now_utc());
    let user = contract_tests::fixtures::user("keep", now);
    first.stores().users.create(&user).await.unwrap();
    first.close().await;
    let second = SqlStore::connect(&SqlConfig::new(url))
        .await
        .expect("second start migrates nothing");
    let found = second
        .stores()
        .users
        .find_by_email(&Email::parse("keep@example.org").unwrap())
        .await
        .unwrap();
    assert_eq!(found, Some(user));
    second.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[tokio::test]
async fn unsupported_urls_and_unsafe_schema_names_are_refused() {
    let err = SqlStore::connect(&SqlConfig::new("mysql://localhost/db"))
        .await
        .err()
        .expect("refused");
    assert!(matches!(err, SqlError::UnsupportedUrl));
    let config = SqlConfig {
        max_connections: 1,
        pg_schema: Some("x\"; DROP SCHEMA public; --".into()),
        ..SqlConfig::new(adapter_sql::testing::postgres_url())
    };
    assert!(matches!(
        SqlStore::connect(&config).await,
        Err(SqlError::Connect(_))
    ));
}
