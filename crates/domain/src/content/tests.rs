//! Unit tests of the content service.

use std::sync::Arc;

use super::*;
use crate::MockContentSessionRepository;
use crate::kernel::principal::testing::principal;
use crate::test_support::*;
use futures::executor::block_on;
use uuid::Uuid;

fn session_of(owner: u128) -> ContentSession {
    ContentSession {
        id: ContentSessionId::from_uuid(Uuid::from_u128(77)),
        user_id: sample_user(owner).id,
        name: None,
        unread_messages: false,
        created_at: T0,
        last_accessed_at: T0,
    }
}

fn service_with(repo: MockContentSessionRepository) -> ContentSessions {
    let mut h = Harness::new();
    h.stores.content = Arc::new(repo);
    ContentSessions::new(h.stores, h.system, ContentLimits::default())
}

#[test]
fn another_users_session_is_not_found_but_an_admin_sees_it() {
    let mut repo = MockContentSessionRepository::new();
    repo.expect_get().returning(|_| Ok(Some(session_of(1))));
    let svc = service_with(repo);
    let id = session_of(1).id;
    assert!(matches!(
        block_on(svc.get(&crate::kernel::principal::testing::principal(2, &[]), id)),
        Err(ContentSessionError::NotFound)
    ));
    let admin = crate::kernel::principal::testing::principal(2, &["*"]);
    block_on(svc.get(&admin, id)).unwrap();
}

#[test]
fn owner_message_stays_read_other_senders_mark_unread() {
    let mut repo = MockContentSessionRepository::new();
    repo.expect_get().returning(|_| Ok(Some(session_of(1))));
    repo.expect_add_message()
        .withf(|m, unread| !*unread && m.read)
        .times(1)
        .returning(|_, _| Ok(()));
    repo.expect_add_message()
        .withf(|m, unread| *unread && !m.read)
        .times(1)
        .returning(|_, _| Ok(()));
    let svc = service_with(repo);
    let id = session_of(1).id;
    block_on(svc.post(
        &crate::kernel::principal::testing::principal(1, &[]),
        id,
        "hi".into(),
        None,
    ))
    .unwrap();
    block_on(svc.post_as(
        &principal(99, &["content:post_as"]),
        Sender::Assistant,
        id,
        "hello!".into(),
        None,
    ))
    .unwrap();
}

#[test]
fn reply_to_a_message_of_another_session_is_refused() {
    let mut repo = MockContentSessionRepository::new();
    repo.expect_get().returning(|_| Ok(Some(session_of(1))));
    repo.expect_get_message().returning(|_, _| Ok(None));
    repo.expect_add_message().never();
    let svc = service_with(repo);
    let parent = Some(MessageId::from_uuid(Uuid::from_u128(5)));
    let res = block_on(svc.post(
        &crate::kernel::principal::testing::principal(1, &[]),
        session_of(1).id,
        "re".into(),
        parent,
    ));
    assert!(matches!(res, Err(PostError::ParentNotFound)));
}

#[test]
fn data_limits_apply() {
    let mut repo = MockContentSessionRepository::new();
    repo.expect_get().returning(|_| Ok(Some(session_of(1))));
    // The store holds k0..k99: a new key is past the limit of 100, a
    // held one is replaced. The store decides atomically; the service
    // passes the limit.
    repo.expect_put_data_within()
        .withf(|_, _, _, max| *max == 100)
        .returning(|_, key, _, _| {
            let held = key
                .as_str()
                .strip_prefix('k')
                .and_then(|n| n.parse::<u32>().ok());
            Ok(if held.is_some_and(|n| n < 100) {
                crate::DataPut::Stored
            } else {
                crate::DataPut::KeyLimit
            })
        });
    let svc = service_with(repo);
    let actor = &crate::kernel::principal::testing::principal(1, &[]);
    let id = session_of(1).id;
    let big = serde_json::Value::String("x".repeat(70_000));
    let key = StorageKey::parse("new").unwrap();
    assert!(matches!(
        block_on(svc.put_data(actor, id, &key, &big)),
        Err(PutDataError::ValueTooLarge { max: 65_536 })
    ));
    let small = serde_json::json!({"a": 1});
    assert!(matches!(
        block_on(svc.put_data(actor, id, &key, &small)),
        Err(PutDataError::KeyLimit { max: 100 })
    ));
    // Replacing an existing key is allowed at the quota.
    block_on(svc.put_data(actor, id, &StorageKey::parse("k5").unwrap(), &small)).unwrap();
}

#[test]
fn posting_as_the_assistant_needs_its_permission() {
    // The mocks have no expectations: a denied call touches no store.
    let h = Harness::new();
    let svc = ContentSessions::new(h.stores, h.system, ContentLimits::default());
    let id = ContentSessionId::from_uuid(uuid::Uuid::from_u128(5));
    let res = block_on(svc.post_as(
        &principal(99, &["content:read"]),
        Sender::Assistant,
        id,
        "hello".into(),
        None,
    ));
    assert!(matches!(
        res,
        Err(PostError::Forbidden(d)) if d.0 == crate::Permission::CONTENT_POST_AS
    ));
}
