//! Unit tests of account links and the hardening of provider flows.

use std::sync::Arc;

use futures::executor::block_on;

use super::tests::*;
use super::*;
use crate::test_support::*;
use crate::*;
use crate::{MockIdentityLinkRepository, MockOAuthFlowRepository, MockUserRepository};
use time::Duration;

#[test]
fn linking_an_identity_of_someone_else_is_refused() {
    let mut h = Harness::new();
    let me = sample_user(1).id;
    h.stores.oauth_flows = Arc::new(flows_holding(Some(flow("corp", Some(me)))));
    let mut links = MockIdentityLinkRepository::new();
    links.expect_find().returning(|p, s| {
        Ok(Some(IdentityLink {
            user_id: sample_user(2).id,
            provider: p.clone(),
            subject: s.to_owned(),
            email: None,
            tokens: None,
            tokens_expire_at: None,
            created_at: T0,
        }))
    });
    links.expect_link().never();
    h.stores.identity_links = Arc::new(links);
    let f = federation(h, provider(false, Ok(identity("ann@example.org", true))));
    let out = block_on(f.callback(
        "corp",
        fixed_token().expose(),
        Some(fixed_token().expose()),
        Ok("code"),
    ))
    .unwrap();
    assert_eq!(out.redirect_to, format!("{APP}?error=already_linked"));
}

#[test]
fn the_last_way_to_sign_in_stays() {
    for (password, keep_one) in [(true, false), (false, true)] {
        let mut h = Harness::new();
        let mut user = sample_user(1);
        if !password {
            user.password_hash = None;
        }
        let mut links = MockIdentityLinkRepository::new();
        links
            .expect_unlink()
            .withf(move |_, _, k| *k == keep_one)
            .returning(move |_, _, k| {
                Ok(if k {
                    Unlinked::LastLink
                } else {
                    Unlinked::Removed
                })
            });
        h.stores.identity_links = Arc::new(links);
        let f = federation(h, provider(false, Err("unused")));
        let r = block_on(f.unlink(&crate::kernel::principal::testing::signed_in(&user), "corp"));
        if password {
            assert!(r.is_ok());
        } else {
            assert!(matches!(r, Err(UnlinkError::LastWay)));
        }
    }
}

#[test]
fn a_return_address_may_not_plant_what_the_callback_adds() {
    let f = federation(Harness::new(), provider(false, Err("unused")));
    for bad in [
        format!("{APP}?code=ATTACKER"),
        format!("{APP}?next=/x&linked=corp"),
        format!("{APP}?error=x"),
        format!("{APP}?state=1"),
        format!("{APP}?%63ode=ATTACKER"),
        format!("{APP}?CODE=ATTACKER"),
        format!("{APP}?next=\u{1}"),
        format!("{APP}\u{7f}"),
    ] {
        assert!(!f.redirect_allowed(&bad), "{bad:?}");
    }
    assert!(f.redirect_allowed(&format!("{APP}?next=/home&codes=1")));
}

#[test]
fn a_callback_without_the_starting_browsers_secret_finds_no_flow() {
    let other = crate::Token::from_bytes([9; 32]);
    for secret in [None, Some(other.expose()), Some("not a token")] {
        let mut h = Harness::new();
        h.stores.oauth_flows = Arc::new(flows_holding(Some(flow("corp", None))));
        let mut flows = MockOAuthFlowRepository::new();
        // The flow is stored under the state and the right secret only.
        let right = fixed_token().hash_with(&fixed_token());
        flows
            .expect_take()
            .returning(move |key, _| Ok((*key == right).then(|| flow("corp", None))));
        h.stores.oauth_flows = Arc::new(flows);
        let f = federation(h, provider(false, Err("unused")));
        let r = block_on(f.callback("corp", fixed_token().expose(), secret, Ok("code")));
        assert!(matches!(r, Err(CallbackError::InvalidState)), "{secret:?}");
    }
}

/// A signed-in principal whose session began `ago`, with a password or not.
fn signed_in(password: bool, ago: Duration) -> Principal {
    let mut p = crate::kernel::principal::testing::principal(1, &[]);
    std::sync::Arc::make_mut(&mut p.user).password_hash =
        password.then(|| crate::PasswordHash::new("hashed:right password"));
    std::sync::Arc::make_mut(&mut p.session).created_at = T0 - ago;
    p
}

#[test]
fn linking_asks_for_the_password_or_a_recent_sign_in() {
    let mut h = Harness::new();
    let mut users = MockUserRepository::new();
    users.expect_increment_failed_logins().returning(|_| Ok(1));
    h.stores.users = Arc::new(users);
    // The flow store has no expectations: nothing starts.
    let f = federation(h, provider(false, Err("unused")));
    let with_password = signed_in(true, Duration::days(1));
    let wrong = Password::for_sign_in("wrong password").unwrap();
    assert!(matches!(
        block_on(f.begin_link(&with_password, "corp", APP, None, None)),
        Err(BeginFlowError::ReauthenticationRequired)
    ));
    assert!(matches!(
        block_on(f.begin_link(&with_password, "corp", APP, Some(&wrong), None)),
        Err(BeginFlowError::WrongPassword)
    ));
    let stale = signed_in(false, Duration::minutes(6));
    assert!(matches!(
        block_on(f.begin_link(&stale, "corp", APP, None, None)),
        Err(BeginFlowError::ReauthenticationRequired)
    ));
}

#[test]
fn linking_starts_with_the_password_or_a_fresh_sign_in() {
    for principal in [
        signed_in(true, Duration::days(1)),
        signed_in(false, Duration::minutes(1)),
    ] {
        let mut h = Harness::new();
        let mut flows = MockOAuthFlowRepository::new();
        let me = principal.user_id();
        flows
            .expect_insert()
            .withf(move |f| f.linking_user == Some(me))
            .times(1)
            .returning(|_| Ok(()));
        h.stores.oauth_flows = Arc::new(flows);
        let mut links = MockIdentityLinkRepository::new();
        links.expect_list_for_user().returning(|_| Ok(vec![]));
        h.stores.identity_links = Arc::new(links);
        let f = federation(h, provider(false, Err("unused")));
        let right = Password::for_sign_in("right password").unwrap();
        block_on(f.begin_link(&principal, "corp", APP, Some(&right), None)).unwrap();
    }
}

#[test]
fn an_account_marked_unverified_does_not_sign_in_through_a_provider() {
    let mut h = Harness::new();
    h.stores.oauth_flows = Arc::new(flows_holding(Some(flow("corp", None))));
    let mut user = sample_user(7);
    user.verified = false;
    let uid = user.id;
    let mut links = MockIdentityLinkRepository::new();
    links.expect_find().returning(move |p, s| {
        Ok(Some(IdentityLink {
            user_id: uid,
            provider: p.clone(),
            subject: s.to_owned(),
            email: None,
            tokens: None,
            tokens_expire_at: None,
            created_at: T0,
        }))
    });
    h.stores.identity_links = Arc::new(links);
    let mut users = MockUserRepository::new();
    users
        .expect_get()
        .returning(move |_| Ok(Some(user.clone())));
    h.stores.users = Arc::new(users);
    let f = federation(h, provider(false, Ok(identity("ann@example.org", true))));
    let out = block_on(f.callback(
        "corp",
        fixed_token().expose(),
        Some(fixed_token().expose()),
        Ok("code"),
    ))
    .unwrap();
    assert_eq!(out.redirect_to, format!("{APP}?error=email_unverified"));
}
