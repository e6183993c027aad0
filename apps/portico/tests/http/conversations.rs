//! Conversations between users over HTTP: direct and group, messages and
//! replies, read positions, notifications (live, also on another
//! instance), leaving, tombstones (by the sender, a moderator, and a
//! deleted account), blocks, the export, and bad input. The rate limit and
//! delivery to another instance are in `conversations_live.rs`.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{TestApp, USER_PASSWORD, expect_problem, json_with};

async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    app.authed(method, path, token, body).await
}

pub(crate) async fn start(app: &TestApp, token: &str, body: Value, status: u16) -> Value {
    json_with(
        call(app, Method::POST, "/v1/conversations", token, Some(body)).await,
        status,
    )
    .await
}

pub(crate) async fn post(
    app: &TestApp,
    token: &str,
    conversation: &str,
    body: Value,
) -> reqwest::Response {
    call(
        app,
        Method::POST,
        &format!("/v1/conversations/{conversation}/messages"),
        token,
        Some(body),
    )
    .await
}

pub(crate) async fn say(app: &TestApp, token: &str, conversation: &str, text: &str) -> Value {
    json_with(
        post(app, token, conversation, json!({"content": text})).await,
        201,
    )
    .await
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    json_with(call(app, Method::GET, path, token, None).await, 200).await
}

/// The caller's conversation `id` as their list shows it.
async fn listed(app: &TestApp, token: &str, id: &str) -> Value {
    let list = get(app, token, "/v1/conversations").await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

async fn conversations_journey(app: TestApp) -> TestApp {
    let (ann, ann_id) = app.signed_in_user("ann").await;
    let (bob, bob_id) = app.signed_in_user("bob").await;
    let (carl, carl_id) = app.signed_in_user("carl").await;
    let admin = app.admin_token().await;

    // A direct conversation; starting it again from either side returns it.
    let direct = start(&app, &ann, json!({"participant_ids": [bob_id]}), 201).await;
    let d = direct["id"].as_str().unwrap().to_owned();
    assert_eq!(direct["kind"], "direct");
    let names: Vec<&str> = direct["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["username"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"ann") && names.contains(&"bob"));
    let again = start(&app, &bob, json!({"participant_ids": [ann_id]}), 200).await;
    assert_eq!(again["id"], d.as_str());

    // Bad input is named; unknown users are 404.
    let unknown = uuid::Uuid::now_v7().to_string();
    for (body, field) in [
        (json!({"participant_ids": []}), "participant_ids"),
        (
            json!({"participant_ids": [bob_id, bob_id]}),
            "participant_ids",
        ),
        (json!({"participant_ids": [ann_id]}), "participant_ids"),
        (json!({"participant_ids": [bob_id], "title": "x"}), "title"),
        (
            json!({"participant_ids": [bob_id, carl_id], "title": " "}),
            "title",
        ),
        (
            json!({"participant_ids": [bob_id], "colour": "red"}),
            "colour",
        ),
    ] {
        let problem = expect_problem(
            call(&app, Method::POST, "/v1/conversations", &ann, Some(body)).await,
            422,
            "validation",
        )
        .await;
        assert!(problem["errors"].get(field).is_some(), "{problem}");
    }
    let problem = expect_problem(
        call(
            &app,
            Method::POST,
            "/v1/conversations",
            &ann,
            Some(json!({"participant_ids": [bob_id, unknown]})),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains(&unknown));

    // A group, renamed; a direct conversation has no title.
    let group = start(
        &app,
        &ann,
        json!({"participant_ids": [bob_id, carl_id], "title": "Trip"}),
        201,
    )
    .await;
    let g = group["id"].as_str().unwrap().to_owned();
    assert_eq!(group["kind"], "group");
    let renamed = json_with(
        call(
            &app,
            Method::PATCH,
            &format!("/v1/conversations/{g}"),
            &carl,
            Some(json!({"title": "Trip to Bern"})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(renamed["title"], "Trip to Bern");
    expect_problem(
        call(
            &app,
            Method::PATCH,
            &format!("/v1/conversations/{d}"),
            &ann,
            Some(json!({"title": "no"})),
        )
        .await,
        422,
        "validation",
    )
    .await;

    // Messages: bad content named; a reply must be in the same conversation.
    for bad in [json!(""), json!("bell\u{7}"), json!("x".repeat(10_001))] {
        let problem = expect_problem(
            post(&app, &ann, &d, json!({"content": bad})).await,
            422,
            "validation",
        )
        .await;
        assert!(problem["errors"].get("content").is_some(), "{problem}");
    }
    let in_group = say(&app, &ann, &g, "group hello").await;
    let problem = expect_problem(
        post(
            &app,
            &ann,
            &d,
            json!({"content": "re", "parent_id": in_group["id"]}),
        )
        .await,
        422,
        "validation",
    )
    .await;
    assert!(problem["errors"].get("parent_id").is_some(), "{problem}");
    let m1 = say(&app, &ann, &d, "hello bob\nline two\tand a tab").await;
    assert_eq!(m1["seq"], 1);
    let m2 = json_with(
        post(
            &app,
            &ann,
            &d,
            json!({"content": "are you there?", "parent_id": m1["id"]}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(m2["parent_id"], m1["id"]);

    // Outsiders learn nothing: 404 everywhere, as for an unknown id.
    for path in [
        format!("/v1/conversations/{d}"),
        format!("/v1/conversations/{d}/messages"),
        format!("/v1/conversations/{unknown}"),
    ] {
        expect_problem(
            call(&app, Method::GET, &path, &carl, None).await,
            404,
            "not-found",
        )
        .await;
    }
    expect_problem(
        post(&app, &carl, &d, json!({"content": "hi"})).await,
        404,
        "not-found",
    )
    .await;

    // Unread counts and read positions.
    let entry = listed(&app, &bob, &d).await;
    assert_eq!(entry["unread_count"], 2);
    assert_eq!(entry["last_message"]["content"], "are you there?");
    let list = get(&app, &bob, "/v1/conversations").await;
    assert_eq!(list["items"][0]["id"], d.as_str(), "most recent first");
    let read = call(
        &app,
        Method::POST,
        &format!("/v1/conversations/{d}/read"),
        &bob,
        Some(json!({"up_to": m1["id"]})),
    )
    .await;
    assert_eq!(read.status(), 204);
    assert_eq!(listed(&app, &bob, &d).await["unread_count"], 1);
    expect_problem(
        call(
            &app,
            Method::POST,
            &format!("/v1/conversations/{d}/read"),
            &bob,
            Some(json!({"up_to": in_group["id"]})),
        )
        .await,
        422,
        "validation",
    )
    .await;
    let page = get(
        &app,
        &ann,
        &format!("/v1/conversations/{d}/messages?limit=1"),
    )
    .await;
    assert_eq!(page["items"][0]["id"], m2["id"]);
    assert_eq!(page["items"][0]["read_by"], json!([]));
    let cursor = page["next_cursor"].as_str().unwrap();
    let page = get(
        &app,
        &ann,
        &format!("/v1/conversations/{d}/messages?limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(page["items"][0]["id"], m1["id"]);
    assert_eq!(page["items"][0]["read_by"], json!([bob_id]));
    assert_eq!(page["next_cursor"], Value::Null);

    // Bob was notified of each message, linking the conversation.
    let inbox = get(&app, &bob, "/v1/notifications").await;
    let for_d: Vec<&Value> = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["conversation_id"] == d.as_str())
        .collect();
    assert_eq!(for_d.len(), 2);
    assert!(for_d.iter().all(|n| n["type"] == "message"));
    assert_eq!(for_d[0]["message_id"], m2["id"]);

    // Removing: not someone else's message; the sender's own; a moderator's.
    let m2_path = format!(
        "/v1/conversations/{d}/messages/{}",
        m2["id"].as_str().unwrap()
    );
    let m1_path = format!(
        "/v1/conversations/{d}/messages/{}",
        m1["id"].as_str().unwrap()
    );
    expect_problem(
        call(&app, Method::DELETE, &m2_path, &bob, None).await,
        403,
        "forbidden",
    )
    .await;
    assert_eq!(
        call(&app, Method::DELETE, &m2_path, &ann, None)
            .await
            .status(),
        204
    );
    assert_eq!(
        call(&app, Method::DELETE, &m1_path, &admin, None)
            .await
            .status(),
        204
    );
    let page = get(&app, &bob, &format!("/v1/conversations/{d}/messages")).await;
    for m in page["items"].as_array().unwrap() {
        assert_eq!(m["deleted"], true);
        assert_eq!(m["content"], Value::Null);
    }
    let events = get(
        &app,
        &admin,
        &format!("/v1/activity?user_id={ann_id}&type=message.removed"),
    )
    .await;
    assert_eq!(events["items"].as_array().unwrap().len(), 1, "{events}");
    assert_eq!(events["items"][0]["details"]["message_id"], m1["id"]);

    // Leaving: the conversation stays for the others.
    let left = call(
        &app,
        Method::DELETE,
        &format!("/v1/conversations/{g}/participants/me"),
        &carl,
        None,
    )
    .await;
    assert_eq!(left.status(), 204);
    expect_problem(
        call(
            &app,
            Method::GET,
            &format!("/v1/conversations/{g}"),
            &carl,
            None,
        )
        .await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(
        get(&app, &ann, &format!("/v1/conversations/{g}")).await["participants"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Blocks: bob blocks ann.
    let blocked = call(
        &app,
        Method::PUT,
        &format!("/v1/me/blocks/{ann_id}"),
        &bob,
        None,
    )
    .await;
    assert_eq!(blocked.status(), 204);
    let blocks = get(&app, &bob, "/v1/me/blocks").await;
    assert_eq!(blocks["items"][0]["user_id"], ann_id.as_str());
    expect_problem(
        post(&app, &ann, &d, json!({"content": "hi?"})).await,
        403,
        "blocked",
    )
    .await;
    // A new conversation with bob is refused like one with nobody.
    expect_problem(
        call(
            &app,
            Method::POST,
            "/v1/conversations",
            &ann,
            Some(json!({"participant_ids": [carl_id, bob_id]})),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    // Bob may still write; a group is not a direct conversation.
    say(&app, &bob, &d, "please stop").await;
    say(&app, &ann, &g, "still here").await;
    for (path, status, kind) in [
        (format!("/v1/me/blocks/{bob_id}"), 422, "validation"),
        (format!("/v1/me/blocks/{unknown}"), 404, "not-found"),
    ] {
        expect_problem(
            call(&app, Method::PUT, &path, &bob, None).await,
            status,
            kind,
        )
        .await;
    }
    let unblocked = call(
        &app,
        Method::DELETE,
        &format!("/v1/me/blocks/{ann_id}"),
        &bob,
        None,
    )
    .await;
    assert_eq!(unblocked.status(), 204);
    expect_problem(
        call(
            &app,
            Method::DELETE,
            &format!("/v1/me/blocks/{ann_id}"),
            &bob,
            None,
        )
        .await,
        404,
        "not-found",
    )
    .await;
    say(&app, &ann, &d, "sorry").await;

    // The export holds the conversations and the messages sent.
    let export = get(&app, &ann, "/v1/me/export").await;
    assert_eq!(export["conversations"].as_array().unwrap().len(), 2);
    assert_eq!(export["sent_messages"].as_array().unwrap().len(), 5);

    // Bob deletes his account: his messages stay as tombstones, and he
    // leaves every conversation.
    let gone = call(
        &app,
        Method::DELETE,
        "/v1/me",
        &bob,
        Some(json!({"password": USER_PASSWORD})),
    )
    .await;
    assert_eq!(gone.status(), 204);
    let page = get(&app, &ann, &format!("/v1/conversations/{d}/messages")).await;
    let bobs: Vec<&Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["sender_id"] == bob_id.as_str())
        .collect();
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0]["deleted"], true);
    assert_eq!(page["items"][0]["content"], "sorry");
    let d_now = get(&app, &ann, &format!("/v1/conversations/{d}")).await;
    assert_eq!(d_now["participants"].as_array().unwrap().len(), 1);

    // Signed-in users only.
    let anonymous = app
        .client
        .get(app.url("/v1/conversations"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    app
}

crate::on_every_engine!(conversations_journey);
