//! Moving a deployment between stores: a SQLite server's records, dumped
//! while it serves, restored into PostgreSQL, MongoDB, and PostgreSQL with
//! Redis; the restored server answers every read the same, and the user
//! signs in with the old password and TOTP secret (the keyring file
//! travels with the dump).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use crate::mfa::{challenge, enable_totp, totp_code};
use crate::support::{
    ADMIN_USERNAME, Engine, TestApp, expect_problem, json_with, with_app, with_prepared_app,
};

struct RealClock;

impl domain::Clock for RealClock {
    fn now(&self) -> time::OffsetDateTime {
        domain::truncate_to_millis(time::OffsetDateTime::now_utc())
    }
}

/// What the source server holds, to read back on the target.
struct Source {
    ann_id: String,
    secret: String,
    /// API keys of ann and root: reads through them change nothing a view
    /// shows (a sign-in would add activity and move `last_sign_in_at`).
    ann_key: String,
    root_key: String,
    session_id: String,
}

async fn created(app: &TestApp, path: &str, token: &str, body: Value) -> Value {
    json_with(app.authed(Method::POST, path, token, Some(body)).await, 201).await
}

/// One of every kind the API can make, through the API.
async fn populate(app: &TestApp) -> Source {
    let root = app.admin_token().await;
    let (ann, ann_id) = app.signed_in_user("ann").await;
    let (_, bob_id) = app.signed_in_user("bob").await;
    let (secret, _codes) = enable_totp(app, &ann).await;
    created(
        app,
        "/v1/roles",
        &root,
        json!({"name": "support", "description": "Reads accounts", "permissions": ["users:read"]}),
    )
    .await;
    let res = app
        .authed(
            Method::PUT,
            &format!("/v1/users/{ann_id}/roles/support"),
            &root,
            None,
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    created(
        app,
        "/v1/plans",
        &root,
        json!({"name": "pro", "display_name": "Pro", "daily_limit": 1000, "features": ["export"]}),
    )
    .await;
    let session = created(app, "/v1/content-sessions", &ann, json!({"name": "draft"})).await;
    let session_id = session["id"].as_str().unwrap().to_owned();
    created(
        app,
        &format!("/v1/content-sessions/{session_id}/messages"),
        &ann,
        json!({"content": "hello «world»\twith a tab"}),
    )
    .await;
    let res = app
        .authed(
            Method::PUT,
            &format!("/v1/content-sessions/{session_id}/data/prefs"),
            &ann,
            Some(json!({"theme": "dark", "n": [1, 2]})),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    created(
        app,
        &format!("/v1/users/{ann_id}/notifications"),
        &root,
        json!({"type": "welcome", "toast_message": "Welcome"}),
    )
    .await;
    created(
        app,
        "/v1/uploads",
        &ann,
        json!({"content_type": "text/plain", "size": 10}),
    )
    .await;
    let res = app
        .client
        .post(app.url("/v1/payments"))
        .bearer_auth(&ann)
        .header("Idempotency-Key", "moving-1")
        .json(&json!({
            "amount": 1000, "currency": "EUR", "description": "dinner",
            "beneficiaries": [{"user_id": bob_id, "amount": 1000}],
        }))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let ann_key = created(app, "/v1/me/api-keys", &ann, json!({"name": "reads"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let root_key = created(app, "/v1/me/api-keys", &root, json!({"name": "reads"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    Source {
        ann_id,
        secret,
        ann_key,
        root_key,
        session_id,
    }
}

/// Drops what moves on every use (key and activity timestamps written off
/// the request path, and the request counters, which a dump does not
/// carry) from a view.
fn steady(mut view: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.remove("last_used_at");
                map.remove("last_active_at");
                // Usage counters do not travel (documented): they start
                // afresh on the new store.
                map.remove("usage");
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut view);
    view
}

/// Every read the move must keep, as `(path, body)`.
async fn views(app: &TestApp, source: &Source) -> Vec<(String, Value)> {
    let (ann, root, ann_id, session) = (
        &source.ann_key,
        &source.root_key,
        &source.ann_id,
        &source.session_id,
    );
    let reads = [
        (ann, "/v1/me".to_owned()),
        (ann, "/v1/content-sessions".to_owned()),
        (ann, format!("/v1/content-sessions/{session}")),
        (ann, format!("/v1/content-sessions/{session}/messages")),
        (ann, format!("/v1/content-sessions/{session}/data")),
        (ann, "/v1/notifications".to_owned()),
        (ann, "/v1/uploads".to_owned()),
        (ann, "/v1/payments".to_owned()),
        (ann, "/v1/me/activity".to_owned()),
        (root, "/v1/users?limit=100".to_owned()),
        (root, format!("/v1/users/{ann_id}")),
        (root, format!("/v1/users/{ann_id}/mfa")),
        (root, format!("/v1/users/{ann_id}/api-keys")),
        (root, "/v1/roles".to_owned()),
        (root, "/v1/plans".to_owned()),
        (root, "/v1/activity?limit=100".to_owned()),
    ];
    let mut out = Vec::new();
    for (token, path) in reads {
        let res = app.authed(Method::GET, &path, token, None).await;
        assert_eq!(res.status(), 200, "GET {path}");
        out.push((path, steady(res.json().await.unwrap())));
    }
    out
}

/// Fails with the lines that differ between two views of `path`.
fn assert_same(path: &str, a: &Value, b: &Value) {
    // Objects compare as maps: PostgreSQL's jsonb keeps keys in its own order.
    if a == b {
        return;
    }
    let (a, b) = (
        serde_json::to_string_pretty(a).unwrap(),
        serde_json::to_string_pretty(b).unwrap(),
    );
    let diff: Vec<String> = a
        .lines()
        .zip(b.lines())
        .filter(|(x, y)| x != y)
        .map(|(x, y)| format!("- {x}\n+ {y}"))
        .collect();
    assert!(
        diff.is_empty() && a.lines().count() == b.lines().count(),
        "GET {path} differs after the move:\n{}",
        diff.join("\n")
    );
}

/// The keyring files of `from`, copied into a new data folder.
fn data_dir_with_keys(from: &Path) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portico-moved-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["encryption.keys", "jwt.keys"] {
        if from.join(file).exists() {
            std::fs::copy(from.join(file), dir.join(file)).unwrap();
        }
    }
    dir
}

async fn move_to(target: Engine, compression: runtime::dumps::Compression) {
    with_app(
        Engine::Sqlite,
        |_| {},
        |source_app| async move {
            let source = populate(&source_app).await;
            let before = views(&source_app, &source).await;
            let dump = source_app.data_dir.join("moving.dump");
            let transfer = domain::Transfer::new(source_app.stores.clone(), Arc::new(RealClock));
            let file = std::fs::File::create(&dump).unwrap();
            let written = runtime::dumps::write_dump(
                &transfer,
                &file,
                compression,
                time::OffsetDateTime::now_utc(),
                &|_| {},
            )
            .await
            .unwrap();
            assert!(written.counts["user"] >= 3, "{:?}", written.counts);
            let data_dir = data_dir_with_keys(&source_app.data_dir);
            let dump_path = dump.clone();
            with_prepared_app(
                target,
                |c| {
                    // The restored records hold the administrator: a bootstrap
                    // would make the stores not empty.
                    c.security.bootstrap_admin = None;
                    c.server.data_dir = data_dir;
                },
                |stores| async move {
                    let transfer = domain::Transfer::new(stores, Arc::new(RealClock));
                    let loaded = runtime::dumps::restore(&transfer, &dump_path, &|_| {})
                        .await
                        .unwrap();
                    assert_eq!(loaded.counts, written.counts);
                    // A second restore finds the stores occupied and writes nothing.
                    let again = runtime::dumps::restore(&transfer, &dump_path, &|_| {}).await;
                    let message = again.unwrap_err().to_string();
                    assert!(message.contains("not empty"), "{message}");
                    assert!(message.contains("users"), "{message}");
                },
                |moved| async move {
                    let after = views(&moved, &source).await;
                    for ((path, a), (_, b)) in before.iter().zip(&after) {
                        assert_same(path, a, b);
                    }
                    // The old password and the TOTP secret still work.
                    let mfa_token = challenge(&moved, "ann").await;
                    let res = moved
                        .post(
                            "/v1/sessions/mfa",
                            json!({"mfa_token": mfa_token, "code": totp_code(&source.secret, 1)}),
                        )
                        .await;
                    let tokens = json_with(res, 201).await;
                    let me = json_with(
                        moved
                            .authed(
                                Method::GET,
                                "/v1/me",
                                tokens["access_token"].as_str().unwrap(),
                                None,
                            )
                            .await,
                        200,
                    )
                    .await;
                    assert_eq!(me["id"], source.ann_id.as_str());
                    let res = moved
                        .post(
                            "/v1/sessions",
                            json!({"login": "ann", "password": "not the password"}),
                        )
                        .await;
                    expect_problem(res, 401, "invalid-credentials").await;
                    moved
                        .sign_in(ADMIN_USERNAME, crate::support::ADMIN_PASSWORD)
                        .await;
                    moved
                },
            )
            .await;
            source_app
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_moves_to_postgres() {
    move_to(Engine::Postgres, runtime::dumps::Compression::Zstd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_moves_to_mongodb() {
    move_to(Engine::Mongodb, runtime::dumps::Compression::None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_moves_to_postgres_with_redis() {
    move_to(Engine::PostgresWithRedis, runtime::dumps::Compression::None).await;
}
