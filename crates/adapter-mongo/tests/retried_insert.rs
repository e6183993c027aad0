//! A user insert the server applied but the driver retried (its answer
//! lost) comes back as a duplicate of itself: `create` takes it as done,
//! and still refuses another user's taken address or name. Found loading a
//! dump with eight accounts at once into the suite's stand-in server.

use adapter_mongo::testing::TestDatabase;
use domain::{Email, InsertUserError, PasswordHash, User, UserId, UserRepository, Username};

fn user(tag: &str) -> User {
    User::new_verified(
        UserId::from_uuid(uuid::Uuid::now_v7()),
        Email::parse(&format!("{tag}@example.org")).unwrap(),
        Username::parse(tag).unwrap(),
        PasswordHash::new("stored"),
        domain::truncate_to_millis(time::OffsetDateTime::now_utc()),
    )
}

#[tokio::test]
async fn an_insert_seen_twice_is_done_once_and_real_clashes_still_refused() {
    let db = TestDatabase::fresh().await;
    let ann = user("ann");
    db.store.create(&ann).await.unwrap();
    // The same user again: what a retried insert looks like to the adapter.
    db.store.create(&ann).await.unwrap();
    assert_eq!(db.store.count(&Default::default()).await.unwrap(), 1);
    let mut other = user("ann");
    assert!(matches!(
        db.store.create(&other).await,
        Err(InsertUserError::EmailTaken)
    ));
    other.email = Email::parse("other@example.org").unwrap();
    assert!(matches!(
        db.store.create(&other).await,
        Err(InsertUserError::UsernameTaken)
    ));
    db.cleanup().await;
}
