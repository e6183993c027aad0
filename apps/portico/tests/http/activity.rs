//! The activity log over HTTP: the events the services write for the
//! user's and the administrators' actions, one's own list, everyone's with
//! `activity:read` and its filters, the export, and the one event an
//! account's deletion leaves.

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_every_engine;
use crate::support::*;

fn types(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    json_with(app.authed(Method::GET, path, token, None).await, 200).await
}

async fn the_activity_log_tells_what_happened_and_who_did_it(app: TestApp) -> TestApp {
    let admin = app.admin_token().await;
    let (bob, bob_id) = app.signed_in_user("bob").await;
    // A wrong password on an existing account.
    let res = app
        .post(
            "/v1/sessions",
            json!({"login": "bob", "password": "not the password"}),
        )
        .await;
    assert_eq!(res.status(), 401);
    let res = app
        .authed(
            Method::POST,
            &format!("/v1/users/{bob_id}/suspension"),
            &admin,
            Some(json!({"reason": "Spam"})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .authed(
            Method::DELETE,
            &format!("/v1/users/{bob_id}/suspension"),
            &admin,
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    let tokens = app.sign_in("bob", USER_PASSWORD).await;
    let bob2 = tokens["access_token"].as_str().unwrap().to_owned();
    let _ = bob;

    let mine = get(&app, &bob2, "/v1/me/activity").await;
    assert_eq!(
        types(&mine),
        [
            "sign_in.succeeded",
            "user.unsuspended",
            "user.suspended",
            "sign_in.failed",
            "sign_in.succeeded",
            "registration.verified",
        ],
        "{mine}"
    );
    let items = mine["items"].as_array().unwrap();
    assert_eq!(items[0]["details"]["method"], "password");
    assert_eq!(items[0]["actor"]["kind"], "user");
    assert_eq!(items[0]["actor"]["user_id"], bob_id.as_str());
    assert!(items[0]["ip"].is_string(), "{}", items[0]);
    assert_eq!(items[2]["actor"]["kind"], "admin");
    assert_eq!(items[2]["details"]["reason"], "Spam");
    assert_eq!(items[3]["details"]["reason"], "password");
    let only = get(&app, &bob2, "/v1/me/activity?type=sign_in.failed").await;
    assert_eq!(types(&only), ["sign_in.failed"]);
    let res = app
        .authed(Method::GET, "/v1/me/activity?type=nothing", &bob2, None)
        .await;
    let problem = expect_problem(res, 422, "validation").await;
    assert!(problem["errors"]["type"].is_array());

    // Everyone's: activity:read only.
    let res = app.authed(Method::GET, "/v1/activity", &bob2, None).await;
    expect_problem(res, 403, "forbidden").await;
    let admin_me = get(&app, &admin, "/v1/me").await;
    let admin_id = admin_me["id"].as_str().unwrap().to_owned();
    let by_admin = get(
        &app,
        &admin,
        &format!("/v1/activity?actor_id={admin_id}&user_id={bob_id}"),
    )
    .await;
    assert_eq!(types(&by_admin), ["user.unsuspended", "user.suspended"]);
    for (query, field) in [
        ("user_id=nope", "user_id"),
        ("actor_id=1", "actor_id"),
        ("type=x", "type"),
        ("from=yesterday", "from"),
        ("to=2026-13-01T00:00:00Z", "to"),
        ("limit=0", "limit"),
    ] {
        let res = app
            .authed(Method::GET, &format!("/v1/activity?{query}"), &admin, None)
            .await;
        let problem = expect_problem(res, 422, "validation").await;
        assert!(problem["errors"][field].is_array(), "{query}: {problem}");
    }
    let future = get(&app, &admin, "/v1/activity?from=2999-01-01T00:00:00Z").await;
    assert!(future["items"].as_array().unwrap().is_empty());

    // The export holds the own events.
    let export = get(&app, &bob2, "/v1/me/export").await;
    assert_eq!(export["activity"].as_array().unwrap().len(), 6);

    // Deleting the account leaves one event, with only the id.
    let res = app
        .authed(
            Method::DELETE,
            "/v1/me",
            &bob2,
            Some(json!({"password": USER_PASSWORD})),
        )
        .await;
    assert_eq!(res.status(), 204);
    let left = get(&app, &admin, &format!("/v1/activity?user_id={bob_id}")).await;
    assert_eq!(types(&left), ["account.deleted"], "{left}");
    let tombstone = &left["items"][0];
    assert_eq!(tombstone["details"], json!({}));
    assert!(tombstone.get("ip").is_none() && tombstone.get("device").is_none());
    app
}

on_every_engine!(the_activity_log_tells_what_happened_and_who_did_it);
