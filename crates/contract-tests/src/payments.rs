//! `PaymentRepository` contracts.

use crate::contract;
use domain::Stores;
use domain::*;
use time::Duration;

use crate::fixtures::*;

/// A payment reads back equal with its beneficiaries in order; unknown is `None`.
#[contract]
pub async fn create_get_roundtrips_with_beneficiaries(s: Stores) {
    let t = t0();
    let [payer, a, b] = [user("p", t).id, user("a", t).id, user("b", t).id];
    let p = payment(payer, a, b, "key-1", t);
    s.payments.create(&p).await.unwrap();
    assert_eq!(s.payments.get(p.id).await.unwrap(), Some(p));
    assert_eq!(
        s.payments.get(PaymentId::from_uuid(id())).await.unwrap(),
        None
    );
}

/// The payer's second payment with a used key is `DuplicateKey` carrying the first; another payer may reuse the key.
#[contract]
pub async fn duplicate_key_returns_the_existing_payment(s: Stores) {
    let t = t0();
    let [payer, a, b] = [user("p", t).id, user("a", t).id, user("b", t).id];
    let first = payment(payer, a, b, "key-1", t);
    s.payments.create(&first).await.unwrap();
    let mut retry = payment(payer, a, b, "key-1", t + Duration::seconds(1));
    retry.request_fingerprint = "other".into();
    match s.payments.create(&retry).await {
        Err(InsertPaymentError::DuplicateKey(existing)) => assert_eq!(*existing, first),
        other => panic!("expected DuplicateKey, got {other:?}"),
    }
    assert_eq!(s.payments.get(retry.id).await.unwrap(), None);
    s.payments
        .create(&payment(a, payer, b, "key-1", t))
        .await
        .unwrap();
}

/// Of 12 concurrent creations with one key exactly one succeeds; the rest get that payment.
#[contract]
pub async fn concurrent_creates_with_one_key_make_one_payment(s: Stores) {
    let t = t0();
    let [payer, a, b] = [user("p", t).id, user("a", t).id, user("b", t).id];
    let results = concurrently(12, |_| {
        let s = s.clone();
        async move {
            let p = payment(payer, a, b, "same-key", t);
            s.payments
                .create(&p)
                .await
                .map(|()| p.id)
                .map_err(|e| match e {
                    InsertPaymentError::DuplicateKey(existing) => existing.id,
                    InsertPaymentError::Store(e) => panic!("store failure: {e}"),
                })
        }
    })
    .await;
    let winners: Vec<PaymentId> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| r.as_ref().map_or_else(|e| *e, |ok| *ok) == winners[0])
    );
    let listed = s
        .payments
        .list_for_user(payer, PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
}

/// `list_for_user` shows payments where the user pays or receives, newest first, paged, once each.
#[contract]
pub async fn list_includes_payer_and_beneficiary_payments(s: Stores) {
    let t = t0();
    let [ann, bob, cat, dan] = [
        user("ann", t).id,
        user("bob", t).id,
        user("cat", t).id,
        user("dan", t).id,
    ];
    let paid = payment(ann, bob, cat, "k1", t);
    let received = payment(bob, ann, cat, "k2", t + Duration::seconds(1));
    let unrelated = payment(bob, cat, dan, "k3", t + Duration::seconds(2));
    let latest = payment(cat, ann, bob, "k4", t + Duration::seconds(3));
    for p in [&paid, &received, &unrelated, &latest] {
        s.payments.create(p).await.unwrap();
    }
    let first = s
        .payments
        .list_for_user(ann, PageRequest::first(2))
        .await
        .unwrap();
    assert_eq!(
        first.items.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![latest.id, received.id]
    );
    let rest = s
        .payments
        .list_for_user(ann, PageRequest::after(2, first.next_cursor.unwrap()))
        .await
        .unwrap();
    assert_eq!(
        rest.items.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![paid.id]
    );
    assert!(rest.next_cursor.is_none());
}

/// `transition` changes status only from the expected one; otherwise `Conflict` with the current status.
#[contract]
pub async fn transition_is_compare_and_set(s: Stores) {
    let t = t0();
    let [payer, a, b] = [user("p", t).id, user("a", t).id, user("b", t).id];
    let p = payment(payer, a, b, "k", t);
    s.payments.create(&p).await.unwrap();
    let at = t + Duration::minutes(1);
    let moved = s
        .payments
        .transition(p.id, PaymentStatus::Pending, PaymentStatus::Succeeded, at)
        .await
        .unwrap();
    assert_eq!(
        (moved.status, moved.updated_at),
        (PaymentStatus::Succeeded, at)
    );
    assert_eq!(
        s.payments.get(p.id).await.unwrap().unwrap().status,
        PaymentStatus::Succeeded
    );
    let res = s
        .payments
        .transition(p.id, PaymentStatus::Pending, PaymentStatus::Cancelled, at)
        .await;
    assert!(matches!(
        res,
        Err(TransitionError::Conflict(PaymentStatus::Succeeded))
    ));
    let ghost = PaymentId::from_uuid(id());
    let res = s
        .payments
        .transition(ghost, PaymentStatus::Pending, PaymentStatus::Failed, at)
        .await;
    assert!(matches!(res, Err(TransitionError::NotFound)));
}

/// Of 10 concurrent transitions from `Pending` exactly one wins.
#[contract]
pub async fn concurrent_transitions_have_one_winner(s: Stores) {
    let t = t0();
    let [payer, a, b] = [user("p", t).id, user("a", t).id, user("b", t).id];
    let p = payment(payer, a, b, "k", t);
    s.payments.create(&p).await.unwrap();
    let results = concurrently(10, |i| {
        let s = s.clone();
        let to = if i % 2 == 0 {
            PaymentStatus::Succeeded
        } else {
            PaymentStatus::Cancelled
        };
        async move {
            s.payments
                .transition(p.id, PaymentStatus::Pending, to, t)
                .await
        }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(_) | Err(TransitionError::Conflict(_))))
    );
}
