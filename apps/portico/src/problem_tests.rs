//! Tests of the problem documents.

#[derive(Debug, thiserror::Error)]
#[error("cannot listen: {0}")]
struct Listen(#[source] std::io::Error);

#[test]
fn a_chain_says_each_cause_once() {
    let e = Listen(std::io::Error::new(
        std::io::ErrorKind::AddrInUse,
        "Address already in use",
    ));
    assert_eq!(
        super::error_chain(&e),
        "cannot listen: Address already in use"
    );
    #[derive(Debug, thiserror::Error)]
    #[error("starting failed")]
    struct Start(#[source] Listen);
    let e = Start(e);
    assert_eq!(
        super::error_chain(&e),
        "starting failed: cannot listen: Address already in use"
    );
}

use super::*;

#[test]
fn a_saturated_hasher_is_a_503_overloaded_to_retry_soon() {
    let res = Problem::internal(domain::StoreError::busy("password hashing is saturated"))
        .error_response();
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "1");
    let unreachable = Problem::internal(domain::StoreError::unavailable(
        "ping",
        std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
    ))
    .error_response();
    assert_eq!(unreachable.headers().get(header::RETRY_AFTER).unwrap(), "5");
}

#[test]
fn a_suspension_is_told_with_its_reason_and_end() {
    let s = domain::Suspension {
        reason: domain::SuspensionReason::parse("Spam").unwrap(),
        since: time::macros::datetime!(2026-12-06 12:00 UTC),
        until: Some(time::macros::datetime!(2026-12-31 00:00 UTC)),
    };
    let body = serde_json::to_value(Problem::suspended(&s).body()).unwrap();
    assert_eq!(body["type"], "urn:portico:problem:account-suspended");
    assert_eq!(body["status"], 403);
    assert_eq!(body["reason"], "Spam");
    assert_eq!(body["until"], "2026-12-31T00:00:00Z");
    let open = domain::Suspension { until: None, ..s };
    let body = serde_json::to_value(Problem::suspended(&open).body()).unwrap();
    assert!(body.get("until").is_none(), "{body}");
    let other = serde_json::to_value(Problem::new(Kind::NotFound).body()).unwrap();
    assert!(other.get("reason").is_none() && other.get("until").is_none());
}

#[test]
fn every_kind_has_a_distinct_slug_and_an_error_status() {
    let all = Kind::ALL;
    assert_eq!(all.len(), 37);
    let slugs: std::collections::BTreeSet<_> = all.iter().map(|k| k.slug()).collect();
    assert_eq!(slugs.len(), all.len());
    assert!(all.iter().all(|k| k.status_and_title().0.as_u16() >= 400));
}

#[test]
fn validation_body_lists_messages_per_field() {
    let mut f = Fields::default();
    let _: Option<u8> = f.check("email", Err("not an email"));
    f.add("email", "too long");
    let body = f.finish().unwrap_err().body();
    assert_eq!(body.status, 422);
    assert_eq!(body.kind, "urn:portico:problem:validation");
    assert_eq!(body.errors["email"], vec!["not an email", "too long"]);
}
