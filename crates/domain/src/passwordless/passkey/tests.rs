//! The passkey service over the in-memory adapter with a scripted
//! ceremony: what the domain decides around webauthn-rs (the password
//! re-asked, challenges single use and bound to their user and purpose,
//! the counter's compare-and-set, the second factor without user
//! verification, the last way to sign in). API keys are refused in
//! `apikeys/tests.rs` with every other management operation.

use std::sync::Arc;

use futures::executor::block_on;
use time::Duration;

use crate::kernel::principal::testing::signed_in;
use crate::test_support::*;
use crate::*;

const CREDENTIAL: &str = "Y3JlZC0x";

struct World {
    h: Harness,
    clock: Arc<MovableClock>,
    user: User,
    auth: Authentication,
}

fn world() -> World {
    let (mut h, clock, user) = Harness::over_memory();
    h.system.tokens = Arc::new(CountingTokens::new());
    World {
        auth: Authentication::new(h.stores.clone(), h.system.clone(), AccountPolicy::default()),
        h,
        clock,
        user,
    }
}

/// A ceremony that accepts every answer: `{"user_verified": bool,
/// "counter": n}` as the assertion, the user handle of `user`.
fn ceremony(user: UserId) -> MockPasskeyCeremony {
    let mut c = MockPasskeyCeremony::new();
    c.expect_start_registration().returning(|holder, exclude| {
        Ok(CeremonyStart {
            options: serde_json::json!({"user": holder.name, "exclude": exclude.len()}),
            state: "registration".into(),
        })
    });
    c.expect_finish_registration().returning(|response, state| {
        assert_eq!(state, "registration");
        Ok(NewCredential {
            credential_id: CredentialId::parse(response["id"].as_str().unwrap()).unwrap(),
            credential: "key".into(),
            counter: 0,
        })
    });
    c.expect_start_sign_in().returning(|| {
        Ok(CeremonyStart {
            options: serde_json::json!({}),
            state: "sign-in".into(),
        })
    });
    c.expect_identify().returning(move |response| {
        Ok((
            user,
            CredentialId::parse(response["id"].as_str().unwrap()).unwrap(),
        ))
    });
    c.expect_finish_sign_in().returning(|response, state, _| {
        assert_eq!(state, "sign-in");
        Ok(Assertion {
            counter: u32::try_from(response["counter"].as_u64().unwrap()).unwrap(),
            user_verified: response["user_verified"].as_bool().unwrap(),
            credential: "key".into(),
        })
    });
    c
}

impl World {
    fn passkeys(&self) -> Passkeys {
        Passkeys::new(
            self.h.stores.clone(),
            self.h.system.clone(),
            AccountPolicy::default(),
            Arc::new(ceremony(self.user.id)),
        )
    }

    fn register(&self, caller: &Principal, credential: &str) -> Result<Passkey, PasskeyError> {
        let p = self.passkeys();
        let password = Password::for_sign_in("right password").unwrap();
        let begun = block_on(p.begin_registration(caller, Some(&password), None))?;
        block_on(p.finish_registration(
            caller,
            begun.challenge_id,
            None,
            &serde_json::json!({"id": credential}),
        ))
    }

    fn sign_in(
        &self,
        credential: &str,
        counter: u32,
        verified: bool,
    ) -> Result<SignedIn, PasskeyError> {
        let p = self.passkeys();
        let begun = block_on(p.begin_sign_in())?;
        block_on(p.sign_in(
            &self.auth,
            PasskeySignIn {
                challenge_id: begun.challenge_id,
                credential: serde_json::json!({"id": credential, "counter": counter, "user_verified": verified}),
                ip: None,
                user_agent: None,
            },
        ))
    }
}

#[test]
fn the_password_is_asked_and_a_challenge_serves_its_own_user_once() {
    let w = world();
    let caller = signed_in(&w.user);
    let p = w.passkeys();
    assert!(matches!(
        block_on(p.begin_registration(&caller, None, None)),
        Err(PasskeyError::ReauthenticationRequired)
    ));
    let wrong = Password::for_sign_in("wrong password").unwrap();
    assert!(matches!(
        block_on(p.begin_registration(&caller, Some(&wrong), None)),
        Err(PasskeyError::WrongPassword)
    ));
    let right = Password::for_sign_in("right password").unwrap();
    let begun = block_on(p.begin_registration(&caller, Some(&right), None)).unwrap();
    let answer = serde_json::json!({"id": CREDENTIAL});
    // Another user cannot finish it (and it is spent).
    let mut other = sample_user(2);
    other.password_hash = None;
    block_on(w.h.stores.users.create(&other)).unwrap();
    let thief = signed_in(&other);
    assert!(matches!(
        block_on(p.finish_registration(&thief, begun.challenge_id, None, &answer)),
        Err(PasskeyError::Invalid)
    ));
    assert!(matches!(
        block_on(p.finish_registration(&caller, begun.challenge_id, None, &answer)),
        Err(PasskeyError::Invalid)
    ));
    let added = w.register(&caller, CREDENTIAL).unwrap();
    assert_eq!(added.name.as_str(), "Passkey 1");
    // The same credential again: refused, not stored twice.
    assert!(matches!(
        w.register(&caller, CREDENTIAL),
        Err(PasskeyError::Duplicate)
    ));
    // A registration challenge does not sign in, nor a sign-in one register.
    let begun = block_on(p.begin_registration(&caller, Some(&right), None)).unwrap();
    let attempt = PasskeySignIn {
        challenge_id: begun.challenge_id,
        credential: serde_json::json!({"id": CREDENTIAL, "counter": 1, "user_verified": true}),
        ip: None,
        user_agent: None,
    };
    assert!(matches!(
        block_on(p.sign_in(&w.auth, attempt)),
        Err(PasskeyError::Invalid)
    ));
    let begun = block_on(p.begin_sign_in()).unwrap();
    assert!(matches!(
        block_on(p.finish_registration(&caller, begun.challenge_id, None, &answer)),
        Err(PasskeyError::Invalid)
    ));
    // Expired after five minutes.
    let begun = block_on(p.begin_registration(&caller, Some(&right), None)).unwrap();
    w.clock
        .set(T0 + PASSKEY_CHALLENGE_TTL + Duration::seconds(1));
    assert!(matches!(
        block_on(p.finish_registration(
            &caller,
            begun.challenge_id,
            None,
            &serde_json::json!({"id": "Y3JlZC0y"})
        )),
        Err(PasskeyError::Invalid)
    ));
}

#[test]
fn the_counter_must_move_forward_and_user_verification_skips_the_second_factor() {
    let w = world();
    w.register(&signed_in(&w.user), CREDENTIAL).unwrap();
    totp_on(&w.h.stores, w.user.id);
    assert!(matches!(
        w.sign_in(CREDENTIAL, 3, true),
        Ok(SignedIn::Session(_))
    ));
    // The same counter again (a clone or a replay), or a lower one.
    assert!(matches!(
        w.sign_in(CREDENTIAL, 3, true),
        Err(PasskeyError::Invalid)
    ));
    assert!(matches!(
        w.sign_in(CREDENTIAL, 2, true),
        Err(PasskeyError::Invalid)
    ));
    // Without user verification, TOTP is still asked.
    assert!(matches!(
        w.sign_in(CREDENTIAL, 4, false),
        Ok(SignedIn::MfaRequired(_))
    ));
    // An unknown credential.
    assert!(matches!(
        w.sign_in("b3RoZXI", 9, true),
        Err(PasskeyError::Invalid)
    ));
    // A locked account.
    let changes = UserChanges {
        locked: Some(true),
        ..UserChanges::default()
    };
    block_on(w.h.stores.users.update_fields(w.user.id, &changes)).unwrap();
    assert!(matches!(
        w.sign_in(CREDENTIAL, 5, true),
        Err(PasskeyError::Locked)
    ));
}

#[test]
fn the_last_way_to_sign_in_stays() {
    let w = world();
    let mut user = sample_user(2);
    user.password_hash = None;
    block_on(w.h.stores.users.create(&user)).unwrap();
    let caller = signed_in(&user);
    let p = w.passkeys();
    // Without a password: a recent sign-in is the re-ask.
    w.clock
        .set(caller.session().created_at + PASSKEY_REAUTH_WINDOW + Duration::seconds(1));
    assert!(matches!(
        block_on(p.begin_registration(&caller, None, None)),
        Err(PasskeyError::ReauthenticationRequired)
    ));
    w.clock
        .set(caller.session().created_at + PASSKEY_REAUTH_WINDOW);
    let begun = block_on(p.begin_registration(&caller, None, None)).unwrap();
    let first = block_on(p.finish_registration(
        &caller,
        begun.challenge_id,
        Some(PasskeyName::parse("Phone").unwrap()),
        &serde_json::json!({"id": CREDENTIAL}),
    ))
    .unwrap();
    assert!(matches!(
        block_on(p.remove(&caller, first.id)),
        Err(PasskeyError::LastWay)
    ));
    let begun = block_on(p.begin_registration(&caller, None, None)).unwrap();
    assert_eq!(begun.options["exclude"], 1);
    let second = block_on(p.finish_registration(
        &caller,
        begun.challenge_id,
        None,
        &serde_json::json!({"id": "Y3JlZC0y"}),
    ))
    .unwrap();
    block_on(p.remove(&caller, first.id)).unwrap();
    assert!(matches!(
        block_on(p.remove(&caller, second.id)),
        Err(PasskeyError::LastWay)
    ));
    assert!(matches!(
        block_on(p.remove(&caller, first.id)),
        Err(PasskeyError::NotFound)
    ));
    // A password is another way: then the last passkey may go.
    let changes = UserChanges {
        password_hash: Some(Some(PasswordHash::new("hashed:new"))),
        ..UserChanges::default()
    };
    block_on(w.h.stores.users.update_fields(user.id, &changes)).unwrap();
    let mut with_password = user.clone();
    with_password.password_hash = Some(PasswordHash::new("hashed:new"));
    block_on(p.remove(&signed_in(&with_password), second.id)).unwrap();
    assert!(
        block_on(w.h.stores.passkeys.list_for_user(user.id))
            .unwrap()
            .is_empty()
    );
}
