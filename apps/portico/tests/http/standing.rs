//! Suspending an account: at once every session of the user stops working
//! (on this instance and, through the change feed, on the others), every
//! way back in answers `account-suspended` with the reason and the end,
//! and the suspension lifts itself at its end or when an administrator
//! lifts it.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::on_every_engine;
use crate::support::*;

fn in_secs(secs: i64) -> String {
    (OffsetDateTime::now_utc() + time::Duration::seconds(secs))
        .replace_nanosecond(0)
        .unwrap()
        .format(&Rfc3339)
        .unwrap()
}

async fn suspend(app: &TestApp, admin: &str, id: &str, body: Value) -> reqwest::Response {
    app.authed(
        Method::POST,
        &format!("/v1/users/{id}/suspension"),
        admin,
        Some(body),
    )
    .await
}

async fn suspension_ends_sessions_and_answers_every_way_back(app: TestApp) -> TestApp {
    let user = app.register_user("sal", USER_PASSWORD).await;
    let id = user["id"].as_str().unwrap().to_owned();
    let tokens = app.sign_in("sal", USER_PASSWORD).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let admin = app.admin_token().await;
    let until = in_secs(3600);

    let res = suspend(
        &app,
        &admin,
        &id,
        json!({"reason": "Repeated spam reports", "until": until}),
    )
    .await;
    let body = json_with(res, 200).await;
    assert_eq!(body["suspension"]["reason"], "Repeated spam reports");
    assert_eq!(
        OffsetDateTime::parse(body["suspension"]["until"].as_str().unwrap(), &Rfc3339).unwrap(),
        OffsetDateTime::parse(&until, &Rfc3339).unwrap()
    );

    // At once: the token is refused, and every way back in is told why.
    let res = app.authed(Method::GET, "/v1/me", &access, None).await;
    expect_problem(res, 401, "unauthenticated").await;
    let res = app
        .post(
            "/v1/sessions",
            json!({"login": "sal", "password": USER_PASSWORD}),
        )
        .await;
    let problem = expect_problem(res, 403, "account-suspended").await;
    assert_eq!(problem["reason"], "Repeated spam reports");
    assert_eq!(
        OffsetDateTime::parse(problem["until"].as_str().unwrap(), &Rfc3339).unwrap(),
        OffsetDateTime::parse(&until, &Rfc3339).unwrap()
    );
    let res = app
        .post("/v1/sessions/refresh", json!({"refresh_token": refresh}))
        .await;
    let problem = expect_problem(res, 403, "account-suspended").await;
    assert_eq!(problem["reason"], "Repeated spam reports");
    // The wrong password learns nothing of it.
    let res = app
        .post(
            "/v1/sessions",
            json!({"login": "sal", "password": "not the password"}),
        )
        .await;
    expect_problem(res, 401, "invalid-credentials").await;

    // Lifted by an administrator: signing in works again.
    let res = app
        .authed(
            Method::DELETE,
            &format!("/v1/users/{id}/suspension"),
            &admin,
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    let res = app
        .authed(Method::GET, &format!("/v1/users/{id}"), &admin, None)
        .await;
    assert_eq!(json_with(res, 200).await["suspension"], Value::Null);
    app.sign_in("sal", USER_PASSWORD).await;

    // One with an end a few seconds away lifts itself then.
    let until = in_secs(5);
    let res = suspend(
        &app,
        &admin,
        &id,
        json!({"reason": "Cooling off", "until": until}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let res = app
        .post(
            "/v1/sessions",
            json!({"login": "sal", "password": USER_PASSWORD}),
        )
        .await;
    expect_problem(res, 403, "account-suspended").await;
    let left = OffsetDateTime::parse(&until, &Rfc3339).unwrap() - OffsetDateTime::now_utc();
    tokio::time::sleep(Duration::from_millis(
        u64::try_from(left.whole_milliseconds().max(0)).unwrap() + 300,
    ))
    .await;
    app.sign_in("sal", USER_PASSWORD).await;
    app
}
on_every_engine!(suspension_ends_sessions_and_answers_every_way_back);

/// Bad input, the caller's rights and oneself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspension_input_and_rights_are_checked_first() {
    with_app(
        Engine::Sqlite,
        |_| {},
        |app| async move {
            let (bob, _) = app.signed_in_user("bob").await;
            let user = app.register_user("tia", USER_PASSWORD).await;
            let id = user["id"].as_str().unwrap().to_owned();
            let admin = app.admin_token().await;
            // Without users:write: 403 before the body is looked at.
            let res = suspend(&app, &bob, &id, json!({"reason": ""})).await;
            expect_problem(res, 403, "forbidden").await;
            for (body, field) in [
                (json!({"reason": "   "}), "reason"),
                (json!({"reason": "a\nb"}), "reason"),
                (json!({"reason": "x".repeat(501)}), "reason"),
                (json!({"reason": "ok", "until": in_secs(-60)}), "until"),
                (json!({"reason": "ok", "until": "tomorrow"}), "body"),
                (json!({"reason": "ok", "note": "x"}), "note"),
            ] {
                let res = suspend(&app, &admin, &id, body.clone()).await;
                let problem = expect_problem(res, 422, "validation").await;
                assert!(problem["errors"][field].is_array(), "{body}: {problem}");
            }
            let res = suspend(
                &app,
                &admin,
                "00000000-0000-7000-8000-000000000000",
                json!({"reason": "r"}),
            )
            .await;
            expect_problem(res, 404, "not-found").await;
            // Oneself: 409.
            let me: Value = app
                .authed(Method::GET, "/v1/me", &admin, None)
                .await
                .json()
                .await
                .unwrap();
            let res = suspend(
                &app,
                &admin,
                me["id"].as_str().unwrap(),
                json!({"reason": "r"}),
            )
            .await;
            expect_problem(res, 409, "conflict").await;
            app
        },
    )
    .await;
}

/// Suspended through one instance, the token is refused on the other
/// (which had it cached) through the change feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspension_reaches_the_other_instance() {
    with_two_apps(
        Engine::Postgres,
        |c| c.security.principal_cache_ttl_ms = 600_000,
        |one, two| async move {
            let (cal, id) = one.signed_in_user("cal").await;
            let admin = one.admin_token().await;
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let me = two.authed(Method::GET, "/v1/me", &cal, None).await;
            assert_eq!(me.status(), 200, "cached on two");
            let res = suspend(&one, &admin, &id, json!({"reason": "Fraud"})).await;
            assert_eq!(res.status(), 200);
            let started = std::time::Instant::now();
            loop {
                let status = two.authed(Method::GET, "/v1/me", &cal, None).await.status();
                if status == 401 {
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "still {status} on the other instance"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            eprintln!(
                "suspended on one: refused on two after {:?}",
                started.elapsed()
            );
            (one, two)
        },
    )
    .await;
}

/// A live stream of the suspended user ends, and delivers nothing created
/// after the suspension.
async fn a_stream_ends_with_the_suspension(app: TestApp) -> TestApp {
    use crate::notifications::{notify, read_until_end, stream};
    let (dee, dee_id) = app.signed_in_user("dee").await;
    let root = app.admin_token().await;
    let res = stream(&app, &dee, None).await;
    let suspended = suspend(&app, &root, &dee_id, json!({"reason": "Abuse"})).await;
    assert_eq!(suspended.status(), 200);
    notify(&app, &root, &dee_id, "after-suspension").await;
    let text = read_until_end(res, Duration::from_secs(15)).await;
    assert!(
        !text.contains("after-suspension"),
        "delivered after the suspension: {text}"
    );
    app
}
on_every_engine!(a_stream_ends_with_the_suspension);

/// An administrator lists a user's sessions and revokes one: its token is
/// refused at once, the other still works, the user's log names the
/// administrator; without the permissions, 403; an unknown session, 404.
async fn an_administrator_revokes_one_session(app: TestApp) -> TestApp {
    let admin = app.admin_token().await;
    let (first, id) = app.signed_in_user("sid").await;
    let second = app.sign_in("sid", USER_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .authed(
            Method::GET,
            &format!("/v1/users/{id}/sessions"),
            &second,
            None,
        )
        .await;
    expect_problem(res, 403, "forbidden").await;
    let list = json_with(
        app.authed(
            Method::GET,
            &format!("/v1/users/{id}/sessions"),
            &admin,
            None,
        )
        .await,
        200,
    )
    .await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    assert!(items.iter().all(|s| s["current"] == false));
    // Newest first: the second sign-in's session.
    let newest = items[0]["id"].as_str().unwrap().to_owned();
    let res = app
        .authed(
            Method::DELETE,
            &format!("/v1/users/{id}/sessions/{newest}"),
            &admin,
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    let res = app.authed(Method::GET, "/v1/me", &second, None).await;
    expect_problem(res, 401, "unauthenticated").await;
    let res = app.authed(Method::GET, "/v1/me", &first, None).await;
    assert_eq!(res.status(), 200);
    let res = app
        .authed(
            Method::DELETE,
            &format!("/v1/users/{id}/sessions/{newest}"),
            &admin,
            None,
        )
        .await;
    expect_problem(res, 404, "not-found").await;
    let log = json_with(
        app.authed(
            Method::GET,
            "/v1/me/activity?type=session.revoked",
            &first,
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(log["items"][0]["actor"]["kind"], "admin");
    assert_eq!(log["items"][0]["details"]["session_id"], newest.as_str());
    app
}

on_every_engine!(an_administrator_revokes_one_session);

/// An administrator sees when a user last signed in, and — once the usage
/// counters are flushed, off the request path — when the user was last
/// active.
async fn the_admin_sees_sign_in_and_activity_times(app: TestApp) -> TestApp {
    let admin = app.admin_token().await;
    let (tia, id) = app.signed_in_user("tia").await;
    let view = json_with(
        app.authed(Method::GET, &format!("/v1/users/{id}"), &admin, None)
            .await,
        200,
    )
    .await;
    assert!(view["last_sign_in_at"].is_string(), "{view}");
    assert_eq!(view["last_active_at"], Value::Null, "no request yet");
    let res = app.authed(Method::GET, "/v1/sessions", &tia, None).await;
    assert_eq!(res.status(), 200);
    let started = std::time::Instant::now();
    loop {
        let view = json_with(
            app.authed(Method::GET, &format!("/v1/users/{id}"), &admin, None)
                .await,
            200,
        )
        .await;
        if let Some(at) = view["last_active_at"].as_str() {
            let at = OffsetDateTime::parse(at, &Rfc3339).unwrap();
            assert_eq!(at.second(), 0, "the start of a minute");
            assert!(OffsetDateTime::now_utc() - at < time::Duration::minutes(2));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "last_active_at never written: {view}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let list = json_with(
        app.authed(Method::GET, "/v1/users?q=tia", &admin, None)
            .await,
        200,
    )
    .await;
    assert!(list["items"][0]["last_active_at"].is_string(), "{list}");
    assert!(list["items"][0]["last_sign_in_at"].is_string(), "{list}");
    app
}

on_every_engine!(the_admin_sees_sign_in_and_activity_times);

/// What the console's user page reads: a user's second factor, provider
/// links and usage, for `users:read` only, 404 for a user that is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_reads_a_users_second_factor_links_and_usage() {
    with_app(Engine::Sqlite, |_| {}, |app| async move {
        let admin = app.admin_token().await;
        let (sam, sam_id) = app.signed_in_user("sam").await;
        for _ in 0..3 {
            let res = app.authed(Method::GET, "/v1/me", &sam, None).await;
            assert_eq!(res.status(), 200);
        }
        let read = |path: String| {
            let (app, admin) = (&app, &admin);
            async move { json_with(app.authed(Method::GET, &path, admin, None).await, 200).await }
        };
        assert_eq!(
            read(format!("/v1/users/{sam_id}/mfa")).await,
            json!({"totp": false, "backup_codes_left": 0})
        );
        crate::mfa::enable_totp(&app, &sam).await;
        assert_eq!(read(format!("/v1/users/{sam_id}/mfa")).await["totp"], true);
        assert_eq!(
            read(format!("/v1/users/{sam_id}/providers")).await,
            json!({"items": []})
        );
        let usage = read(format!("/v1/users/{sam_id}/usage")).await;
        assert!(usage["last_day"].as_u64() >= Some(3), "{usage}");
        assert_eq!(usage["daily_limit"], Value::Null);
        // Others may not; nobody reads a user that is not.
        for what in ["mfa", "providers", "usage"] {
            expect_problem(
                app.authed(Method::GET, &format!("/v1/users/{sam_id}/{what}"), &sam, None)
                    .await,
                403,
                "forbidden",
            )
            .await;
            let nobody = uuid::Uuid::new_v4();
            expect_problem(
                app.authed(Method::GET, &format!("/v1/users/{nobody}/{what}"), &admin, None)
                    .await,
                404,
                "not-found",
            )
            .await;
        }
        app
    })
    .await;
}
