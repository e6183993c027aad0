//! Payments (`payment:{id}`): creation with an `Idempotency-Key`,
//! beneficiaries' shares summing exactly to the amount, cancellation while
//! pending, listing as payer or beneficiary, and the built-in provider's
//! signed webhooks.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use api_types::*;
use domain::NewPayment;
use domain::{Beneficiary, Currency, IdempotencyKey, Money, PaymentId, UserId};
use uuid::Uuid;

use crate::auth::SignedIn;
use crate::problem::{Fields, Kind, Problem};
use crate::state::AppState;

pub mod webhooks;

/// Name of the idempotency header.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// Creates a pending payment. The `Idempotency-Key` header is required: a
/// retry with the same key and body returns the same payment (200), the same
/// key with another body is refused (422), and concurrent retries of one key
/// create one payment.
#[utoipa::path(
    tag = "payments",
    security(("bearer" = []), ("cookie" = [])),
    params(("Idempotency-Key" = String, Header, description = "1–255 printable ASCII characters, unique per payment you mean to make")),
    request_body = CreatePayment,
    responses(
        (status = 201, description = "Created", body = PaymentView),
        (status = 200, description = "A retry: the payment created before with this key", body = PaymentView),
        (status = 422, description = "Invalid fields, or the key was used for another request"),
    )
)]
#[post("/v1/payments", name = "/v1/payments")]
pub async fn create(
    state: web::Data<AppState>,
    me: SignedIn,
    req: HttpRequest,
    body: web::Json<CreatePayment>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let mut f = Fields::default();
    let key = match req
        .headers()
        .get(IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
    {
        Some(raw) => f.check(IDEMPOTENCY_KEY, IdempotencyKey::parse(raw)),
        None => {
            f.add(IDEMPOTENCY_KEY, "header is required");
            None
        }
    };
    let money = f
        .check("currency", Currency::parse(&body.currency))
        .and_then(|c| f.check("amount", Money::new(body.amount, c)));
    let (Some(key), Some(amount)) = (key, money) else {
        return Err(f.into_problem());
    };
    f.finish()?;
    let request = NewPayment {
        amount,
        beneficiaries: body
            .beneficiaries
            .iter()
            .map(|b| Beneficiary {
                user_id: UserId::from_uuid(b.user_id),
                amount_minor: b.amount,
            })
            .collect(),
        description: body.description,
    };
    let (payment, created) = state.payments.create(&me, key, request).await?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(PaymentView::from(payment)))
}

/// Lists payments where the caller pays or receives, newest first.
#[utoipa::path(
    tag = "payments",
    security(("bearer" = []), ("cookie" = [])),
    params(PageQuery),
    responses((status = 200, description = "A page of payments", body = PaymentPage))
)]
#[get("/v1/payments", name = "/v1/payments")]
pub async fn list(
    state: web::Data<AppState>,
    me: SignedIn,
    query: web::Query<PageQuery>,
) -> Result<web::Json<PaymentPage>, Problem> {
    let page = state.payments.list(&me, query.request()?).await?;
    Ok(web::Json(page.into()))
}

/// Reads a payment the caller pays or receives.
#[utoipa::path(
    tag = "payments",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The payment", body = PaymentView),
        (status = 404, description = "No such payment of yours"),
    )
)]
#[get("/v1/payments/{id}", name = "/v1/payments/{id}")]
pub async fn read(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<web::Json<PaymentView>, Problem> {
    let actor = &me;
    let payment = state
        .payments
        .get(actor, PaymentId::from_uuid(*id))
        .await?
        .ok_or_else(|| Problem::new(Kind::NotFound))?;
    Ok(web::Json(payment.into()))
}

/// Cancels a pending payment (its payer only).
#[utoipa::path(
    tag = "payments",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Cancelled", body = PaymentView),
        (status = 404, description = "No such payment of yours"),
        (status = 409, description = "Not pending any more"),
    )
)]
#[post("/v1/payments/{id}/cancel", name = "/v1/payments/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<web::Json<PaymentView>, Problem> {
    let actor = &me;
    let payment = state
        .payments
        .cancel(actor, PaymentId::from_uuid(*id))
        .await?;
    Ok(web::Json(payment.into()))
}

/// Registers the payments and provider webhooks routes, in matching order.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    // `/webhooks/{provider}` before `/{id}`.
    cfg.service(webhooks::webhook)
        .service(create)
        .service(list)
        .service(read)
        .service(cancel);
}
