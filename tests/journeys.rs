//! Whole journeys through the domain services, over the SQL adapter on SQLite
//! (file) and PostgreSQL, with real argon2id hashing and OS-random tokens.

use std::panic::AssertUnwindSafe;

use adapter_sql::testing::TestDatabase;
use domain::*;
use futures::FutureExt;
use portico_tests::App;
use time::Duration;

async fn with_app<F, Fut>(db: TestDatabase, journey: F)
where
    F: FnOnce(App) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let app = App::new(db.store.stores()).await;
    let outcome = AssertUnwindSafe(journey(app)).catch_unwind().await;
    db.cleanup().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

macro_rules! on_every_backend {
    ($($journey:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $journey() {
                    super::with_app(adapter_sql::testing::TestDatabase::sqlite_file().await, super::$journey).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $journey() {
                    super::with_app(adapter_sql::testing::TestDatabase::postgres().await, super::$journey).await;
                }
            )*
        }
    };
}

on_every_backend!(
    register_verify_sign_in_refresh_and_reuse,
    lockout_after_repeated_failures_then_recovery,
    password_reset_revokes_every_session,
    concurrent_verification_makes_exactly_one_user,
    registering_a_taken_email_reveals_nothing,
    role_grant_flips_a_permission_check,
    export_contains_everything_and_deletion_removes_it,
    payment_retry_is_idempotent_and_success_notifies,
    upload_sweep_removes_expired_requests_and_dangling_objects,
);

async fn register_verify_sign_in_refresh_and_reuse(app: App) {
    let user = app
        .verified_user("Ann@Example.org", "ann", "correct horse battery")
        .await;
    assert!(user.verified);
    assert!(
        app.rbac
            .roles_of(user.id)
            .await
            .unwrap()
            .iter()
            .any(|r| r.name == RoleName::user())
    );
    // A verification token works once.
    let token = app.last_token("ann@example.org").await.unwrap();
    assert!(matches!(
        app.registration.verify(&token).await,
        Err(VerifyError::InvalidToken)
    ));

    let first = app
        .sign_in("ANN@example.org", "correct horse battery")
        .await
        .unwrap();
    let me = app.auth.authenticate(&first.access_token).await.unwrap();
    assert_eq!(me.user().id, user.id);
    assert_eq!(
        app.sign_in("ann", "correct horse battery")
            .await
            .unwrap()
            .session
            .user_id,
        user.id
    );

    app.clock.advance(Duration::minutes(5));
    let second = app.auth.refresh(&first.refresh_token).await.unwrap();
    assert_eq!(
        second.session.id, first.session.id,
        "refresh rotates within the session"
    );
    assert!(
        app.auth.authenticate(&first.access_token).await.is_err(),
        "old access token stops working"
    );
    app.auth.authenticate(&second.access_token).await.unwrap();

    // Replaying the first refresh token revokes the whole family.
    assert!(matches!(
        app.auth.refresh(&first.refresh_token).await,
        Err(RefreshError::Reused)
    ));
    assert!(matches!(
        app.auth.authenticate(&second.access_token).await,
        Err(AuthenticateError::Unauthenticated)
    ));
    assert!(matches!(
        app.auth.refresh(&second.refresh_token).await,
        Err(RefreshError::Invalid)
    ));

    let third = app.sign_in("ann", "correct horse battery").await.unwrap();
    let third_caller = app.auth.authenticate(&third.access_token).await.unwrap();
    app.auth
        .revoke_session(&third_caller, third.session.id)
        .await
        .unwrap();
    assert!(
        app.auth.authenticate(&third.access_token).await.is_err(),
        "signed out"
    );
}

async fn lockout_after_repeated_failures_then_recovery(app: App) {
    app.verified_user("bob@example.org", "bob", "bobs password!")
        .await;
    for attempt in 1..=4 {
        let err = app.sign_in("bob", "wrong password").await.unwrap_err();
        assert!(
            matches!(err, SignInError::InvalidCredentials),
            "attempt {attempt}: {err:?}"
        );
    }
    let err = app.sign_in("bob", "wrong password").await.unwrap_err();
    assert!(
        matches!(err, SignInError::LockedOut { .. }),
        "fifth failure locks: {err:?}"
    );
    let err = app.sign_in("bob", "bobs password!").await.unwrap_err();
    assert!(
        matches!(err, SignInError::LockedOut { .. }),
        "even the right password waits"
    );
    app.clock.advance(Duration::minutes(15));
    app.sign_in("bob", "bobs password!").await.unwrap();
    // Success reset the counter: four more failures do not lock.
    for _ in 1..=4 {
        assert!(matches!(
            app.sign_in("bob", "nope nope").await,
            Err(SignInError::InvalidCredentials)
        ));
    }
    // Unknown accounts look like wrong passwords.
    assert!(matches!(
        app.sign_in("nobody", "whatever").await,
        Err(SignInError::InvalidCredentials)
    ));
}

async fn password_reset_revokes_every_session(app: App) {
    let user = app
        .verified_user("cat@example.org", "cat", "first password")
        .await;
    let a = app.sign_in("cat", "first password").await.unwrap();
    let b = app.sign_in("cat", "first password").await.unwrap();
    app.passwords
        .request_reset(&Email::parse("CAT@example.org").unwrap())
        .await
        .unwrap();
    let token = app.last_token("cat@example.org").await.unwrap();
    let new_password = Password::new("second password").unwrap();
    app.passwords
        .confirm_reset(&token, &new_password)
        .await
        .unwrap();
    for s in [&a, &b] {
        assert!(app.auth.authenticate(&s.access_token).await.is_err());
    }
    assert!(matches!(
        app.passwords.confirm_reset(&token, &new_password).await,
        Err(ConfirmResetError::InvalidToken)
    ));
    assert!(app.sign_in("cat", "first password").await.is_err());
    assert_eq!(
        app.sign_in("cat", "second password")
            .await
            .unwrap()
            .session
            .user_id,
        user.id
    );
    // Unknown email: same answer, no mail.
    let sent = app.mail_count().await;
    app.passwords
        .request_reset(&Email::parse("ghost@example.org").unwrap())
        .await
        .unwrap();
    assert_eq!(app.mail_count().await, sent);
}

async fn concurrent_verification_makes_exactly_one_user(app: App) {
    let email = Email::parse("dan@example.org").unwrap();
    app.registration
        .register(
            email.clone(),
            Username::parse("dan").unwrap(),
            Password::new("dans password").unwrap(),
        )
        .await
        .unwrap();
    let token = app.last_token("dan@example.org").await.unwrap();
    let registration = app.registration.clone();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (registration, token) = (registration.clone(), token.clone());
            tokio::spawn(async move { registration.verify(&token).await })
        })
        .collect();
    let mut ok = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(_) => ok += 1,
            Err(VerifyError::InvalidToken) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert!(
        app.stores
            .users
            .find_by_email(&email)
            .await
            .unwrap()
            .is_some()
    );
}

async fn registering_a_taken_email_reveals_nothing(app: App) {
    app.verified_user("eve@example.org", "eve", "eves password")
        .await;
    let sent = app.mail_count().await;
    let again = app
        .registration
        .register(
            Email::parse("EVE@example.org").unwrap(),
            Username::parse("eve2").unwrap(),
            Password::new("another password").unwrap(),
        )
        .await;
    assert!(again.is_ok(), "same answer as a new registration");
    assert_eq!(app.mail_count().await, sent, "but nothing is sent");
    let taken = app
        .registration
        .register(
            Email::parse("new@example.org").unwrap(),
            Username::parse("eve").unwrap(),
            Password::new("another password").unwrap(),
        )
        .await;
    assert!(matches!(taken, Err(RegisterError::UsernameTaken)));
    assert!(
        !app.registration
            .username_available(&Username::parse("EVE").unwrap())
            .await
            .unwrap()
    );
}

async fn role_grant_flips_a_permission_check(app: App) {
    let user = app
        .verified_user("fay@example.org", "fay", "fays password")
        .await;
    let wanted = Permission::parse("notifications:create").unwrap();
    let fay = || app.principal("fay", "fays password");
    assert!(!fay().await.holds(&wanted));
    let notifier = RoleName::parse("notifier").unwrap();
    // Roles are managed by an administrator, who holds every permission.
    let root = app
        .verified_user("root@example.org", "root", "root password")
        .await;
    let root = app.admin(&root, "root password").await;
    app.rbac
        .create_role(
            &root,
            notifier.clone(),
            None,
            [Permission::parse("notifications:*").unwrap()].into(),
        )
        .await
        .unwrap();
    app.rbac.grant(&root, user.id, &notifier).await.unwrap();
    assert!(fay().await.holds(&wanted));
    app.rbac.revoke(&root, user.id, &notifier).await.unwrap();
    assert!(!fay().await.holds(&wanted));
    app.rbac
        .grant(&root, user.id, &RoleName::admin())
        .await
        .unwrap();
    assert!(fay().await.is_admin());
    assert!(matches!(
        app.rbac.delete_role(&root, &RoleName::admin()).await,
        Err(RoleError::BuiltIn)
    ));
}

async fn export_contains_everything_and_deletion_removes_it(app: App) {
    let gus = app
        .verified_user("gus@example.org", "gus", "gus password")
        .await;
    let hal = app
        .verified_user("hal@example.org", "hal", "hal password")
        .await;
    let gus_principal = app.principal("gus", "gus password").await;
    let actor = &gus_principal;
    let cs = app
        .content
        .create(actor, Some("notes".into()))
        .await
        .unwrap();
    app.content
        .put_data(
            actor,
            cs.id,
            &StorageKey::parse("k").unwrap(),
            &serde_json::json!({"a": 1}),
        )
        .await
        .unwrap();
    app.content
        .post(actor, cs.id, "hello".into(), None)
        .await
        .unwrap();
    app.content.set_active(actor, Some(cs.id)).await.unwrap();
    let ops = app
        .verified_user("ops@example.org", "ops", "ops password")
        .await;
    let ops = app.admin(&ops, "ops password").await;
    app.notifications
        .create(
            &ops,
            gus.id,
            NewNotification {
                kind: "hi".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (upload, _) = app
        .uploads
        .create(actor, None, "image/png", 10)
        .await
        .unwrap();
    app.objects
        .put(&upload.object_key, 10, "image/png", app.clock_now());
    let eur = Currency::parse("EUR").unwrap();
    let pay = NewPayment {
        amount: Money::new(500, eur).unwrap(),
        beneficiaries: vec![Beneficiary {
            user_id: hal.id,
            amount_minor: 500,
        }],
        description: None,
    };
    app.payments
        .create(actor, IdempotencyKey::parse("p1").unwrap(), pay)
        .await
        .unwrap();

    // Gus's one session is the one his principal came from.
    let export = app.profiles.export(gus.id).await.unwrap().unwrap();
    assert_eq!(export.user.active_content_session_id, Some(cs.id));
    assert_eq!(export.content_sessions.len(), 1);
    assert_eq!(export.content_sessions[0].messages.len(), 1);
    assert_eq!(export.content_sessions[0].data.len(), 1);
    assert_eq!(
        (
            export.notifications.len(),
            export.uploads.len(),
            export.payments.len()
        ),
        (1, 1, 1)
    );
    assert_eq!(export.sessions.len(), 1);
    assert!(export.roles.contains(&RoleName::user()));
    assert_eq!(export.user.password_hash, None);
    assert!(
        !format!("{export:?}").contains("argon2"),
        "the export never contains the password hash"
    );

    app.profiles
        .delete_with_password(
            &gus_principal,
            &Password::for_sign_in("gus password").unwrap(),
            None,
        )
        .await
        .unwrap();
    assert!(app.stores.users.get(gus.id).await.unwrap().is_none());
    assert!(app.stores.content.get(cs.id).await.unwrap().is_none());
    assert!(app.stores.uploads.get(upload.id).await.unwrap().is_none());
    assert!(
        !app.objects.contains(&upload.object_key),
        "the uploaded object is gone too"
    );
    assert!(app.sign_in("gus", "gus password").await.is_err());
    // The other party keeps the payment record.
    assert_eq!(
        app.payments
            .list(
                &app.principal("hal", "hal password").await,
                PageRequest::first(10)
            )
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}

async fn payment_retry_is_idempotent_and_success_notifies(app: App) {
    app.verified_user("ivy@example.org", "ivy", "ivy password")
        .await;
    let jo = app
        .verified_user("joe@example.org", "joe", "joe password")
        .await;
    let kim = app
        .verified_user("kim@example.org", "kim", "kim password")
        .await;
    let eur = Currency::parse("EUR").unwrap();
    let request = NewPayment {
        amount: Money::new(1000, eur).unwrap(),
        beneficiaries: vec![
            Beneficiary {
                user_id: jo.id,
                amount_minor: 667,
            },
            Beneficiary {
                user_id: kim.id,
                amount_minor: 333,
            },
        ],
        description: Some("split".into()),
    };
    let key = IdempotencyKey::parse("order-1").unwrap();
    let ivy_principal = app.principal("ivy", "ivy password").await;
    let handles: Vec<_> = (0..6)
        .map(|_| {
            let (payments, key, request) = (app.payments.clone(), key.clone(), request.clone());
            let by = ivy_principal.clone();
            tokio::spawn(async move { payments.create(&by, key, request).await.unwrap() })
        })
        .collect();
    let mut created = 0;
    let mut ids = std::collections::HashSet::new();
    for h in handles {
        let (payment, fresh) = h.await.unwrap();
        created += usize::from(fresh);
        ids.insert(payment.id);
    }
    assert_eq!((created, ids.len()), (1, 1), "six retries, one payment");
    let id = *ids.iter().next().unwrap();
    let mut other = request.clone();
    other.description = None;
    let reuse = app.payments.create(&ivy_principal, key, other).await;
    assert!(matches!(
        reuse,
        Err(CreatePaymentError::IdempotencyKeyReused)
    ));

    app.payments
        .apply_outcome(id, ProviderOutcome::Succeeded)
        .await
        .unwrap();
    app.payments
        .apply_outcome(id, ProviderOutcome::Succeeded)
        .await
        .unwrap();
    for who in [jo.id, kim.id] {
        let inbox = app
            .notifications
            .list(who, true, PageRequest::first(10))
            .await
            .unwrap();
        assert_eq!(
            inbox.items.len(),
            1,
            "exactly one notification despite the replay"
        );
        assert_eq!(inbox.items[0].kind, "payment_received");
    }
    let cancel = app.payments.cancel(&ivy_principal, id).await;
    assert!(matches!(
        cancel,
        Err(PaymentStatusError::InvalidTransition(
            PaymentStatus::Succeeded
        ))
    ));
}

async fn upload_sweep_removes_expired_requests_and_dangling_objects(app: App) {
    app.verified_user("lee@example.org", "lee", "lee password")
        .await;
    let lee = app.principal("lee", "lee password").await;
    let actor = &lee;
    let (done, _) = app
        .uploads
        .create(
            actor,
            Some(ObjectKey::parse("done.png").unwrap()),
            "image/png",
            100,
        )
        .await
        .unwrap();
    app.objects
        .put(&done.object_key, 80, "image/png", app.clock_now());
    app.uploads.complete(actor, done.id).await.unwrap();
    let (stale, _) = app
        .uploads
        .create(actor, None, "image/png", 100)
        .await
        .unwrap();
    app.objects
        .put(&stale.object_key, 50, "image/png", app.clock_now());
    let dangling = ObjectKey::parse("users/nobody/orphan.bin").unwrap();
    app.objects
        .put(&dangling, 5, "application/octet-stream", app.clock_now());

    app.clock.advance(Duration::hours(2));
    assert!(matches!(
        app.uploads.complete(actor, stale.id).await,
        Err(CompleteUploadError::Expired)
    ));
    let report = app.uploads.sweep().await.unwrap();
    assert_eq!(
        report,
        SweepReport {
            expired_requests: 1,
            dangling_objects: 1
        }
    );
    assert!(app.stores.uploads.get(stale.id).await.unwrap().is_none());
    assert!(!app.objects.contains(&stale.object_key) && !app.objects.contains(&dangling));
    assert!(
        app.objects.contains(&done.object_key),
        "completed uploads stay"
    );
    assert_eq!(
        app.uploads.sweep().await.unwrap(),
        SweepReport::default(),
        "a second sweep finds nothing"
    );
}

trait ClockNow {
    fn clock_now(&self) -> time::OffsetDateTime;
}

impl ClockNow for App {
    fn clock_now(&self) -> time::OffsetDateTime {
        use domain::Clock;
        self.clock.now()
    }
}
