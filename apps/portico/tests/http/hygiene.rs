//! Hostile input and response hygiene: strict bodies, text the stores
//! cannot hold, slow bodies, bounded metric labels, security headers, and
//! private files in the data folder.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::on_every_engine;
use crate::support::{Engine, TestApp, expect_problem, with_app};

/// Sends `body` raw with `content_type` to `path` as `token`.
async fn raw(
    app: &TestApp,
    path: &str,
    token: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_present_content_session_body_must_be_valid_json_of_the_right_shape() {
    with_app(
        Engine::Sqlite,
        |_| {},
        |app| async move {
            let (ann, _) = app.signed_in_user("ann").await;
            let path = "/v1/content-sessions";
            let json = "application/json";
            expect_problem(
                raw(&app, path, &ann, json, "garbage").await,
                400,
                "malformed-request",
            )
            .await;
            expect_problem(raw(&app, path, &ann, json, "[1]").await, 422, "validation").await;
            expect_problem(
                raw(&app, path, &ann, json, r#"{"name":5}"#).await,
                422,
                "validation",
            )
            .await;
            expect_problem(
                raw(&app, path, &ann, "text/plain", r#"{"name":"x"}"#).await,
                415,
                "unsupported-media-type",
            )
            .await;
            let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(70 * 1024));
            expect_problem(
                raw(&app, path, &ann, json, big).await,
                413,
                "payload-too-large",
            )
            .await;
            // No body at all is still a new, unnamed session; a name is kept.
            let res = app.authed(Method::POST, path, &ann, None).await;
            assert_eq!(res.status(), 201);
            let res = raw(&app, path, &ann, json, r#"{"name":"kept"}"#).await;
            assert_eq!(res.status(), 201);
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["name"], "kept");
            app
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_content_types_are_media_types_and_sizes_start_at_one() {
    with_app(
        Engine::Sqlite,
        |_| {},
        |app| async move {
            let (ann, _) = app.signed_in_user("ann").await;
            for bad in [
                "image/svg+xml\r\nX-Evil: 1",
                "image/<script>",
                "image/png; x=1",
                "png",
            ] {
                let res = app
                    .authed(
                        Method::POST,
                        "/v1/uploads",
                        &ann,
                        Some(json!({"content_type": bad, "size": 10})),
                    )
                    .await;
                let body = expect_problem(res, 422, "validation").await;
                assert!(body["errors"]["content_type"].is_array(), "{bad:?}: {body}");
            }
            let res = app
                .authed(
                    Method::POST,
                    "/v1/uploads",
                    &ann,
                    Some(json!({"content_type": "image/png", "size": 0})),
                )
                .await;
            let body = expect_problem(res, 422, "validation").await;
            assert!(body["errors"]["size"].is_array(), "{body}");
            let res = app
                .authed(
                    Method::POST,
                    "/v1/uploads",
                    &ann,
                    Some(json!({"content_type": "Image/PNG", "size": 3})),
                )
                .await;
            assert_eq!(res.status(), 201);
            assert_eq!(
                res.headers()["cache-control"],
                "no-store",
                "a signed URL is not cached"
            );
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["content_type"], "image/png");
            app
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_null_urgency_is_the_default_one() {
    with_app(
        Engine::Sqlite,
        |_| {},
        |app| async move {
            let (_, ann_id) = app.signed_in_user("ann").await;
            let admin = app.admin_token().await;
            let res = app
                .authed(
                    Method::POST,
                    &format!("/v1/users/{ann_id}/notifications"),
                    &admin,
                    Some(json!({"type": "note", "urgency": null})),
                )
                .await;
            assert_eq!(res.status(), 201);
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["urgency"], "normal");
            app
        },
    )
    .await;
}

/// NUL in any text field is a 422 on every engine; PostgreSQL answered 500.
async fn nul_in_text_is_refused_alike(app: TestApp) -> TestApp {
    let (ann, _) = app.signed_in_user("ann").await;
    let res = app
        .authed(
            Method::POST,
            "/v1/content-sessions",
            &ann,
            Some(json!({"name": "a\u{0}b"})),
        )
        .await;
    let body = expect_problem(res, 422, "validation").await;
    assert!(
        body["errors"]["body"][0].as_str().unwrap().contains("NUL"),
        "{body}"
    );
    let res = app
        .authed(Method::PATCH, "/v1/me", &ann, Some(json!({"bio": "\u{0}"})))
        .await;
    expect_problem(res, 422, "validation").await;
    // Other unusual text goes in and comes back exactly.
    let odd = "\u{1} tab\t \\u0000 é 🦀 \u{202e}rtl \u{ffff}";
    let res = app
        .authed(
            Method::POST,
            "/v1/content-sessions",
            &ann,
            Some(json!({"name": odd})),
        )
        .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let res = app
        .authed(
            Method::GET,
            &format!("/v1/content-sessions/{}", created["id"].as_str().unwrap()),
            &ann,
            None,
        )
        .await;
    let read: Value = res.json().await.unwrap();
    assert_eq!(read["name"], odd);
    app
}
on_every_engine!(nul_in_text_is_refused_alike);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_below_the_minimum_rate_is_cut_off_with_408() {
    with_app(
        Engine::Sqlite,
        |c| {
            c.server.body_grace_secs = 1;
            c.server.body_min_bytes_per_sec = 1024;
        },
        |app| async move {
            let addr = app.base.trim_start_matches("http://").to_owned();
            let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
            stream
                .write_all(
                    b"POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
                )
                .await
                .unwrap();
            // One byte a second, as a slow-loris client does, while reading.
            let mut answer = Vec::new();
            let read = async {
                let mut buf = [0u8; 1024];
                loop {
                    tokio::select! {
                        n = stream.read(&mut buf) => {
                            let n = n.unwrap_or(0);
                            if n == 0 { break; }
                            answer.extend_from_slice(&buf[..n]);
                            if answer.windows(4).any(|w| w == b"\r\n\r\n") { break; }
                        }
                        () = tokio::time::sleep(Duration::from_millis(500)) => {
                            let _ = stream.write_all(b" ").await;
                        }
                    }
                }
            };
            tokio::time::timeout(Duration::from_secs(20), read)
                .await
                .expect("the server cuts the slow body off instead of waiting for it");
            let text = String::from_utf8_lossy(&answer);
            assert!(text.starts_with("HTTP/1.1 408"), "{text}");
            app
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metric_labels_stay_bounded_whatever_the_method_or_path() {
    with_app(
        Engine::Sqlite,
        |_| {},
        |app| async move {
            let odd_method = Method::from_bytes(b"XYZZYMETHOD").unwrap();
            for i in 0..5 {
                let _ = app
                    .client
                    .request(odd_method.clone(), app.url("/healthz"))
                    .send()
                    .await
                    .unwrap();
                let _ = app
                    .client
                    .get(app.url(&format!("/no-such-path-{i}")))
                    .send()
                    .await
                    .unwrap();
            }
            let text = app
                .client
                .get(app.url("/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(!text.contains("XYZZYMETHOD"), "{text}");
            assert!(!text.contains("no-such-path"), "{text}");
            assert!(text.contains("method=\"other\""), "{text}");
            assert!(text.contains("route=\"unmatched\""), "{text}");
            app
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_docs_can_be_turned_off() {
    with_app(
        Engine::Sqlite,
        |c| {
            c.server.metrics = false;
            c.server.docs = false;
        },
        |app| async move {
            for path in ["/metrics", "/docs/", "/openapi.json"] {
                let res = app.client.get(app.url(path)).send().await.unwrap();
                assert_eq!(res.status(), 404, "{path}");
            }
            app
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    with_app(
        Engine::Sqlite,
        |c| {
            c.server.public_url = "https://portico.example".into();
            c.server.hsts_max_age_secs = 31_536_000;
        },
        |app| async move {
            let res = app.client.get(app.url("/healthz")).send().await.unwrap();
            assert_eq!(res.headers()["x-content-type-options"], "nosniff");
            assert_eq!(res.headers()["referrer-policy"], "no-referrer");
            assert_eq!(
                res.headers()["strict-transport-security"],
                "max-age=31536000; includeSubDomains"
            );
            let res = app.client.get(app.url("/v1/me")).send().await.unwrap();
            assert_eq!(res.status(), 401);
            assert_eq!(
                res.headers()["www-authenticate"],
                "Bearer realm=\"portico\""
            );
            assert_eq!(res.headers()["cache-control"], "no-store");
            let (ann, _) = app.signed_in_user("ann").await;
            for path in [
                "/v1/me",
                "/v1/sessions",
                "/v1/notifications",
                "/v1/content-sessions",
            ] {
                let res = app.authed(Method::GET, path, &ann, None).await;
                assert_eq!(res.status(), 200, "{path}");
                assert_eq!(res.headers()["cache-control"], "no-store", "{path}");
                assert_eq!(res.headers()["x-content-type-options"], "nosniff", "{path}");
            }
            app
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_hsts_over_plain_http() {
    with_app(
        Engine::Sqlite,
        |c| c.server.hsts_max_age_secs = 31_536_000,
        |app| async move {
            let res = app.client.get(app.url("/healthz")).send().await.unwrap();
            assert!(!res.headers().contains_key("strict-transport-security"));
            app
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_move_to_a_listener_of_their_own() {
    let port = crate::faults::free_port();
    with_app(
        Engine::Sqlite,
        move |c| c.server.metrics_listen = Some(([127, 0, 0, 1], port).into()),
        move |app| async move {
            let res = app.client.get(app.url("/metrics")).send().await.unwrap();
            assert_eq!(res.status(), 404, "not on the public listener");
            let text = app
                .client
                .get(format!("http://127.0.0.1:{port}/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(text.contains("portico_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"404\"} 1"), "{text}");
            assert!(text.contains("portico_build_info"), "{text}");
            assert!(text.contains("process_resident_memory_bytes"), "{text}");
            app
        },
    )
    .await;
}

/// Idle and slow connections cannot starve the server: with the connection
/// cap reached by clients that send nothing, the head timeout closes them and
/// `/healthz` answers again (1,100 such connections used to exhaust the file
/// descriptors for good).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_at_the_cap_are_closed_and_health_answers() {
    with_app(
        Engine::Sqlite,
        |c| {
            c.server.max_connections = 4;
            c.server.request_head_timeout_ms = 1000;
        },
        |app| async move {
            let addr = app.base.trim_start_matches("http://").to_owned();
            let mut idle = Vec::new();
            for _ in 0..8 {
                let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
                // A request line and no more: the head never completes.
                s.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
                idle.push(s);
            }
            let started = std::time::Instant::now();
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap();
            let res = client
                .get(app.url("/healthz"))
                .send()
                .await
                .expect("healthz answers while idle clients hold the cap");
            assert_eq!(res.status(), 200);
            eprintln!(
                "healthz answered after {:?} with 8 idle connections at a cap of 4",
                started.elapsed()
            );
            // Each idle connection was answered 408 and closed.
            for mut s in idle {
                let mut buf = Vec::new();
                let _ =
                    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
                let text = String::from_utf8_lossy(&buf);
                assert!(
                    text.is_empty() || text.starts_with("HTTP/1.1 408"),
                    "{text}"
                );
            }
            app
        },
    )
    .await;
}

/// Bodies are strict everywhere: a field the operation does not take is a
/// 422 naming it, never dropped (registration used to drop `name`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_body_fields_are_refused_by_name() {
    with_app(
        Engine::Sqlite,
        |_| {},
        |app| async move {
            let res = app
                .post(
                    "/v1/registrations",
                    json!({"email": "x@example.org", "username": "x",
                           "password": "correct horse battery", "name": "X"}),
                )
                .await;
            let problem = expect_problem(res, 422, "validation").await;
            assert!(
                problem["errors"]["name"][0]
                    .as_str()
                    .unwrap()
                    .starts_with("unknown field, expected one of `email`"),
                "{problem}"
            );
            let res = app
                .post(
                    "/v1/sessions",
                    json!({"login": "x", "password": "y", "remember": true}),
                )
                .await;
            let problem = expect_problem(res, 422, "validation").await;
            assert!(problem["errors"]["remember"].is_array(), "{problem}");
            let (token, _) = app.signed_in_user("ann").await;
            for (method, path, body) in [
                (
                    Method::POST,
                    "/v1/content-sessions",
                    json!({"name": "a", "colour": "red"}),
                ),
                (
                    Method::PATCH,
                    "/v1/me",
                    json!({"full_name": "Ann", "nickname": "an"}),
                ),
            ] {
                let res = app.authed(method, path, &token, Some(body)).await;
                let problem = expect_problem(res, 422, "validation").await;
                assert_eq!(problem["errors"].as_object().unwrap().len(), 1, "{problem}");
            }
            app
        },
    )
    .await;
}
