//! Payments over HTTP: idempotency (retries, a reused key, concurrent
//! retries), visibility, cancellation, and signed provider webhooks.

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_every_engine;
use crate::support::{TestApp, expect_problem};

const SECRET: &str = "whsec-test-0123456789abcdef0123456789";

async fn pay(app: &TestApp, token: &str, key: Option<&str>, body: &Value) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/v1/payments"))
        .bearer_auth(token)
        .json(body);
    if let Some(key) = key {
        req = req.header("Idempotency-Key", key);
    }
    req.send().await.unwrap()
}

async fn webhook(app: &TestApp, body: &str, timestamp: i64, secret: &str) -> reqwest::Response {
    let signer =
        portico::routes::payments::webhooks::SignedWebhooks::new(secret.as_bytes().to_vec());
    app.client
        .post(app.url("/v1/payments/webhooks/portico"))
        .header("Portico-Timestamp", timestamp.to_string())
        .header(
            "Portico-Signature",
            signer.signature(timestamp, body.as_bytes()),
        )
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

async fn payments(app: TestApp) -> TestApp {
    let (ann, _) = app.signed_in_user("ann").await;
    let (bob, bob_id) = app.signed_in_user("bob").await;
    let (carol, carol_id) = app.signed_in_user("carol").await;
    let (dave, _) = app.signed_in_user("dave").await;
    let body = json!({
        "amount": 1000, "currency": "EUR", "description": "dinner",
        "beneficiaries": [{"user_id": bob_id, "amount": 600}, {"user_id": carol_id, "amount": 400}],
    });

    // Validation: the key is required, shares must add up, currencies must exist.
    expect_problem(pay(&app, &ann, None, &body).await, 422, "validation").await;
    let mut wrong = body.clone();
    wrong["amount"] = json!(999);
    let p = expect_problem(
        pay(&app, &ann, Some("k-wrong"), &wrong).await,
        422,
        "validation",
    )
    .await;
    assert!(
        p["errors"]["beneficiaries"][0]
            .as_str()
            .unwrap()
            .contains("1000"),
        "{p}"
    );
    let mut odd = body.clone();
    odd["currency"] = json!("XYZ");
    expect_problem(
        pay(&app, &ann, Some("k-odd"), &odd).await,
        422,
        "validation",
    )
    .await;

    // Create, retry (same payment, 200), reuse the key for another body (422).
    let res = pay(&app, &ann, Some("k-1"), &body).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["status"], "pending");
    let retry = pay(&app, &ann, Some("k-1"), &body).await;
    assert_eq!(retry.status(), 200);
    assert_eq!(retry.json::<Value>().await.unwrap()["id"], created["id"]);
    let mut other = body.clone();
    other["description"] = json!("lunch");
    expect_problem(
        pay(&app, &ann, Some("k-1"), &other).await,
        422,
        "idempotency-key-reused",
    )
    .await;

    // Concurrent retries of one new key make exactly one payment.
    let retries = (0..8).map(|_| pay(&app, &ann, Some("k-concurrent"), &body));
    let mut ids = std::collections::BTreeSet::new();
    let mut created_count = 0;
    for res in futures::future::join_all(retries).await {
        assert!(
            res.status() == 201 || res.status() == 200,
            "{}",
            res.status()
        );
        created_count += usize::from(res.status() == 201);
        ids.insert(
            res.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!((ids.len(), created_count), (1, 1));
    let list: Value = app
        .authed(Method::GET, "/v1/payments", &ann, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 2);

    // Payer and beneficiaries see it; anyone else gets 404.
    let path = format!("/v1/payments/{}", created["id"].as_str().unwrap());
    assert_eq!(
        app.authed(Method::GET, &path, &bob, None).await.status(),
        200
    );
    assert_eq!(
        app.authed(Method::GET, &path, &carol, None).await.status(),
        200
    );
    expect_problem(
        app.authed(Method::GET, &path, &dave, None).await,
        404,
        "not-found",
    )
    .await;
    let bobs: Value = app
        .authed(Method::GET, "/v1/payments", &bob, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(bobs["items"].as_array().unwrap().len(), 2);
    // Only the payer cancels.
    expect_problem(
        app.authed(Method::POST, &format!("{path}/cancel"), &bob, None)
            .await,
        404,
        "not-found",
    )
    .await;

    // Webhooks: a bad signature or a stale timestamp changes nothing.
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let event = format!(
        r#"{{"type":"payment.succeeded","payment_id":"{}"}}"#,
        created["id"].as_str().unwrap()
    );
    expect_problem(
        webhook(&app, &event, now, "another secret of at least 32 bytes!").await,
        401,
        "unauthenticated",
    )
    .await;
    expect_problem(
        webhook(&app, &event, now - 301, SECRET).await,
        401,
        "unauthenticated",
    )
    .await;
    let still: Value = app
        .authed(Method::GET, &path, &ann, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still["status"], "pending");
    let unsigned = app
        .client
        .post(app.url("/v1/payments/webhooks/portico"))
        .body(event.clone())
        .send()
        .await
        .unwrap();
    expect_problem(unsigned, 401, "unauthenticated").await;
    expect_problem(
        app.client
            .post(app.url("/v1/payments/webhooks/nobody"))
            .body("{}")
            .send()
            .await
            .unwrap(),
        404,
        "not-found",
    )
    .await;

    // A good one succeeds the payment and notifies each beneficiary once,
    // even when replayed.
    for _ in 0..2 {
        let res = webhook(&app, &event, now, SECRET).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.json::<Value>().await.unwrap()["status"], "succeeded");
    }
    for (token, share) in [(&bob, "6.00"), (&carol, "4.00")] {
        let n: Value = app
            .authed(Method::GET, "/v1/notifications", token, None)
            .await
            .json()
            .await
            .unwrap();
        let items = n["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{n}");
        assert_eq!(items[0]["type"], "payment_received");
        assert!(
            items[0]["toast_message"].as_str().unwrap().contains(share),
            "{n}"
        );
    }
    // A succeeded payment cannot be cancelled.
    expect_problem(
        app.authed(Method::POST, &format!("{path}/cancel"), &ann, None)
            .await,
        409,
        "conflict",
    )
    .await;
    // A pending one can, once.
    let second = format!("/v1/payments/{}", ids.first().unwrap());
    let cancelled: Value = app
        .authed(Method::POST, &format!("{second}/cancel"), &ann, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    expect_problem(
        app.authed(Method::POST, &format!("{second}/cancel"), &ann, None)
            .await,
        409,
        "conflict",
    )
    .await;
    app
}

on_every_engine!(payments, |c: &mut portico::Config| {
    c.payments.webhook_secret = super::SECRET.into();
});
