//! The admin console in a real browser (headless Chromium over
//! WebDriver): an operator with two-step sign-in signs in, reads the
//! dashboard, finds a user, suspends and lifts, revokes a session, edits a
//! role and a plan, changes a setting and sees it take effect through the
//! API, reads the activity; text from users is shown as text; a user
//! without `console:access` is refused. Each page is saved under
//! `target/screenshots/console-*.png`.

use reqwest::Method;
use runtime::config::FlagConfig;
use serde_json::{Value, json};

use crate::browser::{Driver, Kind};
use crate::mfa::{enable_totp, totp_code};
use crate::support::*;

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    json_with(app.authed(Method::GET, path, token, None).await, 200).await
}

async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{what}: not seen through the API after 10 s");
}

async fn an_operator_runs_the_service_from_the_console(app: TestApp, kind: Kind) -> TestApp {
    let prefix = match kind {
        Kind::Chromium => "console",
        Kind::Firefox => "console-firefox",
    };
    let admin = app.admin_token().await;
    // The operator: an administrator with TOTP on.
    let (ops_token, ops_id) = app.signed_in_user("ops").await;
    let res = app
        .authed(
            Method::PUT,
            &format!("/v1/users/{ops_id}/roles/admin"),
            &admin,
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    let (secret, _) = enable_totp(&app, &ops_token).await;
    // A user to look after, with a hostile name and a session.
    let (sam_token, sam_id) = app.signed_in_user("sam").await;
    let res = app
        .authed(
            Method::PATCH,
            "/v1/me",
            &sam_token,
            Some(json!({"full_name": "<img src=x onerror=alert(1)>"})),
        )
        .await;
    assert_eq!(res.status(), 200);
    enable_totp(&app, &sam_token).await;

    // The dashboard's totals come from the roll-up (every second here).
    wait_for("rolled up", async || {
        get(&app, &admin, "/v1/stats").await["totals"]["users_total"] == 3
    })
    .await;

    let driver = Driver::start_for(kind).await;
    let b = driver.browser().await;
    b.open(&app.url("/admin")).await;
    b.fill("Email or username", "ops").await;
    b.fill("Password", USER_PASSWORD).await;
    b.screenshot(&format!("{prefix}-sign-in")).await;
    b.press("Sign in").await;
    b.fill("Authentication code", &totp_code(&secret, 1)).await;
    b.press("Sign in").await;

    // Dashboard: totals and four charts.
    b.wait_text("Active sessions").await;
    b.wait_text("Failed sign-ins").await;
    let charts = b
        .eval("return document.querySelectorAll('figure.chart svg rect').length;")
        .await;
    assert_eq!(charts, 4 * 30, "30 bars in each of the four charts");
    b.screenshot(&format!("{prefix}-dashboard")).await;
    if kind == Kind::Chromium {
        // Dark by the system's preference.
        b.prefer_dark(true).await;
        let background = b
            .eval("return getComputedStyle(document.body).backgroundColor;")
            .await;
        assert_eq!(background, "rgb(20, 23, 28)", "the dark palette");
        b.screenshot(&format!("{prefix}-dashboard-dark")).await;
        b.prefer_dark(false).await;
    }

    // Users: search, then the user's page.
    // Users: pages of 25 (with 23 more accounts, 26 in all).
    let now = time::OffsetDateTime::now_utc();
    for i in 0..23 {
        let user = domain::User::new_verified(
            domain::UserId::from_uuid(uuid::Uuid::now_v7()),
            domain::Email::parse(&format!("member{i:02}@example.org")).unwrap(),
            domain::Username::parse(&format!("member{i:02}")).unwrap(),
            domain::PasswordHash::new("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"),
            now,
        );
        app.stores.users.create(&user).await.unwrap();
    }
    b.follow("Users").await;
    b.wait_text("Next page").await;
    let rows = "return document.querySelectorAll('tbody tr').length;";
    assert_eq!(b.eval(rows).await, 25);
    b.press("Next page").await;
    b.wait_text("First page").await;
    assert_eq!(b.eval(rows).await, 1);
    b.press("First page").await;
    b.wait_text("Next page").await;
    b.fill("Search users", "sa").await;
    b.press("Search").await;
    for _ in 0..100 {
        let text = b.text().await;
        if text.contains("sam@example.org") && !text.contains("ops@example.org") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let text = b.text().await;
    assert!(
        text.contains("sam@example.org") && !text.contains("ops@example.org"),
        "filtered: {text}"
    );
    b.screenshot(&format!("{prefix}-users")).await;
    b.follow("sam@example.org").await;
    b.wait_text("Recent activity").await;
    // The hostile name is text, not markup.
    b.wait_text("<img src=x onerror=alert(1)>").await;
    assert_eq!(
        b.eval("return document.querySelectorAll('main img').length;")
            .await,
        0
    );
    b.screenshot(&format!("{prefix}-user")).await;

    // Reset two-step sign-in (on for sam: see above).
    b.wait_text("backup codes left").await;
    b.press("Reset two-step sign-in").await;
    b.press("Reset").await;
    wait_for("second factor reset", async || {
        get(&app, &admin, &format!("/v1/users/{sam_id}/mfa")).await["totp"] == false
    })
    .await;
    b.wait_text("Off.").await;

    // Suspend (a dialog, which Escape cancels), then lift.
    b.press("Suspend").await;
    b.labelled("Reason").await;
    b.keys("\u{E00C}").await;
    assert_eq!(
        b.eval("return document.querySelectorAll('dialog').length;")
            .await,
        0
    );
    let user_path = format!("/v1/users/{sam_id}");
    assert_eq!(
        get(&app, &admin, &user_path).await["status"],
        "active",
        "cancelled"
    );
    b.press("Suspend").await;
    b.fill("Reason", "Repeated spam reports").await;
    b.screenshot(&format!("{prefix}-suspend-dialog")).await;
    b.press("Confirm").await;
    b.wait_text("Lift suspension").await;
    assert_eq!(get(&app, &admin, &user_path).await["status"], "suspended");
    expect_problem(
        app.post(
            "/v1/sessions",
            json!({"login": "sam", "password": USER_PASSWORD}),
        )
        .await,
        403,
        "account-suspended",
    )
    .await;
    b.press("Lift suspension").await;
    b.press("Lift suspension").await; // the confirmation's button
    b.wait_text("Suspend").await;
    wait_for("lifted", async || {
        get(&app, &admin, &user_path).await["status"] == "active"
    })
    .await;

    // Revoke sam's session (a new one: suspending ended the first).
    let sam_token = app.sign_in("sam", USER_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    b.open(&app.url(&format!("/admin/users/{sam_id}"))).await;
    let revoke = b
        .wait_xpath("//button[starts-with(@aria-label, 'Revoke the session')]")
        .await;
    b.click_id(&revoke).await;
    b.press("Revoke").await;
    wait_for("revoked", async || {
        app.authed(Method::GET, "/v1/me", &sam_token, None)
            .await
            .status()
            == 401
    })
    .await;

    // Roles: create, then edit.
    b.follow("Roles").await;
    b.fill("Name", "support").await;
    b.fill("Description", "Answers users").await;
    b.fill("Permissions", "users:read").await;
    b.press("Create role").await;
    b.press("Edit the role support").await;
    b.fill("Permissions", "users:read stats:read").await;
    b.press("Save").await;
    wait_for("role edited", async || {
        let roles = get(&app, &admin, "/v1/roles").await;
        roles["items"].as_array().unwrap().iter().any(|r| {
            r["name"] == "support" && r["permissions"] == json!(["stats:read", "users:read"])
        })
    })
    .await;
    b.wait_text("stats:read").await;
    b.screenshot(&format!("{prefix}-roles")).await;

    // Plans: create, then edit.
    b.follow("Plans").await;
    b.fill("Name", "pro").await;
    b.fill("Display name", "Pro").await;
    b.fill("Daily limit", "1000").await;
    b.press("Create plan").await;
    b.press("Edit the plan pro").await;
    b.fill("Monthly limit", "20000").await;
    b.press("Save").await;
    wait_for("plan edited", async || {
        let plans = get(&app, &admin, "/v1/plans").await;
        plans["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "pro" && p["daily_limit"] == 1000 && p["monthly_limit"] == 20000)
    })
    .await;
    b.wait_text("20000").await;
    b.screenshot(&format!("{prefix}-plans")).await;

    // Settings: a bad value is named beside its field; a good one takes
    // effect through the API.
    b.follow("Settings").await;
    b.fill("password.min_length", "7").await;
    b.press("Save settings").await;
    b.wait_text("must be a whole number from 8 to 128").await;
    let beside = b
        .eval("return document.getElementById(document.querySelector('[name=\"password.min_length\"]').id + '-error').textContent;")
        .await;
    assert!(beside.as_str().unwrap().contains("8 to 128"), "{beside}");
    b.eval("document.querySelector('[name=\"password.min_length\"]').scrollIntoView({block: 'center'}); return 0;")
        .await;
    b.screenshot(&format!("{prefix}-settings-error")).await;
    b.fill("password.min_length", "14").await;
    let beta = b.labelled("features.beta").await;
    b.click_id(&beta).await;
    b.press("Save settings").await;
    b.wait_text("Saved").await;
    b.eval("window.scrollTo(0, 0); return 0;").await;
    b.screenshot(&format!("{prefix}-settings")).await;
    let features = json_with(
        app.client
            .get(app.url("/v1/features"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert_eq!(features["beta"], true);
    let problem = expect_problem(
        app.post(
            "/v1/registrations",
            json!({"email": "kim@example.org", "username": "kim", "password": "thirteen char"}),
        )
        .await,
        422,
        "validation",
    )
    .await;
    assert!(
        problem["errors"]["password"][0]
            .as_str()
            .unwrap()
            .contains("14")
    );

    // Activity: filtered by type.
    b.follow("Activity").await;
    b.choose("Type", "settings.changed").await;
    b.press("Filter").await;
    b.wait_text("password.min_length").await;
    b.screenshot(&format!("{prefix}-activity")).await;

    // Signing out, and a user without console:access.
    b.press("Sign out").await;
    b.fill("Email or username", "sam").await;
    b.fill("Password", USER_PASSWORD).await;
    b.press("Sign in").await;
    b.wait_text("You do not have access to the console").await;
    b.screenshot(&format!("{prefix}-refused")).await;
    let _ = ops_id;
    b.quit().await;
    app
}

fn journey_config(c: &mut runtime::config::Config) {
    c.features.insert("beta".into(), FlagConfig::Plain(false));
    c.jobs.enabled = true;
    c.jobs.stats_interval_secs = 1;
    c.jobs.purge_interval_secs = 3600;
    c.uploads.sweep_interval_secs = 3600;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_runs_the_service_from_the_console_in_chromium() {
    with_app(Engine::Sqlite, journey_config, |app| {
        an_operator_runs_the_service_from_the_console(app, Kind::Chromium)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_runs_the_service_from_the_console_in_firefox() {
    with_app(Engine::Sqlite, journey_config, |app| {
        an_operator_runs_the_service_from_the_console(app, Kind::Firefox)
    })
    .await;
}

/// The console's pages are one shell under a strict CSP; its files are
/// served; with `server.console = false` nothing is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_is_served_under_a_strict_policy_or_not_at_all() {
    with_app(
        Engine::Sqlite,
        |_| {},
        |app| async move {
            for path in [
                "/admin",
                "/admin/users",
                "/admin/settings",
                "/admin/console.js",
                "/admin/console.css",
            ] {
                let res = app.client.get(app.url(path)).send().await.unwrap();
                assert_eq!(res.status(), 200, "{path}");
            }
            let res = app
                .client
                .get(app.url("/admin/users/0b7d6f4e-9a51-4d6c-9d1e-0f5a2b3c4d5e"))
                .send()
                .await
                .unwrap();
            let csp = res.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .to_owned();
            for part in [
                "default-src 'none'",
                "script-src 'self'",
                "frame-ancestors 'none'",
                "connect-src 'self'",
            ] {
                assert!(csp.contains(part), "{csp}");
            }
            assert!(!csp.contains("unsafe"), "{csp}");
            assert_eq!(res.headers()["x-frame-options"], "DENY");
            app
        },
    )
    .await;
    with_app(
        Engine::Sqlite,
        |c| c.server.console = false,
        |app| async move {
            let res = app.client.get(app.url("/admin")).send().await.unwrap();
            assert_eq!(res.status(), 404);
            app
        },
    )
    .await;
}
