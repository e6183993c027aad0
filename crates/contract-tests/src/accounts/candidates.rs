//! `CandidateRepository` contracts.

use crate::contract;
use domain::{Email, Stores};
use time::Duration;

use crate::fixtures::*;

/// A candidate is taken once by its token hash; a second take is `None`.
#[contract]
pub async fn candidate_is_taken_once(s: Stores) {
    let t = t0();
    let c = candidate("new@example.org", t);
    s.candidates.put(&c).await.unwrap();
    assert_eq!(
        s.candidates.take(&c.token_hash, t).await.unwrap(),
        Some(c.clone())
    );
    assert_eq!(s.candidates.take(&c.token_hash, t).await.unwrap(), None);
    assert_eq!(s.candidates.take(&token().1, t).await.unwrap(), None);
}

/// A candidate for the same email (in any case) replaces the earlier one, whose token stops working.
#[contract]
pub async fn candidate_put_replaces_same_email(s: Stores) {
    let t = t0();
    let first = candidate("new@example.org", t);
    let second = candidate("NEW@example.org", t + Duration::seconds(1));
    s.candidates.put(&first).await.unwrap();
    s.candidates.put(&second).await.unwrap();
    assert_eq!(s.candidates.take(&first.token_hash, t).await.unwrap(), None);
    assert_eq!(
        s.candidates.take(&second.token_hash, t).await.unwrap(),
        Some(second)
    );
}

/// A candidate is invisible from its `expires_at` on.
#[contract]
pub async fn expired_candidate_is_not_taken(s: Stores) {
    let t = t0();
    let c = candidate("late@example.org", t);
    s.candidates.put(&c).await.unwrap();
    assert_eq!(
        s.candidates
            .take(&c.token_hash, c.expires_at)
            .await
            .unwrap(),
        None
    );
}

/// `find_by_email` finds the live candidate of an address in any case,
/// leaves its token usable, and finds nothing once it expired or was taken.
#[contract]
pub async fn candidate_is_found_by_email_until_taken_or_expired(s: Stores) {
    let t = t0();
    let c = candidate("found@example.org", t);
    s.candidates.put(&c).await.unwrap();
    let upper = Email::parse("FOUND@example.org").unwrap();
    assert_eq!(
        s.candidates.find_by_email(&upper, t).await.unwrap(),
        Some(c.clone())
    );
    assert_eq!(
        s.candidates
            .find_by_email(&c.email, c.expires_at)
            .await
            .unwrap(),
        None,
        "expired"
    );
    let other = Email::parse("other@example.org").unwrap();
    assert_eq!(s.candidates.find_by_email(&other, t).await.unwrap(), None);
    assert_eq!(
        s.candidates.take(&c.token_hash, t).await.unwrap(),
        Some(c.clone()),
        "a look-up leaves the token usable"
    );
    assert_eq!(s.candidates.find_by_email(&c.email, t).await.unwrap(), None);
}

/// Of 12 concurrent takes of one candidate exactly one gets it.
#[contract]
pub async fn concurrent_candidate_takes_have_one_winner(s: Stores) {
    let t = t0();
    let c = candidate("race@example.org", t);
    s.candidates.put(&c).await.unwrap();
    let hash = c.token_hash.clone();
    let results = concurrently(12, |_| {
        let (s, hash) = (s.clone(), hash.clone());
        async move { s.candidates.take(&hash, t).await.unwrap() }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_some()).count(), 1);
}

/// `purge_expired` leaves unexpired candidates takeable.
#[contract]
pub async fn candidate_purge_keeps_unexpired(s: Stores) {
    let t = t0();
    let old = candidate("old@example.org", t - Duration::hours(2));
    let live = candidate("live@example.org", t);
    s.candidates.put(&old).await.unwrap();
    s.candidates.put(&live).await.unwrap();
    s.candidates
        .purge_expired(t, domain::PURGE_BATCH)
        .await
        .unwrap();
    assert_eq!(
        s.candidates
            .take(&old.token_hash, t - Duration::hours(2))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.candidates.take(&live.token_hash, t).await.unwrap(),
        Some(live)
    );
}
