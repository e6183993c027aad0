//! Unit tests of the payments service.

use std::sync::Arc;

use super::*;
use crate::test_support::*;
use crate::{Currency, MockNotificationRepository, MockPaymentRepository, MockUserRepository};
use futures::executor::block_on;

fn eur(n: i64) -> Money {
    Money::new(n, Currency::parse("EUR").unwrap()).unwrap()
}
fn share(user: u128, amount: i64) -> Beneficiary {
    Beneficiary {
        user_id: sample_user(user).id,
        amount_minor: amount,
    }
}
fn request(amount: i64, shares: Vec<Beneficiary>) -> NewPayment {
    NewPayment {
        amount: eur(amount),
        beneficiaries: shares,
        description: None,
    }
}
fn key() -> IdempotencyKey {
    IdempotencyKey::parse("k-1").unwrap()
}
fn actor() -> Principal {
    crate::kernel::principal::testing::principal(9, &[])
}

#[test]
fn shares_must_sum_exactly_be_positive_and_distinct() {
    let h = Harness::new();
    let svc = Payments::new(h.stores, h.system);
    let cases = [
        (
            request(1000, vec![share(1, 600), share(2, 399)]),
            "mismatch",
        ),
        (
            request(1000, vec![share(1, 1001), share(2, -1)]),
            "positive",
        ),
        (
            request(1000, vec![share(1, 500), share(1, 500)]),
            "duplicate",
        ),
        (request(1000, vec![]), "count"),
    ];
    for (req, what) in cases {
        let err = block_on(svc.create(&actor(), key(), req)).unwrap_err();
        let ok = match what {
            "mismatch" => matches!(
                err,
                CreatePaymentError::SplitMismatch {
                    sum: 999,
                    amount: 1000
                }
            ),
            "positive" => matches!(err, CreatePaymentError::NonPositiveShare),
            "duplicate" => matches!(err, CreatePaymentError::DuplicateBeneficiary),
            _ => matches!(err, CreatePaymentError::BeneficiaryCount),
        };
        assert!(ok, "{what}: got {err:?}");
    }
}

fn with_existing(existing_fingerprint: String) -> Payments {
    let mut h = Harness::new();
    let mut users = MockUserRepository::new();
    users.expect_get().returning(|id| {
        Ok(Some(crate::User {
            id,
            ..sample_user(1)
        }))
    });
    let mut payments = MockPaymentRepository::new();
    payments.expect_create().returning(move |p| {
        let mut existing = p.clone();
        existing.id = PaymentId::from_uuid(uuid::Uuid::from_u128(1));
        existing.request_fingerprint = existing_fingerprint.clone();
        Err(InsertPaymentError::DuplicateKey(Box::new(existing)))
    });
    h.stores.users = Arc::new(users);
    h.stores.payments = Arc::new(payments);
    Payments::new(h.stores, h.system)
}

#[test]
fn retry_with_same_request_returns_the_original() {
    let req = request(1000, vec![share(1, 1000)]);
    let svc = with_existing(req.fingerprint());
    let (p, created) = block_on(svc.create(&actor(), key(), req)).unwrap();
    assert!(!created);
    assert_eq!(p.id, PaymentId::from_uuid(uuid::Uuid::from_u128(1)));
}

#[test]
fn same_key_with_another_request_is_a_conflict() {
    let svc = with_existing(request(999, vec![share(1, 999)]).fingerprint());
    let err =
        block_on(svc.create(&actor(), key(), request(1000, vec![share(1, 1000)]))).unwrap_err();
    assert!(matches!(err, CreatePaymentError::IdempotencyKeyReused));
}

#[test]
fn fingerprint_changes_with_any_field() {
    let a = request(1000, vec![share(1, 1000)]);
    let mut b = a.clone();
    b.description = Some(String::new());
    assert_ne!(a.fingerprint(), b.fingerprint());
    assert_ne!(
        a.fingerprint(),
        request(1000, vec![share(2, 1000)]).fingerprint()
    );
    assert_eq!(
        a.fingerprint(),
        request(1000, vec![share(1, 1000)]).fingerprint()
    );
}

fn stored(status: PaymentStatus) -> Payment {
    Payment {
        id: PaymentId::from_uuid(uuid::Uuid::from_u128(1)),
        payer_id: sample_user(9).id,
        amount: eur(1000),
        beneficiaries: vec![share(1, 700), share(2, 300)],
        description: None,
        status,
        idempotency_key: key(),
        request_fingerprint: String::new(),
        created_at: T0,
        updated_at: T0,
    }
}

#[test]
fn success_notifies_each_beneficiary_once_and_replay_is_a_no_op() {
    let mut h = Harness::new();
    let mut payments = MockPaymentRepository::new();
    payments
        .expect_get()
        .times(1)
        .returning(|_| Ok(Some(stored(PaymentStatus::Pending))));
    payments
        .expect_transition()
        .times(1)
        .returning(|_, _, to, _| {
            Ok(Payment {
                status: to,
                ..stored(to)
            })
        });
    payments
        .expect_get()
        .returning(|_| Ok(Some(stored(PaymentStatus::Succeeded))));
    let mut notifications = MockNotificationRepository::new();
    notifications
        .expect_create()
        .withf(|n| {
            n.kind == "payment_received"
                && n.toast_message
                    .as_deref()
                    .is_some_and(|t| t.contains("EUR"))
        })
        .times(2)
        .returning(|_| Ok(()));
    h.stores.payments = Arc::new(payments);
    h.stores.notifications = Arc::new(notifications);
    let svc = Payments::new(h.stores, h.system);
    let id = stored(PaymentStatus::Pending).id;
    assert_eq!(
        block_on(svc.apply_outcome(id, ProviderOutcome::Succeeded))
            .unwrap()
            .status,
        PaymentStatus::Succeeded
    );
    // Replay: already succeeded, nothing changes, nobody is notified again.
    block_on(svc.apply_outcome(id, ProviderOutcome::Succeeded)).unwrap();
}

#[test]
fn only_pending_payments_cancel_and_only_by_the_payer() {
    let mut h = Harness::new();
    let mut payments = MockPaymentRepository::new();
    payments
        .expect_get()
        .returning(|_| Ok(Some(stored(PaymentStatus::Pending))));
    payments
        .expect_transition()
        .returning(|_, _, _, _| Err(TransitionError::Conflict(PaymentStatus::Succeeded)));
    h.stores.payments = Arc::new(payments);
    let svc = Payments::new(h.stores, h.system);
    let id = stored(PaymentStatus::Pending).id;
    let beneficiary = &crate::kernel::principal::testing::principal(1, &[]);
    assert!(matches!(
        block_on(svc.cancel(beneficiary, id)),
        Err(PaymentStatusError::NotFound)
    ));
    assert!(matches!(
        block_on(svc.cancel(&actor(), id)),
        Err(PaymentStatusError::InvalidTransition(
            PaymentStatus::Succeeded
        ))
    ));
}

#[test]
fn status_machine() {
    use PaymentStatus::*;
    assert!(
        Pending.can_move_to(Succeeded)
            && Pending.can_move_to(Failed)
            && Pending.can_move_to(Cancelled)
    );
    assert!(Succeeded.can_move_to(Refunded));
    assert!(
        !Succeeded.can_move_to(Cancelled)
            && !Failed.can_move_to(Succeeded)
            && !Cancelled.can_move_to(Pending)
    );
    assert_eq!(format_minor(1234, 2), "12.34");
    assert_eq!(format_minor(5, 3), "0.005");
    assert_eq!(format_minor(700, 0), "700");
}
