//! Payments: creation with an idempotency key and beneficiaries whose shares
//! sum exactly to the amount; the status machine; provider outcomes, which
//! notify the beneficiaries of a success.

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use crate::{
    Beneficiary, IdempotencyKey, InsertPaymentError, Money, Notification, NotificationId, Page,
    PageRequest, Payment, PaymentId, PaymentStatus, StoreError, TransitionError, Urgency, UserId,
};
use crate::{Principal, Stores, System};

/// Most beneficiaries one payment may have.
pub const MAX_BENEFICIARIES: usize = 100;

/// A payment as requested.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// The whole amount; the beneficiaries' shares add up to it exactly.
    pub amount: Money,
    /// Shares, in minor units of the same currency.
    pub beneficiaries: Vec<Beneficiary>,
    /// Free text, up to 500 characters.
    pub description: Option<String>,
}

impl NewPayment {
    /// Digest of the request: equal for a faithful retry, different otherwise.
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.amount.amount_minor().to_be_bytes());
        h.update(self.amount.currency().code().as_bytes());
        for b in &self.beneficiaries {
            h.update(b.user_id.as_uuid().as_bytes());
            h.update(b.amount_minor.to_be_bytes());
        }
        match &self.description {
            Some(d) => {
                h.update([1]);
                h.update(d.as_bytes());
            }
            None => h.update([0]),
        }
        crate::hex_digest(&h.finalize())
    }
}

/// Why a payment could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreatePaymentError {
    /// No beneficiaries, or more than [`MAX_BENEFICIARIES`].
    #[error("a payment needs 1 to 100 beneficiaries")]
    BeneficiaryCount,
    /// A share is zero or negative.
    #[error("every beneficiary amount must be positive")]
    NonPositiveShare,
    /// The same user appears twice.
    #[error("a beneficiary appears more than once")]
    DuplicateBeneficiary,
    /// The shares do not add up to the amount.
    #[error("beneficiary amounts sum to {sum}, not {amount}")]
    SplitMismatch {
        /// Sum of the shares.
        sum: i128,
        /// The payment's amount.
        amount: i64,
    },
    /// A beneficiary is not a user.
    #[error("beneficiary {0} does not exist")]
    UnknownBeneficiary(UserId),
    /// The description is too long.
    #[error("description is too long")]
    DescriptionTooLong,
    /// The idempotency key was used before for a different request.
    #[error("idempotency key was used for a different request")]
    IdempotencyKeyReused,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why a payment could not change status.
#[derive(Debug, thiserror::Error)]
pub enum PaymentStatusError {
    /// No such payment visible to the actor.
    #[error("payment not found")]
    NotFound,
    /// The status machine does not allow the change from the current status.
    #[error("payment is {}", .0.as_str())]
    InvalidTransition(PaymentStatus),
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// The result a payment provider reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderOutcome {
    /// Money moved.
    Succeeded,
    /// The provider declined it (final).
    Failed,
    /// Paid back.
    Refunded,
}

/// Payment use cases: idempotent creation, reads by payer and beneficiaries, cancel, and provider outcomes.
#[derive(Clone)]
pub struct Payments {
    stores: Stores,
    system: System,
}

impl Payments {
    /// Builds the service.
    pub fn new(stores: Stores, system: System) -> Self {
        Self { stores, system }
    }

    fn validate(request: &NewPayment) -> Result<(), CreatePaymentError> {
        let n = request.beneficiaries.len();
        if n == 0 || n > MAX_BENEFICIARIES {
            return Err(CreatePaymentError::BeneficiaryCount);
        }
        if request.beneficiaries.iter().any(|b| b.amount_minor <= 0) {
            return Err(CreatePaymentError::NonPositiveShare);
        }
        let mut seen = HashSet::new();
        if !request.beneficiaries.iter().all(|b| seen.insert(b.user_id)) {
            return Err(CreatePaymentError::DuplicateBeneficiary);
        }
        let sum: i128 = request
            .beneficiaries
            .iter()
            .map(|b| i128::from(b.amount_minor))
            .sum();
        let amount = request.amount.amount_minor();
        if sum != i128::from(amount) {
            return Err(CreatePaymentError::SplitMismatch { sum, amount });
        }
        if request
            .description
            .as_deref()
            .is_some_and(|d| !crate::kernel::stores::within(d, 500))
        {
            return Err(CreatePaymentError::DescriptionTooLong);
        }
        Ok(())
    }

    /// Creates a pending payment. A retry with the same key and the same request
    /// returns the original payment and `false`; the same key with a different
    /// request is refused. Returns the payment and whether it was created now.
    pub async fn create(
        &self,
        by: &Principal,
        key: IdempotencyKey,
        request: NewPayment,
    ) -> Result<(Payment, bool), CreatePaymentError> {
        Self::validate(&request)?;
        for b in &request.beneficiaries {
            let exists = self
                .stores
                .users
                .get(b.user_id)
                .await
                .map_err(CreatePaymentError::Unexpected)?
                .is_some();
            if !exists {
                return Err(CreatePaymentError::UnknownBeneficiary(b.user_id));
            }
        }
        let now = self.system.now();
        let fingerprint = request.fingerprint();
        let payment = Payment {
            id: PaymentId::from_uuid(self.system.ids.new_id()),
            payer_id: by.user_id(),
            amount: request.amount,
            beneficiaries: request.beneficiaries,
            description: request.description,
            status: PaymentStatus::Pending,
            idempotency_key: key,
            request_fingerprint: fingerprint,
            created_at: now,
            updated_at: now,
        };
        match self.stores.payments.create(&payment).await {
            Ok(()) => Ok((payment, true)),
            Err(InsertPaymentError::DuplicateKey(existing))
                if existing.request_fingerprint == payment.request_fingerprint =>
            {
                Ok((*existing, false))
            }
            Err(InsertPaymentError::DuplicateKey(_)) => {
                Err(CreatePaymentError::IdempotencyKeyReused)
            }
            Err(InsertPaymentError::Store(e)) => Err(CreatePaymentError::Unexpected(e)),
        }
    }

    /// The payment, if the caller is its payer, a beneficiary or an administrator.
    pub async fn get(&self, by: &Principal, id: PaymentId) -> Result<Option<Payment>, StoreError> {
        Ok(self.stores.payments.get(id).await?.filter(|p| {
            by.is_admin()
                || p.payer_id == by.user_id()
                || p.beneficiaries.iter().any(|b| b.user_id == by.user_id())
        }))
    }

    /// The caller's payments as payer or beneficiary, newest first.
    pub async fn list(
        &self,
        by: &Principal,
        page: PageRequest,
    ) -> Result<Page<Payment>, StoreError> {
        self.stores.payments.list_for_user(by.user_id(), page).await
    }

    /// Cancels a pending payment; only its payer (or an administrator) may.
    pub async fn cancel(
        &self,
        by: &Principal,
        id: PaymentId,
    ) -> Result<Payment, PaymentStatusError> {
        let payment = self
            .stores
            .payments
            .get(id)
            .await
            .map_err(PaymentStatusError::Unexpected)?
            .filter(|p| by.is_admin() || p.payer_id == by.user_id())
            .ok_or(PaymentStatusError::NotFound)?;
        self.move_to(payment.id, PaymentStatus::Pending, PaymentStatus::Cancelled)
            .await
    }

    async fn move_to(
        &self,
        id: PaymentId,
        from: PaymentStatus,
        to: PaymentStatus,
    ) -> Result<Payment, PaymentStatusError> {
        if !from.can_move_to(to) {
            return Err(PaymentStatusError::InvalidTransition(from));
        }
        match self
            .stores
            .payments
            .transition(id, from, to, self.system.now())
            .await
        {
            Ok(p) => Ok(p),
            Err(TransitionError::NotFound) => Err(PaymentStatusError::NotFound),
            Err(TransitionError::Conflict(current)) => {
                Err(PaymentStatusError::InvalidTransition(current))
            }
            Err(TransitionError::Store(e)) => Err(PaymentStatusError::Unexpected(e)),
        }
    }

    /// Applies a provider's outcome. Idempotent: a replayed outcome that is
    /// already the payment's status returns the payment unchanged and notifies
    /// nobody again. A success notifies each beneficiary.
    pub async fn apply_outcome(
        &self,
        id: PaymentId,
        outcome: ProviderOutcome,
    ) -> Result<Payment, PaymentStatusError> {
        let (from, to) = match outcome {
            ProviderOutcome::Succeeded => (PaymentStatus::Pending, PaymentStatus::Succeeded),
            ProviderOutcome::Failed => (PaymentStatus::Pending, PaymentStatus::Failed),
            ProviderOutcome::Refunded => (PaymentStatus::Succeeded, PaymentStatus::Refunded),
        };
        let current = self
            .stores
            .payments
            .get(id)
            .await
            .map_err(PaymentStatusError::Unexpected)?
            .ok_or(PaymentStatusError::NotFound)?;
        if current.status == to {
            return Ok(current);
        }
        let payment = self.move_to(id, from, to).await?;
        if to == PaymentStatus::Succeeded {
            self.notify_beneficiaries(&payment)
                .await
                .map_err(PaymentStatusError::Unexpected)?;
        }
        let event = match to {
            PaymentStatus::Succeeded => Some(crate::WebhookEventType::PaymentSucceeded),
            PaymentStatus::Failed => Some(crate::WebhookEventType::PaymentFailed),
            _ => None,
        };
        if let Some(event) = event {
            let data = serde_json::json!({
                "payment_id": payment.id,
                "payer_id": payment.payer_id,
                "amount_minor": payment.amount.amount_minor(),
                "currency": payment.amount.currency().code(),
                "status": event.as_str().trim_start_matches("payment."),
            });
            crate::webhooks::publish(&self.stores, &self.system, event, data)
                .await
                .map_err(PaymentStatusError::Unexpected)?;
        }
        Ok(payment)
    }

    async fn notify_beneficiaries(&self, payment: &Payment) -> Result<(), StoreError> {
        let now = self.system.now();
        for b in &payment.beneficiaries {
            let currency = payment.amount.currency();
            let notification = Notification {
                id: NotificationId::from_uuid(self.system.ids.new_id()),
                user_id: b.user_id,
                content_session_id: None,
                conversation_id: None,
                message_id: None,
                task_id: Some(payment.id.to_string()),
                kind: "payment_received".into(),
                toast_message: Some(format!(
                    "You received {} {currency}",
                    format_minor(b.amount_minor, currency.exponent())
                )),
                image: None,
                urgency: Urgency::Normal,
                persistent: true,
                seen_at: None,
                response_data: None,
                created_at: now,
                expires_at: None,
            };
            self.stores.notifications.create(&notification).await?;
        }
        Ok(())
    }
}

/// `1234` with exponent 2 → `12.34`.
fn format_minor(amount: i64, exponent: u8) -> String {
    if exponent == 0 {
        return amount.to_string();
    }
    let scale = 10_i64.pow(u32::from(exponent));
    format!(
        "{}.{:0width$}",
        amount / scale,
        (amount % scale).abs(),
        width = usize::from(exponent)
    )
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
