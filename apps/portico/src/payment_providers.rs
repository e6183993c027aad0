//! Payment providers that report outcomes through webhooks, and the
//! built-in one (`POST /v1/payments/webhooks/{provider}` hands requests to them).
//!
//! A [`PaymentProvider`] turns a signed request into an outcome for one
//! payment. The built-in provider, `portico`, expects:
//!
//! - `Portico-Timestamp: <Unix seconds>` — at most 5 minutes off the server clock;
//! - `Portico-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`, keyed
//!   with `payments.webhook_secret`;
//! - a JSON body `{"type": "payment.succeeded" | "payment.failed" |
//!   "payment.refunded", "payment_id": "<uuid>"}`.
//!
//! A bad signature or a stale timestamp is refused with 401 and changes
//! nothing. Replays are harmless: an outcome the payment already has is
//! acknowledged again without a second notification.

use actix_web::http::header::HeaderMap;
use domain::PaymentId;
use domain::ProviderOutcome;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use time::OffsetDateTime;
use uuid::Uuid;

/// How far a webhook's timestamp may be from the server clock, in seconds.
pub const TOLERANCE_SECS: i64 = 300;

/// What a verified webhook says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderEvent {
    /// The payment.
    pub payment_id: PaymentId,
    /// What happened to it.
    pub outcome: ProviderOutcome,
}

/// Why a webhook was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Missing or wrong signature, or a timestamp too far from now.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// Signed correctly but not understood.
    #[error("{0}")]
    Malformed(String),
}

/// A payment provider that reports outcomes through webhooks.
pub trait PaymentProvider: Send + Sync {
    /// The `{provider}` path segment.
    fn name(&self) -> &str;
    /// Authenticates the request and reads its event.
    fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<ProviderEvent, WebhookError>;
}

/// The built-in provider: HMAC-SHA256 over `<timestamp>.<body>`.
pub struct SignedWebhooks {
    secret: Vec<u8>,
}

impl SignedWebhooks {
    /// Keyed with `secret`.
    pub fn new(secret: Vec<u8>) -> Self {
        Self { secret }
    }

    fn mac(&self, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
        // HMAC takes keys of any length.
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).unwrap_or_else(|_| unreachable!());
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The `Portico-Signature` value for `body` sent at `timestamp` (for senders and tests).
    pub fn signature(&self, timestamp: i64, body: &[u8]) -> String {
        let tag = self
            .mac(&timestamp.to_string(), body)
            .finalize()
            .into_bytes();
        format!("v1={}", hex::encode(tag))
    }
}

#[derive(Deserialize)]
struct EventBody {
    #[serde(rename = "type")]
    kind: String,
    payment_id: Uuid,
}

impl PaymentProvider for SignedWebhooks {
    fn name(&self) -> &str {
        "portico"
    }

    fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<ProviderEvent, WebhookError> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let timestamp = header("Portico-Timestamp").ok_or(WebhookError::Unauthenticated(
            "Portico-Timestamp is missing",
        ))?;
        let sent_at: i64 = timestamp
            .parse()
            .map_err(|_| WebhookError::Unauthenticated("Portico-Timestamp is not a number"))?;
        if (now.unix_timestamp() - sent_at).abs() > TOLERANCE_SECS {
            return Err(WebhookError::Unauthenticated(
                "Portico-Timestamp is more than 5 minutes from the server's clock",
            ));
        }
        let signature = header("Portico-Signature")
            .and_then(|s| s.strip_prefix("v1="))
            .and_then(|s| hex::decode(s).ok())
            .ok_or(WebhookError::Unauthenticated(
                "Portico-Signature is missing or not v1=<hex>",
            ))?;
        self.mac(timestamp, body)
            .verify_slice(&signature)
            .map_err(|_| WebhookError::Unauthenticated("Portico-Signature does not match"))?;
        let event: EventBody =
            serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(e.to_string()))?;
        let outcome = match event.kind.as_str() {
            "payment.succeeded" => ProviderOutcome::Succeeded,
            "payment.failed" => ProviderOutcome::Failed,
            "payment.refunded" => ProviderOutcome::Refunded,
            other => {
                return Err(WebhookError::Malformed(format!(
                    "unknown event type {other}"
                )));
            }
        };
        Ok(ProviderEvent {
            payment_id: PaymentId::from_uuid(event.payment_id),
            outcome,
        })
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn headers(ts: i64, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_static("portico-timestamp"),
            HeaderValue::from_str(&ts.to_string()).unwrap(),
        );
        h.insert(
            HeaderName::from_static("portico-signature"),
            HeaderValue::from_str(sig).unwrap(),
        );
        h
    }

    #[test]
    fn good_signatures_pass_and_anything_else_is_refused() {
        let p = SignedWebhooks::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let id = Uuid::from_u128(5);
        let body = format!(r#"{{"type":"payment.succeeded","payment_id":"{id}"}}"#);
        let ts = now.unix_timestamp();
        let sig = p.signature(ts, body.as_bytes());
        assert_eq!(
            p.verify(&headers(ts, &sig), body.as_bytes(), now).unwrap(),
            ProviderEvent {
                payment_id: PaymentId::from_uuid(id),
                outcome: ProviderOutcome::Succeeded
            }
        );
        // Another body under the same signature.
        let forged = body.replace("succeeded", "refunded");
        assert!(matches!(
            p.verify(&headers(ts, &sig), forged.as_bytes(), now),
            Err(WebhookError::Unauthenticated(_))
        ));
        // Stale, even when correctly signed.
        let old = ts - TOLERANCE_SECS - 1;
        let old_sig = p.signature(old, body.as_bytes());
        assert!(matches!(
            p.verify(&headers(old, &old_sig), body.as_bytes(), now),
            Err(WebhookError::Unauthenticated(_))
        ));
        // Another key.
        let other = SignedWebhooks::new(vec![1; 32]).signature(ts, body.as_bytes());
        assert!(
            p.verify(&headers(ts, &other), body.as_bytes(), now)
                .is_err()
        );
        // Signed nonsense is malformed, not unauthenticated.
        let junk =
            br#"{"type":"payment.exploded","payment_id":"00000000-0000-0000-0000-000000000005"}"#;
        let junk_sig = p.signature(ts, junk);
        assert!(matches!(
            p.verify(&headers(ts, &junk_sig), junk, now),
            Err(WebhookError::Malformed(_))
        ));
    }
}
