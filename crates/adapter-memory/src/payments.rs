//! `PaymentRepository`.

use async_trait::async_trait;
use domain::*;
use time::OffsetDateTime;

use super::MemoryStore;
use super::state::page_of;

#[async_trait]
impl PaymentRepository for MemoryStore {
    async fn create(&self, payment: &Payment) -> Result<(), InsertPaymentError> {
        let mut state = self.state();
        if let Some(existing) = state.payments.values().find(|p| {
            p.payer_id == payment.payer_id && p.idempotency_key == payment.idempotency_key
        }) {
            return Err(InsertPaymentError::DuplicateKey(Box::new(existing.clone())));
        }
        state.payments.insert(payment.id, payment.clone());
        Ok(())
    }

    async fn get(&self, id: PaymentId) -> Result<Option<Payment>, StoreError> {
        Ok(self.state().payments.get(&id).cloned())
    }

    async fn list_for_user(
        &self,
        user_id: UserId,
        page: PageRequest,
    ) -> Result<Page<Payment>, StoreError> {
        let state = self.state();
        Ok(page_of(
            state.payments.values().filter(|p| {
                p.payer_id == user_id || p.beneficiaries.iter().any(|b| b.user_id == user_id)
            }),
            page,
        ))
    }

    async fn transition(
        &self,
        id: PaymentId,
        from: PaymentStatus,
        to: PaymentStatus,
        at: OffsetDateTime,
    ) -> Result<Payment, TransitionError> {
        let mut state = self.state();
        let payment = state
            .payments
            .get_mut(&id)
            .ok_or(TransitionError::NotFound)?;
        if payment.status != from {
            return Err(TransitionError::Conflict(payment.status));
        }
        payment.status = to;
        payment.updated_at = at;
        Ok(payment.clone())
    }
}
