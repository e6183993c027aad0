//! `POST /v1/payments/webhooks/{provider}`: hands the request to the
//! configured [`PaymentProvider`] (see [`crate::payment_providers`]) and
//! applies the outcome it reads.

#![allow(unreachable_pub)]

use std::sync::Arc;

use actix_web::{HttpRequest, post, web};
use time::OffsetDateTime;

use super::PaymentView;
use crate::problem::{Kind, Problem};
use crate::state::AppState;

pub use crate::payment_providers::*;

/// Applies a payment provider's event. Authenticated by the provider's
/// signature, not by a session.
#[utoipa::path(
    tag = "payments",
    security(("webhook_signature" = [])),
    request_body(content = Object, description = "The provider's event; for `portico`: {type, payment_id}"),
    responses(
        (status = 200, description = "Applied (or already applied)", body = PaymentView),
        (status = 401, description = "Bad signature or stale timestamp; nothing changed"),
        (status = 404, description = "Unknown provider or payment"),
        (status = 409, description = "The payment cannot move to that status"),
        (status = 422, description = "Signed, but not an event this provider sends"),
    )
)]
#[post(
    "/v1/payments/webhooks/{provider}",
    name = "/v1/payments/webhooks/{provider}"
)]
pub async fn webhook(
    state: web::Data<AppState>,
    provider: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<web::Json<PaymentView>, Problem> {
    let provider: &Arc<dyn PaymentProvider> = state
        .payment_providers
        .iter()
        .find(|p| p.name() == provider.as_str())
        .ok_or_else(|| Problem::new(Kind::NotFound).detail("No such payment provider."))?;
    let event = provider
        .verify(req.headers(), &body, OffsetDateTime::now_utc())
        .map_err(|e| match e {
            WebhookError::Unauthenticated(why) => {
                tracing::warn!(provider = provider.name(), why, "refused a payment webhook");
                Problem::new(Kind::Unauthenticated).detail(why)
            }
            WebhookError::Malformed(why) => {
                let mut f = crate::problem::Fields::default();
                f.add("body", why);
                f.into_problem()
            }
        })?;
    let payment = state
        .payments
        .apply_outcome(event.payment_id, event.outcome)
        .await?;
    tracing::info!(provider = provider.name(), payment = %payment.id, status = payment.status.as_str(), "payment webhook applied");
    Ok(web::Json(payment.into()))
}
