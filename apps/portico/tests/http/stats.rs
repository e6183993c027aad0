//! Statistics over HTTP: what a day counts, the roll-up's totals, and the
//! report's rights and range.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use crate::support::*;

async fn stats(app: &TestApp, token: &str, query: &str) -> reqwest::Response {
    app.authed(Method::GET, &format!("/v1/stats{query}"), token, None)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_counts_sign_ins_requests_and_active_users_and_the_roll_up_adds_totals() {
    with_app(
        Engine::Sqlite,
        |c| {
            c.jobs.enabled = true;
            c.jobs.stats_interval_secs = 1;
            c.jobs.purge_interval_secs = 3600;
            c.uploads.sweep_interval_secs = 3600;
        },
        |app| async move {
            let (user, _) = app.signed_in_user("sam").await;
            let res = app
                .post(
                    "/v1/sessions",
                    serde_json::json!({"login": "sam", "password": "wrong password"}),
                )
                .await;
            assert_eq!(res.status(), 401);
            for _ in 0..3 {
                let res = app.authed(Method::GET, "/v1/me", &user, None).await;
                assert_eq!(res.status(), 200);
            }
            let admin = app.admin_token().await;
            expect_problem(stats(&app, &user, "").await, 403, "forbidden").await;
            // The usage counters reach the statistics with their flush, and
            // the roll-up runs every second here.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
            let report = loop {
                let report = json_with(stats(&app, &admin, "").await, 200).await;
                let today = &report["days"][29];
                if today["users_active"].as_u64() >= Some(1)
                    && report["totals"]["users_total"].as_u64() == Some(2)
                {
                    break report;
                }
                assert!(tokio::time::Instant::now() < deadline, "{report}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            };
            let days = report["days"].as_array().unwrap();
            assert_eq!(days.len(), 30, "the last 30 days by default");
            let today = &days[29];
            assert_eq!(
                today["users_new"], 2,
                "the bootstrap administrator and sam: {today}"
            );
            assert_eq!(today["sign_ins"], 2, "sam and the admin: {today}");
            assert_eq!(today["sign_in_failures"], 1);
            assert!(today["requests"].as_u64() >= Some(3), "{today}");
            assert_eq!(today["users_total"], 2);
            assert_eq!(report["totals"]["users_verified"], 2);
            assert_eq!(report["totals"]["users_suspended"], 0);
            assert!(report["totals"]["sessions_active"].as_u64() >= Some(2));
            assert_eq!(days[0]["users_total"], Value::Null, "no roll-up that day");
            assert_eq!(days[0]["sign_ins"], 0);
            app
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_range_is_checked_and_named() {
    with_app(
        Engine::Sqlite,
        |_| {},
        |app| async move {
            let admin = app.admin_token().await;
            let one = json_with(
                stats(&app, &admin, "?from=2026-01-01&to=2026-01-01").await,
                200,
            )
            .await;
            assert_eq!(one["days"].as_array().unwrap().len(), 1);
            assert_eq!(one["days"][0]["date"], "2026-01-01");
            let year = json_with(
                stats(&app, &admin, "?from=2024-01-01&to=2024-12-31").await,
                200,
            )
            .await;
            assert_eq!(year["days"].as_array().unwrap().len(), 366);
            for (query, field) in [
                ("?from=2024-01-01&to=2025-01-01", "to"),
                ("?from=2026-01-02&to=2026-01-01", "to"),
                ("?from=yesterday", "from"),
                ("?to=2026-13-01", "to"),
            ] {
                let body =
                    expect_problem(stats(&app, &admin, query).await, 422, "validation").await;
                assert!(body["errors"][field].is_array(), "{query}: {body}");
            }
            app
        },
    )
    .await;
}
