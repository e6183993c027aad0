//! Cookie sessions with CSRF, rate limits, error formats, operations and the
//! OpenAPI document. These do not depend on the store, so they run on SQLite.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::*;

const PW: &str = "correct horse battery";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_sessions_need_the_csrf_header_to_change_state() {
    with_app(
        Engine::Sqlite,
        |_| {},
        |app| async move {
            app.register_user("gus", PW).await;
            let browser = reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .unwrap();
            let res = browser
                .post(app.url("/v1/sessions"))
                .json(&json!({"login": "gus", "password": PW}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
            let cookies: Vec<String> = res
                .headers()
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect();
            let session = cookies
                .iter()
                .find(|c| c.starts_with("portico_session="))
                .unwrap();
            assert!(
                session.contains("HttpOnly") && session.contains("SameSite=Strict"),
                "{session}"
            );
            let tokens: Value = res.json().await.unwrap();
            let csrf = tokens["csrf_token"].as_str().unwrap().to_owned();

            // Reads work with the cookie alone.
            let me = browser.get(app.url("/v1/me")).send().await.unwrap();
            assert_eq!(me.status(), 200);
            // Changes without the header are refused, with a wrong one too.
            let res = browser
                .patch(app.url("/v1/me"))
                .json(&json!({"full_name": "Gus"}))
                .send()
                .await
                .unwrap();
            expect_problem(res, 403, "csrf-failed").await;
            let res = browser
                .patch(app.url("/v1/me"))
                .header("X-CSRF-Token", "0".repeat(64))
                .json(&json!({"full_name": "Gus"}))
                .send()
                .await
                .unwrap();
            expect_problem(res, 403, "csrf-failed").await;
            let res = browser
                .patch(app.url("/v1/me"))
                .header("X-CSRF-Token", &csrf)
                .json(&json!({"full_name": "Gus"}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            // Sign-out clears the cookies.
            let res = browser
                .delete(app.url("/v1/sessions/current"))
                .header("X-CSRF-Token", &csrf)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 204);
            let me = browser.get(app.url("/v1/me")).send().await.unwrap();
            expect_problem(me, 401, "unauthenticated").await;
            app
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429_with_headers_per_ip_and_per_user() {
    // The per-IP limit counts every request that needs no credentials:
    // the three look-ups below, then three sign-ins.
    let tweak = |c: &mut portico::Config| {
        c.rate_limits.ip_per_minute = 6;
        c.rate_limits.username_checks_per_minute = 2;
        c.rate_limits.user_per_minute = 4;
    };
    with_app(Engine::Sqlite, tweak, |app| async move {
        for _ in 0..2 {
            let res = app
                .client
                .get(app.url("/v1/usernames/someone"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
        }
        let res = app
            .client
            .get(app.url("/v1/usernames/someone"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["ratelimit-limit"], "2");
        assert_eq!(res.headers()["ratelimit-remaining"], "0");
        let retry: u64 = res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry));
        expect_problem(res, 429, "rate-limited").await;

        // Per IP on sign-in: the 4th attempt in a minute is refused.
        for _ in 0..3 {
            let res = app
                .post(
                    "/v1/sessions",
                    json!({"login": "x", "password": "wrong password"}),
                )
                .await;
            assert_eq!(res.status(), 401);
        }
        let res = app
            .post(
                "/v1/sessions",
                json!({"login": "x", "password": "wrong password"}),
            )
            .await;
        expect_problem(res, 429, "rate-limited").await;
        app
    })
    .await;

    // Per user: the 5th request in a minute is refused; /v1/me shows the counters.
    let tweak = |c: &mut portico::Config| c.rate_limits.user_per_minute = 4;
    with_app(Engine::Sqlite, tweak, |app| async move {
        let t = app.sign_in(ADMIN_USERNAME, ADMIN_PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        for n in 1..=4u64 {
            let me: Value = app
                .authed(Method::GET, "/v1/me", &t, None)
                .await
                .json()
                .await
                .unwrap();
            assert_eq!(me["usage"]["last_minute"], n);
            assert_eq!(me["usage"]["all_time"], n);
        }
        let res = app.authed(Method::GET, "/v1/me", &t, None).await;
        assert_eq!(res.headers()["ratelimit-limit"], "4");
        expect_problem(res, 429, "rate-limited").await;
        app
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_is_a_problem_document() {
    let tweak = |c: &mut portico::Config| c.server.body_limit_bytes = 2048;
    with_app(Engine::Sqlite, tweak, |app| async move {
        let c = &app.client;
        let res = c.get(app.url("/v1/no-such-route")).send().await.unwrap();
        expect_problem(res, 404, "not-found").await;
        let res = c.put(app.url("/v1/me")).send().await.unwrap();
        let allow = res.headers()["allow"].to_str().unwrap().to_owned();
        assert!(
            allow.contains("GET") && allow.contains("PATCH") && allow.contains("DELETE"),
            "{allow}"
        );
        expect_problem(res, 405, "method-not-allowed").await;
        // An object key with slashes names a resource too (it answered 404).
        let res = c
            .post(app.url("/v1/objects/users/x/y.png"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["allow"], "GET, PUT");
        expect_problem(res, 405, "method-not-allowed").await;
        let res = c
            .post(app.url("/v1/registrations"))
            .header("content-type", "application/json")
            .body(format!("{{\"email\": \"{}\"}}", "x".repeat(4096)))
            .send()
            .await
            .unwrap();
        expect_problem(res, 413, "payload-too-large").await;
        let res = c
            .post(app.url("/v1/registrations"))
            .header("content-type", "text/plain")
            .body("hello")
            .send()
            .await
            .unwrap();
        expect_problem(res, 415, "unsupported-media-type").await;
        let res = c
            .post(app.url("/v1/registrations"))
            .header("content-type", "application/json")
            .body("{not json")
            .send()
            .await
            .unwrap();
        expect_problem(res, 400, "malformed-request").await;
        let res = app
            .post(
                "/v1/registrations",
                json!({"email": "not-an-email", "username": "A!", "password": "short"}),
            )
            .await;
        let body = expect_problem(res, 422, "validation").await;
        for field in ["email", "username", "password"] {
            assert!(body["errors"][field].is_array(), "{field}: {body}");
        }
        let res = app
            .post("/v1/registrations", json!({"email": "a@b.org"}))
            .await;
        expect_problem(res, 422, "validation").await;
        let res = c
            .get(app.url("/v1/me"))
            .bearer_auth("garbage")
            .send()
            .await
            .unwrap();
        expect_problem(res, 401, "unauthenticated").await;
        let res = c
            .get(app.url("/v1/me"))
            .bearer_auth("ab".repeat(32))
            .send()
            .await
            .unwrap();
        expect_problem(res, 401, "unauthenticated").await;
        let t = app.sign_in(ADMIN_USERNAME, ADMIN_PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let res = app
            .authed(Method::GET, "/v1/users/not-a-uuid", &t, None)
            .await;
        expect_problem(res, 404, "not-found").await;
        let res = app
            .authed(Method::GET, "/v1/users?limit=500", &t, None)
            .await;
        let body = expect_problem(res, 422, "validation").await;
        assert!(body["errors"]["limit"].is_array(), "{body}");
        app
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_endpoints_report_health_readiness_metrics_and_request_ids() {
    with_app(Engine::Sqlite, |_| {}, |app| async move {
        let c = &app.client;
        let res = c.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let res = c
            .get(app.url("/readyz"))
            .header("X-Request-Id", "trace-me-42")
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["x-request-id"], "trace-me-42");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], "ready");
        let res = c.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(res.headers()["x-request-id"].len(), 36, "a generated UUID");
        app.sign_in(ADMIN_USERNAME, ADMIN_PASSWORD).await;
        let text = c.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        assert!(text.contains(
            "portico_http_requests_total{method=\"POST\",route=\"/v1/sessions\",status=\"201\"} 1"
        ), "{text}");
        assert!(text.contains("portico_http_request_duration_seconds_bucket{method=\"GET\",route=\"/readyz\",status=\"200\",le=\"+Inf\"} 1"));
        assert!(text.contains("portico_store_call_duration_seconds_count{port=\"users\",op=\"find_by_username\",outcome=\"ok\"}"));
        let docs = c.get(app.url("/docs/")).send().await.unwrap();
        assert_eq!(docs.status(), 200);
        assert!(docs.text().await.unwrap().contains("swagger"));
        app
    })
    .await;
}

/// Every route of API.md's Accounts, Permissions and Operations sections.
const EXPECTED: &[(&str, &str)] = &[
    ("POST", "/v1/registrations"),
    ("GET", "/v1/usernames/{username}"),
    ("POST", "/v1/registrations/verify"),
    ("POST", "/v1/sessions"),
    ("POST", "/v1/sessions/refresh"),
    ("GET", "/v1/sessions"),
    ("DELETE", "/v1/sessions/{id}"),
    ("DELETE", "/v1/sessions/current"),
    ("POST", "/v1/password-resets"),
    ("POST", "/v1/password-resets/confirm"),
    ("GET", "/v1/me"),
    ("PATCH", "/v1/me"),
    ("GET", "/v1/me/export"),
    ("DELETE", "/v1/me"),
    ("GET", "/v1/roles"),
    ("POST", "/v1/roles"),
    ("PATCH", "/v1/roles/{name}"),
    ("DELETE", "/v1/roles/{name}"),
    ("GET", "/v1/users"),
    ("GET", "/v1/users/{id}"),
    ("PATCH", "/v1/users/{id}"),
    ("PUT", "/v1/users/{id}/roles/{name}"),
    ("DELETE", "/v1/users/{id}/roles/{name}"),
    ("GET", "/healthz"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("POST", "/v1/content-sessions"),
    ("GET", "/v1/content-sessions"),
    ("GET", "/v1/content-sessions/{id}"),
    ("PATCH", "/v1/content-sessions/{id}"),
    ("DELETE", "/v1/content-sessions/{id}"),
    ("PUT", "/v1/me/active-content-session"),
    ("GET", "/v1/content-sessions/{id}/data"),
    ("PUT", "/v1/content-sessions/{id}/data/{storage_key}"),
    ("GET", "/v1/content-sessions/{id}/data/{storage_key}"),
    ("DELETE", "/v1/content-sessions/{id}/data/{storage_key}"),
    ("POST", "/v1/content-sessions/{id}/messages"),
    ("GET", "/v1/content-sessions/{id}/messages"),
    ("POST", "/v1/content-sessions/{id}/read"),
    ("GET", "/v1/notifications"),
    ("GET", "/v1/notifications/stream"),
    ("POST", "/v1/notifications/seen"),
    ("POST", "/v1/notifications/{id}/seen"),
    ("POST", "/v1/notifications/{id}/response"),
    ("DELETE", "/v1/notifications/{id}"),
    ("POST", "/v1/users/{id}/notifications"),
    ("POST", "/v1/uploads"),
    ("GET", "/v1/uploads"),
    ("GET", "/v1/uploads/{id}"),
    ("DELETE", "/v1/uploads/{id}"),
    ("POST", "/v1/uploads/{id}/complete"),
    ("GET", "/v1/uploads/{id}/download"),
    ("PUT", "/v1/objects/{key}"),
    ("GET", "/v1/objects/{key}"),
    ("POST", "/v1/payments"),
    ("GET", "/v1/payments"),
    ("GET", "/v1/payments/{id}"),
    ("POST", "/v1/payments/{id}/cancel"),
    ("POST", "/v1/payments/webhooks/{provider}"),
    ("POST", "/v1/me/mfa/totp"),
    ("POST", "/v1/me/mfa/totp/confirm"),
    ("DELETE", "/v1/me/mfa/totp"),
    ("POST", "/v1/me/mfa/backup-codes"),
    ("POST", "/v1/me/api-keys"),
    ("GET", "/v1/me/api-keys"),
    ("DELETE", "/v1/me/api-keys/{id}"),
    ("GET", "/v1/users/{id}/api-keys"),
    ("DELETE", "/v1/users/{id}/api-keys/{key_id}"),
    ("POST", "/v1/me/passkeys/registration"),
    ("POST", "/v1/me/passkeys"),
    ("GET", "/v1/me/passkeys"),
    ("PATCH", "/v1/me/passkeys/{id}"),
    ("DELETE", "/v1/me/passkeys/{id}"),
    ("POST", "/v1/passkeys/authentication"),
    ("POST", "/v1/sessions/passkey"),
    ("GET", "/v1/users/{id}/passkeys"),
    ("DELETE", "/v1/users/{id}/passkeys/{passkey_id}"),
    ("POST", "/v1/sessions/email"),
    ("POST", "/v1/sessions/email/verify"),
    ("POST", "/v1/sessions/mfa"),
    ("DELETE", "/v1/users/{id}/mfa"),
    ("POST", "/v1/users/{id}/suspension"),
    ("DELETE", "/v1/users/{id}/suspension"),
    ("PUT", "/v1/users/{id}/plan"),
    ("GET", "/v1/users/{id}/sessions"),
    ("DELETE", "/v1/users/{id}/sessions/{session_id}"),
    ("GET", "/v1/users/{id}/mfa"),
    ("GET", "/v1/users/{id}/providers"),
    ("GET", "/v1/users/{id}/usage"),
    ("GET", "/v1/plans"),
    ("POST", "/v1/plans"),
    ("PATCH", "/v1/plans/{name}"),
    ("DELETE", "/v1/plans/{name}"),
    ("GET", "/v1/me/activity"),
    ("GET", "/v1/activity"),
    ("GET", "/v1/stats"),
    ("GET", "/v1/backups"),
    ("POST", "/v1/backups"),
    ("GET", "/v1/backups/{name}/download"),
    ("GET", "/v1/profiles"),
    ("GET", "/v1/profiles/{user_id}"),
    ("POST", "/v1/conversations"),
    ("GET", "/v1/conversations"),
    ("GET", "/v1/conversations/{id}"),
    ("PATCH", "/v1/conversations/{id}"),
    ("POST", "/v1/conversations/{id}/messages"),
    ("GET", "/v1/conversations/{id}/messages"),
    ("POST", "/v1/conversations/{id}/read"),
    ("DELETE", "/v1/conversations/{id}/participants/me"),
    ("DELETE", "/v1/conversations/{id}/messages/{message_id}"),
    ("GET", "/v1/me/blocks"),
    ("PUT", "/v1/me/blocks/{user_id}"),
    ("DELETE", "/v1/me/blocks/{user_id}"),
    ("POST", "/v1/webhooks"),
    ("GET", "/v1/webhooks"),
    ("GET", "/v1/webhooks/{id}"),
    ("PATCH", "/v1/webhooks/{id}"),
    ("DELETE", "/v1/webhooks/{id}"),
    ("GET", "/v1/webhooks/{id}/deliveries"),
    ("POST", "/v1/webhooks/{id}/test"),
    ("GET", "/v1/settings"),
    ("PATCH", "/v1/settings"),
    ("GET", "/v1/features"),
    ("GET", "/v1/oauth/providers"),
    ("GET", "/v1/oauth/{provider}/authorize"),
    ("GET", "/v1/oauth/{provider}/callback"),
    ("POST", "/v1/oauth/exchange"),
    ("GET", "/v1/me/providers"),
    ("POST", "/v1/me/providers/{provider}"),
    ("DELETE", "/v1/me/providers/{provider}"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_every_route_the_server_serves() {
    with_app(
        Engine::Sqlite,
        |_| {},
        |app| async move {
            let doc: Value = app
                .client
                .get(app.url("/openapi.json"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(doc["openapi"], "3.1.0");
            let mut documented = BTreeSet::new();
            for (path, item) in doc["paths"].as_object().unwrap() {
                for method in item.as_object().unwrap().keys() {
                    documented.insert((method.to_uppercase(), path.clone()));
                }
            }
            let expected: BTreeSet<_> = EXPECTED
                .iter()
                .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
                .collect();
            assert_eq!(documented, expected);

            // And each documented route is served: no 404/405 from the router.
            for (method, path) in &documented {
                let concrete = path
                    .replace("{id}", "00000000-0000-7000-8000-000000000000")
                    .replace("{name}", "user")
                    .replace("{username}", "someone")
                    .replace("{storage_key}", "prefs")
                    .replace("{provider}", "portico")
                    .replace("{key}", "users/1/a.png");
                let method = Method::from_bytes(method.as_bytes()).unwrap();
                let res = app
                    .client
                    .request(method.clone(), app.url(&concrete))
                    .header("content-type", "application/json")
                    .body("{}")
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                let body = res.text().await.unwrap();
                assert!(
                    status != 405 && !body.contains("No route for"),
                    "{method} {concrete} is not served: {status} {body}"
                );
            }
            app
        },
    )
    .await;
}

/// The served document is the one the server's own checks read: its error
/// responses carry the problem body and the shared errors are declared.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_openapi_document_declares_its_errors() {
    with_app(
        Engine::Sqlite,
        |_| {},
        |app| async move {
            let doc: Value = app
                .client
                .get(app.url("/openapi.json"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let shared = &doc["components"]["responses"];
            for name in ["Unauthenticated", "RateLimited", "Unavailable", "Internal"] {
                assert!(shared[name].is_object(), "no shared {name} response");
            }
            let me = &doc["paths"]["/v1/me"]["get"]["responses"];
            assert_eq!(me["401"]["$ref"], "#/components/responses/Unauthenticated");
            let read = &doc["paths"]["/v1/content-sessions/{id}"]["get"]["responses"]["404"];
            assert_eq!(
                read["content"]["application/problem+json"]["schema"]["$ref"],
                "#/components/schemas/ProblemBody"
            );
            app
        },
    )
    .await;
}
