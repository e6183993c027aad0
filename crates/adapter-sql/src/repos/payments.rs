//! `PaymentRepository`. Beneficiaries are kept twice: as JSON on the payment
//! (its exact, ordered record) and as rows of `payment_beneficiaries` (so a
//! user's received payments are found by index).

use crate::engine::{DbTime, col, col_time};

use super::{Db, Store, Ts};

impl Store {
    fn payment_row(
        row: &<Db as sqlx::Database>::Row,
    ) -> Result<domain::Payment, domain::StoreError> {
        use crate::error::corrupt;
        let currency = domain::Currency::parse(&col::<String, _>(row, "currency")?)
            .map_err(|_| corrupt("currency"))?;
        Ok(domain::Payment {
            id: domain::PaymentId::from_uuid(col(row, "id")?),
            payer_id: domain::UserId::from_uuid(col(row, "payer_id")?),
            amount: domain::Money::new(col(row, "amount_minor")?, currency)
                .map_err(|_| corrupt("amount"))?,
            beneficiaries: col::<sqlx::types::Json<Vec<domain::Beneficiary>>, _>(
                row,
                "beneficiaries",
            )?
            .0,
            description: col(row, "description")?,
            status: domain::PaymentStatus::parse(&col::<String, _>(row, "status")?)
                .ok_or_else(|| corrupt("payment status"))?,
            idempotency_key: domain::IdempotencyKey::parse(&col::<String, _>(
                row,
                "idempotency_key",
            )?)
            .map_err(|_| corrupt("idempotency key"))?,
            request_fingerprint: col(row, "request_fingerprint")?,
            created_at: col_time::<Ts, _>(row, "created_at")?,
            updated_at: col_time::<Ts, _>(row, "updated_at")?,
        })
    }

    async fn payment_by_key(
        &self,
        payer: domain::UserId,
        key: &domain::IdempotencyKey,
    ) -> Result<Option<domain::Payment>, domain::StoreError> {
        sqlx::query("SELECT * FROM payments WHERE payer_id = $1 AND idempotency_key = $2")
            .bind(payer.as_uuid())
            .bind(key.as_str())
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("reading payment by idempotency key"))?
            .as_ref()
            .map(Self::payment_row)
            .transpose()
    }
}

#[async_trait::async_trait]
impl domain::PaymentRepository for Store {
    async fn create(&self, p: &domain::Payment) -> Result<(), domain::InsertPaymentError> {
        let store = crate::error::store("creating payment");
        let mut tx = self.pool().begin().await.map_err(&store)?;
        let inserted = sqlx::query(
            "INSERT INTO payments (id, payer_id, amount_minor, currency, beneficiaries, description, status, \
             idempotency_key, request_fingerprint, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(p.id.as_uuid())
        .bind(p.payer_id.as_uuid())
        .bind(p.amount.amount_minor())
        .bind(p.amount.currency().code())
        .bind(sqlx::types::Json(&p.beneficiaries))
        .bind(p.description.as_deref())
        .bind(p.status.as_str())
        .bind(p.idempotency_key.as_str())
        .bind(p.request_fingerprint.as_str())
        .bind(<Ts>::to_db(p.created_at))
        .bind(<Ts>::to_db(p.updated_at))
        .execute(&mut *tx)
        .await;
        if let Err(e) = inserted {
            drop(tx);
            if !matches!(
                crate::error::violation(&e),
                Some(crate::error::Violation::Unique(_))
            ) {
                return Err(store(e).into());
            }
            return match self.payment_by_key(p.payer_id, &p.idempotency_key).await? {
                Some(existing) => Err(domain::InsertPaymentError::DuplicateKey(Box::new(existing))),
                None => Err(store(e).into()),
            };
        }
        for b in &p.beneficiaries {
            sqlx::query("INSERT INTO payment_beneficiaries (payment_id, user_id) VALUES ($1, $2)")
                .bind(p.id.as_uuid())
                .bind(b.user_id.as_uuid())
                .execute(&mut *tx)
                .await
                .map_err(&store)?;
        }
        tx.commit().await.map_err(&store)?;
        Ok(())
    }

    async fn get(
        &self,
        id: domain::PaymentId,
    ) -> Result<Option<domain::Payment>, domain::StoreError> {
        sqlx::query("SELECT * FROM payments WHERE id = $1")
            .bind(id.as_uuid())
            .fetch_optional(self.pool())
            .await
            .map_err(crate::error::store("reading payment"))?
            .as_ref()
            .map(Self::payment_row)
            .transpose()
    }

    async fn list_for_user(
        &self,
        user_id: domain::UserId,
        page: domain::PageRequest,
    ) -> Result<domain::Page<domain::Payment>, domain::StoreError> {
        let args = [crate::repos::Arg::Id(user_id.as_uuid())];
        let select = "SELECT p.* FROM payments p WHERE (p.payer_id = $1 OR EXISTS (SELECT 1 FROM \
                      payment_beneficiaries b WHERE b.payment_id = p.id AND b.user_id = $1))";
        self.fetch_page(
            select,
            "p",
            &args,
            page,
            "listing payments",
            Self::payment_row,
        )
        .await
    }

    async fn transition(
        &self,
        id: domain::PaymentId,
        from: domain::PaymentStatus,
        to: domain::PaymentStatus,
        at: time::OffsetDateTime,
    ) -> Result<domain::Payment, domain::TransitionError> {
        let moved = sqlx::query(
            "UPDATE payments SET status = $3, updated_at = $4 WHERE id = $1 AND status = $2 RETURNING *",
        )
        .bind(id.as_uuid())
        .bind(from.as_str())
        .bind(to.as_str())
        .bind(<Ts>::to_db(at))
        .fetch_optional(self.pool())
        .await
        .map_err(crate::error::store("changing payment status"))?;
        if let Some(row) = moved {
            return Ok(Self::payment_row(&row)?);
        }
        let current: Option<(String,)> =
            sqlx::query_as("SELECT status FROM payments WHERE id = $1")
                .bind(id.as_uuid())
                .fetch_optional(self.pool())
                .await
                .map_err(crate::error::store("reading payment status"))?;
        match current {
            None => Err(domain::TransitionError::NotFound),
            Some((s,)) => Err(domain::TransitionError::Conflict(
                domain::PaymentStatus::parse(&s)
                    .ok_or_else(|| crate::error::corrupt("payment status"))?,
            )),
        }
    }
}
