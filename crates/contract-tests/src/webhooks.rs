//! `WebhookRepository` and `WebhookQueue` contracts.

use std::collections::HashSet;

use domain::Stores;
use domain::*;
use time::{Duration, OffsetDateTime};

use crate::contract;
use crate::fixtures::*;

/// An endpoint with every field set.
pub fn endpoint(tag: &str, at: OffsetDateTime) -> WebhookEndpoint {
    let id = WebhookId::from_uuid(id());
    WebhookEndpoint {
        id,
        url: WebhookUrl::parse(&format!("https://hooks.example.org/{tag}?a=1&b=%20x")).unwrap(),
        events: WebhookEvents::parse(&["user.created", "payment.succeeded"]).unwrap(),
        secret: Sealed::from_stored(format!("k1:{}", uuid::Uuid::now_v7().simple())),
        description: Some(format!("Ann's \"{tag}\" receiver, ünïcode")),
        enabled: true,
        failing_since: None,
        created_at: at,
    }
}

/// A delivery of a `user.created` event to `endpoint`.
pub fn delivery(endpoint: WebhookId, at: OffsetDateTime) -> WebhookDelivery {
    WebhookDelivery {
        id: WebhookDeliveryId::from_uuid(id()),
        endpoint_id: endpoint,
        event_id: WebhookEventId::from_uuid(id()),
        event_type: WebhookEventType::UserCreated,
        payload: r#"{"type":"user.created","timestamp":"2026-12-07T08:00:00Z","data":{"user_id":"x","note":"ü\n"}}"#.into(),
        created_at: at,
        attempts: 0,
    }
}

fn attempt(endpoint: WebhookId, n: u32, at: OffsetDateTime) -> WebhookAttempt {
    WebhookAttempt {
        endpoint_id: endpoint,
        event_id: WebhookEventId::from_uuid(id()),
        event_type: WebhookEventType::PaymentFailed,
        attempt: n,
        status: n.is_multiple_of(2).then_some(503),
        error: (!n.is_multiple_of(2)).then(|| format!("connection refused ({n})")),
        at,
    }
}

/// An endpoint reads back as it was stored, with and without its optional
/// fields; `list` gives every endpoint, oldest first.
#[contract]
pub async fn endpoints_roundtrip_and_list_oldest_first(s: Stores) {
    let t = t0();
    let full = WebhookEndpoint {
        failing_since: Some(t - Duration::hours(1)),
        enabled: false,
        ..endpoint("full", t + Duration::seconds(1))
    };
    let bare = WebhookEndpoint {
        description: None,
        ..endpoint("bare", t)
    };
    s.webhooks.create(&full).await.unwrap();
    s.webhooks.create(&bare).await.unwrap();
    assert_eq!(s.webhooks.get(full.id).await.unwrap(), Some(full.clone()));
    assert_eq!(s.webhooks.get(bare.id).await.unwrap(), Some(bare.clone()));
    assert_eq!(s.webhooks.list().await.unwrap(), [bare, full]);
    let missing = WebhookId::from_uuid(id());
    assert_eq!(s.webhooks.get(missing).await.unwrap(), None);
}

/// `update` changes the fields given and no other, returns the endpoint
/// after, and turning it on clears `failing_since`; `NotFound` for a
/// missing endpoint.
#[contract]
pub async fn update_changes_only_the_given_fields(s: Stores) {
    let t = t0();
    let mut e = endpoint("u", t);
    e.failing_since = Some(t);
    e.enabled = false;
    s.webhooks.create(&e).await.unwrap();
    let url = WebhookUrl::parse("https://other.example.org/x").unwrap();
    let after = s
        .webhooks
        .update(
            e.id,
            &WebhookChange {
                url: Some(url.clone()),
                ..WebhookChange::default()
            },
        )
        .await
        .unwrap();
    let expected = WebhookEndpoint { url, ..e.clone() };
    assert_eq!(after, expected);
    let after = s
        .webhooks
        .update(
            e.id,
            &WebhookChange {
                description: Some(None),
                enabled: Some(true),
                ..WebhookChange::default()
            },
        )
        .await
        .unwrap();
    let expected = WebhookEndpoint {
        description: None,
        enabled: true,
        failing_since: None,
        ..expected
    };
    assert_eq!(after, expected);
    assert_eq!(s.webhooks.get(e.id).await.unwrap(), Some(expected));
    let missing = WebhookId::from_uuid(id());
    assert!(matches!(
        s.webhooks.update(missing, &WebhookChange::default()).await,
        Err(WriteError::NotFound)
    ));
}

/// Concurrent updates of different fields all land.
#[contract]
pub async fn concurrent_updates_of_different_fields_all_land(s: Stores) {
    let e = endpoint("race", t0());
    s.webhooks.create(&e).await.unwrap();
    let url = WebhookUrl::parse("https://raced.example.org/").unwrap();
    let events = WebhookEvents::parse(&["role.granted"]).unwrap();
    let changes = [
        WebhookChange {
            url: Some(url.clone()),
            ..WebhookChange::default()
        },
        WebhookChange {
            events: Some(events.clone()),
            ..WebhookChange::default()
        },
        WebhookChange {
            description: Some(Some("raced".into())),
            ..WebhookChange::default()
        },
        WebhookChange {
            enabled: Some(false),
            ..WebhookChange::default()
        },
    ];
    for _ in 0..5 {
        let runs = changes.iter().cloned().map(|c| {
            let repo = s.webhooks.clone();
            tokio::spawn(async move { repo.update(e.id, &c).await.unwrap() })
        });
        for r in futures::future::join_all(runs).await {
            r.unwrap();
        }
        let got = s.webhooks.get(e.id).await.unwrap().unwrap();
        assert_eq!(got.url, url);
        assert_eq!(got.events, events);
        assert_eq!(got.description.as_deref(), Some("raced"));
        assert!(!got.enabled);
        assert_eq!(got.secret, e.secret, "fields not changed stay");
        s.webhooks
            .update(
                e.id,
                &WebhookChange {
                    url: Some(e.url.clone()),
                    events: Some(e.events.clone()),
                    description: Some(None),
                    enabled: Some(true),
                },
            )
            .await
            .unwrap();
    }
}

/// Concurrent failures all return the first one's instant; a success
/// clears it; `disable_failing` turns the endpoint off only while it is
/// still failing since that instant.
#[contract]
pub async fn failures_keep_the_first_and_disabling_is_compare_and_set(s: Stores) {
    let t = t0();
    let e = endpoint("f", t);
    s.webhooks.create(&e).await.unwrap();
    let runs = (0..8).map(|i| {
        let repo = s.webhooks.clone();
        tokio::spawn(async move {
            repo.record_failure(e.id, t + Duration::seconds(i))
                .await
                .unwrap()
        })
    });
    let got: HashSet<OffsetDateTime> = futures::future::join_all(runs)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(got.len(), 1, "every caller saw the same first failure");
    let since = *got.iter().next().unwrap();
    let stored = s.webhooks.get(e.id).await.unwrap().unwrap();
    assert_eq!(stored.failing_since, Some(since));
    // Stale: a success in between.
    s.webhooks.record_success(e.id).await.unwrap();
    assert_eq!(
        s.webhooks.get(e.id).await.unwrap().unwrap().failing_since,
        None
    );
    assert!(!s.webhooks.disable_failing(e.id, since).await.unwrap());
    assert!(s.webhooks.get(e.id).await.unwrap().unwrap().enabled);
    // Failing again since a new instant: the old one does not disable it.
    let again = t + Duration::hours(1);
    assert_eq!(s.webhooks.record_failure(e.id, again).await.unwrap(), again);
    assert!(!s.webhooks.disable_failing(e.id, since).await.unwrap());
    assert!(s.webhooks.disable_failing(e.id, again).await.unwrap());
    let off = s.webhooks.get(e.id).await.unwrap().unwrap();
    assert!(!off.enabled);
    assert!(!s.webhooks.disable_failing(e.id, again).await.unwrap());
    let missing = WebhookId::from_uuid(id());
    assert!(matches!(
        s.webhooks.record_failure(missing, t).await,
        Err(WriteError::NotFound)
    ));
    s.webhooks.record_success(missing).await.unwrap();
    assert!(!s.webhooks.disable_failing(missing, t).await.unwrap());
}

/// The delivery log: an endpoint's attempts, newest first, at most
/// `limit`; purged by age in batches; deleted with its endpoint.
#[contract]
pub async fn the_delivery_log_lists_newest_first_and_goes_with_its_endpoint(s: Stores) {
    let t = t0();
    let a = endpoint("a", t);
    let b = endpoint("b", t);
    s.webhooks.create(&a).await.unwrap();
    s.webhooks.create(&b).await.unwrap();
    let logged: Vec<WebhookAttempt> = (1..=5)
        .map(|n| attempt(a.id, n, t + Duration::seconds(i64::from(n))))
        .collect();
    for x in &logged {
        s.webhooks.log_attempt(x).await.unwrap();
    }
    s.webhooks.log_attempt(&attempt(b.id, 1, t)).await.unwrap();
    let newest: Vec<WebhookAttempt> = logged.iter().rev().take(3).cloned().collect();
    assert_eq!(s.webhooks.attempts(a.id, 3).await.unwrap(), newest);
    assert_eq!(s.webhooks.attempts(b.id, 10).await.unwrap().len(), 1);
    // Purge: attempts before t+3s (a's first two and b's), one at a time.
    let before = t + Duration::seconds(3);
    let mut purged = 0;
    loop {
        let n = s.webhooks.purge_attempts_before(before, 1).await.unwrap();
        assert!(n <= 1);
        if n == 0 {
            break;
        }
        purged += n;
    }
    assert_eq!(purged, 3);
    let left: Vec<WebhookAttempt> = logged.iter().rev().take(3).cloned().collect();
    assert_eq!(s.webhooks.attempts(a.id, 10).await.unwrap(), left);
    assert!(s.webhooks.attempts(b.id, 10).await.unwrap().is_empty());
    // Deleting the endpoint deletes its log.
    s.webhooks.delete(a.id).await.unwrap();
    assert_eq!(s.webhooks.get(a.id).await.unwrap(), None);
    assert!(s.webhooks.attempts(a.id, 10).await.unwrap().is_empty());
    assert!(matches!(
        s.webhooks.delete(a.id).await,
        Err(WriteError::NotFound)
    ));
    assert_eq!(s.webhooks.list().await.unwrap(), [b]);
}

/// Deliveries come back from `claim` as queued, with one more attempt,
/// only when due, at most `limit`, oldest first; a claim hides them until
/// `until`; `retry_at` reschedules; `remove` deletes; `count` counts.
#[contract]
pub async fn deliveries_are_claimed_retried_and_removed(s: Stores) {
    let t = t0();
    let ep = WebhookId::from_uuid(id());
    let first = delivery(ep, t);
    let second = WebhookDelivery {
        attempts: 3,
        event_type: WebhookEventType::Test,
        ..delivery(ep, t + Duration::seconds(1))
    };
    let later = delivery(ep, t + Duration::hours(1));
    for d in [&later, &second, &first] {
        s.webhook_queue.enqueue(d).await.unwrap();
    }
    assert_eq!(s.webhook_queue.count().await.unwrap(), 3);
    let now = t + Duration::seconds(2);
    let until = now + Duration::minutes(2);
    let got = s.webhook_queue.claim(now, until, 1).await.unwrap();
    assert_eq!(
        got,
        [WebhookDelivery {
            attempts: 1,
            ..first.clone()
        }]
    );
    let got = s.webhook_queue.claim(now, until, 10).await.unwrap();
    assert_eq!(
        got,
        [WebhookDelivery {
            attempts: 4,
            ..second.clone()
        }]
    );
    assert!(
        s.webhook_queue
            .claim(now, until, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let retry = until + Duration::seconds(30);
    s.webhook_queue.retry_at(first.id, retry).await.unwrap();
    let got = s
        .webhook_queue
        .claim(until, retry + Duration::minutes(1), 10)
        .await
        .unwrap();
    assert_eq!(
        got.iter().map(|d| (d.id, d.attempts)).collect::<Vec<_>>(),
        [(second.id, 5)]
    );
    let got = s.webhook_queue.claim(retry, retry, 10).await.unwrap();
    assert_eq!(
        got.iter().map(|d| (d.id, d.attempts)).collect::<Vec<_>>(),
        [(first.id, 2)]
    );
    s.webhook_queue.remove(first.id).await.unwrap();
    s.webhook_queue.remove(first.id).await.unwrap();
    assert!(matches!(
        s.webhook_queue.retry_at(first.id, retry).await,
        Err(WriteError::NotFound)
    ));
    assert_eq!(s.webhook_queue.count().await.unwrap(), 2);
    let far = t + Duration::days(2);
    let rest = s.webhook_queue.claim(far, far, 10).await.unwrap();
    assert_eq!(
        rest.iter().map(|d| d.id).collect::<Vec<_>>(),
        [second.id, later.id]
    );
}

/// Of concurrent claims, no two return the same delivery, and together
/// they return every due one.
#[contract]
pub async fn concurrent_claims_never_share_a_delivery(s: Stores) {
    let t = t0();
    let ep = WebhookId::from_uuid(id());
    let mut all = HashSet::new();
    for _ in 0..40 {
        let d = delivery(ep, t);
        all.insert(d.id);
        s.webhook_queue.enqueue(&d).await.unwrap();
    }
    let now = t + Duration::seconds(1);
    let claims = (0..8).map(|_| {
        let queue = s.webhook_queue.clone();
        tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = queue
                    .claim(now, now + Duration::minutes(5), 3)
                    .await
                    .unwrap();
                if batch.is_empty() {
                    return got;
                }
                got.extend(batch.into_iter().map(|d| d.id));
            }
        })
    });
    let mut seen = HashSet::new();
    for got in futures::future::join_all(claims).await {
        for id in got.unwrap() {
            assert!(seen.insert(id), "{id:?} was claimed twice");
        }
    }
    assert_eq!(seen, all);
}
