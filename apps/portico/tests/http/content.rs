//! Content sessions and messages over HTTP, on every engine.

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_every_engine;
use crate::support::{TestApp, expect_problem, json_with as json};

async fn content_sessions(app: TestApp) -> TestApp {
    let (ann, _) = app.signed_in_user("ann").await;
    let (bob, _) = app.signed_in_user("bob").await;
    let admin = app.admin_token().await;

    // Create, rename, list, make active.
    let s = json(
        app.authed(
            Method::POST,
            "/v1/content-sessions",
            &ann,
            Some(json!({"name": "draft"})),
        )
        .await,
        201,
    )
    .await;
    let id = s["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/content-sessions/{id}");
    assert_eq!(s["unread_messages"], false);
    let renamed = json(
        app.authed(Method::PATCH, &path, &ann, Some(json!({"name": "essay"})))
            .await,
        200,
    )
    .await;
    assert_eq!(renamed["name"], "essay");
    let list = json(
        app.authed(Method::GET, "/v1/content-sessions", &ann, None)
            .await,
        200,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["next_cursor"], Value::Null);
    let active = app
        .authed(
            Method::PUT,
            "/v1/me/active-content-session",
            &ann,
            Some(json!({"content_session_id": id})),
        )
        .await;
    assert_eq!(active.status(), 204);
    let me = json(app.authed(Method::GET, "/v1/me", &ann, None).await, 200).await;
    assert_eq!(me["active_content_session_id"], id.as_str());

    // Key/value data: put, replace, read, list, the value limit and the key quota.
    let data = format!("{path}/data");
    for (key, value) in [
        ("prefs", json!({"theme": "dark"})),
        ("prefs", json!({"theme": "light"})),
        ("draft", json!("text")),
    ] {
        let put = app
            .authed(Method::PUT, &format!("{data}/{key}"), &ann, Some(value))
            .await;
        assert_eq!(put.status(), 204);
    }
    let prefs = json(
        app.authed(Method::GET, &format!("{data}/prefs"), &ann, None)
            .await,
        200,
    )
    .await;
    assert_eq!(prefs, json!({"theme": "light"}));
    let all = json(app.authed(Method::GET, &data, &ann, None).await, 200).await;
    assert_eq!(
        all["data"],
        json!({"draft": "text", "prefs": {"theme": "light"}})
    );
    let big = "x".repeat(300);
    expect_problem(
        app.authed(Method::PUT, &format!("{data}/big"), &ann, Some(json!(big)))
            .await,
        413,
        "payload-too-large",
    )
    .await;
    expect_problem(
        app.authed(Method::PUT, &format!("{data}/third"), &ann, Some(json!(1)))
            .await,
        409,
        "limit-reached",
    )
    .await;
    let removed = app
        .authed(Method::DELETE, &format!("{data}/draft"), &ann, None)
        .await;
    assert_eq!(removed.status(), 204);
    expect_problem(
        app.authed(Method::GET, &format!("{data}/draft"), &ann, None)
            .await,
        404,
        "not-found",
    )
    .await;

    // Another user sees nothing of it: 404, never 403.
    for (method, p, body) in [
        (Method::GET, path.clone(), None),
        (Method::PATCH, path.clone(), Some(json!({"name": "mine"}))),
        (Method::DELETE, path.clone(), None),
        (Method::GET, format!("{data}/prefs"), None),
        (Method::PUT, format!("{data}/prefs"), Some(json!(1))),
        (Method::GET, format!("{path}/messages"), None),
        (
            Method::POST,
            format!("{path}/messages"),
            Some(json!({"content": "hi"})),
        ),
        (Method::POST, format!("{path}/read"), None),
    ] {
        expect_problem(app.authed(method, &p, &bob, body).await, 404, "not-found").await;
    }
    expect_problem(
        app.authed(
            Method::PUT,
            "/v1/me/active-content-session",
            &bob,
            Some(json!({"content_session_id": id})),
        )
        .await,
        404,
        "not-found",
    )
    .await;

    // Messages: the owner's own message leaves the session read; the
    // assistant's (posted by an administrator) marks it unread; replies
    // must point into the same session.
    let messages = format!("{path}/messages");
    let first = json(
        app.authed(
            Method::POST,
            &messages,
            &ann,
            Some(json!({"content": "Hello"})),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(first["sender"], "user");
    let read = json(app.authed(Method::GET, &path, &ann, None).await, 200).await;
    assert_eq!(read["unread_messages"], false);
    expect_problem(
        app.authed(
            Method::POST,
            &messages,
            &ann,
            Some(json!({"content": "Hi", "sender": "assistant"})),
        )
        .await,
        403,
        "forbidden",
    )
    .await;
    let reply = json(
        app.authed(
            Method::POST,
            &messages,
            &admin,
            Some(json!({"content": "Hi Ann", "sender": "assistant", "parent_id": first["id"]})),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(reply["sender"], "assistant");
    assert_eq!(reply["parent_id"], first["id"]);
    let unread = json(app.authed(Method::GET, &path, &ann, None).await, 200).await;
    assert_eq!(unread["unread_messages"], true);
    expect_problem(
        app.authed(
            Method::POST,
            &messages,
            &ann,
            Some(json!({"content": "x", "parent_id": "00000000-0000-7000-8000-000000000000"})),
        )
        .await,
        422,
        "validation",
    )
    .await;
    expect_problem(
        app.authed(
            Method::POST,
            &messages,
            &ann,
            Some(json!({"content": "  "})),
        )
        .await,
        422,
        "validation",
    )
    .await;
    let page = json(
        app.authed(Method::GET, &format!("{messages}?limit=1"), &ann, None)
            .await,
        200,
    )
    .await;
    assert_eq!(page["items"][0]["content"], "Hi Ann");
    let cursor = page["next_cursor"].as_str().unwrap();
    let older = json(
        app.authed(
            Method::GET,
            &format!("{messages}?limit=1&cursor={cursor}"),
            &ann,
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(older["items"][0]["content"], "Hello");
    assert_eq!(older["next_cursor"], Value::Null);
    let cleared = app
        .authed(Method::POST, &format!("{path}/read"), &ann, None)
        .await;
    assert_eq!(cleared.status(), 204);
    let after = json(app.authed(Method::GET, &path, &ann, None).await, 200).await;
    assert_eq!(after["unread_messages"], false);
    let msgs = json(app.authed(Method::GET, &messages, &ann, None).await, 200).await;
    assert!(
        msgs["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["read"] == true)
    );

    // Delete takes data and messages along and clears the active session.
    assert_eq!(
        app.authed(Method::DELETE, &path, &ann, None).await.status(),
        204
    );
    expect_problem(
        app.authed(Method::GET, &path, &ann, None).await,
        404,
        "not-found",
    )
    .await;
    let me = json(app.authed(Method::GET, "/v1/me", &ann, None).await, 200).await;
    assert_eq!(me["active_content_session_id"], Value::Null);
    app
}

on_every_engine!(content_sessions, |c: &mut portico::Config| {
    c.content.max_value_bytes = 256;
    c.content.max_keys = 2;
});

/// A name or message over its limit is a validation error on the field the
/// client sent, with the limit in the message.
async fn over_long_fields_are_named_in_the_error(app: TestApp) -> TestApp {
    let (ann, _) = app.signed_in_user("ann").await;
    let res = app
        .authed(
            Method::POST,
            "/v1/content-sessions",
            &ann,
            Some(json!({"name": "n".repeat(201)})),
        )
        .await;
    let body = json(res, 422).await;
    assert_eq!(
        body["errors"]["name"][0], "is longer than 200 characters",
        "{body}"
    );
    let s = json(
        app.authed(Method::POST, "/v1/content-sessions", &ann, None)
            .await,
        201,
    )
    .await;
    let messages = format!(
        "/v1/content-sessions/{}/messages",
        s["id"].as_str().unwrap()
    );
    let res = app
        .authed(
            Method::POST,
            &messages,
            &ann,
            Some(json!({"content": "m".repeat(31)})),
        )
        .await;
    let body = json(res, 422).await;
    assert_eq!(
        body["errors"]["content"][0], "is longer than 30 characters",
        "{body}"
    );
    app
}

on_every_engine!(
    over_long_fields_are_named_in_the_error,
    |c: &mut portico::Config| {
        c.content.max_message_chars = 30;
    }
);
