//! [`JwtKeys`]: the [`AccessTokenSigner`] of access JWTs. Ed25519 (`alg:
//! EdDSA`, RFC 8037) compact JWS with the key's id in the header, and the
//! public keys as a JWK Set for other services.
//!
//! The text form (a key file, or the configuration's list) is one key per
//! line, `<id>:<64 hex characters of the private seed>:<unix time it was
//! added>`; the last line is the current key. A key stays published until
//! every token it signed has expired: while it is current, and for one
//! token lifetime after the next key was added.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use domain::{AccessClaims, AccessTokenSigner, StoreError};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use time::{Duration, OffsetDateTime};

use crate::keyring::decode_hex;

/// Why a JWT key list could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtKeysError {
    /// No key at all.
    #[error("the JWT key list holds no key")]
    Empty,
    /// A line is not `<id>:<64 hex>:<unix time>`.
    #[error(
        "JWT key {0}: expected `<id>:<64 hex characters>:<unix time>` with an id of letters, digits, `-` or `_`"
    )]
    Malformed(usize),
    /// Two keys share an id.
    #[error("two JWT keys have the id {0:?}")]
    Duplicate(String),
}

struct Key {
    id: String,
    signing: SigningKey,
    verifying: VerifyingKey,
    added_at: i64,
}

/// Signing keys by id, the last one current.
pub struct JwtKeys {
    keys: Vec<Key>,
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JwtKeys(ids {:?})", self.ids())
    }
}

impl JwtKeys {
    /// Keys from their text lines (blank lines and `#` comments skipped);
    /// the last is current.
    pub fn parse<'a>(lines: impl IntoIterator<Item = &'a str>) -> Result<Self, JwtKeysError> {
        let mut keys: Vec<Key> = Vec::new();
        for (n, line) in lines
            .into_iter()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .enumerate()
        {
            let bad = || JwtKeysError::Malformed(n + 1);
            let mut parts = line.split(':');
            let (id, seed, added) = (
                parts.next().ok_or_else(bad)?,
                parts.next().ok_or_else(bad)?,
                parts.next().ok_or_else(bad)?,
            );
            let valid_id = !id.is_empty()
                && id.len() <= 32
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            let seed: [u8; 32] = decode_hex(seed)
                .and_then(|s| s.try_into().ok())
                .filter(|_| valid_id && parts.next().is_none())
                .ok_or_else(bad)?;
            let added_at: i64 = added.parse().map_err(|_| bad())?;
            if keys.iter().any(|k| k.id == id) {
                return Err(JwtKeysError::Duplicate(id.to_owned()));
            }
            let signing = SigningKey::from_bytes(&seed);
            keys.push(Key {
                id: id.to_owned(),
                verifying: signing.verifying_key(),
                signing,
                added_at,
            });
        }
        if keys.is_empty() {
            return Err(JwtKeysError::Empty);
        }
        Ok(Self { keys })
    }

    /// A new key's line, from OS randomness, added at `now`.
    pub fn new_entry(id: &str, now: OffsetDateTime) -> String {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("the OS random number generator");
        let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
        format!("{id}:{hex}:{}", now.unix_timestamp())
    }

    /// An id no key has (`j1`, `j2`, …).
    pub fn next_id(&self) -> String {
        (1..)
            .map(|n| format!("j{n}"))
            .find(|id| self.keys.iter().all(|k| &k.id != id))
            .unwrap_or_default()
    }

    /// The ids, oldest first (the last is current).
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.id.as_str()).collect()
    }

    fn current(&self) -> &Key {
        // `parse` refuses an empty list.
        &self.keys[self.keys.len() - 1]
    }

    /// The public keys of tokens that may still be valid at `now`, for
    /// tokens living `ttl`: the current key and every key the next one
    /// replaced less than `ttl` ago (RFC 7517 JWK Set, OKP/Ed25519).
    pub fn jwks(&self, now: OffsetDateTime, ttl: Duration) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .published(now, ttl)
            .into_iter()
            .map(|(kid, x)| {
                serde_json::json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": x,
                    "kid": kid,
                    "alg": "EdDSA",
                    "use": "sig",
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// The published keys of [`JwtKeys::jwks`]: each id with its public key
    /// in base64url (a JWK's `x`).
    pub fn published(&self, now: OffsetDateTime, ttl: Duration) -> Vec<(String, String)> {
        let added: Vec<i64> = self.keys.iter().map(|k| k.added_at).collect();
        self.keys
            .iter()
            .zip(Self::still_needed(&added, now, ttl))
            .filter(|(_, needed)| *needed)
            .map(|(k, _)| (k.id.clone(), B64.encode(k.verifying.as_bytes())))
            .collect()
    }

    /// For keys added at `added` (unix seconds, oldest first), whether each
    /// may still have valid tokens at `now` for tokens living `ttl`: the
    /// last key always, and each key the next one replaced less than `ttl`
    /// ago. What is published, and what `portico keys rotate --jwt` keeps.
    pub fn still_needed(added: &[i64], now: OffsetDateTime, ttl: Duration) -> Vec<bool> {
        let now = now.unix_timestamp();
        (0..added.len())
            .map(|i| {
                added
                    .get(i + 1)
                    .is_none_or(|next| next.saturating_add(ttl.whole_seconds()) > now)
            })
            .collect()
    }
}

impl AccessTokenSigner for JwtKeys {
    fn sign(&self, claims: &AccessClaims) -> Result<String, StoreError> {
        let key = self.current();
        let header = serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": key.id});
        let payload = serde_json::to_vec(claims)
            .map_err(|e| StoreError::with_source("encoding JWT claims", e))?;
        let signing_input = format!(
            "{}.{}",
            B64.encode(header.to_string().as_bytes()),
            B64.encode(payload)
        );
        let signature = key.signing.sign(signing_input.as_bytes());
        Ok(format!(
            "{signing_input}.{}",
            B64.encode(signature.to_bytes())
        ))
    }

    fn verify(&self, token: &str) -> Option<AccessClaims> {
        let mut parts = token.split('.');
        let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: serde_json::Value = serde_json::from_slice(&B64.decode(header).ok()?).ok()?;
        if header.get("alg")? != "EdDSA" {
            return None;
        }
        let kid = header.get("kid")?.as_str()?;
        let key = self.keys.iter().find(|k| k.id == kid)?;
        let signature = ed25519_dalek::Signature::from_slice(&B64.decode(signature).ok()?).ok()?;
        let signing_input = &token[..header_and_payload_len(token)?];
        key.verifying
            .verify_strict(signing_input.as_bytes(), &signature)
            .ok()?;
        serde_json::from_slice(&B64.decode(payload).ok()?).ok()
    }
}

/// The length of `<header>.<payload>` in a compact JWS.
fn header_and_payload_len(token: &str) -> Option<usize> {
    token.rfind('.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-12-06 12:00 UTC);

    fn claims() -> AccessClaims {
        AccessClaims {
            iss: "https://id.example".into(),
            sub: domain::UserId::from_uuid(uuid::Uuid::from_u128(1)),
            sid: domain::AuthSessionId::from_uuid(uuid::Uuid::from_u128(2)),
            iat: T0.unix_timestamp(),
            exp: T0.unix_timestamp() + 300,
            jti: "ab".repeat(32),
            roles: vec!["user".into()],
            plan: "free".into(),
        }
    }

    #[test]
    fn a_signed_token_verifies_with_its_key_and_names_it() {
        let one = JwtKeys::new_entry("j1", T0);
        let keys = JwtKeys::parse([one.as_str()]).unwrap();
        let token = keys.sign(&claims()).unwrap();
        assert_eq!(keys.verify(&token), Some(claims()));
        let header: serde_json::Value =
            serde_json::from_slice(&B64.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": "j1"})
        );
    }

    #[test]
    fn tampering_another_key_or_another_alg_is_refused() {
        let one = JwtKeys::new_entry("j1", T0);
        let keys = JwtKeys::parse([one.as_str()]).unwrap();
        let token = keys.sign(&claims()).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        // Another payload under the same signature.
        let other = AccessClaims {
            sub: domain::UserId::from_uuid(uuid::Uuid::from_u128(9)),
            ..claims()
        };
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            B64.encode(serde_json::to_vec(&other).unwrap()),
            parts[2]
        );
        assert_eq!(keys.verify(&forged), None);
        // Signed by a key with the same id that this list does not hold.
        let stranger = JwtKeys::parse([JwtKeys::new_entry("j1", T0).as_str()]).unwrap();
        assert_eq!(keys.verify(&stranger.sign(&claims()).unwrap()), None);
        // `alg: none` with no signature.
        let none = format!(
            "{}.{}.",
            B64.encode(br#"{"alg":"none","kid":"j1"}"#),
            parts[1]
        );
        assert_eq!(keys.verify(&none), None);
        assert_eq!(keys.verify(&format!("{token}.x")), None);
    }

    #[test]
    fn rotation_signs_with_the_new_key_and_publishes_the_old_one_for_a_lifetime() {
        let ttl = Duration::minutes(5);
        let one = JwtKeys::new_entry("j1", T0 - Duration::days(1));
        let before = JwtKeys::parse([one.as_str()]).unwrap();
        let old_token = before.sign(&claims()).unwrap();
        let two = JwtKeys::new_entry(&before.next_id(), T0);
        let after = JwtKeys::parse([one.as_str(), two.as_str()]).unwrap();
        assert_eq!(after.ids(), ["j1", "j2"]);
        assert_eq!(after.verify(&old_token), Some(claims()));
        assert!(after.sign(&claims()).unwrap().len() > 10);
        let kids = |at| -> Vec<String> {
            after.jwks(at, ttl)["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["kid"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(kids(T0), ["j1", "j2"]);
        assert_eq!(kids(T0 + Duration::seconds(299)), ["j1", "j2"]);
        assert_eq!(kids(T0 + ttl), ["j2"]);
        let jwk = &after.jwks(T0, ttl)["keys"][1];
        assert_eq!(
            (jwk["kty"].as_str(), jwk["crv"].as_str()),
            (Some("OKP"), Some("Ed25519"))
        );
        assert_eq!(B64.decode(jwk["x"].as_str().unwrap()).unwrap().len(), 32);
    }

    #[test]
    fn malformed_lists_are_refused_with_the_line() {
        let good = JwtKeys::new_entry("j1", T0);
        assert_eq!(JwtKeys::parse([""]).unwrap_err(), JwtKeysError::Empty);
        for bad in [
            "j1:00:1",
            "j 1:x:1",
            &good[..good.len() - 11],
            &format!("{good}:9"),
        ] {
            assert_eq!(
                JwtKeys::parse([good.as_str(), bad]).unwrap_err(),
                JwtKeysError::Malformed(2),
                "{bad}"
            );
        }
        assert_eq!(
            JwtKeys::parse([good.as_str(), good.as_str()]).unwrap_err(),
            JwtKeysError::Duplicate("j1".into())
        );
    }
}
