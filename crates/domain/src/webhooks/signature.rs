//! Signing as the Standard Webhooks specification says: a `whsec_` secret
//! of random bytes, and `v1,` + base64 of HMAC-SHA256 over
//! `{webhook-id}.{webhook-timestamp}.{body}`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::WebhookEventId;

/// An endpoint's signing secret: 32 random bytes, shown to its maker once
/// as `whsec_` and their base64.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    /// The secret of these bytes (at least 24 of them).
    pub fn from_bytes(bytes: Vec<u8>) -> Option<Self> {
        (bytes.len() >= 24 && bytes.len() <= 64).then_some(Self(bytes))
    }

    /// Parses `whsec_…` (the prefix is optional, as receivers' libraries take it).
    pub fn parse(text: &str) -> Option<Self> {
        let b64 = text.strip_prefix("whsec_").unwrap_or(text);
        Self::from_bytes(STANDARD.decode(b64).ok()?)
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// `whsec_` and the bytes in base64: what receivers configure.
    pub fn expose(&self) -> String {
        format!("whsec_{}", STANDARD.encode(&self.0))
    }

    /// The `webhook-signature` header value for a message.
    pub fn sign(&self, msg_id: &str, timestamp: i64, body: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(msg_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body.as_bytes());
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

/// The `webhook-id` header of an event: `msg_` and its id in hex.
pub fn message_id(event: WebhookEventId) -> String {
    format!("msg_{}", event.as_uuid().simple())
}
