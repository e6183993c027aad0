//! Unit tests of the profile service.

use std::sync::{Arc, Mutex};

use super::*;
use crate::test_support::*;
use crate::*;
use futures::executor::block_on;

#[test]
fn profile_fields_are_length_checked_before_any_store_call() {
    let h = Harness::new();
    let svc = Profiles::new(h.stores, h.system, AccountPolicy::default());
    let changes = ProfileChanges {
        bio: Some(Some("x".repeat(4_001))),
        ..Default::default()
    };
    let err = block_on(svc.update_profile(sample_user(1).id, changes)).unwrap_err();
    assert!(matches!(err, UpdateProfileError::TooLong("bio")));
}

#[test]
fn null_preference_removes_the_key() {
    let mut h = Harness::new();
    let mut users = MockUserRepository::new();
    users.expect_get().returning(|_| {
        let mut u = sample_user(1);
        u.preferences.insert("theme".into(), "dark".into());
        u.preferences.insert("language".into(), "en".into());
        Ok(Some(u))
    });
    // The merge is written as a compare-and-set on what was read.
    users
        .expect_update_fields()
        .withf(|_, c| {
            c.preferences.as_ref().is_some_and(|swap| {
                serde_json::Value::Object(swap.to.clone()) == serde_json::json!({"language": "fr"})
                    && serde_json::Value::Object(swap.from.clone())
                        == serde_json::json!({"language": "en", "theme": "dark"})
            }) && c.bio.is_none()
        })
        .times(1)
        .returning(|_, _| Ok(crate::FieldsUpdate::Written));
    h.stores.users = Arc::new(users);
    let svc = Profiles::new(h.stores, h.system, AccountPolicy::default());
    let mut prefs = serde_json::Map::new();
    prefs.insert("theme".into(), serde_json::Value::Null);
    prefs.insert("language".into(), "fr".into());
    let changes = ProfileChanges {
        preferences: Some(prefs),
        ..Default::default()
    };
    block_on(svc.update_profile(sample_user(1).id, changes)).unwrap();
}

#[test]
fn deletion_removes_dependents_before_the_user() {
    let order = Arc::new(Mutex::new(Vec::<&'static str>::new()));
    let mut h = Harness::new();
    macro_rules! record {
        ($mock:ident . $method:ident ( $($arg:pat),* ) => $name:literal, $ret:expr) => {{
            let order = order.clone();
            $mock.$method().returning(move |$($arg),*| {
                order.lock().unwrap().push($name);
                $ret
            });
        }};
    }
    let mut uploads = MockUploadRepository::new();
    uploads.expect_list_for_user().returning(|_, _| {
        let req = UploadRequest {
            id: UploadId::from_uuid(uuid::Uuid::from_u128(5)),
            user_id: sample_user(1).id,
            object_key: ObjectKey::parse("users/1/a.png").unwrap(),
            content_type: "image/png".into(),
            max_size: 10,
            status: UploadStatus::Completed,
            created_at: T0,
            expires_at: T0,
            completed_at: Some(T0),
            size: Some(3),
        };
        Ok(Page {
            items: vec![req],
            next_cursor: None,
        })
    });
    record!(uploads.expect_delete_for_user(_) => "uploads", Ok(1));
    let mut objects = MockObjectStore::new();
    record!(objects.expect_delete(_) => "object", Ok(()));
    let mut content = MockContentSessionRepository::new();
    record!(content.expect_delete_for_user(_) => "content", Ok(0));
    let mut notifications = MockNotificationRepository::new();
    record!(notifications.expect_delete_for_user(_) => "notifications", Ok(0));
    let mut tokens = MockOneTimeTokenRepository::new();
    record!(tokens.expect_delete_for_user(_, _) => "tokens", Ok(0));
    let mut sessions = MockSessionRepository::new();
    record!(sessions.expect_delete_for_user(_) => "sessions", Ok(0));
    let mut roles = MockRoleRepository::new();
    record!(roles.expect_delete_for_user(_) => "roles", Ok(0));
    let mut links = crate::MockIdentityLinkRepository::new();
    record!(links.expect_delete_for_user(_) => "links", Ok(1));
    let mut flows = crate::MockOAuthFlowRepository::new();
    record!(flows.expect_delete_for_user(_) => "flows", Ok(0));
    let mut limiter = MockRateLimiter::new();
    record!(limiter.expect_forget(_) => "usage", Ok(()));
    let mut users = MockUserRepository::new();
    record!(users.expect_delete(_) => "user", Ok(()));
    h.stores.uploads = Arc::new(uploads);
    h.system.objects = Arc::new(objects);
    h.stores.content = Arc::new(content);
    h.stores.notifications = Arc::new(notifications);
    h.stores.one_time_tokens = Arc::new(tokens);
    h.stores.sessions = Arc::new(sessions);
    h.stores.roles = Arc::new(roles);
    h.stores.rate_limiter = Arc::new(limiter);
    h.stores.users = Arc::new(users);
    h.stores.identity_links = Arc::new(links);
    h.stores.oauth_flows = Arc::new(flows);
    let svc = Profiles::new(h.stores, h.system, AccountPolicy::default());
    block_on(svc.delete_account(sample_user(1).id)).unwrap();
    let order = order.lock().unwrap();
    assert_eq!(order.first(), Some(&"object"));
    assert_eq!(order.last(), Some(&"user"));
    assert_eq!(order.len(), 11);
}
