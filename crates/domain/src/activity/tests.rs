//! The activity log through the services, over the in-memory adapter: the
//! events a change writes, and what happens when one cannot be written.

use std::sync::Arc;

use futures::executor::block_on;

use crate::kernel::principal::testing::principal;
use crate::test_support::*;
use crate::*;

struct World {
    stores: Stores,
    auth: Authentication,
    admin: UserAdmin,
    user: User,
}

/// A user with a password, over the memory adapter, with `activity` as the
/// activity log.
fn world(activity: Option<Arc<dyn ActivityRepository>>) -> World {
    let mut h = Harness::new();
    h.stores = MemoryStore::new().stores();
    if let Some(activity) = activity {
        h.stores.activity = activity;
    }
    let mut user = sample_user(1);
    user.password_hash = Some(PasswordHash::new("hashed:right password"));
    block_on(h.stores.users.create(&user)).unwrap();
    World {
        stores: h.stores.clone(),
        auth: Authentication::new(h.stores.clone(), h.system.clone(), AccountPolicy::default()),
        admin: UserAdmin::new(h.stores, h.system),
        user,
    }
}

fn sign_in(w: &World, password: &str) -> Result<SignedIn, SignInError> {
    block_on(w.auth.sign_in(SignInRequest {
        login: w.user.email.as_str().to_owned(),
        password: Password::for_sign_in(password).unwrap(),
        user_agent: Some("Mozilla/5.0 (Macintosh)".into()),
        ip: Some("198.51.100.7".into()),
    }))
}

fn events(w: &World) -> Vec<ActivityEvent> {
    let filter = ActivityFilter {
        user_id: Some(w.user.id),
        ..ActivityFilter::default()
    };
    block_on(w.stores.activity.list(&filter, PageRequest::first(50)))
        .unwrap()
        .items
}

#[test]
fn sign_ins_and_an_administrators_actions_are_written_with_who_and_from_where() {
    let w = world(None);
    assert!(matches!(
        sign_in(&w, "wrong password"),
        Err(SignInError::InvalidCredentials)
    ));
    assert!(matches!(
        sign_in(&w, "right password"),
        Ok(SignedIn::Session(_))
    ));
    let admin = principal(99, &["users:write"]);
    let writer = w.admin.writer(&admin).unwrap();
    let reason = SuspensionReason::parse("Spam").unwrap();
    block_on(writer.suspend(w.user.id, reason, None)).unwrap();

    let got = events(&w);
    let kinds: Vec<&str> = got.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["user.suspended", "sign_in.succeeded", "sign_in.failed"]
    );
    let [suspended, succeeded, failed] = &got[..] else {
        unreachable!()
    };
    assert_eq!(failed.details["reason"], "password");
    assert_eq!(failed.ip.as_deref(), Some("198.51.100.7"));
    assert_eq!(succeeded.details["method"], "password");
    assert_eq!(
        succeeded.device.as_ref().map(|d| d.user_agent.as_str()),
        Some("Mozilla/5.0 (Macintosh)")
    );
    assert_eq!(succeeded.actor, Actor::User(w.user.id));
    assert_eq!(suspended.actor, Actor::Admin(admin.user_id()));
    assert_eq!(suspended.details["reason"], "Spam");
    assert_eq!(suspended.details["until"], serde_json::Value::Null);
}

#[test]
fn a_change_whose_event_cannot_be_written_is_not_acknowledged() {
    let mut log = MockActivityRepository::new();
    log.expect_append()
        .returning(|_| Err(StoreError::msg("activity store down")));
    let w = world(Some(Arc::new(log)));
    // The sign-in is refused with the failure, never answered with a
    // session whose event is missing; the error says which event.
    match sign_in(&w, "right password") {
        Err(SignInError::Unexpected(e)) => {
            let text = e.to_string();
            assert!(
                text.contains("sign_in.succeeded") && text.contains(&w.user.id.to_string()),
                "{text}"
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    // So is an administrator's suspension.
    let admin = principal(99, &["users:write"]);
    let writer = w.admin.writer(&admin).unwrap();
    let reason = SuspensionReason::parse("Spam").unwrap();
    assert!(matches!(
        block_on(writer.suspend(w.user.id, reason, None)),
        Err(AdminUserError::Unexpected(_))
    ));
}
