//! Notifications over HTTP, and the live stream: on one instance, and across
//! two instances sharing one PostgreSQL database.

use std::time::Duration;

use futures::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

use crate::on_every_engine;
use crate::support::{TestApp, expect_problem, json_with as json};

async fn notifications(app: TestApp) -> TestApp {
    let (ann, ann_id) = app.signed_in_user("ann").await;
    let (bob, _) = app.signed_in_user("bob").await;
    let root = app.admin_token().await;
    let create = format!("/v1/users/{ann_id}/notifications");

    // Only holders of notifications:write create; the user must exist; expiry must be ahead.
    expect_problem(
        app.authed(Method::POST, &create, &bob, Some(json!({"type": "x"})))
            .await,
        403,
        "forbidden",
    )
    .await;
    expect_problem(
        app.authed(
            Method::POST,
            "/v1/users/00000000-0000-7000-8000-000000000000/notifications",
            &root,
            Some(json!({"type": "x"})),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    expect_problem(
        app.authed(
            Method::POST,
            &create,
            &root,
            Some(json!({"type": "x", "expires_at": "2000-01-01T00:00:00Z"})),
        )
        .await,
        422,
        "validation",
    )
    .await;
    let first = json(
        app.authed(
            Method::POST,
            &create,
            &root,
            Some(json!({"type": "task_done", "toast_message": "Done", "urgency": "high", "persistent": true})),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(
        (first["seen"].clone(), first["urgency"].clone()),
        (json!(false), json!("high"))
    );
    // Long enough for the checks below to run before it expires, also on a
    // loaded machine; the expiry check waits until it has passed.
    let expires_at = time::OffsetDateTime::now_utc() + time::Duration::seconds(8);
    let soon = expires_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let fleeting = json(
        app.authed(
            Method::POST,
            &create,
            &root,
            Some(json!({"type": "fleeting", "expires_at": soon})),
        )
        .await,
        201,
    )
    .await;
    let second = json(
        app.authed(
            Method::POST,
            &create,
            &root,
            Some(json!({"type": "second"})),
        )
        .await,
        201,
    )
    .await;

    let list = json(
        app.authed(Method::GET, "/v1/notifications", &ann, None)
            .await,
        200,
    )
    .await;
    let kinds: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["second", "fleeting", "task_done"]);

    // Another user cannot see, mark, answer or dismiss them: 404.
    let one = |id: &Value, tail: &str| format!("/v1/notifications/{}{tail}", id.as_str().unwrap());
    expect_problem(
        app.authed(Method::POST, &one(&first["id"], "/seen"), &bob, None)
            .await,
        404,
        "not-found",
    )
    .await;
    expect_problem(
        app.authed(
            Method::POST,
            &one(&first["id"], "/response"),
            &bob,
            Some(json!({"response_data": {}})),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    expect_problem(
        app.authed(Method::DELETE, &one(&first["id"], ""), &bob, None)
            .await,
        404,
        "not-found",
    )
    .await;
    let bobs = json(
        app.authed(Method::GET, "/v1/notifications", &bob, None)
            .await,
        200,
    )
    .await;
    assert_eq!(bobs["items"], json!([]));

    // Seen, unseen filter, response, seen-all, dismiss.
    assert_eq!(
        app.authed(Method::POST, &one(&first["id"], "/seen"), &ann, None)
            .await
            .status(),
        204
    );
    let unseen = json(
        app.authed(Method::GET, "/v1/notifications?unseen=true", &ann, None)
            .await,
        200,
    )
    .await;
    assert_eq!(unseen["items"].as_array().unwrap().len(), 2);
    let answered = json(
        app.authed(
            Method::POST,
            &one(&second["id"], "/response"),
            &ann,
            Some(json!({"response_data": {"choice": "yes"}})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(answered["response_data"], json!({"choice": "yes"}));
    expect_problem(
        app.authed(
            Method::POST,
            &one(&second["id"], "/response"),
            &ann,
            Some(json!({"response_data": [1]})),
        )
        .await,
        422,
        "validation",
    )
    .await;
    let all = json(
        app.authed(Method::POST, "/v1/notifications/seen", &ann, None)
            .await,
        200,
    )
    .await;
    assert_eq!(all["marked"], 2);
    assert_eq!(
        app.authed(Method::DELETE, &one(&second["id"], ""), &ann, None)
            .await
            .status(),
        204
    );
    expect_problem(
        app.authed(Method::POST, &one(&second["id"], "/seen"), &ann, None)
            .await,
        404,
        "not-found",
    )
    .await;

    // An expired notification is never returned, whatever the store's TTL monitor does.
    let left_to_live =
        expires_at - time::OffsetDateTime::now_utc() + time::Duration::milliseconds(200);
    tokio::time::sleep(Duration::try_from(left_to_live).unwrap_or_default()).await;
    let left = json(
        app.authed(Method::GET, "/v1/notifications", &ann, None)
            .await,
        200,
    )
    .await;
    let kinds: Vec<&str> = left["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["task_done"]);
    expect_problem(
        app.authed(Method::POST, &one(&fleeting["id"], "/seen"), &ann, None)
            .await,
        404,
        "not-found",
    )
    .await;
    app
}

on_every_engine!(notifications);

/// Reads SSE events from `res` until `n` notifications arrived (10 s at most).
pub(crate) async fn read_events(res: reqwest::Response, n: usize) -> Vec<(String, Value)> {
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut body = res.bytes_stream();
    let mut text = String::new();
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while events.len() < n {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} events within 10 s: {text}", events.len()))
            .expect("stream open")
            .expect("chunk");
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                    .map(str::to_owned)
            };
            if field("event").as_deref() == Some("notification") {
                let data: Value = serde_json::from_str(&field("data").unwrap()).unwrap();
                events.push((field("id").unwrap(), data));
            }
        }
    }
    events
}

pub(crate) async fn stream(
    app: &TestApp,
    token: &str,
    last_event_id: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .client
        .get(app.url("/v1/notifications/stream"))
        .bearer_auth(token);
    if let Some(id) = last_event_id {
        req = req.header("Last-Event-ID", id);
    }
    req.send().await.unwrap()
}

pub(crate) async fn notify(app: &TestApp, admin: &str, user: &str, kind: &str) -> Value {
    json(
        app.authed(
            Method::POST,
            &format!("/v1/users/{user}/notifications"),
            admin,
            Some(json!({"type": kind})),
        )
        .await,
        201,
    )
    .await
}

async fn live_stream(app: TestApp) -> TestApp {
    let (ann, ann_id) = app.signed_in_user("ann").await;
    let (_, bob_id) = app.signed_in_user("bob").await;
    let root = app.admin_token().await;
    let res = stream(&app, &ann, None).await;
    // Bob's notification must not reach Ann's stream; hers must, in order.
    notify(&app, &root, &bob_id, "for-bob").await;
    let a = notify(&app, &root, &ann_id, "one").await;
    let b = notify(&app, &root, &ann_id, "two").await;
    let events = read_events(res, 2).await;
    assert_eq!(events[0].0, a["id"].as_str().unwrap());
    assert_eq!(events[1].1["type"], "two");
    // Resuming after `one` replays `two`, then goes on live.
    let res = stream(&app, &ann, a["id"].as_str()).await;
    let c = notify(&app, &root, &ann_id, "three").await;
    let events = read_events(res, 2).await;
    let ids: Vec<&str> = events.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, [b["id"].as_str().unwrap(), c["id"].as_str().unwrap()]);
    expect_problem(
        app.client
            .get(app.url("/v1/notifications/stream"))
            .send()
            .await
            .unwrap(),
        401,
        "unauthenticated",
    )
    .await;
    app
}

on_every_engine!(live_stream);

/// Two server instances over one PostgreSQL database, each with its own
/// connection pool: a notification created through one reaches a stream
/// open on the other (LISTEN/NOTIFY).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_stream_crosses_instances_over_postgres() {
    crate::support::with_two_postgres_pools(|one, two| async move {
        let (ann, ann_id) = one.signed_in_user("ann").await;
        let root = two.admin_token().await;
        let res = stream(&one, &ann, None).await;
        let sent = notify(&two, &root, &ann_id, "from-the-other-instance").await;
        let events = read_events(res, 1).await;
        assert_eq!(events[0].0, sent["id"].as_str().unwrap());
        assert_eq!(events[0].1["type"], "from-the-other-instance");
        // Signing out through the other instance ends the stream on this one.
        let res = stream(&one, &ann, None).await;
        let signed_out = two
            .authed(Method::DELETE, "/v1/sessions/current", &ann, None)
            .await;
        assert_eq!(signed_out.status(), 204);
        read_until_end(res, Duration::from_secs(15)).await;
        (one, two)
    })
    .await;
}

/// Reads `res` until `event: end`; panics after `within`.
pub(crate) async fn read_until_end(res: reqwest::Response, within: Duration) -> String {
    assert_eq!(res.status(), 200);
    let mut body = res.bytes_stream();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, body.next()).await {
            Ok(Some(chunk)) => text.push_str(std::str::from_utf8(&chunk.expect("chunk")).unwrap()),
            Ok(None) => break,
            Err(_) => panic!("the stream did not end within {within:?}: {text}"),
        }
    }
    assert!(
        text.contains("event: end\ndata: {\"reason\":\"session-ended\"}"),
        "{text}"
    );
    text
}

/// An open stream ends (`event: end`) once its session is signed out or its
/// user is locked; before, it kept delivering.
async fn streams_end_with_their_session(app: TestApp) -> TestApp {
    let (ann, _) = app.signed_in_user("ann").await;
    let res = stream(&app, &ann, None).await;
    let signed_out = app
        .authed(Method::DELETE, "/v1/sessions/current", &ann, None)
        .await;
    assert_eq!(signed_out.status(), 204);
    read_until_end(res, Duration::from_secs(15)).await;

    let (bob, bob_id) = app.signed_in_user("bob").await;
    let root = app.admin_token().await;
    let res = stream(&app, &bob, None).await;
    let locked = app
        .authed(
            Method::PATCH,
            &format!("/v1/users/{bob_id}"),
            &root,
            Some(json!({"locked": true})),
        )
        .await;
    assert_eq!(locked.status(), 200);
    read_until_end(res, Duration::from_secs(15)).await;
    app
}

on_every_engine!(streams_end_with_their_session);

/// Reconnecting with `Last-Event-ID` right after the newest notification:
/// the polling feeds announce it (and older ones) again a moment later,
/// which the stream re-sent out of order. Only what comes after it arrives.
async fn resuming_never_repeats_the_last_event_or_older(app: TestApp) -> TestApp {
    let (ann, ann_id) = app.signed_in_user("ann").await;
    let root = app.admin_token().await;
    for kind in ["one", "two"] {
        notify(&app, &root, &ann_id, kind).await;
    }
    let newest = notify(&app, &root, &ann_id, "three").await;
    let res = stream(&app, &ann, newest["id"].as_str()).await;
    // Past the feeds' poll interval and look-back, so late announcements of
    // the three have gone out before the fourth.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let fourth = notify(&app, &root, &ann_id, "four").await;
    let events = read_events(res, 1).await;
    assert_eq!(events[0].0, fourth["id"].as_str().unwrap(), "{events:?}");
    app
}

on_every_engine!(resuming_never_repeats_the_last_event_or_older);
