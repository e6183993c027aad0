//! Unit tests of the second factor over in-memory factors and tokens.

use std::sync::{Arc, Mutex};

use futures::executor::block_on;

use super::*;
use crate::kernel::principal::testing::signed_in;
use crate::test_support::*;
use crate::*;
use crate::{Authentication, SignInError, SignInRequest, SignedIn};
use crate::{MockOneTimeTokenRepository, MockSessionRepository, MockUserRepository, PasswordHash};

fn user() -> User {
    let mut u = sample_user(1);
    u.password_hash = Some(PasswordHash::new("hashed:right password"));
    u
}

fn password(p: &str) -> Password {
    Password::for_sign_in(p).unwrap()
}

/// One-time tokens in a shared list (with their tries), as the port says.
fn memory_tokens() -> MockOneTimeTokenRepository {
    let all: Arc<Mutex<Vec<OneTimeToken>>> = Arc::default();
    let tries: Arc<Mutex<std::collections::HashMap<String, u32>>> = Arc::default();
    let mut tokens = MockOneTimeTokenRepository::new();
    let a = all.clone();
    tokens.expect_spend_try().returning(move |h, p, now| {
        let live = a
            .lock()
            .unwrap()
            .iter()
            .any(|t| &t.token_hash == h && t.purpose == p && t.expires_at > now);
        Ok(live.then(|| {
            let mut tries = tries.lock().unwrap();
            let n = tries.entry(h.as_str().to_owned()).or_default();
            *n += 1;
            *n
        }))
    });
    let a = all.clone();
    tokens.expect_insert().returning(move |t| {
        a.lock().unwrap().push(t.clone());
        Ok(())
    });
    let a = all.clone();
    tokens.expect_find().returning(move |h, p, now| {
        Ok(a.lock()
            .unwrap()
            .iter()
            .find(|t| &t.token_hash == h && t.purpose == p && t.expires_at > now)
            .cloned())
    });
    tokens.expect_consume().returning(move |h, p, now| {
        let mut list = all.lock().unwrap();
        let i = list
            .iter()
            .position(|t| &t.token_hash == h && t.purpose == p && t.expires_at > now);
        Ok(i.map(|i| list.remove(i)))
    });
    tokens
}

/// A harness whose token generator counts (distinct secrets and codes),
/// with the user, tokens and sessions in memory where a test needs them.
fn harness(sessions: bool) -> Harness {
    let mut h = Harness::new();
    let counter = std::sync::atomic::AtomicU8::new(1);
    let mut tokens = crate::MockTokenGenerator::new();
    tokens.expect_generate().returning(move || {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut bytes = [n; 32];
        bytes[0] = n.wrapping_mul(37);
        Token::from_bytes(bytes)
    });
    h.system.tokens = Arc::new(tokens);
    let mut users = MockUserRepository::new();
    users.expect_find_by_email().returning(|_| Ok(Some(user())));
    users.expect_get().returning(|_| Ok(Some(user())));
    users.expect_record_sign_in().returning(|_, _| Ok(()));
    users.expect_increment_failed_logins().returning(|_| Ok(1));
    h.stores.users = Arc::new(users);
    h.stores.one_time_tokens = Arc::new(memory_tokens());
    if sessions {
        let mut s = MockSessionRepository::new();
        s.expect_create().returning(|_| Ok(()));
        s.expect_add_refresh_token().returning(|_| Ok(()));
        h.stores.sessions = Arc::new(s);
    }
    h
}

struct Setup {
    mfa: MultiFactor,
    auth: Authentication,
    secret: Vec<u8>,
    backup: Vec<BackupCode>,
}

/// TOTP enrolled and confirmed for `user()` under `policy`.
fn enrolled(policy: AccountPolicy, sessions: bool) -> Setup {
    let h = harness(sessions);
    let mfa = MultiFactor::new(h.stores.clone(), h.system.clone(), policy.clone());
    let auth = Authentication::new(h.stores, h.system, policy);
    let enrolment =
        block_on(mfa.enrol(&signed_in(&user()), &password("right password"), None)).unwrap();
    assert!(enrolment.otpauth_uri.contains(&enrolment.secret));
    let secret = totp_rs::Secret::Encoded(enrolment.secret)
        .to_bytes()
        .unwrap();
    // Confirmed with the previous step's code, so that the current one is
    // still unused.
    let code = code(&secret, -1);
    let backup = block_on(mfa.confirm(&signed_in(&user()), &code, None)).unwrap();
    Setup {
        mfa,
        auth,
        secret,
        backup,
    }
}

/// The code of the step `offset` steps from T0's.
fn code(secret: &[u8], offset: i64) -> TotpCode {
    let step = totp::step_of(T0.unix_timestamp()) + offset;
    TotpCode::parse(&totp::code_at_step(secret, step)).unwrap()
}

fn challenge(s: &Setup) -> Token {
    let request = SignInRequest {
        login: "user1@example.org".into(),
        password: password("right password"),
        user_agent: None,
        ip: Some("10.0.0.1".into()),
    };
    match block_on(s.auth.sign_in(request)).unwrap() {
        SignedIn::MfaRequired(c) => {
            assert_eq!(c.expires_at, T0 + time::Duration::minutes(5));
            c.token
        }
        SignedIn::Session(_) => panic!("a session without the second factor"),
    }
}

fn second_step(s: &Setup, token: &Token, proof: MfaProof) -> Result<IssuedSession, MfaSignInError> {
    block_on(s.mfa.sign_in(
        &s.auth,
        MfaSignInRequest {
            token: token.clone(),
            proof,
            user_agent: None,
            ip: Some("10.0.0.1".into()),
        },
    ))
}

#[test]
fn a_user_with_totp_gets_a_challenge_and_no_session() {
    // The sessions mock has no expectations: opening one would panic.
    let s = enrolled(AccountPolicy::default(), false);
    let _ = challenge(&s);
    let status = block_on(s.mfa.status(user().id)).unwrap();
    assert_eq!(
        status,
        MfaStatus {
            totp: true,
            backup_codes_left: BACKUP_CODES
        }
    );
    let distinct: std::collections::HashSet<_> = s.backup.iter().map(BackupCode::display).collect();
    assert_eq!(distinct.len(), BACKUP_CODES);
}

#[test]
fn a_totp_code_is_accepted_once_and_a_backup_code_once() {
    let s = enrolled(AccountPolicy::default(), true);
    let now = code(&s.secret, 0);
    let token = challenge(&s);
    second_step(&s, &token, MfaProof::Totp(now.clone())).unwrap();
    // The token is spent with the sign-in it completed.
    assert!(matches!(
        second_step(&s, &token, MfaProof::Totp(now.clone())),
        Err(MfaSignInError::InvalidToken)
    ));
    // The same code in a new sign-in is a replay; so is the confirming one.
    let token = challenge(&s);
    assert!(matches!(
        second_step(&s, &token, MfaProof::Totp(now)),
        Err(MfaSignInError::WrongCode)
    ));
    assert!(matches!(
        second_step(&s, &token, MfaProof::Totp(code(&s.secret, -1))),
        Err(MfaSignInError::WrongCode)
    ));
    let backup = s.backup[3].clone();
    second_step(&s, &token, MfaProof::Backup(backup.clone())).unwrap();
    let token = challenge(&s);
    assert!(matches!(
        second_step(&s, &token, MfaProof::Backup(backup)),
        Err(MfaSignInError::WrongCode)
    ));
    // The next step's code still works (clock drift of one step).
    second_step(&s, &token, MfaProof::Totp(code(&s.secret, 1))).unwrap();
    let left = block_on(s.mfa.status(user().id)).unwrap().backup_codes_left;
    assert_eq!(left, BACKUP_CODES - 1);
}

#[test]
fn an_mfa_token_allows_five_codes() {
    let policy = AccountPolicy {
        settings: crate::LiveSettings::from_defaults(&crate::SettingDefaults {
            lockout_attempts: 50,
            ..crate::SettingDefaults::default()
        })
        .unwrap(),
        ..AccountPolicy::default()
    };
    let s = enrolled(policy, true);
    let token = challenge(&s);
    let wrong = TotpCode::parse("000000").unwrap();
    for _ in 0..5 {
        assert!(matches!(
            second_step(&s, &token, MfaProof::Totp(wrong.clone())),
            Err(MfaSignInError::WrongCode)
        ));
    }
    assert!(matches!(
        second_step(&s, &token, MfaProof::Totp(code(&s.secret, 0))),
        Err(MfaSignInError::InvalidToken)
    ));
}

#[test]
fn wrong_codes_count_toward_the_lockout_and_a_right_password_does_not_reset_it() {
    let s = enrolled(AccountPolicy::default(), true);
    let kept = challenge(&s);
    let wrong = MfaProof::Totp(TotpCode::parse("000000").unwrap());
    let mut guesses = 0;
    // Signing in again with the right password must not buy new tries.
    for _ in 0..10 {
        let Some(token) = challenge_or_locked(&s) else {
            break;
        };
        guesses += 1;
        match second_step(&s, &token, wrong.clone()) {
            Err(MfaSignInError::WrongCode) => {}
            Err(MfaSignInError::LockedOut { .. }) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        (1..=5).contains(&guesses),
        "{guesses} codes guessed before the lockout"
    );
    // Locked out: even the right code is not looked at now.
    assert!(matches!(
        second_step(&s, &kept, MfaProof::Totp(code(&s.secret, 0))),
        Err(MfaSignInError::LockedOut { .. })
    ));
}

/// The password step while the account may be locked out.
fn challenge_or_locked(s: &Setup) -> Option<Token> {
    let request = SignInRequest {
        login: "user1@example.org".into(),
        password: password("right password"),
        user_agent: None,
        ip: Some("10.0.0.1".into()),
    };
    match block_on(s.auth.sign_in(request)) {
        Ok(SignedIn::MfaRequired(c)) => Some(c.token),
        Err(SignInError::LockedOut { .. }) => None,
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn changes_need_the_password_and_a_code() {
    let s = enrolled(AccountPolicy::default(), true);
    let u = user();
    let now = MfaProof::Totp(code(&s.secret, 0));
    assert!(matches!(
        block_on(
            s.mfa
                .enrol(&signed_in(&u), &password("right password"), None)
        ),
        Err(EnrolError::AlreadyEnabled)
    ));
    assert!(matches!(
        block_on(
            s.mfa
                .disable(&signed_in(&u), &password("wrong password"), &now, None)
        ),
        Err(ChangeMfaError::WrongPassword)
    ));
    let fresh = block_on(s.mfa.regenerate_backup_codes(
        &signed_in(&u),
        &password("right password"),
        &now,
        None,
    ))
    .unwrap();
    assert_eq!(fresh.len(), BACKUP_CODES);
    // The old set is void, the code of this step spent.
    let old = MfaProof::Backup(s.backup[0].clone());
    assert!(matches!(
        block_on(
            s.mfa
                .disable(&signed_in(&u), &password("right password"), &old, None)
        ),
        Err(ChangeMfaError::WrongCode)
    ));
    assert!(matches!(
        block_on(
            s.mfa
                .disable(&signed_in(&u), &password("right password"), &now, None)
        ),
        Err(ChangeMfaError::WrongCode)
    ));
    let new = MfaProof::Backup(fresh[0].clone());
    block_on(
        s.mfa
            .disable(&signed_in(&u), &password("right password"), &new, None),
    )
    .unwrap();
    assert!(!block_on(s.mfa.status(u.id)).unwrap().totp);
    // Without TOTP the password alone signs in again.
    let request = SignInRequest {
        login: "user1@example.org".into(),
        password: password("right password"),
        user_agent: None,
        ip: None,
    };
    assert!(matches!(
        block_on(s.auth.sign_in(request)).unwrap(),
        SignedIn::Session(_)
    ));
}

#[test]
fn a_secret_sealed_for_another_user_does_not_open() {
    let s = enrolled(AccountPolicy::default(), true);
    let mut other = user();
    other.id = UserId::from_uuid(uuid::Uuid::from_u128(2));
    let mut factor = block_on(s.mfa.stores.mfa.get(user().id)).unwrap().unwrap();
    factor.user_id = other.id;
    assert!(s.mfa.matching_step(&factor, &code(&s.secret, 0)).is_err());
}

/// A guesser with the password (and a stolen session) cannot reset the
/// code count through the changes that ask for the password and a code:
/// the right password there must not clear what wrong codes counted.
#[test]
fn wrong_codes_in_changes_accumulate_whatever_the_password_did() {
    let s = enrolled(AccountPolicy::default(), true);
    let u = user();
    let wrong = MfaProof::Totp(TotpCode::parse("000000").unwrap());
    let right = password("right password");
    let mut outcomes = Vec::new();
    for i in 0..30 {
        let result = if i % 2 == 0 {
            block_on(
                s.mfa
                    .disable(&signed_in(&u), &right, &wrong, Some("10.0.0.9")),
            )
        } else {
            block_on(s.mfa.regenerate_backup_codes(
                &signed_in(&u),
                &right,
                &wrong,
                Some("10.0.0.9"),
            ))
            .map(drop)
        };
        // Enrolment checks the password too (and refuses: TOTP is on).
        let _ = block_on(s.mfa.enrol(&signed_in(&u), &right, Some("10.0.0.9")));
        match result {
            Err(ChangeMfaError::WrongCode) => outcomes.push("wrong"),
            Err(ChangeMfaError::LockedOut { .. }) => {
                outcomes.push("locked");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        outcomes.last(),
        Some(&"locked"),
        "30 codes guessed without a lockout: {outcomes:?}"
    );
    assert!(outcomes.len() <= 5, "{outcomes:?}");
}

/// An `mfa_token` allows five codes in its whole life, also when it spans
/// the boundary of an aligned rate-limit window.
#[test]
fn an_mfa_token_allows_five_codes_across_a_window_boundary() {
    let policy = AccountPolicy {
        settings: crate::LiveSettings::from_defaults(&crate::SettingDefaults {
            lockout_attempts: 50,
            ..crate::SettingDefaults::default()
        })
        .unwrap(),
        ..AccountPolicy::default()
    };
    let mut h = harness(true);
    // T0 is 12:00:00, a multiple of 300 seconds: start just before it.
    let clock = Arc::new(MovableClock(Mutex::new(T0 - time::Duration::seconds(20))));
    h.system.clock = clock.clone();
    let mfa = MultiFactor::new(h.stores.clone(), h.system.clone(), policy.clone());
    let auth = Authentication::new(h.stores, h.system, policy);
    block_on(mfa.enrol(&signed_in(&user()), &password("right password"), None)).unwrap();
    let s = {
        let factor = block_on(mfa.stores.mfa.get(user().id)).unwrap().unwrap();
        let secret = mfa
            .system
            .sealer
            .open(&context(user().id), &factor.secret)
            .unwrap();
        let step = totp::step_of(crate::Clock::now(&*clock).unix_timestamp()) - 1;
        let first = TotpCode::parse(&totp::code_at_step(&secret, step)).unwrap();
        let backup = block_on(mfa.confirm(&signed_in(&user()), &first, None)).unwrap();
        Setup {
            mfa,
            auth,
            secret,
            backup,
        }
    };
    let token = challenge_at(&s);
    let wrong = MfaProof::Totp(TotpCode::parse("000000").unwrap());
    let mut wrong_codes = 0;
    for i in 0..10 {
        if i == 3 {
            clock.set(T0 + time::Duration::seconds(5));
        }
        match second_step(&s, &token, wrong.clone()) {
            Err(MfaSignInError::WrongCode) => wrong_codes += 1,
            Err(MfaSignInError::InvalidToken) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(wrong_codes, 5, "codes tried on one mfa_token");
}

/// The password step at whatever the harness clock says.
fn challenge_at(s: &Setup) -> Token {
    let request = SignInRequest {
        login: "user1@example.org".into(),
        password: password("right password"),
        user_agent: None,
        ip: Some("10.0.0.1".into()),
    };
    match block_on(s.auth.sign_in(request)).unwrap() {
        SignedIn::MfaRequired(c) => c.token,
        SignedIn::Session(_) => panic!("a session without the second factor"),
    }
}
