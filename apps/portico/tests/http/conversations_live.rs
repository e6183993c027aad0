//! Conversations under load and across instances: the per-sender rate
//! limit, and a message reaching the recipient's live stream open on
//! another instance.

use serde_json::json;

use crate::conversations::{post, say, start};
use crate::support::{TestApp, expect_problem};

async fn posts_are_rate_limited(app: TestApp) -> TestApp {
    let (ann, _) = app.signed_in_user("ann").await;
    let (_, bob_id) = app.signed_in_user("bob").await;
    let d = start(&app, &ann, json!({"participant_ids": [bob_id]}), 201).await;
    let d = d["id"].as_str().unwrap();
    for i in 0..3 {
        say(&app, &ann, d, &format!("message {i}")).await;
    }
    let res = post(&app, &ann, d, json!({"content": "one too many"})).await;
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    expect_problem(res, 429, "rate-limited").await;
    app
}

mod rate_limit {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        crate::support::with_app(
            crate::support::Engine::Sqlite,
            |c| c.content.conversation_posts_per_minute = 3,
            super::posts_are_rate_limited,
        )
        .await;
    }
}

/// Two server instances over one PostgreSQL database: a message posted
/// through one reaches the recipient's live stream open on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_reaches_a_stream_on_another_instance() {
    crate::support::with_two_postgres_pools(|one, two| async move {
        let (ann, _) = two.signed_in_user("ann").await;
        let (bob, bob_id) = one.signed_in_user("bob").await;
        let stream = crate::notifications::stream(&one, &bob, None).await;
        let d = start(&two, &ann, json!({"participant_ids": [bob_id]}), 201).await;
        let d = d["id"].as_str().unwrap();
        let sent = say(&two, &ann, d, "across instances").await;
        let events = crate::notifications::read_events(stream, 1).await;
        assert_eq!(events[0].1["type"], "message");
        assert_eq!(events[0].1["conversation_id"], d);
        assert_eq!(events[0].1["message_id"], sent["id"]);
        (one, two)
    })
    .await;
}
