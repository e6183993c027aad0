//! Payments (`payment:{payment_id}`) with beneficiaries and idempotency keys.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{IdempotencyKey, Money, Page, PageRequest, PaymentId, StoreError, UserId};

/// Where a payment stands. `Pending` moves to `Succeeded`, `Failed` or
/// `Cancelled`; `Succeeded` may move to `Refunded`. Nothing else moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Created, waiting for the provider.
    Pending,
    /// The provider confirmed it.
    Succeeded,
    /// The provider declined it.
    Failed,
    /// The payer cancelled it while pending.
    Cancelled,
    /// Paid back after success.
    Refunded,
}

impl PaymentStatus {
    /// Every value, in the order above.
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
        Self::Refunded,
    ];

    /// Whether the status machine allows `self → to`.
    pub fn can_move_to(self, to: PaymentStatus) -> bool {
        use PaymentStatus::*;
        matches!(
            (self, to),
            (Pending, Succeeded | Failed | Cancelled) | (Succeeded, Refunded)
        )
    }
    /// Stable name for storage.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Refunded => "refunded",
        }
    }
    /// Parses [`PaymentStatus::as_str`]'s output.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            "refunded" => Self::Refunded,
            _ => return None,
        })
    }
}

/// One recipient's share of a payment, in the payment's currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Beneficiary {
    /// The user it is for.
    pub user_id: UserId,
    /// Share in minor units (positive).
    pub amount_minor: i64,
}

/// A payment from one user to one or more beneficiaries.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Payment {
    /// Unique id, assigned at creation; it also orders items created in the same millisecond.
    pub id: PaymentId,
    /// Who pays.
    pub payer_id: UserId,
    /// The whole amount; the beneficiaries' shares add up to it exactly.
    pub amount: Money,
    /// Shares; they sum exactly to `amount`.
    pub beneficiaries: Vec<Beneficiary>,
    /// Free text.
    pub description: Option<String>,
    /// Where it is in its life cycle; it changes only by compare-and-set.
    pub status: PaymentStatus,
    /// The payer's idempotency key; unique per payer.
    pub idempotency_key: IdempotencyKey,
    /// Digest of the creating request, to tell a retry from a different request under the same key.
    pub request_fingerprint: String,
    /// When it was created; listings are newest first by this.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last status change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Why a payment could not be created.
#[derive(Debug, thiserror::Error)]
pub enum InsertPaymentError {
    /// The payer already has a payment with this idempotency key; here it is.
    #[error("idempotency key already used")]
    DuplicateKey(Box<Payment>),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_failure!(InsertPaymentError);

/// Why a status change did not happen.
#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    /// No payment with that id.
    #[error("payment not found")]
    NotFound,
    /// The payment was not in the expected status; here is its current one.
    #[error("payment is {}", .0.as_str())]
    Conflict(PaymentStatus),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_failure!(TransitionError);

/// Stores payments.
#[portico_macros::port("payments")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait PaymentRepository: Send + Sync {
    /// Inserts a payment with its beneficiaries. If the payer already has a
    /// payment with the same idempotency key, MUST return `DuplicateKey` with
    /// that payment, atomically: of N concurrent creations with one key exactly one succeeds.
    async fn create(&self, payment: &Payment) -> Result<(), InsertPaymentError>;

    /// The payment `id`, or `None`.
    async fn get(&self, id: PaymentId) -> Result<Option<Payment>, StoreError>;

    /// Payments where the user is payer or a beneficiary, newest first.
    async fn list_for_user(
        &self,
        user_id: UserId,
        page: PageRequest,
    ) -> Result<Page<Payment>, StoreError>;

    /// Compare-and-set: moves the payment from `from` to `to` and sets
    /// `updated_at`, only if its status is `from`; returns the updated payment.
    /// `Conflict` with the current status otherwise; `NotFound` for an unknown id.
    /// Of N concurrent calls with one `from` exactly one succeeds.
    async fn transition(
        &self,
        id: PaymentId,
        from: PaymentStatus,
        to: PaymentStatus,
        at: OffsetDateTime,
    ) -> Result<Payment, TransitionError>;
}
