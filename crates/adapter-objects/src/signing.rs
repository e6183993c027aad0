//! Signed URLs for the local store: the query carries an expiry (Unix
//! seconds), for uploads the size limit and content type, and `sig`, an
//! HMAC-SHA256 over the method, the key and those values. Checking the
//! signature is constant time.

use domain::ObjectKey;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

type HmacSha256 = Hmac<Sha256>;

/// What a valid upload URL allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPut {
    /// Largest accepted body, in bytes.
    pub max_size: u64,
    /// The only accepted `Content-Type`.
    pub content_type: String,
    /// When the URL stops working.
    pub expires_at: OffsetDateTime,
}

/// What a valid download URL allows (nothing more than reading the key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedGet;

/// Signs and checks the local store's URLs.
#[derive(Clone)]
pub struct UrlSigner {
    secret: Vec<u8>,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlSigner(..)")
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes [`encode`]'s output (and any other `%XX` escapes); `None` on bad input.
fn decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The value of `name` in a query string.
fn param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .and_then(|(_, v)| decode(v))
}

impl UrlSigner {
    /// A signer keyed with `secret`.
    pub fn new(secret: Vec<u8>) -> Self {
        Self { secret }
    }

    fn mac(&self, parts: &[&str]) -> HmacSha256 {
        // HMAC takes keys of any length.
        let mut mac = HmacSha256::new_from_slice(&self.secret).unwrap_or_else(|_| unreachable!());
        for part in parts {
            mac.update(part.as_bytes());
            mac.update(b"\n");
        }
        mac
    }

    fn sign(&self, parts: &[&str]) -> String {
        hex::encode(self.mac(parts).finalize().into_bytes())
    }

    fn valid(&self, parts: &[&str], sig: &str) -> bool {
        hex::decode(sig).is_ok_and(|sig| self.mac(parts).verify_slice(&sig).is_ok())
    }

    /// The query string of an upload URL.
    pub fn sign_put(
        &self,
        key: &ObjectKey,
        content_type: &str,
        max_size: u64,
        expires_at: OffsetDateTime,
    ) -> String {
        let (expires, max) = (
            expires_at.unix_timestamp().to_string(),
            max_size.to_string(),
        );
        let sig = self.sign(&["PUT", key.as_str(), &expires, &max, content_type]);
        format!(
            "expires={expires}&max={max}&type={}&sig={sig}",
            encode(content_type)
        )
    }

    /// The query string of a download URL.
    pub fn sign_get(&self, key: &ObjectKey, expires_at: OffsetDateTime) -> String {
        let expires = expires_at.unix_timestamp().to_string();
        let sig = self.sign(&["GET", key.as_str(), &expires]);
        format!("expires={expires}&sig={sig}")
    }

    fn unexpired(query: &str, now: OffsetDateTime) -> Option<String> {
        let expires = param(query, "expires")?;
        (expires.parse::<i64>().ok()? > now.unix_timestamp()).then_some(expires)
    }

    /// Checks an upload URL's query for `key`; `None` if forged or expired.
    pub fn verify_put(
        &self,
        key: &ObjectKey,
        query: &str,
        now: OffsetDateTime,
    ) -> Option<SignedPut> {
        let expires = Self::unexpired(query, now)?;
        let max = param(query, "max")?;
        let content_type = param(query, "type")?;
        let sig = param(query, "sig")?;
        self.valid(&["PUT", key.as_str(), &expires, &max, &content_type], &sig)
            .then(|| {
                Some(SignedPut {
                    max_size: max.parse().ok()?,
                    content_type,
                    expires_at: OffsetDateTime::from_unix_timestamp(expires.parse().ok()?).ok()?,
                })
            })
            .flatten()
    }

    /// Checks a download URL's query for `key`; `None` if forged or expired.
    pub fn verify_get(
        &self,
        key: &ObjectKey,
        query: &str,
        now: OffsetDateTime,
    ) -> Option<SignedGet> {
        let expires = Self::unexpired(query, now)?;
        let sig = param(query, "sig")?;
        self.valid(&["GET", key.as_str(), &expires], &sig)
            .then_some(SignedGet)
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;

    use super::*;

    fn key(k: &str) -> ObjectKey {
        ObjectKey::parse(k).unwrap()
    }

    #[test]
    fn upload_urls_verify_until_they_expire() {
        let signer = UrlSigner::new(vec![7; 32]);
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let k = key("users/1/a.svg");
        let q = signer.sign_put(
            &k,
            "image/svg+xml; charset=utf-8",
            1000,
            now + Duration::hours(1),
        );
        assert_eq!(
            signer.verify_put(&k, &q, now),
            Some(SignedPut {
                max_size: 1000,
                content_type: "image/svg+xml; charset=utf-8".into(),
                expires_at: now + Duration::hours(1),
            })
        );
        assert_eq!(signer.verify_put(&k, &q, now + Duration::hours(1)), None);
        assert_eq!(signer.verify_put(&key("users/1/b.svg"), &q, now), None);
        assert_eq!(UrlSigner::new(vec![8; 32]).verify_put(&k, &q, now), None);
    }

    #[test]
    fn tampered_queries_fail() {
        let signer = UrlSigner::new(vec![7; 32]);
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let k = key("users/1/a.png");
        let q = signer.sign_put(&k, "image/png", 1000, now + Duration::hours(1));
        assert_eq!(
            signer.verify_put(&k, &q.replace("max=1000", "max=9999"), now),
            None
        );
        assert_eq!(
            signer.verify_put(&k, &q.replace("image%2Fpng", "text%2Fhtml"), now),
            None
        );
        let g = signer.sign_get(&k, now + Duration::minutes(5));
        assert_eq!(signer.verify_get(&k, &g, now), Some(SignedGet));
        // A download signature is not an upload signature.
        assert_eq!(signer.verify_put(&k, &g, now), None);
        assert_eq!(
            signer.verify_get(&k, "expires=99999999999&sig=00", now),
            None
        );
    }

    #[test]
    fn encoding_round_trips() {
        for s in ["image/png", "a b+c;d=e", "ü/%"] {
            assert_eq!(decode(&encode(s)).as_deref(), Some(s));
        }
        assert_eq!(decode("%zz"), None);
    }
}
