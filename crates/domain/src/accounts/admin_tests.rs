//! Unit tests of the administrator's user management.

use std::sync::Arc;

use super::*;
use crate::kernel::principal::testing::principal;
use crate::test_support::*;
use crate::{MockSessionRepository, MockUserRepository};
use futures::executor::block_on;

#[test]
fn locking_revokes_sessions_and_unlocking_clears_the_lockout() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let mut h = Harness::new();
    let mut users = MockUserRepository::new();
    // The store as the mocks see it: the flag the last write set.
    let stored = Arc::new(AtomicBool::new(false));
    let read = stored.clone();
    users.expect_get().returning(move |_| {
        let mut u = sample_user(1);
        u.locked = read.load(Ordering::SeqCst);
        Ok(Some(u))
    });
    let (lock, unlock) = (stored.clone(), stored);
    users
        .expect_update_fields()
        .withf(|_, c| c.locked == Some(true) && c.verified.is_none() && c.password_hash.is_none())
        .times(1)
        .returning(move |_, _| {
            lock.store(true, Ordering::SeqCst);
            Ok(crate::FieldsUpdate::Written)
        });
    users
        .expect_update_fields()
        .withf(|_, c| c.locked == Some(false))
        .times(1)
        .returning(move |_, _| {
            unlock.store(false, Ordering::SeqCst);
            Ok(crate::FieldsUpdate::Written)
        });
    users
        .expect_set_locked_until()
        .withf(|_, until| until.is_none())
        .times(1)
        .returning(|_, _| Ok(()));
    let mut sessions = MockSessionRepository::new();
    sessions
        .expect_revoke_all()
        .times(1)
        .returning(|_, _| Ok(2));
    h.stores.users = Arc::new(users);
    h.stores.sessions = Arc::new(sessions);
    h.stores.roles = Arc::new(holding(&[]));
    let feed = Arc::new(RecordingFeed::default());
    h.stores.auth_changes = feed.clone();
    let admin = UserAdmin::new(h.stores, h.system);
    assert!(
        block_on(admin.set_locked(&principal(99, &["users:write"]), sample_user(1).id, true))
            .unwrap()
            .locked
    );
    assert!(
        !block_on(admin.set_locked(&principal(99, &["users:write"]), sample_user(1).id, false))
            .unwrap()
            .locked
    );
    // The domain announces each change itself (caches of principals on
    // every instance hear of it), whoever embeds it.
    let user = crate::AuthChange::User(sample_user(1).id);
    assert!(feed.published().iter().filter(|c| **c == user).count() >= 2);
}

/// A roles mock whose every user holds one role with `permissions`.
fn holding(permissions: &[&'static str]) -> crate::MockRoleRepository {
    let permissions: Vec<&'static str> = permissions.to_vec();
    let mut roles = crate::MockRoleRepository::new();
    roles.expect_roles_of().returning(move |_| {
        Ok(vec![crate::Role {
            name: RoleName::parse("held").unwrap(),
            description: None,
            permissions: permissions
                .iter()
                .map(|p| Permission::parse(p).unwrap())
                .collect(),
            created_at: T0,
            updated_at: T0,
        }])
    });
    roles
}

#[test]
fn nobody_acts_on_a_user_who_holds_more_than_they_do() {
    // The users and mfa stores have no expectations: nothing is touched.
    let mut h = Harness::new();
    h.stores.roles = Arc::new(holding(&["*"]));
    let admin = UserAdmin::new(h.stores, h.system);
    let support = principal(99, &["users:read", "users:write"]);
    let target = sample_user(1).id;
    assert!(matches!(
        block_on(admin.remove_second_factor(&support, target)),
        Err(AdminUserError::Forbidden(d)) if d == crate::Denied(Permission::ALL)
    ));
    assert!(matches!(
        block_on(admin.set_locked(&support, target, true)),
        Err(AdminUserError::Forbidden(_))
    ));
    assert!(matches!(
        block_on(admin.set_verified(&support, target, false)),
        Err(AdminUserError::Forbidden(_))
    ));
}

#[test]
fn unknown_user_is_not_found() {
    let mut h = Harness::new();
    let mut users = MockUserRepository::new();
    users.expect_get().returning(|_| Ok(None));
    users
        .expect_update_fields()
        .returning(|_, _| Err(WriteError::NotFound));
    h.stores.users = Arc::new(users);
    h.stores.roles = Arc::new(holding(&[]));
    let admin = UserAdmin::new(h.stores, h.system);
    assert!(matches!(
        block_on(admin.set_verified(&principal(99, &["users:write"]), sample_user(1).id, true)),
        Err(AdminUserError::NotFound)
    ));
}

#[test]
fn user_administration_needs_its_permissions() {
    // The mocks have no expectations: a denied call touches no store.
    let h = Harness::new();
    let admin = UserAdmin::new(h.stores, h.system);
    let reader = principal(99, &["users:read"]);
    let id = sample_user(1).id;
    let denied = |p| crate::Denied(p);
    assert!(matches!(
        block_on(admin.set_locked(&reader, id, true)),
        Err(AdminUserError::Forbidden(d)) if d == denied(Permission::USERS_WRITE)
    ));
    assert!(matches!(
        block_on(admin.set_verified(&reader, id, true)),
        Err(AdminUserError::Forbidden(d)) if d == denied(Permission::USERS_WRITE)
    ));
    let nobody = principal(98, &[]);
    assert!(matches!(
        block_on(admin.list_users(&nobody, &crate::UserFilter::default(), PageRequest::first(10))),
        Err(crate::ReadError::Forbidden(d)) if d == denied(Permission::USERS_READ)
    ));
    assert!(matches!(
        block_on(admin.get_user(&nobody, id)),
        Err(crate::ReadError::Forbidden(d)) if d == denied(Permission::USERS_READ)
    ));
}

/// An administrator made at start-up or by the CLI gets a password of at
/// least `password.min_length`, like everyone else.
#[test]
fn a_bootstrap_administrator_is_held_to_the_password_minimum() {
    let (h, _clock, _user) = Harness::over_memory();
    let live = crate::LiveSettings::from_defaults(&crate::SettingDefaults {
        password_min_length: 12,
        ..crate::SettingDefaults::default()
    })
    .unwrap();
    let admin = UserAdmin::new(h.stores.clone(), h.system.clone()).with_settings(live);
    let email = Email::parse("root@example.org").unwrap();
    let username = Username::parse("root").unwrap();
    let short = Password::new("elevenchars").unwrap();
    assert!(matches!(
        block_on(admin.ensure_admin(email.clone(), username.clone(), &short)),
        Err(BootstrapAdminError::WeakPassword(
            crate::PasswordError::TooShort { min: 12 }
        ))
    ));
    assert!(
        block_on(h.stores.users.find_by_email(&email))
            .unwrap()
            .is_none()
    );
}
