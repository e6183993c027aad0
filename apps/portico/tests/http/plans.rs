//! Plans and quotas: plans as records (and the built-in default from
//! configuration), a user's plan with an end, the day and month quotas
//! enforced on every authenticated request (with the listed exceptions),
//! what `/v1/me` shows, and the admin list's search and filters.

use reqwest::Method;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::on_every_engine;
use crate::support::*;

async fn create_plan(app: &TestApp, admin: &str, body: Value) -> Value {
    let res = app
        .authed(Method::POST, "/v1/plans", admin, Some(body))
        .await;
    json_with(res, 201).await
}

async fn assign(app: &TestApp, admin: &str, id: &str, body: Value) -> reqwest::Response {
    app.authed(
        Method::PUT,
        &format!("/v1/users/{id}/plan"),
        admin,
        Some(body),
    )
    .await
}

async fn me(app: &TestApp, token: &str) -> Value {
    json_with(app.authed(Method::GET, "/v1/me", token, None).await, 200).await
}

/// A daily limit trips exactly at its limit on one instance: with a limit
/// of L, the L-th request of the day passes and the next answers 429
/// `quota-exceeded` with `Retry-After` and the `RateLimit-*` headers;
/// the listed exceptions stay open; another plan lifts it at once.
async fn a_daily_quota_trips_at_its_limit(app: TestApp) -> TestApp {
    let admin = app.admin_token().await;
    let (bob, bob_id) = app.signed_in_user("bob").await;
    create_plan(
        &app,
        &admin,
        json!({"name": "trial", "display_name": "Trial", "daily_limit": 12, "features": ["export"]}),
    )
    .await;
    let user = json_with(
        assign(&app, &admin, &bob_id, json!({"plan": "trial"})).await,
        200,
    )
    .await;
    assert_eq!(user["plan"]["name"], "trial");
    assert_eq!(user["plan"]["until"], Value::Null);

    let mine = me(&app, &bob).await;
    assert_eq!(mine["plan"]["name"], "trial");
    assert_eq!(mine["plan"]["features"], json!(["export"]));
    assert_eq!(mine["usage"]["daily_limit"], 12);
    assert_eq!(mine["usage"]["monthly_limit"], Value::Null);
    let used = mine["usage"]["last_day"].as_u64().unwrap();
    assert_eq!(mine["usage"]["last_month"].as_u64().unwrap(), used);
    let day_end =
        OffsetDateTime::parse(mine["usage"]["day_resets_at"].as_str().unwrap(), &Rfc3339).unwrap();
    assert_eq!(day_end.time(), time::Time::MIDNIGHT);
    assert!(used < 12);

    for i in used..12 {
        let res = app.authed(Method::GET, "/v1/sessions", &bob, None).await;
        assert_eq!(res.status(), 200, "request {} of 12", i + 1);
    }
    let res = app.authed(Method::GET, "/v1/sessions", &bob, None).await;
    let headers = res.headers().clone();
    let problem = expect_problem(res, 429, "quota-exceeded").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("12 requests per day"),
        "{problem}"
    );
    let retry: i64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    let to_midnight = (day_end - OffsetDateTime::now_utc()).whole_seconds();
    assert!((retry - to_midnight).abs() <= 2, "{retry} vs {to_midnight}");
    assert_eq!(
        headers["ratelimit-policy"].to_str().unwrap(),
        "\"day\";q=12;w=86400"
    );
    assert!(
        headers["ratelimit"]
            .to_str()
            .unwrap()
            .starts_with("\"day\";r=0;t="),
        "{headers:?}"
    );
    // Writes are refused too, and the count goes on.
    let res = app
        .authed(Method::PATCH, "/v1/me", &bob, Some(json!({"bio": "hi"})))
        .await;
    expect_problem(res, 429, "quota-exceeded").await;

    // The exceptions stay open: the own usage, the export.
    let mine = me(&app, &bob).await;
    assert!(mine["usage"]["last_day"].as_u64().unwrap() > 12);
    let res = app.authed(Method::GET, "/v1/me/export", &bob, None).await;
    assert_eq!(res.status(), 200);

    // Back on the default plan (unlimited here): open again at once.
    let user = json_with(
        assign(&app, &admin, &bob_id, json!({"plan": "free"})).await,
        200,
    )
    .await;
    assert_eq!(user["plan"], Value::Null);
    let res = app.authed(Method::GET, "/v1/sessions", &bob, None).await;
    assert_eq!(res.status(), 200);
    // A plan in use cannot go; an unused one can.
    let res = app
        .authed(Method::DELETE, "/v1/plans/trial", &admin, None)
        .await;
    assert_eq!(res.status(), 204);

    // Signing out stays open on a used-up plan.
    create_plan(
        &app,
        &admin,
        json!({"name": "none", "display_name": "Nothing", "monthly_limit": 0}),
    )
    .await;
    assign(&app, &admin, &bob_id, json!({"plan": "none"})).await;
    let res = app.authed(Method::GET, "/v1/sessions", &bob, None).await;
    let headers = res.headers().clone();
    expect_problem(res, 429, "quota-exceeded").await;
    assert!(
        headers["ratelimit-policy"]
            .to_str()
            .unwrap()
            .starts_with("\"month\";q=0;w="),
        "{headers:?}"
    );
    let res = app
        .authed(Method::DELETE, "/v1/plans/none", &admin, None)
        .await;
    expect_problem(res, 409, "conflict").await;
    let res = app
        .authed(Method::DELETE, "/v1/sessions/current", &bob, None)
        .await;
    assert_eq!(res.status(), 204);
    app
}

on_every_engine!(a_daily_quota_trips_at_its_limit);

/// Plans as records: anyone signed in lists them (the default first, its
/// limits and features from configuration); only `plans:write` changes
/// them; bad input is 422 naming the field; the default plan cannot be
/// changed or deleted; an assignment's end must be in the future and
/// sends the user back to the default plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_are_records_with_a_built_in_default() {
    with_app(
        Engine::Sqlite,
        |c| {
            c.plans.free_daily_limit = Some(1_000);
            c.plans.free_features = vec!["basic".into()];
        },
        |app| async move {
            let admin = app.admin_token().await;
            let (bob, bob_id) = app.signed_in_user("bob").await;
            let list = json_with(app.authed(Method::GET, "/v1/plans", &bob, None).await, 200).await;
            assert_eq!(
                list["items"],
                json!([{"name": "free", "display_name": "Free", "daily_limit": 1000,
                        "monthly_limit": null, "features": ["basic"]}])
            );
            let mine = me(&app, &bob).await;
            assert_eq!(mine["plan"]["name"], "free");
            assert_eq!(mine["usage"]["daily_limit"], 1000);

            let pro = json!({"name": "pro", "display_name": "Pro", "daily_limit": 5000,
                             "monthly_limit": 100000, "features": ["sso", "export", "sso"]});
            let res = app
                .authed(Method::POST, "/v1/plans", &bob, Some(pro.clone()))
                .await;
            expect_problem(res, 403, "forbidden").await;
            let created = create_plan(&app, &admin, pro.clone()).await;
            assert_eq!(created["features"], json!(["export", "sso"]));
            let res = app
                .authed(Method::POST, "/v1/plans", &admin, Some(pro))
                .await;
            expect_problem(res, 409, "already-exists").await;
            for (body, field) in [
                (json!({"name": "Pro Plan", "display_name": "x"}), "name"),
                (json!({"name": "", "display_name": "x"}), "name"),
                (json!({"name": "x", "display_name": "a\nb"}), "display_name"),
                (json!({"name": "x", "display_name": "x", "features": ["no spaces"]}), "features"),
                (json!({"name": "x", "display_name": "x", "daily_limit": -1}), "body"),
                (json!({"name": "x", "display_name": "x", "daily_limit": 1_000_000_000_000_001u64}), "daily_limit"),
                (json!({"name": "x", "display_name": "x", "price": 3}), "price"),
            ] {
                let res = app
                    .authed(Method::POST, "/v1/plans", &admin, Some(body.clone()))
                    .await;
                let problem = expect_problem(res, 422, "validation").await;
                assert!(problem["errors"][field].is_array(), "{body}: {problem}");
            }
            let res = app
                .authed(
                    Method::POST,
                    "/v1/plans",
                    &admin,
                    Some(json!({"name": "free", "display_name": "Mine"})),
                )
                .await;
            expect_problem(res, 409, "already-exists").await;

            let res = app
                .authed(
                    Method::PATCH,
                    "/v1/plans/pro",
                    &admin,
                    Some(json!({"daily_limit": null, "display_name": "Professional"})),
                )
                .await;
            let changed = json_with(res, 200).await;
            assert_eq!(changed["daily_limit"], Value::Null);
            assert_eq!(changed["monthly_limit"], 100000);
            assert_eq!(changed["display_name"], "Professional");
            for (method, path) in [(Method::PATCH, "/v1/plans/free"), (Method::DELETE, "/v1/plans/free")] {
                let body = (method == Method::PATCH).then(|| json!({"display_name": "X"}));
                let res = app.authed(method, path, &admin, body).await;
                expect_problem(res, 409, "conflict").await;
            }
            for path in ["/v1/plans/gold", "/v1/plans/NOT%20A%20NAME"] {
                let res = app.authed(Method::DELETE, path, &admin, None).await;
                expect_problem(res, 404, "not-found").await;
            }

            // Assignment: unknown plan 404, an end in the past 422, rights first.
            let res = assign(&app, &bob, &bob_id, json!({"plan": "pro"})).await;
            expect_problem(res, 403, "forbidden").await;
            let res = assign(&app, &admin, &bob_id, json!({"plan": "gold"})).await;
            expect_problem(res, 404, "not-found").await;
            let past = (OffsetDateTime::now_utc() - time::Duration::minutes(1))
                .format(&Rfc3339)
                .unwrap();
            let res = assign(&app, &admin, &bob_id, json!({"plan": "pro", "until": past})).await;
            let problem = expect_problem(res, 422, "validation").await;
            assert!(problem["errors"]["until"].is_array());
            let soon = (OffsetDateTime::now_utc() + time::Duration::seconds(2))
                .format(&Rfc3339)
                .unwrap();
            let user =
                json_with(assign(&app, &admin, &bob_id, json!({"plan": "pro", "until": soon})).await, 200)
                    .await;
            assert_eq!(user["plan"]["name"], "pro");
            let mine = me(&app, &bob).await;
            assert_eq!(mine["plan"]["display_name"], "Professional");
            assert_eq!(mine["plan"]["features"], json!(["export", "sso"]));
            // At its end the user is on the default plan again.
            tokio::time::sleep(std::time::Duration::from_millis(4500)).await;
            let mine = me(&app, &bob).await;
            assert_eq!(mine["plan"]["name"], "free");
            app
        },
    )
    .await;
}

/// The admin list searches by a prefix of the email or the username and
/// filters by standing and plan; each item carries its status and plan; a
/// filter that does not parse is 422 naming the parameter.
async fn the_admin_list_searches_and_filters(app: TestApp) -> TestApp {
    let admin = app.admin_token().await;
    let (_, ann) = app.signed_in_user("annika").await;
    let (_, ben) = app.signed_in_user("benno").await;
    let (_, cal) = app.signed_in_user("calla").await;
    create_plan(&app, &admin, json!({"name": "pro", "display_name": "Pro"})).await;
    assert_eq!(
        assign(&app, &admin, &ann, json!({"plan": "pro"}))
            .await
            .status(),
        200
    );
    let res = app
        .authed(
            Method::POST,
            &format!("/v1/users/{ben}/suspension"),
            &admin,
            Some(json!({"reason": "Spam"})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .authed(
            Method::PATCH,
            &format!("/v1/users/{cal}"),
            &admin,
            Some(json!({"locked": true})),
        )
        .await;
    assert_eq!(res.status(), 200);

    let ids = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let list = |query: &'static str| {
        let (app, admin) = (&app, &admin);
        async move {
            json_with(
                app.authed(Method::GET, &format!("/v1/users?{query}"), admin, None)
                    .await,
                200,
            )
            .await
        }
    };
    let page = list("q=ANN").await;
    assert_eq!(ids(&page), [ann.as_str()]);
    assert_eq!(page["items"][0]["plan"], "pro");
    assert_eq!(page["items"][0]["status"], "active");
    assert_eq!(
        ids(&list("q=benno%40").await),
        [ben.as_str()],
        "an email prefix"
    );
    assert_eq!(ids(&list("status=suspended").await), [ben.as_str()]);
    assert_eq!(
        list("status=suspended").await["items"][0]["status"],
        "suspended"
    );
    assert_eq!(ids(&list("status=locked").await), [cal.as_str()]);
    assert_eq!(ids(&list("plan=pro").await), [ann.as_str()]);
    let free = ids(&list("plan=free&q=b").await);
    assert_eq!(free, [ben.as_str()]);
    assert!(
        ids(&list("plan=free").await).len() >= 3,
        "the rest, the admin included"
    );
    assert!(ids(&list("status=active&plan=pro&q=c").await).is_empty());
    for (query, field) in [
        ("status=gone", "status"),
        ("plan=Not%20a%20plan", "plan"),
        ("limit=0", "limit"),
        ("cursor=x", "cursor"),
    ] {
        let res = app
            .authed(Method::GET, &format!("/v1/users?{query}"), &admin, None)
            .await;
        let problem = expect_problem(res, 422, "validation").await;
        assert!(problem["errors"][field].is_array(), "{query}: {problem}");
    }
    app
}

on_every_engine!(the_admin_list_searches_and_filters);

/// `quota.exceeded` is written once per window, however many requests the
/// used-up quota refuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_up_quota_is_logged_once() {
    with_app(
        Engine::Sqlite,
        |_| {},
        |app| async move {
            let admin = app.admin_token().await;
            let (bob, bob_id) = app.signed_in_user("bob").await;
            create_plan(
                &app,
                &admin,
                json!({"name": "tiny", "display_name": "Tiny", "daily_limit": 0}),
            )
            .await;
            assign(&app, &admin, &bob_id, json!({"plan": "tiny"})).await;
            for _ in 0..3 {
                let res = app.authed(Method::GET, "/v1/sessions", &bob, None).await;
                expect_problem(res, 429, "quota-exceeded").await;
            }
            let res = app
                .authed(
                    Method::GET,
                    &format!("/v1/activity?user_id={bob_id}&type=quota.exceeded"),
                    &admin,
                    None,
                )
                .await;
            let page = json_with(res, 200).await;
            let items = page["items"].as_array().unwrap();
            assert_eq!(items.len(), 1, "{page}");
            assert_eq!(items[0]["details"]["window"], "day");
            assert_eq!(items[0]["details"]["limit"], 0);
            assert_eq!(items[0]["actor"]["kind"], "system");
            app
        },
    )
    .await;
}
