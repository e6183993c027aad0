//! Runtime settings over HTTP: rights, `If-Match`, errors named by key,
//! the rules that read them (registration, the password minimum), the
//! public flags, parallel writers, and a change reaching another instance.

use std::time::{Duration, Instant};

use reqwest::Method;
use runtime::config::{Config, FlagConfig};
use serde_json::{Value, json};

use crate::support::*;

fn flags(c: &mut Config) {
    c.features.insert("beta".into(), FlagConfig::Plain(false));
    c.features.insert(
        "new_editor".into(),
        FlagConfig::Described {
            default: true,
            description: "The new editor".into(),
        },
    );
}

async fn patch(
    app: &TestApp,
    token: &str,
    if_match: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut req = app
        .client
        .patch(app.url("/v1/settings"))
        .bearer_auth(token)
        .json(&body);
    if let Some(version) = if_match {
        req = req.header("if-match", version);
    }
    req.send().await.expect("request")
}

fn etag(res: &reqwest::Response) -> String {
    res.headers()["etag"].to_str().unwrap().to_owned()
}

fn value<'a>(view: &'a Value, key: &str) -> &'a Value {
    &view["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"] == key)
        .unwrap_or_else(|| panic!("no {key} in {view}"))["value"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_are_read_and_changed_by_version_with_each_bad_key_named() {
    with_app(Engine::Sqlite, flags, |app| async move {
        let (user, _) = app.signed_in_user("sam").await;
        let admin = app.admin_token().await;
        expect_problem(
            app.authed(Method::GET, "/v1/settings", &user, None).await,
            403,
            "forbidden",
        )
        .await;
        expect_problem(
            patch(&app, &user, None, json!({"registration.open": false})).await,
            403,
            "forbidden",
        )
        .await;

        let res = app.authed(Method::GET, "/v1/settings", &admin, None).await;
        assert_eq!(etag(&res), "\"0\"");
        let view = json_with(res, 200).await;
        assert_eq!(view["version"], 0);
        let min = view["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["key"] == "password.min_length")
            .unwrap();
        assert_eq!(
            (
                &min["value"],
                &min["default"],
                &min["type"],
                &min["min"],
                &min["max"]
            ),
            (
                &json!(10),
                &json!(10),
                &json!("integer"),
                &json!(8),
                &json!(128)
            )
        );
        assert_eq!(value(&view, "features.new_editor"), true);

        // Every bad key is named; nothing changes.
        let problem = expect_problem(
            patch(
                &app,
                &admin,
                None,
                json!({"password.min_length": 7, "nope": 1, "registration.default_plan": "gold",
                       "security.lockout_attempts": "five"}),
            )
            .await,
            422,
            "validation",
        )
        .await;
        let errors = problem["errors"].as_object().unwrap();
        let mut keys: Vec<_> = errors.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "nope",
                "password.min_length",
                "registration.default_plan",
                "security.lockout_attempts"
            ],
            "{problem}"
        );
        expect_problem(
            patch(&app, &admin, None, json!([1])).await,
            422,
            "validation",
        )
        .await;

        // A change from the version read; the same version again is stale.
        let res = patch(
            &app,
            &admin,
            Some("\"0\""),
            json!({"password.min_length": 12, "features.beta": true}),
        )
        .await;
        assert_eq!(etag(&res), "\"1\"");
        let view = json_with(res, 200).await;
        assert_eq!(value(&view, "password.min_length"), 12);
        expect_problem(
            patch(
                &app,
                &admin,
                Some("\"0\""),
                json!({"registration.open": false}),
            )
            .await,
            412,
            "precondition-failed",
        )
        .await;
        expect_problem(
            patch(
                &app,
                &admin,
                Some("yesterday"),
                json!({"registration.open": false}),
            )
            .await,
            412,
            "precondition-failed",
        )
        .await;

        // The flags are public.
        let res = app
            .client
            .get(app.url("/v1/features"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            json_with(res, 200).await,
            json!({"beta": true, "new_editor": true})
        );

        // The rules read them: the password minimum …
        let problem = expect_problem(
            app.post(
                "/v1/registrations",
                json!({"email": "kim@example.com", "username": "kim", "password": "elevenchars"}),
            )
            .await,
            422,
            "validation",
        )
        .await;
        assert!(
            problem["errors"]["password"][0]
                .as_str()
                .unwrap()
                .contains("12"),
            "{problem}"
        );
        // … and registration closed.
        let res = patch(
            &app,
            &admin,
            Some("\"1\""),
            json!({"registration.open": false}),
        )
        .await;
        assert_eq!(res.status(), 200);
        expect_problem(
            app.post(
                "/v1/registrations",
                json!({"email": "kim@example.com", "username": "kim", "password": "twelve chars!"}),
            )
            .await,
            403,
            "registration-closed",
        )
        .await;

        // Each change is in the activity log, with what it changed.
        let events = json_with(
            app.authed(
                Method::GET,
                "/v1/activity?type=settings.changed",
                &admin,
                None,
            )
            .await,
            200,
        )
        .await;
        let items = events["items"].as_array().unwrap();
        assert_eq!(items.len(), 2, "{events}");
        assert_eq!(items[0]["details"]["version"], 2);
        assert_eq!(
            items[0]["details"]["changes"]["registration.open"],
            json!({"from": true, "to": false})
        );
        assert_eq!(items[1]["actor"]["kind"], "admin");
        app
    })
    .await;
}

/// Parallel writers of different keys, without `If-Match`, all land.
async fn parallel_writers_all_land(engine: Engine) {
    with_app(
        engine,
        |c| {
            for i in 0..8 {
                c.features.insert(format!("f{i}"), FlagConfig::Plain(false));
            }
        },
        |app| async move {
            let admin = app.admin_token().await;
            let writes = (0..8).map(|i| {
                let (app, admin) = (&app, &admin);
                async move {
                    let res =
                        patch(app, admin, None, json!({format!("features.f{i}"): true})).await;
                    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
                }
            });
            futures::future::join_all(writes).await;
            let view = json_with(
                app.authed(Method::GET, "/v1/settings", &admin, None).await,
                200,
            )
            .await;
            assert_eq!(view["version"], 8, "{view}");
            for i in 0..8 {
                assert_eq!(value(&view, &format!("features.f{i}")), true, "{view}");
            }
            app
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_writers_all_land_over_sqlite() {
    parallel_writers_all_land(Engine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_writers_all_land_over_postgres() {
    parallel_writers_all_land(Engine::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_writers_all_land_over_mongodb() {
    parallel_writers_all_land(Engine::Mongodb).await;
}

/// The longest another instance may take: the announcement normally
/// arrives at once, the poll every second; the rest is a loaded test
/// machine's margin (the figure is printed).
const APPLY_BOUND: Duration = Duration::from_secs(10);

async fn a_change_reaches_the_other_instance(one: TestApp, two: TestApp) -> (TestApp, TestApp) {
    let admin = one.admin_token().await;
    let features = |app: &TestApp| {
        let request = app.client.get(app.url("/v1/features"));
        async move { json_with(request.send().await.unwrap(), 200).await }
    };
    assert_eq!(features(&two).await["beta"], false);
    let res = patch(
        &one,
        &admin,
        None,
        json!({"features.beta": true, "registration.open": false}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let started = Instant::now();
    while features(&two).await["beta"] != true {
        assert!(
            started.elapsed() < APPLY_BOUND,
            "not applied on two after {APPLY_BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "a settings change applied on the other instance after {:?}",
        started.elapsed()
    );
    expect_problem(
        two.post(
            "/v1/registrations",
            json!({"email": "kim@example.com", "username": "kim", "password": "twelve chars!"}),
        )
        .await,
        403,
        "registration-closed",
    )
    .await;
    (one, two)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_reaches_the_other_instance_over_sqlite() {
    with_two_apps(Engine::Sqlite, flags, a_change_reaches_the_other_instance).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_reaches_the_other_instance_over_postgres_with_redis() {
    with_two_apps(
        Engine::PostgresWithRedis,
        flags,
        a_change_reaches_the_other_instance,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_reaches_the_other_instance_over_mongodb() {
    with_two_apps(Engine::Mongodb, flags, a_change_reaches_the_other_instance).await;
}

/// A record changed behind the server's back (no announcement: another
/// instance whose announcement was lost) is read by the poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_nobody_announced_is_picked_up_by_the_poll() {
    with_app(Engine::Sqlite, flags, |app| async move {
        let features = || async {
            let res = app
                .client
                .get(app.url("/v1/features"))
                .send()
                .await
                .unwrap();
            json_with(res, 200).await
        };
        assert_eq!(features().await["beta"], false);
        let stored = app.stores.settings.load().await.unwrap();
        let version = stored.as_ref().map_or(0, |s| s.version);
        let next = domain::StoredSettings {
            version: version + 1,
            body: r#"{"features.beta":{"value":true,"at":0,"by":null}}"#.into(),
        };
        app.stores.settings.save(version, &next).await.unwrap();
        let started = Instant::now();
        while features().await["beta"] != true {
            assert!(
                started.elapsed() < APPLY_BOUND,
                "not polled after {APPLY_BOUND:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!(
            "an unannounced change applied after {:?}",
            started.elapsed()
        );
        app
    })
    .await;
}

/// A front end on another allowed origin can send `If-Match` and read the
/// `ETag` (and the rate-limit headers) cross-origin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_origin_front_end_may_send_if_match_and_read_the_etag() {
    with_app(
        Engine::Sqlite,
        |c| c.server.cors_origins = vec!["http://localhost:5173".into()],
        |app| async move {
            let res = app
                .client
                .request(Method::OPTIONS, app.url("/v1/settings"))
                .header("origin", "http://localhost:5173")
                .header("access-control-request-method", "PATCH")
                .header(
                    "access-control-request-headers",
                    "if-match, x-csrf-token, content-type",
                )
                .send()
                .await
                .unwrap();
            assert!(res.status().is_success(), "{}", res.status());
            let allowed = res.headers()["access-control-allow-headers"]
                .to_str()
                .unwrap()
                .to_ascii_lowercase();
            assert!(allowed.contains("if-match"), "{allowed}");
            let res = app
                .client
                .get(app.url("/v1/features"))
                .header("origin", "http://localhost:5173")
                .send()
                .await
                .unwrap();
            let exposed = res.headers()["access-control-expose-headers"]
                .to_str()
                .unwrap()
                .to_ascii_lowercase();
            for header in ["etag", "ratelimit", "ratelimit-policy", "retry-after"] {
                assert!(exposed.split(',').any(|h| h.trim() == header), "{exposed}");
            }
            app
        },
    )
    .await;
}
