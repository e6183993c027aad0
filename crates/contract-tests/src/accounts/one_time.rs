//! `OneTimeTokenRepository` contracts.

use crate::contract;
use domain::Stores;
use domain::*;
use time::Duration;

use crate::fixtures::*;

/// A single-use token is consumed once, only for its purpose, and not once expired.
#[contract]
pub async fn one_time_token_is_consumed_once_for_its_purpose(s: Stores) {
    let t = t0();
    let u = user("ann", t);
    let reset = one_time(u.id, TokenPurpose::PasswordReset, t);
    s.one_time_tokens.insert(&reset).await.unwrap();
    let wrong = s
        .one_time_tokens
        .consume(&reset.token_hash, TokenPurpose::AccountDeletion, t)
        .await
        .unwrap();
    assert_eq!(wrong, None);
    let expired = s
        .one_time_tokens
        .consume(
            &reset.token_hash,
            TokenPurpose::PasswordReset,
            reset.expires_at,
        )
        .await;
    assert_eq!(expired.unwrap(), None);
    let ok = s
        .one_time_tokens
        .consume(&reset.token_hash, TokenPurpose::PasswordReset, t)
        .await
        .unwrap();
    assert_eq!(ok, Some(reset.clone()));
    let again = s
        .one_time_tokens
        .consume(&reset.token_hash, TokenPurpose::PasswordReset, t)
        .await
        .unwrap();
    assert_eq!(again, None);
}

/// Of 12 concurrent consumptions exactly one succeeds.
#[contract]
pub async fn concurrent_one_time_consumes_have_one_winner(s: Stores) {
    let t = t0();
    let tok = one_time(user("ann", t).id, TokenPurpose::PasswordReset, t);
    s.one_time_tokens.insert(&tok).await.unwrap();
    let hash = tok.token_hash.clone();
    let results = concurrently(12, |_| {
        let (s, hash) = (s.clone(), hash.clone());
        async move {
            s.one_time_tokens
                .consume(&hash, TokenPurpose::PasswordReset, t)
                .await
                .unwrap()
        }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_some()).count(), 1);
}

/// `delete_for_user` removes the user's tokens of one purpose, or of all.
#[contract]
pub async fn one_time_delete_for_user_by_purpose(s: Stores) {
    let t = t0();
    let (ann, bob) = (user("ann", t), user("bob", t));
    let reset = one_time(ann.id, TokenPurpose::PasswordReset, t);
    let deletion = one_time(ann.id, TokenPurpose::AccountDeletion, t);
    let bobs = one_time(bob.id, TokenPurpose::PasswordReset, t);
    for x in [&reset, &deletion, &bobs] {
        s.one_time_tokens.insert(x).await.unwrap();
    }
    let removed = s
        .one_time_tokens
        .delete_for_user(ann.id, Some(TokenPurpose::PasswordReset))
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(
        s.one_time_tokens
            .consume(&reset.token_hash, TokenPurpose::PasswordReset, t)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.one_time_tokens
            .delete_for_user(ann.id, None)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        s.one_time_tokens
            .consume(&deletion.token_hash, TokenPurpose::AccountDeletion, t)
            .await
            .unwrap(),
        None
    );
    assert!(
        s.one_time_tokens
            .consume(&bobs.token_hash, TokenPurpose::PasswordReset, t)
            .await
            .unwrap()
            .is_some()
    );
}

/// `purge_expired` removes expired tokens and keeps live ones.
#[contract]
pub async fn one_time_purge_expired(s: Stores) {
    let t = t0();
    let u = user("ann", t);
    let old = one_time(u.id, TokenPurpose::PasswordReset, t - Duration::hours(3));
    let live = one_time(u.id, TokenPurpose::PasswordReset, t);
    s.one_time_tokens.insert(&old).await.unwrap();
    s.one_time_tokens.insert(&live).await.unwrap();
    s.one_time_tokens
        .purge_expired(t, domain::PURGE_BATCH)
        .await
        .unwrap();
    let gone = s
        .one_time_tokens
        .consume(
            &old.token_hash,
            TokenPurpose::PasswordReset,
            t - Duration::hours(3),
        )
        .await;
    assert_eq!(gone.unwrap(), None);
    assert!(
        s.one_time_tokens
            .consume(&live.token_hash, TokenPurpose::PasswordReset, t)
            .await
            .unwrap()
            .is_some()
    );
}

/// `spend_try` counts tries on the token itself: 1, 2, … for a live token
/// of its purpose, `None` for an unknown, expired or other-purpose one,
/// each token its own count, and the token still works afterwards.
#[contract]
pub async fn one_time_tries_count_on_the_token(s: Stores) {
    let t = t0();
    let u = user("ann", t);
    let mfa = one_time(u.id, TokenPurpose::MfaSignIn, t);
    let other = one_time(u.id, TokenPurpose::MfaSignIn, t);
    s.one_time_tokens.insert(&mfa).await.unwrap();
    s.one_time_tokens.insert(&other).await.unwrap();
    let tokens = &s.one_time_tokens;
    for n in 1..=3 {
        let tries = tokens
            .spend_try(&mfa.token_hash, TokenPurpose::MfaSignIn, t)
            .await
            .unwrap();
        assert_eq!(tries, Some(n));
    }
    assert_eq!(
        tokens
            .spend_try(&other.token_hash, TokenPurpose::MfaSignIn, t)
            .await
            .unwrap(),
        Some(1),
        "each token counts its own tries"
    );
    assert_eq!(
        tokens
            .spend_try(&mfa.token_hash, TokenPurpose::PasswordReset, t)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        tokens
            .spend_try(&mfa.token_hash, TokenPurpose::MfaSignIn, mfa.expires_at)
            .await
            .unwrap(),
        None
    );
    let unknown = one_time(u.id, TokenPurpose::MfaSignIn, t);
    assert_eq!(
        tokens
            .spend_try(&unknown.token_hash, TokenPurpose::MfaSignIn, t)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        tokens
            .find(&mfa.token_hash, TokenPurpose::MfaSignIn, t)
            .await
            .unwrap(),
        Some(mfa.clone())
    );
    assert_eq!(
        tokens
            .consume(&mfa.token_hash, TokenPurpose::MfaSignIn, t)
            .await
            .unwrap(),
        Some(mfa.clone())
    );
    assert_eq!(
        tokens
            .spend_try(&mfa.token_hash, TokenPurpose::MfaSignIn, t)
            .await
            .unwrap(),
        None,
        "the count goes with the token"
    );
}

/// 12 concurrent tries on one token get the counts 1..=12.
#[contract]
pub async fn concurrent_tries_count_exactly(s: Stores) {
    let t = t0();
    let tok = one_time(user("ann", t).id, TokenPurpose::MfaSignIn, t);
    s.one_time_tokens.insert(&tok).await.unwrap();
    let hash = tok.token_hash.clone();
    let mut counts = concurrently(12, |_| {
        let (s, hash) = (s.clone(), hash.clone());
        async move {
            s.one_time_tokens
                .spend_try(&hash, TokenPurpose::MfaSignIn, t)
                .await
                .unwrap()
                .expect("a live token")
        }
    })
    .await;
    counts.sort_unstable();
    assert_eq!(counts, (1..=12).collect::<Vec<u32>>());
}

/// `purge_expired` deletes at most `limit` per call (0 where the store
/// expires tokens itself), and calls until one deletes nothing leave no
/// expired token and every live one.
#[contract]
pub async fn one_time_purge_goes_in_bounded_batches(s: Stores) {
    let t = t0();
    let u = user("ann", t);
    let expired: Vec<_> = (0..3)
        .map(|_| one_time(u.id, TokenPurpose::PasswordReset, t - Duration::hours(3)))
        .collect();
    let live = one_time(u.id, TokenPurpose::PasswordReset, t);
    for token in expired.iter().chain([&live]) {
        s.one_time_tokens.insert(token).await.unwrap();
    }
    let mut calls = 0;
    loop {
        let n = s.one_time_tokens.purge_expired(t, 2).await.unwrap();
        assert!(n <= 2, "a batch of 2 deleted {n}");
        calls += 1;
        if n == 0 || calls > 1000 {
            break;
        }
    }
    for token in &expired {
        assert_eq!(
            s.one_time_tokens
                .find(
                    &token.token_hash,
                    TokenPurpose::PasswordReset,
                    t - Duration::hours(4)
                )
                .await
                .unwrap(),
            None
        );
    }
    assert!(
        s.one_time_tokens
            .find(&live.token_hash, TokenPurpose::PasswordReset, t)
            .await
            .unwrap()
            .is_some()
    );
}
