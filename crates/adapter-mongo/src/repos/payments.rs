//! `payments` (`payment:{id}`): beneficiaries embedded, unique
//! (`payerId`, `idempotencyKey`), status moves by compare-and-set.

use async_trait::async_trait;
use domain::*;
use futures::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::ReturnDocument;
use time::OffsetDateTime;

use crate::MongoStore;
use crate::codec::*;
use crate::error::{corrupt, is_duplicate, store};
use crate::indexes::names::PAYMENTS;

fn to_doc(p: &Payment) -> Document {
    let beneficiaries: Vec<Bson> = p
        .beneficiaries
        .iter()
        .map(|b| {
            Bson::Document(
                doc! {"userId": uuid(b.user_id.as_uuid()), "amountMinor": b.amount_minor},
            )
        })
        .collect();
    doc! {
        "_id": uuid(p.id.as_uuid()),
        "payerId": uuid(p.payer_id.as_uuid()),
        "amount": {"minor": p.amount.amount_minor(), "currency": p.amount.currency().code()},
        "beneficiaries": beneficiaries,
        "description": opt_str(p.description.as_deref()),
        "status": p.status.as_str(),
        "idempotencyKey": p.idempotency_key.as_str(),
        "requestFingerprint": &p.request_fingerprint,
        "createdAt": time(p.created_at),
        "updatedAt": time(p.updated_at),
    }
}

fn from_doc(d: &Document) -> Result<Payment, StoreError> {
    let f = Fields::of(d, "payment");
    let bad = |k| corrupt("payment", k);
    let amount = f.doc("amount")?;
    let a = Fields::of(&amount, "payment amount");
    let currency = Currency::parse(a.str("currency")?).map_err(|_| bad("amount.currency"))?;
    let beneficiaries = f
        .array("beneficiaries")?
        .iter()
        .map(|b| {
            let bd = b.as_document().ok_or_else(|| bad("beneficiaries"))?;
            let bf = Fields::of(bd, "beneficiary");
            Ok(Beneficiary {
                user_id: UserId::from_uuid(bf.uuid("userId")?),
                amount_minor: bf.i64("amountMinor")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Payment {
        id: PaymentId::from_uuid(f.uuid("_id")?),
        payer_id: UserId::from_uuid(f.uuid("payerId")?),
        amount: Money::new(a.i64("minor")?, currency).map_err(|_| bad("amount.minor"))?,
        beneficiaries,
        description: f.opt_str("description")?.map(str::to_owned),
        status: PaymentStatus::parse(f.str("status")?).ok_or_else(|| bad("status"))?,
        idempotency_key: IdempotencyKey::parse(f.str("idempotencyKey")?)
            .map_err(|_| bad("idempotencyKey"))?,
        request_fingerprint: f.str("requestFingerprint")?.to_owned(),
        created_at: f.time("createdAt")?,
        updated_at: f.time("updatedAt")?,
    })
}

impl MongoStore {
    async fn find_payment(&self, filter: Document) -> Result<Option<Payment>, StoreError> {
        self.coll(PAYMENTS)
            .find_one(filter)
            .await
            .map_err(store("get payment"))?
            .as_ref()
            .map(from_doc)
            .transpose()
    }
}

#[async_trait]
impl PaymentRepository for MongoStore {
    async fn create(&self, p: &Payment) -> Result<(), InsertPaymentError> {
        match self.coll(PAYMENTS).insert_one(to_doc(p)).await {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate(&e) => {
                let existing = self
                    .find_payment(doc! {
                        "payerId": uuid(p.payer_id.as_uuid()),
                        "idempotencyKey": p.idempotency_key.as_str(),
                    })
                    .await?
                    .ok_or_else(|| StoreError::with_source("duplicate payment vanished", e))?;
                Err(InsertPaymentError::DuplicateKey(Box::new(existing)))
            }
            Err(e) => Err(InsertPaymentError::Store(store("insert payment")(e))),
        }
    }

    async fn get(&self, id: PaymentId) -> Result<Option<Payment>, StoreError> {
        self.find_payment(doc! {"_id": uuid(id.as_uuid())}).await
    }

    async fn list_for_user(
        &self,
        user_id: UserId,
        page: PageRequest,
    ) -> Result<Page<Payment>, StoreError> {
        let me = uuid(user_id.as_uuid());
        let filter = doc! {"$or": [{"payerId": me.clone()}, {"beneficiaries.userId": me}]};
        let docs: Vec<Document> = self
            .coll(PAYMENTS)
            .find(page_filter(filter, &page))
            .sort(newest_first())
            .limit(overfetch(&page))
            .await
            .map_err(store("list payments"))?
            .try_collect()
            .await
            .map_err(store("list payments"))?;
        let items = docs.iter().map(from_doc).collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_overfetch(items, page))
    }

    async fn transition(
        &self,
        id: PaymentId,
        from: PaymentStatus,
        to: PaymentStatus,
        at: OffsetDateTime,
    ) -> Result<Payment, TransitionError> {
        let moved = self
            .coll(PAYMENTS)
            .find_one_and_update(
                doc! {"_id": uuid(id.as_uuid()), "status": from.as_str()},
                doc! {"$set": {"status": to.as_str(), "updatedAt": time(at)}},
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(store("move payment"))?;
        if let Some(d) = moved {
            return Ok(from_doc(&d)?);
        }
        match PaymentRepository::get(self, id).await? {
            Some(p) => Err(TransitionError::Conflict(p.status)),
            None => Err(TransitionError::NotFound),
        }
    }
}
