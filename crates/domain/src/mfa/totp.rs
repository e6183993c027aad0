//! TOTP (RFC 6238) as Portico uses it: HMAC-SHA-1, six digits, 30-second
//! steps, a code of the step before or after the current one accepted for
//! clock drift. The code computation is `totp-rs`'s; which step matched is
//! ours, because the replay guard records it.

use totp_rs::{Algorithm, TOTP};

/// Seconds per time step.
pub(crate) const STEP_SECONDS: u64 = 30;
/// Digits per code.
pub(crate) const DIGITS: usize = 6;
/// Bytes of a new secret (160 bits, the HMAC-SHA-1 key size RFC 4226 recommends).
pub(crate) const SECRET_BYTES: usize = 20;

/// The time step of unix time `seconds`.
pub(crate) fn step_of(seconds: i64) -> i64 {
    seconds.div_euclid(STEP_SECONDS as i64)
}

fn totp(secret: &[u8], algorithm: Algorithm, digits: usize) -> TOTP {
    // `new_unchecked`: the secret's length is ours to choose (SECRET_BYTES)
    // and the test vectors use RFC 6238's shorter keys.
    TOTP::new_unchecked(algorithm, digits, 0, STEP_SECONDS, secret.to_vec())
}

/// The code of step `step` for `secret` (SHA-1, six digits).
#[cfg(test)]
pub(crate) fn code_at_step(secret: &[u8], step: i64) -> String {
    code_at(secret, Algorithm::SHA1, DIGITS, step)
}

/// The code of step `step` for `secret`.
#[cfg(test)]
fn code_at(secret: &[u8], algorithm: Algorithm, digits: usize, step: i64) -> String {
    totp(secret, algorithm, digits).generate(u64::try_from(step).unwrap_or(0) * STEP_SECONDS)
}

/// The step among the one at `seconds` and its two neighbours whose code is
/// `code`, compared in constant time; every candidate is compared, so the
/// time taken does not tell which one matched.
pub(crate) fn matching_step(secret: &[u8], code: &str, seconds: i64) -> Option<i64> {
    let totp = totp(secret, Algorithm::SHA1, DIGITS);
    let now = step_of(seconds);
    let mut found = None;
    for step in [now - 1, now, now + 1] {
        let Ok(at) = u64::try_from(step) else {
            continue;
        };
        // `check` compares in constant time.
        if totp.check(code, at * STEP_SECONDS) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// Base32 (RFC 4648, no padding) of a secret, as authenticator apps take it.
pub(crate) fn base32(secret: &[u8]) -> String {
    match totp_rs::Secret::Raw(secret.to_vec()).to_encoded() {
        totp_rs::Secret::Encoded(text) => text.trim_end_matches('=').to_owned(),
        totp_rs::Secret::Raw(_) => unreachable!("to_encoded returns the encoded form"),
    }
}

/// The `otpauth://` URI (Key Uri Format) an authenticator app scans.
pub(crate) fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let (issuer, account) = (percent(issuer), percent(account));
    format!(
        "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        base32(secret)
    )
}

/// Percent-encoding of everything but RFC 3986's unreserved characters.
fn percent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B: the seeds are the ASCII digits "1234567890"
    /// repeated to 20, 32 and 64 bytes; codes have eight digits.
    fn seed(len: usize) -> Vec<u8> {
        b"1234567890".iter().cycle().take(len).copied().collect()
    }

    #[test]
    fn rfc_6238_test_vectors() {
        let vectors: [(i64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for (time, sha1, sha256, sha512) in vectors {
            let step = step_of(time);
            assert_eq!(
                code_at(&seed(20), Algorithm::SHA1, 8, step),
                sha1,
                "SHA1 at {time}"
            );
            assert_eq!(
                code_at(&seed(32), Algorithm::SHA256, 8, step),
                sha256,
                "SHA256 at {time}"
            );
            assert_eq!(
                code_at(&seed(64), Algorithm::SHA512, 8, step),
                sha512,
                "SHA512 at {time}"
            );
        }
    }

    #[test]
    fn a_code_matches_its_step_and_the_neighbours_only() {
        let secret = seed(20);
        let t = 1_111_111_111;
        let code = code_at(&secret, Algorithm::SHA1, DIGITS, step_of(t));
        assert_eq!(matching_step(&secret, &code, t), Some(step_of(t)));
        assert_eq!(matching_step(&secret, &code, t + 30), Some(step_of(t)));
        assert_eq!(matching_step(&secret, &code, t - 30), Some(step_of(t)));
        assert_eq!(matching_step(&secret, &code, t + 60), None);
        assert_eq!(matching_step(&secret, &code, t - 60), None);
        assert_eq!(matching_step(&seed(32)[..20], "000000", t), None);
    }

    #[test]
    fn the_uri_carries_the_secret_and_escapes_names() {
        assert_eq!(
            base32(b"12345678901234567890"),
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        );
        let uri = otpauth_uri("Portico Dev", "ann@example.org", b"12345678901234567890");
        assert_eq!(
            uri,
            "otpauth://totp/Portico%20Dev:ann%40example.org?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Portico%20Dev&algorithm=SHA1&digits=6&period=30"
        );
    }
}
