//! A suspension through the services, over the in-memory adapter: what
//! ends at once, what every way back in answers, and the end that lifts it.

use std::sync::Arc;

use futures::executor::block_on;
use time::Duration;

use crate::kernel::principal::testing::principal;
use crate::test_support::*;
use crate::*;

struct World {
    clock: Arc<MovableClock>,
    auth: Authentication,
    admin: UserAdmin,
    user: User,
}

fn world() -> World {
    let (mut h, clock, user) = Harness::over_memory();
    h.system.tokens = Arc::new(CountingTokens::new());
    World {
        clock,
        auth: Authentication::new(h.stores.clone(), h.system.clone(), AccountPolicy::default()),
        admin: UserAdmin::new(h.stores, h.system),
        user,
    }
}

fn sign_in(w: &World) -> Result<SignedIn, SignInError> {
    block_on(w.auth.sign_in(SignInRequest {
        login: w.user.email.as_str().to_owned(),
        password: Password::for_sign_in("right password").unwrap(),
        user_agent: None,
        ip: Some("192.0.2.1".into()),
    }))
}

fn session(w: &World) -> IssuedSession {
    match sign_in(w).unwrap() {
        SignedIn::Session(s) => s,
        SignedIn::MfaRequired(_) => panic!("no second factor here"),
    }
}

#[test]
fn a_suspension_ends_the_sessions_refuses_every_way_back_and_lifts_itself() {
    let w = world();
    let before = session(&w);
    assert!(block_on(w.auth.authenticate(&before.access_token)).is_ok());
    let admin = principal(99, &["users:write"]);
    let reason = SuspensionReason::parse("Repeated spam reports").unwrap();
    let until = T0 + Duration::hours(1);
    let user = block_on(w.admin.writer(&admin).unwrap().suspend(
        w.user.id,
        reason.clone(),
        Some(until),
    ))
    .unwrap();
    assert_eq!(user.suspended_at(T0).map(|s| &s.reason), Some(&reason));

    // The session is gone: its token and its refresh token.
    assert!(matches!(
        block_on(w.auth.authenticate(&before.access_token)),
        Err(AuthenticateError::Unauthenticated)
    ));
    match block_on(w.auth.refresh(&before.refresh_token)) {
        Err(RefreshError::Suspended(s)) => assert_eq!(s.until, Some(until)),
        other => panic!("{other:?}"),
    }
    // Signing in is told why, and until when.
    match sign_in(&w) {
        Err(SignInError::Suspended(s)) => {
            assert_eq!(s.reason, reason);
            assert_eq!(s.until, Some(until));
        }
        other => panic!("{other:?}"),
    }
    // A minute before the end it still holds; at the end it lifts itself.
    w.clock.set(until - Duration::minutes(1));
    assert!(matches!(sign_in(&w), Err(SignInError::Suspended(_))));
    w.clock.set(until);
    let after = session(&w);
    assert!(block_on(w.auth.authenticate(&after.access_token)).is_ok());
}

#[test]
fn an_administrator_lifts_it_and_cannot_suspend_themselves_or_into_the_past() {
    let w = world();
    let admin = principal(99, &["users:write"]);
    let writer = w.admin.writer(&admin).unwrap();
    let reason = SuspensionReason::parse("Chargeback").unwrap();
    block_on(writer.suspend(w.user.id, reason.clone(), None)).unwrap();
    w.clock.set(T0 + Duration::days(3650));
    assert!(matches!(sign_in(&w), Err(SignInError::Suspended(s)) if s.until.is_none()));
    let user = block_on(writer.lift_suspension(w.user.id)).unwrap();
    assert_eq!(user.suspension, None);
    session(&w);

    let now = T0 + Duration::days(3650);
    assert!(matches!(
        block_on(writer.suspend(w.user.id, reason.clone(), Some(now))),
        Err(AdminUserError::UntilNotInFuture)
    ));
    let me = principal(1, &["users:write"]);
    assert!(matches!(
        block_on(
            w.admin
                .writer(&me)
                .unwrap()
                .suspend(w.user.id, reason.clone(), None)
        ),
        Err(AdminUserError::SuspendSelf)
    ));
    // Without users:write, nothing is looked at.
    let reader = principal(98, &["users:read"]);
    assert!(w.admin.writer(&reader).is_err());
}
