//! Email sign-in over the in-memory adapter: the mail's link and code,
//! single use across both, the wrong-code limit, expiry, the same answer
//! for unknown addresses, the second factor, and verification.

use std::sync::{Arc, Mutex};

use futures::executor::block_on;

use crate::test_support::*;
use crate::*;

struct World {
    h: Harness,
    clock: Arc<MovableClock>,
    user: User,
    mails: Arc<Mutex<Vec<Mail>>>,
    service: EmailSignIn,
    auth: Authentication,
    delivery: MailDelivery,
}

fn world() -> World {
    let (mut h, clock, user) = Harness::over_memory();
    // Fresh randomness per token: flows, codes and link secrets differ.
    let counter = std::sync::atomic::AtomicU8::new(1);
    let mut tokens = MockTokenGenerator::new();
    tokens.expect_generate().returning(move || {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut bytes = [n; 32];
        bytes[0] = n.wrapping_mul(37);
        Token::from_bytes(bytes)
    });
    h.system.tokens = Arc::new(tokens);
    let mails: Arc<Mutex<Vec<Mail>>> = Arc::default();
    let sent = mails.clone();
    let mut mailer = MockMailer::new();
    mailer.expect_send().returning(move |m| {
        sent.lock().unwrap().push(m.clone());
        Ok(())
    });
    h.system.mailer = Arc::new(mailer);
    let policy = AccountPolicy::default();
    World {
        service: EmailSignIn::new(
            h.stores.clone(),
            h.system.clone(),
            policy.clone(),
            vec!["https://app.example/done".to_owned()],
        ),
        auth: Authentication::new(h.stores.clone(), h.system.clone(), policy.clone()),
        delivery: MailDelivery::new(
            h.stores.clone(),
            h.system.clone(),
            policy,
            MailPolicy::default(),
        ),
        h,
        clock,
        user,
        mails,
    }
}

impl World {
    /// Asks for a sign-in for `email`, lets the worker run, and returns the
    /// flow id and the mail it sent (if any).
    fn ask(&self, email: &str) -> (Token, Option<(EmailLinkToken, EmailCode)>) {
        let before = self.mails.lock().unwrap().len();
        let flow = block_on(self.service.request(
            &Email::parse(email).unwrap(),
            Some("https://app.example/done".into()),
        ))
        .unwrap();
        block_on(self.delivery.deliver_due()).unwrap();
        let mails = self.mails.lock().unwrap();
        let mail = mails[before..].iter().find_map(|m| match m {
            Mail::SignIn { link, code, to, .. } => {
                assert_eq!(to.as_str(), email);
                Some((link.clone(), code.clone()))
            }
            _ => None,
        });
        (flow, mail)
    }

    fn verify(&self, proof: EmailProof) -> Result<SignedIn, EmailSignInError> {
        block_on(self.service.verify(
            &self.auth,
            EmailSignInRequest {
                proof,
                user_agent: None,
                ip: Some("192.0.2.1".into()),
            },
        ))
    }

    fn code(&self, flow: &Token, code: &EmailCode) -> Result<SignedIn, EmailSignInError> {
        self.verify(EmailProof::Code {
            flow: flow.clone(),
            code: code.clone(),
        })
    }
}

fn wrong(code: &EmailCode) -> EmailCode {
    let n: u32 = code.expose().parse().unwrap();
    EmailCode::parse(&format!("{:06}", (n + 1) % 1_000_000)).unwrap()
}

fn session(outcome: Result<SignedIn, EmailSignInError>) -> IssuedSession {
    match outcome {
        Ok(SignedIn::Session(s)) => s,
        other => panic!("expected a session, got {other:?}"),
    }
}

fn invalid(outcome: Result<SignedIn, EmailSignInError>) {
    assert!(
        matches!(outcome, Err(EmailSignInError::InvalidToken)),
        "expected invalid-token, got {outcome:?}"
    );
}

#[test]
fn the_code_signs_in_once_and_voids_the_link() {
    let w = world();
    let (flow, mail) = w.ask("user1@example.org");
    let (link, code) = mail.expect("a mail with a link and a code");
    let issued = session(w.code(&flow, &code));
    assert_eq!(issued.session.user_id, w.user.id);
    invalid(w.code(&flow, &code));
    invalid(w.verify(EmailProof::Link(link)));
}

#[test]
fn the_link_signs_in_once_and_voids_the_code() {
    let w = world();
    let (flow, mail) = w.ask("user1@example.org");
    let (link, code) = mail.unwrap();
    session(w.verify(EmailProof::Link(link.clone())));
    invalid(w.verify(EmailProof::Link(link)));
    invalid(w.code(&flow, &code));
}

#[test]
fn a_code_or_link_proves_only_its_own_flow() {
    let w = world();
    let (flow_a, mail_a) = w.ask("user1@example.org");
    let (flow_b, mail_b) = w.ask("user1@example.org");
    let ((link_a, code_a), (link_b, _)) = (mail_a.unwrap(), mail_b.unwrap());
    assert_ne!(flow_a, flow_b);
    // Flow b's id with flow a's code, and a link stitched from both.
    invalid(w.code(&flow_b, &code_a));
    let stitched = format!("{}.{}", flow_b.expose(), &link_a.expose()[65..]);
    invalid(w.verify(EmailProof::Link(EmailLinkToken::parse(&stitched).unwrap())));
    // Each still works on its own.
    session(w.verify(EmailProof::Link(link_b)));
    session(w.code(&flow_a, &code_a));
}

#[test]
fn five_wrong_codes_void_the_flow_and_four_do_not() {
    let w = world();
    let (flow, mail) = w.ask("user1@example.org");
    let (link, code) = mail.unwrap();
    for _ in 0..4 {
        invalid(w.code(&flow, &wrong(&code)));
    }
    session(w.code(&flow, &code));

    let (flow, mail) = w.ask("user1@example.org");
    let (link2, code) = mail.unwrap();
    for _ in 0..5 {
        invalid(w.code(&flow, &wrong(&code)));
    }
    invalid(w.code(&flow, &code));
    invalid(w.verify(EmailProof::Link(link2)));
    drop(link);
}

#[test]
fn the_link_and_code_expire_after_ten_minutes() {
    let w = world();
    let (flow, mail) = w.ask("user1@example.org");
    let (link, code) = mail.unwrap();
    w.clock.set(T0 + EMAIL_SIGN_IN_TTL);
    invalid(w.code(&flow, &code));
    invalid(w.verify(EmailProof::Link(link)));
}

#[test]
fn an_unknown_address_gets_a_flow_id_and_no_mail_and_nothing_to_use() {
    let w = world();
    let (flow, mail) = w.ask("nobody@example.org");
    assert!(mail.is_none());
    assert!(w.mails.lock().unwrap().is_empty());
    assert_eq!(flow.expose().len(), 64);
    for n in 0..3 {
        invalid(w.code(&flow, &EmailCode::parse(&format!("00000{n}")).unwrap()));
    }
}

#[test]
fn the_worker_does_not_mail_a_request_that_expired_in_the_queue() {
    let w = world();
    block_on(
        w.service
            .request(&Email::parse("user1@example.org").unwrap(), None),
    )
    .unwrap();
    w.clock
        .set(T0 + EMAIL_SIGN_IN_TTL + time::Duration::seconds(1));
    block_on(w.delivery.deliver_due()).unwrap();
    assert!(w.mails.lock().unwrap().is_empty());
}

#[test]
fn a_redirect_off_the_allowlist_is_refused_before_anything_is_queued() {
    let w = world();
    let outcome = block_on(w.service.request(
        &Email::parse("user1@example.org").unwrap(),
        Some("https://evil.example/".into()),
    ));
    assert!(matches!(
        outcome,
        Err(RequestEmailSignInError::RedirectNotAllowed)
    ));
    assert_eq!(block_on(w.h.stores.mail_queue.count()).unwrap(), 0);
}

#[test]
fn the_second_factor_is_still_asked_when_totp_is_on() {
    let w = world();
    totp_on(&w.h.stores, w.user.id);
    let (flow, mail) = w.ask("user1@example.org");
    let (_, code) = mail.unwrap();
    assert!(matches!(w.code(&flow, &code), Ok(SignedIn::MfaRequired(_))));
    // The flow is spent: the code does not open a session on a second try.
    invalid(w.code(&flow, &code));
}

#[test]
fn a_locked_account_is_refused_and_an_unverified_one_becomes_verified() {
    let w = world();
    let set = |changes: UserChanges| {
        block_on(w.h.stores.users.update_fields(w.user.id, &changes)).unwrap();
    };
    set(UserChanges {
        locked: Some(true),
        ..UserChanges::default()
    });
    let (flow, mail) = w.ask("user1@example.org");
    let (_, code) = mail.unwrap();
    assert!(matches!(
        w.code(&flow, &code),
        Err(EmailSignInError::Locked)
    ));

    set(UserChanges {
        locked: Some(false),
        verified: Some(false),
        ..UserChanges::default()
    });
    // The refusal did not spend the flow.
    session(w.code(&flow, &code));
    let user = block_on(w.h.stores.users.get(w.user.id)).unwrap().unwrap();
    assert!(user.verified);
}

#[test]
fn codes_parse_as_typed_and_links_whole() {
    assert_eq!(EmailCode::parse(" 123 456 ").unwrap().expose(), "123456");
    for bad in ["12345", "1234567", "12a456", ""] {
        assert_eq!(EmailCode::parse(bad), Err(EmailProofError::Code));
    }
    let t = Token::from_bytes([1; 32]);
    let whole = format!("{}.{}", t.expose(), t.expose());
    assert_eq!(EmailLinkToken::parse(&whole).unwrap().expose(), whole);
    for bad in [
        t.expose().to_owned(),
        format!("{}.", t.expose()),
        "x.y".into(),
    ] {
        assert_eq!(EmailLinkToken::parse(&bad), Err(EmailProofError::Link));
    }
    assert_eq!(
        format!("{:?}", EmailCode::parse("123456").unwrap()),
        "EmailCode(***)"
    );
}

#[test]
fn turned_off_it_refuses_asking_and_finishing_also_for_mails_already_sent() {
    let w = world();
    let (flow, mail) = w.ask("user1@example.org");
    let (link, code) = mail.unwrap();
    let mut values = serde_json::Map::new();
    values.insert("mail.sign_in".into(), serde_json::Value::Bool(false));
    let live = LiveSettings::from_defaults(&SettingDefaults::default()).unwrap();
    let settings = Settings::new(w.h.stores.clone(), w.h.system.clone(), live.clone());
    block_on(settings.change(
        &crate::kernel::principal::testing::principal(9, &["*"]),
        None,
        &values,
    ))
    .unwrap();
    let off = EmailSignIn::new(
        w.h.stores.clone(),
        w.h.system.clone(),
        AccountPolicy {
            settings: live,
            ..AccountPolicy::default()
        },
        Vec::new(),
    );
    assert!(matches!(
        block_on(off.request(&Email::parse("user1@example.org").unwrap(), None)),
        Err(RequestEmailSignInError::Off)
    ));
    let verify = |proof| {
        block_on(off.verify(
            &w.auth,
            EmailSignInRequest {
                proof,
                user_agent: None,
                ip: None,
            },
        ))
    };
    assert!(matches!(
        verify(EmailProof::Code {
            flow: flow.clone(),
            code: code.clone()
        }),
        Err(EmailSignInError::Off)
    ));
    assert!(matches!(
        verify(EmailProof::Link(link)),
        Err(EmailSignInError::Off)
    ));
    // The flow was not spent: where it is on, the code still works.
    session(w.code(&flow, &code));
}
