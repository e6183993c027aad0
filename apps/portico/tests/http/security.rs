//! Account security against an attacker: parallel guesses, lockout as a
//! denial of service, guesses through other password checks, tokens used
//! by the wrong user or after a password change, and spoofed client IPs.

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_every_engine;
use crate::support::{TestApp, USER_PASSWORD, expect_problem};

/// Signs in as `login` from `ip` (the tests play the one trusted proxy).
/// Waits until the next boundary of the lockout's fixed 15-minute windows
/// is at least 30 s away: attempts counted across a boundary start afresh
/// (the documented limit of aligned windows), which a slow store can make
/// a test's five attempts straddle.
async fn clear_of_a_window_boundary() {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let to_boundary = 900 - now.rem_euclid(900);
    if to_boundary < 30 {
        let wait = u64::try_from(to_boundary + 1).unwrap_or(1);
        tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    }
}

async fn sign_in_from(app: &TestApp, login: &str, password: &str, ip: &str) -> reqwest::Response {
    app.client
        .post(app.url("/v1/sessions"))
        .header("X-Forwarded-For", ip)
        .json(&json!({"login": login, "password": password}))
        .send()
        .await
        .unwrap()
}

/// 40 wrong passwords at once: the attempts are reserved before hashing,
/// so exactly 4 are answered 401 and the 5th and every later one 423.
/// Before, all 40 were verified (32 answered 401).
async fn parallel_guesses_are_counted_before_they_are_verified(app: TestApp) -> TestApp {
    app.register_user("ann", USER_PASSWORD).await;
    let guesses = (0..40).map(|n| {
        app.client
            .post(app.url("/v1/sessions"))
            .json(&json!({"login": "ann", "password": format!("guess number {n}")}))
            .send()
    });
    let statuses: Vec<u16> = futures::future::join_all(guesses)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    let wrong = statuses.iter().filter(|s| **s == 401).count();
    let locked = statuses.iter().filter(|s| **s == 423).count();
    eprintln!("40 parallel guesses: {wrong} x 401, {locked} x 423");
    assert_eq!((wrong, locked), (4, 36), "{statuses:?}");
    app
}
on_every_engine!(parallel_guesses_are_counted_before_they_are_verified, |c| {
    c.rate_limits.ip_per_minute = 0;
});

async fn a_lockout_holds_one_address_not_the_owner(app: TestApp) -> TestApp {
    app.register_user("bob", USER_PASSWORD).await;
    clear_of_a_window_boundary().await;
    let attacker = "203.0.113.9";
    for _ in 0..4 {
        let res = sign_in_from(&app, "bob", "wrong password", attacker).await;
        expect_problem(res, 401, "invalid-credentials").await;
    }
    let res = sign_in_from(&app, "bob", "wrong password", attacker).await;
    expect_problem(res, 423, "locked-out").await;
    let res = sign_in_from(&app, "bob", USER_PASSWORD, attacker).await;
    expect_problem(res, 423, "locked-out").await;
    // The owner, elsewhere, signs in; the session records the address the
    // proxy saw, not the one the client wrote into the header.
    let res = sign_in_from(&app, "bob", USER_PASSWORD, "6.6.6.6, 198.51.100.7").await;
    assert_eq!(res.status(), 201);
    let tokens: Value = res.json().await.unwrap();
    let token = tokens["access_token"].as_str().unwrap();
    let sessions: Value = app
        .authed(Method::GET, "/v1/sessions", token, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(sessions["items"][0]["ip"], "198.51.100.7", "{sessions}");
    // Unknown logins lock out exactly like known ones.
    clear_of_a_window_boundary().await;
    for _ in 0..4 {
        let res = sign_in_from(&app, "nobody", "wrong password", attacker).await;
        expect_problem(res, 401, "invalid-credentials").await;
    }
    let res = sign_in_from(&app, "nobody", "wrong password", attacker).await;
    expect_problem(res, 423, "locked-out").await;
    app
}
on_every_engine!(a_lockout_holds_one_address_not_the_owner, |c| {
    c.rate_limits.ip_per_minute = 0;
    c.server.trusted_proxies = portico::proxies::TrustedProxies::Count(1);
});

/// Without `trusted_proxies`, `X-Forwarded-For` is ignored: a client cannot
/// pick a new address to escape its lockout.
async fn a_client_cannot_pick_its_address(app: TestApp) -> TestApp {
    app.register_user("cyd", USER_PASSWORD).await;
    clear_of_a_window_boundary().await;
    for n in 0..5 {
        let _ = sign_in_from(&app, "cyd", "wrong password", &format!("192.0.2.{n}")).await;
    }
    let res = sign_in_from(&app, "cyd", USER_PASSWORD, "198.51.100.7").await;
    expect_problem(res, 423, "locked-out").await;
    app
}
on_every_engine!(a_client_cannot_pick_its_address, |c| {
    c.rate_limits.ip_per_minute = 0;
});

/// The current password of a change and the password of a deletion count
/// toward the same limit as sign-in (they were unlimited).
async fn other_password_checks_count_toward_the_lockout(app: TestApp) -> TestApp {
    let (token, _) = app.signed_in_user("dee").await;
    let change = |current: &str| json!({"password": {"current_password": current, "new_password": "a whole new password"}});
    for _ in 0..3 {
        let res = app
            .authed(Method::PATCH, "/v1/me", &token, Some(change("wrong guess")))
            .await;
        expect_problem(res, 403, "wrong-password").await;
    }
    let res = app
        .authed(
            Method::DELETE,
            "/v1/me",
            &token,
            Some(json!({"password": "wrong guess"})),
        )
        .await;
    expect_problem(res, 403, "wrong-password").await;
    let res = app
        .authed(
            Method::DELETE,
            "/v1/me",
            &token,
            Some(json!({"password": "wrong guess"})),
        )
        .await;
    expect_problem(res, 423, "locked-out").await;
    // Now even the right password is not checked.
    let res = app
        .authed(Method::PATCH, "/v1/me", &token, Some(change(USER_PASSWORD)))
        .await;
    expect_problem(res, 423, "locked-out").await;
    app
}
on_every_engine!(other_password_checks_count_toward_the_lockout);

/// A deletion token deletes only its own account, whoever sends it.
async fn a_deletion_token_works_only_for_its_owner(app: TestApp) -> TestApp {
    let (dan, _) = app.signed_in_user("dan").await;
    let (eve, _) = app.signed_in_user("eve").await;
    let res = app.authed(Method::DELETE, "/v1/me", &dan, None).await;
    assert_eq!(res.status(), 202);
    let dans_token = app.last_token("dan@example.org").await;
    let res = app
        .authed(
            Method::DELETE,
            "/v1/me",
            &eve,
            Some(json!({"token": dans_token})),
        )
        .await;
    expect_problem(res, 400, "invalid-token").await;
    assert_eq!(
        app.authed(Method::GET, "/v1/me", &dan, None).await.status(),
        200
    );
    assert_eq!(
        app.authed(Method::GET, "/v1/me", &eve, None).await.status(),
        200
    );
    app
}
on_every_engine!(a_deletion_token_works_only_for_its_owner);

/// A password change voids the reset links mailed before it.
async fn a_password_change_voids_outstanding_reset_tokens(app: TestApp) -> TestApp {
    let (token, _) = app.signed_in_user("fin").await;
    let res = app
        .post("/v1/password-resets", json!({"email": "fin@example.org"}))
        .await;
    assert_eq!(res.status(), 202);
    let reset = app.last_token("fin@example.org").await;
    let res = app
        .authed(
            Method::PATCH,
            "/v1/me",
            &token,
            Some(json!({"password": {"current_password": USER_PASSWORD, "new_password": "the changed password"}})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .post(
            "/v1/password-resets/confirm",
            json!({"token": reset, "new_password": "the attacker's password"}),
        )
        .await;
    expect_problem(res, 400, "invalid-token").await;
    app.sign_in("fin", "the changed password").await;
    app
}
on_every_engine!(a_password_change_voids_outstanding_reset_tokens);

/// The CSRF token is derived from the session: a value the client chose
/// (as cookie and header alike), or another session's, does not pass.
async fn a_csrf_token_is_bound_to_its_session(app: TestApp) -> TestApp {
    app.register_user("gia", USER_PASSWORD).await;
    let first = app.sign_in("gia", USER_PASSWORD).await;
    let second = app.sign_in("gia", USER_PASSWORD).await;
    let session = first["access_token"].as_str().unwrap();
    let patch = |cookie: String, csrf: String| {
        app.client
            .patch(app.url("/v1/me"))
            .header("Cookie", cookie)
            .header("X-CSRF-Token", csrf)
            .json(&json!({"bio": "changed"}))
            .send()
    };
    let chosen = "a value the attacker picked".to_owned();
    let res = patch(
        format!("portico_session={session}; portico_csrf={chosen}"),
        chosen,
    )
    .await
    .unwrap();
    expect_problem(res, 403, "csrf-failed").await;
    let others = second["csrf_token"].as_str().unwrap().to_owned();
    let res = patch(format!("portico_session={session}"), others)
        .await
        .unwrap();
    expect_problem(res, 403, "csrf-failed").await;
    let own = first["csrf_token"].as_str().unwrap().to_owned();
    let res = patch(format!("portico_session={session}"), own)
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app
}
on_every_engine!(a_csrf_token_is_bound_to_its_session);

/// `roles:write` is not admin: its holder cannot grant themselves `admin`,
/// take it from others, or create a role with more than they hold; the
/// last administrator cannot drop their own admin role.
async fn role_managers_cannot_escalate_and_admin_keeps_a_holder(app: TestApp) -> TestApp {
    let admin = app.admin_token().await;
    let (manager, manager_id) = app.signed_in_user("max").await;
    let res = app
        .authed(
            Method::POST,
            "/v1/roles",
            &admin,
            Some(json!({"name": "role-manager", "permissions": ["roles:write", "roles:read"]})),
        )
        .await;
    assert_eq!(res.status(), 201);
    let res = app
        .authed(
            Method::PUT,
            &format!("/v1/users/{manager_id}/roles/role-manager"),
            &admin,
            None,
        )
        .await;
    assert_eq!(res.status(), 204);

    let res = app
        .authed(
            Method::PUT,
            &format!("/v1/users/{manager_id}/roles/admin"),
            &manager,
            None,
        )
        .await;
    expect_problem(res, 403, "forbidden").await;
    let me: Value = app
        .authed(Method::GET, "/v1/me", &admin, None)
        .await
        .json()
        .await
        .unwrap();
    let admin_id = me["id"].as_str().unwrap().to_owned();
    let res = app
        .authed(
            Method::DELETE,
            &format!("/v1/users/{admin_id}/roles/admin"),
            &manager,
            None,
        )
        .await;
    expect_problem(res, 403, "forbidden").await;
    let res = app
        .authed(
            Method::POST,
            "/v1/roles",
            &manager,
            Some(json!({"name": "everything", "permissions": ["*"]})),
        )
        .await;
    expect_problem(res, 403, "forbidden").await;
    let res = app
        .authed(
            Method::PATCH,
            "/v1/roles/role-manager",
            &manager,
            Some(json!({"permissions": ["roles:write", "users:write"]})),
        )
        .await;
    expect_problem(res, 403, "forbidden").await;

    let res = app
        .authed(
            Method::DELETE,
            &format!("/v1/users/{admin_id}/roles/admin"),
            &admin,
            None,
        )
        .await;
    expect_problem(res, 409, "conflict").await;
    assert_eq!(
        app.authed(Method::GET, "/v1/roles", &admin, None)
            .await
            .status(),
        200,
        "still an administrator"
    );
    app
}
on_every_engine!(role_managers_cannot_escalate_and_admin_keeps_a_holder);

/// A sign-in storm on one hashing thread with a 10 ms bound on the wait
/// (a hash takes several times that):
/// each sign-in is answered 201 or at once 503 `overloaded` with
/// `Retry-After: 1`, never a 5xx of another kind and never a lockout (the
/// shed attempts give their guesses back). Before the bound was wired, the
/// storm queued for the thread and every request waited its turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_storm_is_shed_with_retry_after_not_queued() {
    crate::support::with_app(
        crate::support::Engine::Sqlite,
        |c| {
            c.rate_limits.ip_per_minute = 0;
            c.server.trusted_proxies = portico::proxies::TrustedProxies::Count(1);
            c.security.hash_concurrency = 1;
            c.security.hash_max_wait_ms = 10;
        },
        |app| async move {
            app.register_user("storm", USER_PASSWORD).await;
            // One address per attempt: neither the per-address nor the
            // account-wide lockout (50) can answer for the hasher.
            let storm = (0..30).map(|n| {
                let ip = format!("192.0.2.{n}");
                let app = &app;
                async move { sign_in_from(app, "storm", USER_PASSWORD, &ip).await }
            });
            let mut signed_in = 0;
            let mut shed = 0;
            for res in futures::future::join_all(storm).await {
                match res.status().as_u16() {
                    201 => signed_in += 1,
                    503 => {
                        assert_eq!(
                            res.headers()
                                .get("retry-after")
                                .and_then(|v| v.to_str().ok()),
                            Some("1")
                        );
                        expect_problem(res, 503, "overloaded").await;
                        shed += 1;
                    }
                    other => panic!("a storm sign-in answered {other}"),
                }
            }
            eprintln!(
                "30 parallel sign-ins on one hashing thread: {signed_in} x 201, {shed} x 503"
            );
            assert!(signed_in >= 1, "the thread served someone");
            assert!(shed >= 1, "the bound shed someone");
            // Once the storm is over, sign-in works (a 503 here could only
            // be a scheduling hiccup of a loaded machine: retried).
            let mut status = 0;
            for _ in 0..20 {
                status = sign_in_from(&app, "storm", USER_PASSWORD, "192.0.2.0")
                    .await
                    .status()
                    .as_u16();
                if status != 503 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            assert_eq!(status, 201);
            app
        },
    )
    .await;
}
