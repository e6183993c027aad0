//! Unit tests of the auth service.

use std::sync::Arc;

use time::Duration;

use super::*;
use crate::test_support::*;
use crate::{MockSessionRepository, MockUserRepository, PasswordHash};
use futures::executor::block_on;

fn request(password: &str) -> SignInRequest {
    SignInRequest {
        login: "user1@example.org".into(),
        password: Password::for_sign_in(password).unwrap(),
        user_agent: Some("test".into()),
        ip: Some("127.0.0.1".into()),
    }
}

fn user_with_password() -> User {
    let mut u = sample_user(1);
    u.password_hash = Some(PasswordHash::new("hashed:right password"));
    u
}

fn service(h: Harness) -> Authentication {
    Authentication::new(h.stores, h.system, AccountPolicy::default())
}

#[test]
fn unknown_login_costs_a_dummy_verify_and_is_invalid() {
    let mut h = Harness::new();
    let mut users = MockUserRepository::new();
    users.expect_find_by_email().returning(|_| Ok(None));
    h.stores.users = Arc::new(users);
    let err = block_on(service(h).sign_in(request("whatever pw"))).unwrap_err();
    assert!(matches!(err, SignInError::InvalidCredentials));
}

/// Registered, not verified yet: the address with its own password is told
/// so; a wrong password, or the username (not the candidate's until it
/// verifies), is the invalid login it always was.
#[test]
fn the_right_password_of_an_unverified_address_is_told_apart() {
    let mut h = Harness::new();
    let mut users = MockUserRepository::new();
    users.expect_find_by_email().returning(|_| Ok(None));
    users.expect_find_by_username().returning(|_| Ok(None));
    h.stores.users = Arc::new(users);
    block_on(h.stores.candidates.put(&crate::RegistrationCandidate {
        email: Email::parse("user1@example.org").unwrap(),
        username: Username::parse("user1").unwrap(),
        role: crate::RoleName::user(),
        password_hash: PasswordHash::new("hashed:right password"),
        token_hash: fixed_token().hash(),
        created_at: T0,
        expires_at: T0 + Duration::hours(1),
        origin: None,
    }))
    .unwrap();
    let auth = service(h);
    let err = block_on(auth.sign_in(request("right password"))).unwrap_err();
    assert!(matches!(err, SignInError::NotVerified), "{err:?}");
    let err = block_on(auth.sign_in(request("wrong password"))).unwrap_err();
    assert!(matches!(err, SignInError::InvalidCredentials), "{err:?}");
    let by_name = SignInRequest {
        login: "user1".into(),
        ..request("right password")
    };
    let err = block_on(auth.sign_in(by_name)).unwrap_err();
    assert!(matches!(err, SignInError::InvalidCredentials), "{err:?}");
}

/// A hasher that counts the verifications it does.
fn counting_hasher(h: &mut Harness) -> Arc<std::sync::atomic::AtomicUsize> {
    let verified = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut hasher = crate::MockPasswordHasher::new();
    let (real, dummy) = (verified.clone(), verified.clone());
    hasher.expect_verify().returning(move |p, hash| {
        real.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(hash.as_str() == format!("hashed:{}", p.expose()))
    });
    hasher.expect_verify_dummy().returning(move |_| {
        dummy.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    });
    hasher.expect_saturated().return_const(false);
    h.system.hasher = Arc::new(hasher);
    verified
}

fn users_finding(user: Option<User>) -> MockUserRepository {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_email()
        .returning(move |_| Ok(user.clone()));
    users.expect_find_by_username().returning(|_| Ok(None));
    users.expect_increment_failed_logins().returning(|_| Ok(1));
    users.expect_record_sign_in().returning(|_, _| Ok(()));
    users
}

fn from_ip(password: &str, ip: &str) -> SignInRequest {
    SignInRequest {
        ip: Some(ip.into()),
        ..request(password)
    }
}

#[test]
fn the_fifth_wrong_password_locks_that_ip_out_and_later_tries_are_not_verified() {
    let mut h = Harness::new();
    let verified = counting_hasher(&mut h);
    h.stores.users = Arc::new(users_finding(Some(user_with_password())));
    let svc = service(h);
    for _ in 0..4 {
        let err = block_on(svc.sign_in(request("wrong password"))).unwrap_err();
        assert!(matches!(err, SignInError::InvalidCredentials));
    }
    let err = block_on(svc.sign_in(request("wrong password"))).unwrap_err();
    assert!(matches!(err, SignInError::LockedOut { until } if until == T0 + Duration::minutes(15)));
    // Even the right password: refused, and no hash is computed for it.
    let err = block_on(svc.sign_in(request("right password"))).unwrap_err();
    assert!(matches!(err, SignInError::LockedOut { .. }));
    assert_eq!(verified.load(std::sync::atomic::Ordering::SeqCst), 5);
}

#[test]
fn a_lockout_from_one_ip_leaves_the_owner_at_another_ip_alone() {
    let mut h = Harness::new();
    counting_hasher(&mut h);
    h.stores.users = Arc::new(users_finding(Some(user_with_password())));
    let mut sessions = MockSessionRepository::new();
    sessions.expect_create().returning(|_| Ok(()));
    sessions.expect_add_refresh_token().returning(|_| Ok(()));
    h.stores.sessions = Arc::new(sessions);
    let svc = service(h);
    for _ in 0..6 {
        let _ = block_on(svc.sign_in(from_ip("wrong password", "203.0.113.9")));
    }
    assert!(matches!(
        block_on(svc.sign_in(from_ip("right password", "203.0.113.9"))),
        Err(SignInError::LockedOut { .. })
    ));
    block_on(svc.sign_in(from_ip("right password", "198.51.100.7"))).unwrap();
}

#[test]
fn a_sign_in_the_hasher_sheds_as_busy_does_not_count_toward_a_lockout() {
    let mut h = Harness::new();
    let shed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut hasher = crate::MockPasswordHasher::new();
    let calls = shed.clone();
    hasher.expect_verify().returning(move |p, hash| {
        // The first ten are shed, as a saturated hashing pool does.
        if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 10 {
            return Err(StoreError::busy("password hashing is saturated"));
        }
        Ok(hash.as_str() == format!("hashed:{}", p.expose()))
    });
    hasher.expect_saturated().return_const(false);
    h.system.hasher = Arc::new(hasher);
    h.stores.users = Arc::new(users_finding(Some(user_with_password())));
    let svc = service(h);
    for _ in 0..10 {
        let err = block_on(svc.sign_in(request("wrong password"))).unwrap_err();
        assert!(
            matches!(&err, SignInError::Unexpected(e) if e.is_busy()),
            "{err:?}"
        );
    }
    // The lockout still has all five attempts: four wrong ones pass as
    // wrong, the fifth locks.
    for _ in 0..4 {
        let err = block_on(svc.sign_in(request("wrong password"))).unwrap_err();
        assert!(matches!(err, SignInError::InvalidCredentials), "{err:?}");
    }
    let err = block_on(svc.sign_in(request("wrong password"))).unwrap_err();
    assert!(matches!(err, SignInError::LockedOut { .. }), "{err:?}");
}

#[test]
fn guesses_from_many_ips_hit_the_account_wide_limit() {
    let mut h = Harness::new();
    let verified = counting_hasher(&mut h);
    h.stores.users = Arc::new(users_finding(Some(user_with_password())));
    let svc = service(h);
    let limit = AccountPolicy::default().account_lockout_threshold;
    for n in 0..limit + 10 {
        let ip = format!("192.0.2.{}", n / 4);
        let _ = block_on(svc.sign_in(from_ip("wrong password", &ip)));
    }
    assert_eq!(
        verified.load(std::sync::atomic::Ordering::SeqCst),
        limit as usize,
        "no more than the account-wide limit is ever verified"
    );
    assert!(matches!(
        block_on(svc.sign_in(from_ip("right password", "198.51.100.7"))),
        Err(SignInError::LockedOut { .. })
    ));
}

#[test]
fn an_unknown_login_locks_out_exactly_like_a_known_one() {
    let mut h = Harness::new();
    let verified = counting_hasher(&mut h);
    h.stores.users = Arc::new(users_finding(None));
    let svc = service(h);
    for _ in 0..4 {
        let err = block_on(svc.sign_in(request("wrong password"))).unwrap_err();
        assert!(matches!(err, SignInError::InvalidCredentials));
    }
    let err = block_on(svc.sign_in(request("wrong password"))).unwrap_err();
    assert!(matches!(err, SignInError::LockedOut { .. }));
    assert_eq!(
        verified.load(std::sync::atomic::Ordering::SeqCst),
        5,
        "a dummy hash each time, as for a known login"
    );
}

#[test]
fn a_new_password_starts_the_counts_afresh() {
    let mut h = Harness::new();
    counting_hasher(&mut h);
    let mut changed = user_with_password();
    changed.security_changed_at = T0 + Duration::seconds(1);
    let mut users = users_finding(Some(user_with_password()));
    users.checkpoint();
    let calls = std::sync::atomic::AtomicUsize::new(0);
    users.expect_find_by_email().returning(move |_| {
        // Five wrong guesses against the old state, then a reset.
        let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(Some(if n < 5 {
            user_with_password()
        } else {
            changed.clone()
        }))
    });
    users.expect_increment_failed_logins().returning(|_| Ok(1));
    users.expect_record_sign_in().returning(|_, _| Ok(()));
    h.stores.users = Arc::new(users);
    let mut sessions = MockSessionRepository::new();
    sessions.expect_create().returning(|_| Ok(()));
    sessions.expect_add_refresh_token().returning(|_| Ok(()));
    h.stores.sessions = Arc::new(sessions);
    let svc = service(h);
    for _ in 0..5 {
        let _ = block_on(svc.sign_in(request("wrong password")));
    }
    block_on(svc.sign_in(request("right password"))).unwrap();
}

#[test]
fn admin_lock_refuses_a_correct_password() {
    let mut h = Harness::new();
    let mut users = MockUserRepository::new();
    users.expect_find_by_email().returning(|_| {
        let mut u = user_with_password();
        u.locked = true;
        Ok(Some(u))
    });
    h.stores.users = Arc::new(users);
    assert!(matches!(
        block_on(service(h).sign_in(request("right password"))),
        Err(SignInError::Locked)
    ));
}

fn session_row(now: OffsetDateTime) -> AuthSession {
    AuthSession {
        id: AuthSessionId::from_uuid(uuid::Uuid::from_u128(7)),
        user_id: sample_user(1).id,
        token_hash: fixed_token().hash(),
        device: None,
        ip: None,
        created_at: now,
        last_accessed_at: now,
        expires_at: now + Duration::days(1),
        refresh_expires_at: now + Duration::days(30),
        revoked_at: None,
    }
}

#[test]
fn reused_refresh_token_revokes_the_family() {
    let mut h = Harness::new();
    let mut sessions = MockSessionRepository::new();
    let s = session_row(T0);
    let sid = s.id;
    sessions.expect_use_refresh_token().returning(move |_, _| {
        Ok(RefreshOutcome::Reused(RefreshToken {
            id: RefreshTokenId::from_uuid(uuid::Uuid::from_u128(9)),
            session_id: sid,
            user_id: sample_user(1).id,
            token_hash: fixed_token().hash(),
            created_at: T0,
            expires_at: T0 + Duration::days(30),
            used_at: Some(T0),
        }))
    });
    sessions
        .expect_revoke()
        .withf(move |_, id, _| *id == sid)
        .times(1)
        .returning(|_, _, _| Ok(()));
    h.stores.sessions = Arc::new(sessions);
    assert!(matches!(
        block_on(service(h).refresh(&fixed_token())),
        Err(RefreshError::Reused)
    ));
}

#[test]
fn fresh_refresh_token_on_a_revoked_session_is_invalid() {
    let mut h = Harness::new();
    let mut sessions = MockSessionRepository::new();
    let mut s = session_row(T0);
    s.revoked_at = Some(T0);
    let sid = s.id;
    sessions.expect_use_refresh_token().returning(move |_, _| {
        Ok(RefreshOutcome::Fresh(RefreshToken {
            id: RefreshTokenId::from_uuid(uuid::Uuid::from_u128(9)),
            session_id: sid,
            user_id: sample_user(1).id,
            token_hash: fixed_token().hash(),
            created_at: T0,
            expires_at: T0 + Duration::days(30),
            used_at: None,
        }))
    });
    sessions
        .expect_get()
        .returning(move |_| Ok(Some(s.clone())));
    h.stores.sessions = Arc::new(sessions);
    // The user is read first (a suspended one is told so); not suspended,
    // the revoked session decides.
    let mut users = MockUserRepository::new();
    users.expect_get().returning(|_| Ok(Some(sample_user(1))));
    h.stores.users = Arc::new(users);
    assert!(matches!(
        block_on(service(h).refresh(&fixed_token())),
        Err(RefreshError::Invalid)
    ));
}

/// A role store that finds no roles for anyone.
fn no_roles() -> crate::MockRoleRepository {
    let mut roles = crate::MockRoleRepository::new();
    roles.expect_roles_of().returning(|_| Ok(Vec::new()));
    roles
}

#[test]
fn authenticate_touches_only_after_the_interval_and_caps_at_refresh_expiry() {
    // Last access 30 s ago: no write.
    let mut h = Harness::new();
    let mut sessions = MockSessionRepository::new();
    let recent = session_row(T0 - Duration::seconds(30));
    sessions
        .expect_find_active_by_token()
        .returning(move |_, _| Ok(Some(recent.clone())));
    sessions.expect_touch().never();
    let mut users = MockUserRepository::new();
    users.expect_get().returning(|_| Ok(Some(sample_user(1))));
    h.stores.sessions = Arc::new(sessions);
    h.stores.users = Arc::new(users);
    h.stores.roles = Arc::new(no_roles());
    block_on(service(h).authenticate(&fixed_token())).unwrap();

    // Last access 2 min ago, refresh window ends in 1 h: expiry capped there.
    let mut h = Harness::new();
    let mut sessions = MockSessionRepository::new();
    let mut old = session_row(T0 - Duration::minutes(2));
    old.refresh_expires_at = T0 + Duration::hours(1);
    sessions
        .expect_find_active_by_token()
        .returning(move |_, _| Ok(Some(old.clone())));
    sessions
        .expect_touch()
        .withf(|_, at, exp| *at == T0 && *exp == T0 + Duration::hours(1))
        .times(1)
        .returning(|_, _, _| Ok(()));
    let mut users = MockUserRepository::new();
    users.expect_get().returning(|_| Ok(Some(sample_user(1))));
    h.stores.sessions = Arc::new(sessions);
    h.stores.users = Arc::new(users);
    h.stores.roles = Arc::new(no_roles());
    let auth = block_on(service(h).authenticate(&fixed_token())).unwrap();
    assert_eq!(auth.session.expires_at, T0 + Duration::hours(1));
}

#[test]
fn unknown_token_does_not_authenticate() {
    let mut h = Harness::new();
    let mut sessions = MockSessionRepository::new();
    sessions
        .expect_find_active_by_token()
        .returning(|_, _| Ok(None));
    h.stores.sessions = Arc::new(sessions);
    assert!(matches!(
        block_on(service(h).authenticate(&fixed_token())),
        Err(AuthenticateError::Unauthenticated)
    ));
}

#[test]
fn a_saturated_hasher_sheds_a_sign_in_before_any_store_is_asked() {
    let mut h = Harness::new();
    let mut hasher = crate::MockPasswordHasher::new();
    hasher.expect_saturated().return_const(true);
    // No verify, no look-up, no reservation: the mocks below have no
    // expectations, so any call would fail the test.
    h.system.hasher = Arc::new(hasher);
    h.stores.users = Arc::new(MockUserRepository::new());
    h.stores.rate_limiter = Arc::new(crate::MockRateLimiter::new());
    let err = block_on(service(h).sign_in(request("right password"))).unwrap_err();
    assert!(
        matches!(&err, SignInError::Unexpected(e) if e.is_busy()),
        "{err:?}"
    );
}
