//! Payments and their beneficiaries.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use domain::*;

/// One recipient's share.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BeneficiaryView {
    /// The user it is for.
    pub user_id: Uuid,
    /// Share in minor units (positive).
    pub amount: i64,
}

/// A payment.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    /// Unique id, assigned at creation; it also orders items created in the same millisecond.
    pub id: Uuid,
    /// Who pays.
    pub payer_id: Uuid,
    /// Total in minor units (cents for EUR).
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Shares; they sum to `amount`.
    pub beneficiaries: Vec<BeneficiaryView>,
    /// Free text.
    pub description: Option<String>,
    /// `pending`, `succeeded`, `failed`, `cancelled` or `refunded`.
    #[schema(schema_with = crate::schema::payment_status_schema)]
    pub status: PaymentStatus,
    /// When it was created (RFC 3339, UTC); lists are newest first by this.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last status change.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl From<Payment> for PaymentView {
    fn from(p: Payment) -> Self {
        Self {
            id: p.id.as_uuid(),
            payer_id: p.payer_id.as_uuid(),
            amount: p.amount.amount_minor(),
            currency: p.amount.currency().code().to_owned(),
            beneficiaries: p
                .beneficiaries
                .iter()
                .map(|b| BeneficiaryView {
                    user_id: b.user_id.as_uuid(),
                    amount: b.amount_minor,
                })
                .collect(),
            description: p.description,
            status: p.status,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

page_of!(PaymentPage, PaymentView, "payments");

/// A payment to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePayment {
    /// Total in minor units (positive integer).
    pub amount: i64,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
    /// 1–100 distinct users whose amounts sum exactly to `amount`.
    pub beneficiaries: Vec<BeneficiaryView>,
    /// Free text (at most 500 characters).
    pub description: Option<String>,
}
