//! API keys over HTTP: made with a subset of the user's permissions and
//! shown once, acting as the user within them, refused for every
//! account-management operation, and ended at once by a revocation, a
//! lock or a suspension, here and on a second instance; their requests
//! count toward the user's quotas.

use reqwest::Method;
use serde_json::{Value, json};

use crate::instances::{long_ttl, me_status, refused_within, settle};
use crate::on_every_engine;
use crate::support::*;

async fn create(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.authed(Method::POST, "/v1/me/api-keys", token, Some(body))
        .await
}

async fn status(app: &TestApp, method: Method, path: &str, key: &str, body: Option<Value>) -> u16 {
    app.authed(method, path, key, body).await.status().as_u16()
}

async fn keys_act_within_their_permissions_and_never_manage_the_account(app: TestApp) -> TestApp {
    let admin = app.admin_token().await;
    let (user_token, user_id) = app.signed_in_user("max").await;

    // Made with what the maker holds; the key is shown once.
    let res = create(
        &app,
        &admin,
        json!({"name": "reports", "permissions": ["users:read"]}),
    )
    .await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    let made = json_with(res, 201).await;
    let key = made["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("pk_") && key.len() == 67, "{key}");
    assert_eq!(made["prefix"], &key[..11]);
    assert_eq!(made["permissions"], json!(["users:read"]));
    let res = create(
        &app,
        &user_token,
        json!({"name": "x", "permissions": ["users:read"]}),
    )
    .await;
    let problem = expect_problem(res, 422, "validation").await;
    assert!(problem["errors"]["permissions"].is_array(), "{problem}");
    for bad in [
        json!({"name": ""}),
        json!({"name": "x", "permissions": ["not a permission"]}),
        json!({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}),
    ] {
        let res = create(&app, &user_token, bad.clone()).await;
        expect_problem(res, 422, "validation").await;
    }

    // Within its permissions, as its user.
    assert_eq!(
        status(&app, Method::GET, "/v1/users", &key, None).await,
        200
    );
    let me = json_with(app.authed(Method::GET, "/v1/me", &key, None).await, 200).await;
    assert_eq!(me["username"], "root");
    assert_eq!(
        status(&app, Method::GET, "/v1/stats", &key, None).await,
        403
    );
    let res = app
        .authed(
            Method::PATCH,
            &format!("/v1/users/{user_id}"),
            &key,
            Some(json!({"locked": true})),
        )
        .await;
    expect_problem(res, 403, "forbidden").await;

    // Never account management, whatever the key holds.
    let all = json_with(
        create(&app, &admin, json!({"name": "everything"})).await,
        201,
    )
    .await;
    let all_key = all["key"].as_str().unwrap().to_owned();
    assert_eq!(
        status(&app, Method::GET, "/v1/stats", &all_key, None).await,
        200
    );
    let session = Value::from(uuid::Uuid::new_v4().to_string());
    for (method, path, body) in [
        (
            Method::PATCH,
            "/v1/me".to_owned(),
            Some(
                json!({"password": {"current_password": USER_PASSWORD, "new_password": "a new passphrase!"}}),
            ),
        ),
        (
            Method::POST,
            "/v1/me/mfa/totp".to_owned(),
            Some(json!({"password": USER_PASSWORD})),
        ),
        (
            Method::DELETE,
            "/v1/me/mfa/totp".to_owned(),
            Some(json!({"password": USER_PASSWORD, "code": "123456"})),
        ),
        (
            Method::DELETE,
            "/v1/me".to_owned(),
            Some(json!({"password": USER_PASSWORD})),
        ),
        (Method::DELETE, "/v1/me".to_owned(), None),
        (
            Method::POST,
            "/v1/me/api-keys".to_owned(),
            Some(json!({"name": "more"})),
        ),
        (Method::GET, "/v1/me/api-keys".to_owned(), None),
        (
            Method::DELETE,
            format!("/v1/me/api-keys/{}", made["id"].as_str().unwrap()),
            None,
        ),
        (Method::DELETE, "/v1/sessions/current".to_owned(), None),
        (
            Method::DELETE,
            format!("/v1/sessions/{}", session.as_str().unwrap()),
            None,
        ),
        (Method::DELETE, "/v1/me/providers/github".to_owned(), None),
    ] {
        let res = app.authed(method.clone(), &path, &all_key, body).await;
        assert_eq!(res.status(), 403, "{method} {path}");
        let problem = expect_problem(res, 403, "forbidden").await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains("API key"),
            "{method} {path}: {problem}"
        );
    }
    assert_eq!(
        status(&app, Method::GET, "/v1/me", &all_key, None).await,
        200,
        "still alive"
    );

    // Listed without the key, with its last use; an administrator sees them too.
    let list = json_with(
        app.authed(Method::GET, "/v1/me/api-keys", &admin, None)
            .await,
        200,
    )
    .await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|k| k.get("key").is_none()));
    assert_eq!(items[1]["name"], "reports");
    assert!(items[1]["last_used_at"].is_string(), "{list}");
    let admin_id = me["id"].as_str().unwrap();
    let seen = app
        .authed(
            Method::GET,
            &format!("/v1/users/{admin_id}/api-keys"),
            &admin,
            None,
        )
        .await;
    assert_eq!(
        json_with(seen, 200).await["items"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Revoked: refused at once.
    let res = app
        .authed(
            Method::DELETE,
            &format!("/v1/me/api-keys/{}", made["id"].as_str().unwrap()),
            &admin,
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(status(&app, Method::GET, "/v1/me", &key, None).await, 401);
    app
}
on_every_engine!(keys_act_within_their_permissions_and_never_manage_the_account);

async fn a_lock_a_suspension_and_revocation_end_keys_and_requests_count(app: TestApp) -> TestApp {
    let admin = app.admin_token().await;
    let (token, user_id) = app.signed_in_user("ned").await;
    let key = json_with(create(&app, &token, json!({"name": "script"})).await, 201).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let usage = |me: Value| me["usage"]["all_time"].as_u64().unwrap_or_default();
    let before = usage(json_with(app.authed(Method::GET, "/v1/me", &token, None).await, 200).await);
    for _ in 0..3 {
        assert_eq!(me_status(&app, &key).await, 200);
    }
    let after = usage(json_with(app.authed(Method::GET, "/v1/me", &token, None).await, 200).await);
    assert!(
        after >= before + 4,
        "key requests count toward the user's: {before} → {after}"
    );

    let user_path = format!("/v1/users/{user_id}");
    let patch = |body: Value| app.authed(Method::PATCH, &user_path, &admin, Some(body));
    assert_eq!(patch(json!({"locked": true})).await.status(), 200);
    assert_eq!(me_status(&app, &key).await, 401);
    assert_eq!(patch(json!({"locked": false})).await.status(), 200);
    assert_eq!(me_status(&app, &key).await, 200);
    let res = app
        .authed(
            Method::POST,
            &format!("/v1/users/{user_id}/suspension"),
            &admin,
            Some(json!({"reason": "Spam"})),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(me_status(&app, &key).await, 401);
    app
}
on_every_engine!(a_lock_a_suspension_and_revocation_end_keys_and_requests_count);

async fn a_revocation_reaches_the_other_instance(one: TestApp, two: TestApp) -> (TestApp, TestApp) {
    let (token, _) = one.signed_in_user("ona").await;
    let made = json_with(create(&one, &token, json!({"name": "both"})).await, 201).await;
    let key = made["key"].as_str().unwrap().to_owned();
    settle().await;
    assert_eq!(me_status(&two, &key).await, 200, "cached on two");
    let res = one
        .authed(
            Method::DELETE,
            &format!("/v1/me/api-keys/{}", made["id"].as_str().unwrap()),
            &token,
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(me_status(&one, &key).await, 401);
    let waited = refused_within(&two, &key, "a revoked API key").await;
    eprintln!("revoked on one: refused on two after {waited:?}");
    (one, two)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_is_refused_on_another_instance() {
    with_two_apps(
        Engine::Postgres,
        long_ttl,
        a_revocation_reaches_the_other_instance,
    )
    .await;
}
