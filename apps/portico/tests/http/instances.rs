//! Two server instances over one store, each caching principals: a change
//! made through one is refused at once there and, through the store's
//! change feed, on the other well before the cache's TTL (set to ten
//! minutes here, so that only the feed can explain the refusal).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::support::{Engine, TestApp, with_two_apps};

/// The longest the other instance may take to hear a change: the polling
/// feeds look twice a second; the rest is a loaded test machine's margin.
const FEED_BOUND: Duration = Duration::from_secs(10);

/// Lets the changes of the sign-ins so far reach both instances (each
/// sign-in records itself on the user), so that what the callers fill the
/// caches with next stays there until the change under test.
pub(crate) async fn settle() {
    tokio::time::sleep(Duration::from_millis(1500)).await;
}

pub(crate) async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.authed(Method::GET, "/v1/me", token, None)
        .await
        .status()
        .as_u16()
}

/// Polls `GET /v1/me` on `app` until it answers 401; how long that took.
pub(crate) async fn refused_within(app: &TestApp, token: &str, what: &str) -> Duration {
    let started = Instant::now();
    loop {
        match me_status(app, token).await {
            401 => return started.elapsed(),
            200 if started.elapsed() < FEED_BOUND => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            status => panic!("{what}: still {status} on the other instance after {FEED_BOUND:?}"),
        }
    }
}

async fn changes_reach_the_other_instance(one: TestApp, two: TestApp) -> (TestApp, TestApp) {
    // Sign-out on one.
    let (ann, _) = one.signed_in_user("ann").await;
    settle().await;
    assert_eq!(me_status(&one, &ann).await, 200);
    assert_eq!(me_status(&two, &ann).await, 200, "cached on two");
    assert_eq!(me_status(&two, &ann).await, 200);
    let res = one
        .authed(Method::DELETE, "/v1/sessions/current", &ann, None)
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        me_status(&one, &ann).await,
        401,
        "refused at once where it was revoked"
    );
    let waited = refused_within(&two, &ann, "a signed-out token").await;
    eprintln!("signed out on one: refused on two after {waited:?}");

    // An administrator's lock on two.
    let (bob, bob_id) = one.signed_in_user("bob").await;
    let admin = two.admin_token().await;
    settle().await;
    assert_eq!(me_status(&one, &bob).await, 200, "cached on one");
    let res = two
        .authed(
            Method::PATCH,
            &format!("/v1/users/{bob_id}"),
            &admin,
            Some(json!({"locked": true})),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        me_status(&two, &bob).await,
        401,
        "refused at once where it was locked"
    );
    let waited = refused_within(&one, &bob, "a locked user's token").await;
    eprintln!("locked on two: refused on one after {waited:?}");

    // A role granted on one widens the rights on two.
    let (cyd, cyd_id) = one.signed_in_user("cyd").await;
    let admin = one.admin_token().await;
    settle().await;
    let res = two.authed(Method::GET, "/v1/users", &cyd, None).await;
    assert_eq!(res.status(), 403);
    let res = one
        .authed(
            Method::PUT,
            &format!("/v1/users/{cyd_id}/roles/admin"),
            &admin,
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    let started = Instant::now();
    loop {
        let status = two
            .authed(Method::GET, "/v1/users", &cyd, None)
            .await
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        assert!(
            started.elapsed() < FEED_BOUND,
            "a granted role still unknown on two after {FEED_BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "granted on one: in effect on two after {:?}",
        started.elapsed()
    );
    (one, two)
}

pub(crate) fn long_ttl(c: &mut portico::Config) {
    c.security.principal_cache_ttl_ms = 600_000;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_the_other_instance_over_sqlite() {
    with_two_apps(Engine::Sqlite, long_ttl, changes_reach_the_other_instance).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_the_other_instance_over_postgres() {
    with_two_apps(Engine::Postgres, long_ttl, changes_reach_the_other_instance).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_the_other_instance_over_redis_sessions() {
    with_two_apps(
        Engine::PostgresWithRedis,
        long_ttl,
        changes_reach_the_other_instance,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_the_other_instance_over_mongodb() {
    with_two_apps(Engine::Mongodb, long_ttl, changes_reach_the_other_instance).await;
}

/// Usage counters are counted in memory and written in batches: after 60
/// signed-in requests spread over two instances and a graceful stop of
/// both, the store holds exactly 60 (the last ones written at shutdown),
/// and each response showed the user's figures including itself.
async fn usage_counters_are_exact_after_the_flush(
    one: TestApp,
    two: TestApp,
) -> (TestApp, TestApp) {
    let (ann, ann_id) = one.signed_in_user("ann").await;
    // One instance alone: each response counts itself, without waiting.
    for n in 1..=10_u64 {
        let me: serde_json::Value = one
            .authed(Method::GET, "/v1/me", &ann, None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(me["usage"]["all_time"], n, "{me}");
    }
    let requests = (0..50).map(|n| {
        let app = if n % 2 == 0 { &one } else { &two };
        app.authed(Method::GET, "/v1/me", &ann, None)
    });
    for res in futures::future::join_all(requests).await {
        assert_eq!(res.status(), 200);
    }
    let stores = one.stores.clone();
    for app in [&one, &two] {
        app.handle.stop(true).await;
    }
    // `stop` returns once the server has stopped; the final write follows
    // it in the server's task: wait for it.
    let key = domain::usage_key(ann_id.parse().unwrap());
    let now = time::OffsetDateTime::now_utc();
    let started = Instant::now();
    let stored = loop {
        let stored = stores
            .rate_limiter
            .peek(&key, domain::Window::AllTime, now)
            .await
            .unwrap();
        if stored == 60 || started.elapsed() > FEED_BOUND {
            break stored;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(stored, 60, "every signed-in request counted exactly once");
    (one, two)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_counters_are_exact_after_the_flush_over_sqlite() {
    with_two_apps(
        Engine::Sqlite,
        |c| c.rate_limits.usage_flush_ms = 60_000,
        usage_counters_are_exact_after_the_flush,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_counters_are_exact_after_the_flush_over_redis() {
    with_two_apps(
        Engine::PostgresWithRedis,
        |c| c.rate_limits.usage_flush_ms = 60_000,
        usage_counters_are_exact_after_the_flush,
    )
    .await;
}
