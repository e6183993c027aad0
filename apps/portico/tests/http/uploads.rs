//! Uploads over HTTP with real bytes: the local store's signed URLs served
//! by Portico, an S3-compatible bucket's presigned URLs, and the sweep.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_every_engine;
use crate::support::{Engine, TestApp, expect_problem, with_app};

async fn prepare(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app
        .authed(Method::POST, "/v1/uploads", token, Some(body))
        .await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

/// Sends `bytes` the way the response says to.
async fn send_bytes(
    app: &TestApp,
    prepared: &Value,
    bytes: &[u8],
    content_type: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .client
        .put(prepared["upload_url"].as_str().unwrap())
        .body(bytes.to_vec());
    for (name, value) in prepared["headers"].as_object().unwrap() {
        req = req.header(name, value.as_str().unwrap());
    }
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    req.send().await.unwrap()
}

/// The whole round trip, whatever the object store.
async fn round_trip(app: &TestApp, ann: &str, bob: &str) {
    let bytes = b"hello, world";
    let prepared = prepare(
        app,
        ann,
        json!({"object_key": "notes/hello.txt", "content_type": "text/plain", "size": bytes.len()}),
    )
    .await;
    assert_eq!(prepared["status"], "pending");
    assert_eq!(prepared["method"], "PUT");
    let key = prepared["object_key"].as_str().unwrap();
    assert!(
        key.starts_with("users/") && key.ends_with("/notes/hello.txt"),
        "{key}"
    );
    let path = format!("/v1/uploads/{}", prepared["id"].as_str().unwrap());

    // Completing before the bytes arrive is refused.
    expect_problem(
        app.authed(Method::POST, &format!("{path}/complete"), ann, None)
            .await,
        409,
        "conflict",
    )
    .await;
    let put = send_bytes(app, &prepared, bytes, None).await;
    assert!(put.status().is_success(), "upload: {}", put.status());
    let done: Value = app
        .authed(Method::POST, &format!("{path}/complete"), ann, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (done["status"].clone(), done["size"].clone()),
        (json!("completed"), json!(bytes.len()))
    );

    // Download: a redirect to a time-limited URL serving the same bytes.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = no_redirects
        .get(app.url(&format!("{path}/download")))
        .bearer_auth(ann)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let got = app.client.get(&location).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(&got.bytes().await.unwrap()[..], bytes);

    // Another user: 404 on every route, and not in their list.
    for (method, p) in [
        (Method::GET, path.clone()),
        (Method::POST, format!("{path}/complete")),
        (Method::GET, format!("{path}/download")),
        (Method::DELETE, path.clone()),
    ] {
        expect_problem(app.authed(method, &p, bob, None).await, 404, "not-found").await;
    }
    let theirs: Value = app
        .authed(Method::GET, "/v1/uploads", bob, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["items"], json!([]));
    let mine: Value = app
        .authed(Method::GET, "/v1/uploads", ann, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);

    // Limits from configuration, and keys that try to escape.
    expect_problem(
        app.authed(
            Method::POST,
            "/v1/uploads",
            ann,
            Some(json!({"content_type": "text/plain", "size": 1_000_000})),
        )
        .await,
        413,
        "payload-too-large",
    )
    .await;
    expect_problem(
        app.authed(
            Method::POST,
            "/v1/uploads",
            ann,
            Some(json!({"content_type": "application/x-msdownload", "size": 10})),
        )
        .await,
        415,
        "unsupported-media-type",
    )
    .await;
    expect_problem(
        app.authed(
            Method::POST,
            "/v1/uploads",
            ann,
            Some(
                json!({"object_key": "../../etc/passwd", "content_type": "text/plain", "size": 10}),
            ),
        )
        .await,
        422,
        "validation",
    )
    .await;
    expect_problem(
        app.authed(
            Method::POST,
            "/v1/uploads",
            ann,
            Some(
                json!({"object_key": "notes/hello.txt", "content_type": "text/plain", "size": 10}),
            ),
        )
        .await,
        409,
        "already-exists",
    )
    .await;

    // Cancel deletes the request and its object.
    assert_eq!(
        app.authed(Method::DELETE, &path, ann, None).await.status(),
        204
    );
    expect_problem(
        app.authed(Method::GET, &path, ann, None).await,
        404,
        "not-found",
    )
    .await;
    let gone = app.client.get(&location).send().await.unwrap();
    assert_eq!(gone.status(), 404);
}

fn limits(c: &mut portico::Config) {
    c.uploads.max_size_bytes = 64 * 1024;
}

async fn local_uploads(app: TestApp) -> TestApp {
    let ann = app.signed_in_user("ann").await.0;
    let bob = app.signed_in_user("bob").await.0;
    round_trip(&app, &ann, &bob).await;

    // The local store's URL accepts exactly what was prepared.
    let prepared = prepare(&app, &ann, json!({"content_type": "image/png", "size": 4})).await;
    expect_problem(
        send_bytes(&app, &prepared, b"12345", None).await,
        413,
        "payload-too-large",
    )
    .await;
    let wrong_type = app
        .client
        .put(prepared["upload_url"].as_str().unwrap())
        .header("content-type", "text/html")
        .body("<b>")
        .send()
        .await
        .unwrap();
    expect_problem(wrong_type, 415, "unsupported-media-type").await;
    let url = prepared["upload_url"].as_str().unwrap();
    let forged = url.replace("max=4", "max=4000");
    let res = app
        .client
        .put(forged)
        .header("content-type", "image/png")
        .body("1234")
        .send()
        .await
        .unwrap();
    expect_problem(res, 403, "forbidden").await;
    let other_key = url.replace("/v1/objects/users/", "/v1/objects/users/x");
    let res = app
        .client
        .put(other_key)
        .header("content-type", "image/png")
        .body("1234")
        .send()
        .await
        .unwrap();
    expect_problem(res, 403, "forbidden").await;
    app
}

on_every_engine!(local_uploads, super::limits);

/// Expired requests and dangling objects disappear in the scheduled sweep,
/// which logs and counts them in /metrics.
async fn sweep(app: TestApp) -> TestApp {
    let ann = app.signed_in_user("ann").await.0;
    let prepared = prepare(&app, &ann, json!({"content_type": "text/plain", "size": 5})).await;
    assert_eq!(
        send_bytes(&app, &prepared, b"12345", None).await.status(),
        204
    );
    let key = prepared["object_key"].as_str().unwrap().to_owned();
    let objects = app.data_dir.join("objects");
    assert!(objects.join(&key).is_file());
    // An object no request references, as a crashed client would leave.
    std::fs::create_dir_all(objects.join("stray")).unwrap();
    std::fs::write(objects.join("stray/left-behind.bin"), b"junk").unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let metrics = app
            .client
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let count = |kind: &str| {
            metrics
                .lines()
                .find(|l| {
                    l.starts_with(&format!(
                        "portico_job_removed_total{{job=\"upload_sweep\",kind=\"{kind}\"}}"
                    ))
                })
                .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
                .unwrap_or(0)
        };
        if count("expired_requests") >= 1 && count("dangling_objects") >= 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "sweep did not run: {metrics}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(
        !objects.join(&key).exists(),
        "the expired request's object is gone"
    );
    assert!(
        !objects.join("stray/left-behind.bin").exists(),
        "the dangling object is gone"
    );
    let path = format!("/v1/uploads/{}", prepared["id"].as_str().unwrap());
    expect_problem(
        app.authed(Method::GET, &path, &ann, None).await,
        404,
        "not-found",
    )
    .await;
    app
}

fn fast_sweep(c: &mut portico::Config) {
    c.jobs.enabled = true;
    c.uploads.request_ttl_secs = 1;
    c.uploads.dangling_grace_secs = 0;
    c.uploads.sweep_interval_secs = 1;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_removes_expired_requests_and_dangling_objects_on_sqlite() {
    with_app(Engine::Sqlite, fast_sweep, sweep).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_removes_expired_requests_and_dangling_objects_on_postgres() {
    with_app(Engine::Postgres, fast_sweep, sweep).await;
}

/// The same journey against an S3-compatible server (`S3_ENDPOINT`, default
/// moto on 127.0.0.1:9000): the client uploads to a presigned URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_uploads_use_presigned_urls() {
    let endpoint = std::env::var("S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:9000".into());
    let bucket = format!("portico-{}", uuid::Uuid::new_v4().simple());
    let tweak = {
        let (endpoint, bucket) = (endpoint.clone(), bucket.clone());
        move |c: &mut portico::Config| {
            limits(c);
            c.objects.backend = portico::config::ObjectBackend::S3;
            c.objects.s3_endpoint = endpoint;
            c.objects.s3_bucket = bucket;
            c.objects.s3_access_key_id = "test".into();
            c.objects.s3_secret_access_key = "test".into();
        }
    };
    with_app(Engine::Sqlite, tweak, |app| async move {
        let made = app
            .client
            .put(format!("{endpoint}/{bucket}"))
            .send()
            .await
            .unwrap();
        assert!(made.status().is_success(), "create bucket");
        let ann = app.signed_in_user("ann").await.0;
        let bob = app.signed_in_user("bob").await.0;
        round_trip(&app, &ann, &bob).await;
        // A presigned URL goes to the bucket, not to Portico.
        let prepared = prepare(&app, &ann, json!({"content_type": "image/png", "size": 3})).await;
        assert!(
            prepared["upload_url"]
                .as_str()
                .unwrap()
                .starts_with(&endpoint)
        );
        // S3 keeps the content type: a mismatch is caught at completion.
        let put = send_bytes(&app, &prepared, b"abc", None).await;
        assert!(put.status().is_success());
        let path = format!("/v1/uploads/{}", prepared["id"].as_str().unwrap());
        let done = app
            .authed(Method::POST, &format!("{path}/complete"), &ann, None)
            .await;
        assert_eq!(done.status(), 200);
        app
    })
    .await;
}

/// A signed upload URL takes one successful PUT: a second one, one after
/// completion, and one after cancellation are refused, so nothing replaces
/// or resurrects the object. A failed PUT leaves the URL usable. Of 20
/// concurrent PUTs to one URL exactly one is stored (before, all 20 were
/// buffered and written).
async fn an_upload_url_takes_one_put(app: TestApp) -> TestApp {
    let (ann, _) = app.signed_in_user("ann").await;
    let body = |name: &str| json!({"object_key": name, "content_type": "text/plain", "size": 5});
    let prepared = prepare(&app, &ann, body("one.txt")).await;
    let too_big = send_bytes(&app, &prepared, b"123456", None).await;
    assert_eq!(too_big.status(), 413);
    assert_eq!(
        send_bytes(&app, &prepared, b"first", None).await.status(),
        204
    );
    expect_problem(
        send_bytes(&app, &prepared, b"again", None).await,
        409,
        "conflict",
    )
    .await;
    let path = format!("/v1/uploads/{}", prepared["id"].as_str().unwrap());
    let done = app
        .authed(Method::POST, &format!("{path}/complete"), &ann, None)
        .await;
    assert_eq!(done.status(), 200);
    expect_problem(
        send_bytes(&app, &prepared, b"later", None).await,
        409,
        "conflict",
    )
    .await;

    let cancelled = prepare(&app, &ann, body("two.txt")).await;
    let cancel_path = format!("/v1/uploads/{}", cancelled["id"].as_str().unwrap());
    let res = app.authed(Method::DELETE, &cancel_path, &ann, None).await;
    assert_eq!(res.status(), 204);
    expect_problem(
        send_bytes(&app, &cancelled, b"ghost", None).await,
        410,
        "gone",
    )
    .await;

    let raced = prepare(&app, &ann, body("three.txt")).await;
    let puts = (0..20).map(|_| send_bytes(&app, &raced, b"raced", None));
    let statuses: Vec<u16> = futures::future::join_all(puts)
        .await
        .into_iter()
        .map(|r| r.status().as_u16())
        .collect();
    let stored = statuses.iter().filter(|s| **s == 204).count();
    assert_eq!(stored, 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [204, 409, 429].contains(s)),
        "{statuses:?}"
    );
    app
}

on_every_engine!(an_upload_url_takes_one_put);

/// An uploaded JSON file is the user's bytes, not an API body: it is not
/// held to the API's body limit or its text rules.
async fn a_json_file_uploads_like_any_other(app: TestApp) -> TestApp {
    let (ann, _) = app.signed_in_user("ann").await;
    let bytes = format!(
        "{{\"big\":\"{}\",\"nul\":\"\\u0000\"}}",
        "x".repeat(100 * 1024)
    )
    .into_bytes();
    let prepared = prepare(
        &app,
        &ann,
        json!({"object_key": "data.json", "content_type": "application/json", "size": bytes.len()}),
    )
    .await;
    let put = send_bytes(&app, &prepared, &bytes, None).await;
    let status = put.status();
    assert_eq!(status, 204, "{}", put.text().await.unwrap());
    app
}

on_every_engine!(a_json_file_uploads_like_any_other);
