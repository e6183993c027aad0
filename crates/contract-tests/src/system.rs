//! Contracts of the small system ports. They take the implementation itself
//! (no store needed): call them from the implementing crate's tests.

use std::collections::HashSet;

use domain::{Clock, IdGenerator, Password, PasswordHash, PasswordHasher, Token, TokenGenerator};

/// `PasswordHasher`: a hash verifies its password and no other; hashes are
/// salted; a hash in an unknown format is `Ok(false)`, not an error; the dummy
/// verification succeeds.
pub async fn password_hasher(h: &dyn PasswordHasher) {
    let pw = Password::new("correct horse battery").expect("password");
    let a = h.hash(&pw).await.expect("hash");
    let b = h.hash(&pw).await.expect("hash");
    assert_ne!(a, b, "two hashes of one password differ (salt)");
    assert!(
        !a.as_str().contains("correct horse"),
        "the hash does not contain the password"
    );
    assert!(h.verify(&pw, &a).await.expect("verify"));
    assert!(h.verify(&pw, &b).await.expect("verify"));
    let wrong = Password::for_sign_in("correct horse batterY").expect("password");
    assert!(!h.verify(&wrong, &a).await.expect("verify"));
    for junk in [
        "",
        "not a hash",
        "$argon2id$v=19$garbage",
        "$2b$12$tooshort",
    ] {
        assert!(
            !h.verify(&pw, &PasswordHash::new(junk))
                .await
                .expect("unknown format is Ok(false)")
        );
    }
    h.verify_dummy(&pw).await.expect("dummy verification");
}

/// `TokenGenerator`: 256-bit tokens, never repeated.
pub fn token_generator(g: &dyn TokenGenerator) {
    let tokens: HashSet<String> = (0..1_000)
        .map(|_| g.generate().expose().to_owned())
        .collect();
    assert_eq!(tokens.len(), 1_000, "no token repeats");
    assert!(
        tokens
            .iter()
            .all(|t| Token::parse(t).is_ok() && t.len() == Token::BYTES * 2)
    );
}

/// `IdGenerator`: ids never repeat.
pub fn id_generator(g: &dyn IdGenerator) {
    let ids: HashSet<uuid::Uuid> = (0..10_000).map(|_| g.new_id()).collect();
    assert_eq!(ids.len(), 10_000);
}

/// `Clock`: UTC, at most millisecond precision, never going backwards between two reads.
pub fn clock(c: &dyn Clock) {
    let a = c.now();
    let b = c.now();
    assert!(a.offset().is_utc());
    assert_eq!(
        a.nanosecond() % 1_000_000,
        0,
        "millisecond precision at most"
    );
    assert!(b >= a);
}
