//! `payment:<id>` as a JSON string (`id`, `user_id`, `amount`,
//! `beneficiaries`, …), `idempotency:<payer>:<key>` → id, and
//! `user:<id>:payments` indexes for payer and beneficiaries. Status changes
//! are compare-and-set on the whole JSON value.

use std::sync::LazyLock;

use async_trait::async_trait;
use domain::*;
use fred::prelude::*;
use fred::types::Value;
use fred::types::scripts::Script;
use serde_json::json;
use time::OffsetDateTime;

use crate::codec::*;
use crate::error::{corrupt, store};
use crate::{Family, RedisStore};

/// KEYS: payment, idempotency key. ARGV: id, JSON, payment prefix, index
/// prefix, member, user ids to index under.
static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
local existing = redis.call('GET', KEYS[2])
if existing then return {'dup', redis.call('GET', ARGV[3] .. existing) or ''} end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[1])
for i = 6, #ARGV do redis.call('ZADD', ARGV[4] .. ARGV[i] .. ':payments', 0, ARGV[5]) end
return {'ok'}
"#,
    )
});

/// KEYS: payment. ARGV: expected JSON, new JSON.
static SWAP: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"#,
    )
});

fn to_json(p: &Payment) -> String {
    let beneficiaries: Vec<serde_json::Value> = p
        .beneficiaries
        .iter()
        .map(|b| json!({"user_id": b.user_id.to_string(), "amount": b.amount_minor}))
        .collect();
    json!({
        "id": p.id.to_string(),
        "user_id": p.payer_id.to_string(),
        "amount": p.amount.amount_minor(),
        "currency": p.amount.currency().code(),
        "beneficiaries": beneficiaries,
        "description": p.description,
        "status": p.status.as_str(),
        "idempotency_key": p.idempotency_key.as_str(),
        "request_fingerprint": p.request_fingerprint,
        "created_at": ts(p.created_at),
        "updated_at": ts(p.updated_at),
    })
    .to_string()
}

fn from_json(text: &str) -> Result<Payment, StoreError> {
    let bad = |k| corrupt("payment", k);
    let v: serde_json::Value = serde_json::from_str(text).map_err(|_| bad("json"))?;
    let s = |k: &'static str| v.get(k).and_then(|x| x.as_str()).ok_or_else(|| bad(k));
    let uuid = |k: &'static str| s(k).and_then(|x| uuid::Uuid::parse_str(x).map_err(|_| bad(k)));
    let time = |k: &'static str| {
        s(k).and_then(|x| {
            OffsetDateTime::parse(x, &time::format_description::well_known::Rfc3339)
                .map_err(|_| bad(k))
        })
    };
    let currency = Currency::parse(s("currency")?).map_err(|_| bad("currency"))?;
    let amount = v
        .get("amount")
        .and_then(|a| a.as_i64())
        .ok_or_else(|| bad("amount"))?;
    let beneficiaries = v
        .get("beneficiaries")
        .and_then(|b| b.as_array())
        .ok_or_else(|| bad("beneficiaries"))?
        .iter()
        .map(|b| {
            let id = b
                .get("user_id")
                .and_then(|x| x.as_str())
                .and_then(|x| uuid::Uuid::parse_str(x).ok())
                .ok_or_else(|| bad("beneficiaries"))?;
            let amount = b
                .get("amount")
                .and_then(|x| x.as_i64())
                .ok_or_else(|| bad("beneficiaries"))?;
            Ok(Beneficiary {
                user_id: UserId::from_uuid(id),
                amount_minor: amount,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Payment {
        id: PaymentId::from_uuid(uuid("id")?),
        payer_id: UserId::from_uuid(uuid("user_id")?),
        amount: Money::new(amount, currency).map_err(|_| bad("amount"))?,
        beneficiaries,
        description: v
            .get("description")
            .and_then(|d| d.as_str())
            .map(str::to_owned),
        status: PaymentStatus::parse(s("status")?).ok_or_else(|| bad("status"))?,
        idempotency_key: IdempotencyKey::parse(s("idempotency_key")?)
            .map_err(|_| bad("idempotency_key"))?,
        request_fingerprint: s("request_fingerprint")?.to_owned(),
        created_at: time("created_at")?,
        updated_at: time("updated_at")?,
    })
}

impl RedisStore {
    fn pay_key(&self, rest: &str) -> String {
        self.key(Family::Payments, rest)
    }
    async fn payment_json(&self, id: PaymentId) -> Result<Option<String>, StoreError> {
        self.pool()
            .get(self.pay_key(&format!("payment:{id}")))
            .await
            .map_err(store("get payment"))
    }
}

#[async_trait]
impl PaymentRepository for RedisStore {
    async fn create(&self, p: &Payment) -> Result<(), InsertPaymentError> {
        let mut users: Vec<String> = vec![p.payer_id.to_string()];
        for b in &p.beneficiaries {
            let id = b.user_id.to_string();
            if !users.contains(&id) {
                users.push(id);
            }
        }
        let mut args = vec![
            p.id.to_string(),
            to_json(p),
            self.pay_key("payment:"),
            self.pay_key("user:"),
            member(p.created_at, p.id.as_uuid()),
        ];
        args.extend(users);
        let v: Value = self
            .eval(
                &CREATE,
                vec![
                    self.pay_key(&format!("payment:{}", p.id)),
                    self.pay_key(&format!("idempotency:{}:{}", p.payer_id, p.idempotency_key)),
                ],
                args,
                "create payment",
            )
            .await?;
        let Value::Array(parts) = v else {
            return Err(StoreError::msg("unexpected reply creating a payment").into());
        };
        let mut parts = parts.into_iter().filter_map(|p| p.as_string());
        match (parts.next().as_deref(), parts.next()) {
            (Some("dup"), Some(existing)) => Err(InsertPaymentError::DuplicateKey(Box::new(
                from_json(&existing)?,
            ))),
            (Some("ok"), _) => Ok(()),
            _ => Err(StoreError::msg("unexpected reply creating a payment").into()),
        }
    }

    async fn get(&self, id: PaymentId) -> Result<Option<Payment>, StoreError> {
        self.payment_json(id)
            .await?
            .as_deref()
            .map(from_json)
            .transpose()
    }

    async fn list_for_user(
        &self,
        user_id: UserId,
        page: PageRequest,
    ) -> Result<Page<Payment>, StoreError> {
        let v: Vec<String> = self
            .eval(
                &crate::scripts::LIST_PAGE,
                vec![self.pay_key(&format!("user:{user_id}:payments"))],
                vec![
                    bound(&page),
                    (page.limit() + 1).to_string(),
                    self.pay_key("payment:"),
                    String::new(),
                    "0".into(),
                ],
                "list payments",
            )
            .await?;
        let items = v
            .iter()
            .map(|j| from_json(j))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page))
    }

    async fn transition(
        &self,
        id: PaymentId,
        from: PaymentStatus,
        to: PaymentStatus,
        at: OffsetDateTime,
    ) -> Result<Payment, TransitionError> {
        // Optimistic compare-and-set: a concurrent change makes the swap
        // fail, and the loop reads the new value and decides again.
        for _ in 0..32 {
            let Some(current) = self.payment_json(id).await? else {
                return Err(TransitionError::NotFound);
            };
            let mut p = from_json(&current)?;
            if p.status != from {
                return Err(TransitionError::Conflict(p.status));
            }
            p.status = to;
            p.updated_at = at;
            let swapped: i64 = self
                .eval(
                    &SWAP,
                    vec![self.pay_key(&format!("payment:{id}"))],
                    vec![current, to_json(&p)],
                    "move payment",
                )
                .await?;
            if swapped == 1 {
                return Ok(p);
            }
        }
        Err(StoreError::msg("payment kept changing; gave up after 32 attempts").into())
    }
}
