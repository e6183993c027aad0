//! `MailQueue` contracts.

use crate::contract;
use std::collections::HashSet;

use domain::Stores;
use domain::*;
use time::Duration;

use crate::fixtures::*;

const KINDS: [OutgoingKind; 7] = [
    OutgoingKind::Verification,
    OutgoingKind::PasswordReset,
    OutgoingKind::AccountDeletion,
    OutgoingKind::ResetRequest,
    OutgoingKind::Notice,
    OutgoingKind::SignInRequest,
    OutgoingKind::SignIn,
];

/// Every kind of message comes back from `claim` as it was queued, with one
/// more attempt, the longest due first; `count` counts what is queued.
#[contract]
pub async fn queued_mail_of_every_kind_roundtrips(s: Stores) {
    let t = t0();
    let queued: Vec<QueuedMail> = KINDS
        .iter()
        .zip(0..)
        .map(|(kind, i)| {
            let mut m = queued_mail(*kind, "Ann.Mail@Example.org", t + Duration::milliseconds(i));
            m.attempts = u32::try_from(i).unwrap();
            m
        })
        .collect();
    // Queued newest first: the claim still returns them oldest first.
    for m in queued.iter().rev() {
        s.mail_queue.enqueue(m).await.unwrap();
    }
    assert_eq!(s.mail_queue.count().await.unwrap(), 7);
    let now = t + Duration::seconds(1);
    let claimed = s
        .mail_queue
        .claim(now, now + Duration::minutes(1), 10)
        .await
        .unwrap();
    let expected: Vec<QueuedMail> = queued
        .iter()
        .map(|m| QueuedMail {
            attempts: m.attempts + 1,
            ..m.clone()
        })
        .collect();
    assert_eq!(claimed, expected);
    // Claimed messages stay queued until removed.
    assert_eq!(s.mail_queue.count().await.unwrap(), 7);
}

/// A claim takes only what is due at `now`, at most `limit`, and hides it
/// until `until`; `retry_at` makes it due again at the given instant,
/// keeping its attempts; `remove` deletes it.
#[contract]
pub async fn claim_hides_until_and_retry_reschedules(s: Stores) {
    let t = t0();
    let first = queued_mail(OutgoingKind::PasswordReset, "a@example.org", t);
    let second = queued_mail(
        OutgoingKind::ResetRequest,
        "b@example.org",
        t + Duration::seconds(1),
    );
    let later = queued_mail(
        OutgoingKind::ResetRequest,
        "c@example.org",
        t + Duration::hours(1),
    );
    for m in [&first, &second, &later] {
        s.mail_queue.enqueue(m).await.unwrap();
    }
    let now = t + Duration::seconds(2);
    let until = now + Duration::minutes(2);
    let ids = |ms: Vec<QueuedMail>| ms.into_iter().map(|m| m.id).collect::<Vec<_>>();
    // `later` is not due yet; the limit leaves `second` for the next claim.
    let got = s.mail_queue.claim(now, until, 1).await.unwrap();
    assert_eq!(ids(got), [first.id]);
    let got = s.mail_queue.claim(now, until, 10).await.unwrap();
    assert_eq!(ids(got), [second.id]);
    assert!(s.mail_queue.claim(now, until, 10).await.unwrap().is_empty());
    // After `until`, a claim takes them again, with one more attempt each.
    let got = s
        .mail_queue
        .claim(until, until + Duration::minutes(2), 10)
        .await
        .unwrap();
    assert_eq!(
        got.iter().map(|m| (m.id, m.attempts)).collect::<Vec<_>>(),
        [(first.id, 2), (second.id, 2)]
    );
    // A retry reschedules: due at its instant, not before.
    let retry = until + Duration::seconds(30);
    s.mail_queue.retry_at(first.id, retry).await.unwrap();
    let before = retry - Duration::seconds(1);
    assert!(
        s.mail_queue
            .claim(before, before, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let got = s
        .mail_queue
        .claim(retry, retry + Duration::minutes(2), 10)
        .await
        .unwrap();
    assert_eq!(
        got.iter().map(|m| (m.id, m.attempts)).collect::<Vec<_>>(),
        [(first.id, 3)]
    );
    // Removed messages are gone; removing twice is fine; retrying one is NotFound.
    s.mail_queue.remove(first.id).await.unwrap();
    s.mail_queue.remove(first.id).await.unwrap();
    assert!(matches!(
        s.mail_queue.retry_at(first.id, retry).await,
        Err(WriteError::NotFound)
    ));
    assert_eq!(s.mail_queue.count().await.unwrap(), 2);
    let far = t + Duration::days(2);
    let rest = s.mail_queue.claim(far, far, 10).await.unwrap();
    assert_eq!(ids(rest), [second.id, later.id]);
}

/// Of concurrent claims, no two return the same message, and together they
/// return every due one.
#[contract]
pub async fn concurrent_claims_never_share_a_message(s: Stores) {
    let t = t0();
    let mut all = HashSet::new();
    for i in 0..40 {
        let m = queued_mail(OutgoingKind::ResetRequest, &format!("u{i}@example.org"), t);
        all.insert(m.id);
        s.mail_queue.enqueue(&m).await.unwrap();
    }
    let now = t + Duration::seconds(1);
    let claims = (0..8).map(|_| {
        let queue = s.mail_queue.clone();
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
                got.extend(batch.into_iter().map(|m| m.id));
            }
        })
    });
    let mut seen = HashSet::new();
    let mut total = 0;
    for got in futures::future::join_all(claims).await {
        for id in got.unwrap() {
            total += 1;
            assert!(seen.insert(id), "{id:?} was claimed twice");
        }
    }
    assert_eq!(total, 40);
    assert_eq!(seen, all);
}
