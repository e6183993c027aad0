//! `SessionRepository` contracts: sessions and their refresh tokens.

use crate::contract;
use domain::Stores;
use domain::*;
use time::Duration;

use crate::fixtures::*;

/// A session reads back equal; an unknown id is `None`.
#[contract]
pub async fn session_roundtrips_and_missing_is_none(s: Stores) {
    let u = user("ann", t0());
    let session = session(u.id, t0());
    s.sessions.create(&session).await.unwrap();
    assert_eq!(s.sessions.get(session.id).await.unwrap(), Some(session));
    assert_eq!(
        s.sessions
            .get(AuthSessionId::from_uuid(id()))
            .await
            .unwrap(),
        None
    );
}

/// `find_active_by_token` finds an active session only: not once expired, not once revoked.
#[contract]
pub async fn find_active_hides_expired_and_revoked(s: Stores) {
    let t = t0();
    let u = user("ann", t);
    let a = session(u.id, t);
    s.sessions.create(&a).await.unwrap();
    assert_eq!(
        s.sessions
            .find_active_by_token(&a.token_hash, t)
            .await
            .unwrap(),
        Some(a.clone())
    );
    assert_eq!(
        s.sessions
            .find_active_by_token(&a.token_hash, a.expires_at)
            .await
            .unwrap(),
        None
    );
    s.sessions.revoke(u.id, a.id, t).await.unwrap();
    assert_eq!(
        s.sessions
            .find_active_by_token(&a.token_hash, t)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.sessions.get(a.id).await.unwrap().unwrap().revoked_at,
        Some(t)
    );
    assert_eq!(
        s.sessions
            .find_active_by_token(&token().1, t)
            .await
            .unwrap(),
        None
    );
}

/// `touch` slides an active session; a revoked or unknown one is `NotFound`.
#[contract]
pub async fn touch_slides_active_sessions_only(s: Stores) {
    let t = t0();
    let u = user("ann", t);
    let a = session(u.id, t);
    s.sessions.create(&a).await.unwrap();
    let later = t + Duration::hours(20);
    s.sessions
        .touch(a.id, later, later + Duration::days(1))
        .await
        .unwrap();
    let stored = s.sessions.get(a.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.last_accessed_at, stored.expires_at),
        (later, later + Duration::days(1))
    );
    assert!(
        s.sessions
            .find_active_by_token(&a.token_hash, t + Duration::hours(30))
            .await
            .unwrap()
            .is_some()
    );
    s.sessions.revoke(u.id, a.id, t).await.unwrap();
    assert!(matches!(
        s.sessions.touch(a.id, later, later).await,
        Err(WriteError::NotFound)
    ));
    let ghost = AuthSessionId::from_uuid(id());
    assert!(matches!(
        s.sessions.touch(ghost, later, later).await,
        Err(WriteError::NotFound)
    ));
}

/// `rotate` swaps the access token and extends both expiries; revoked sessions are `NotFound`.
#[contract]
pub async fn rotate_replaces_the_access_token(s: Stores) {
    let t = t0();
    let u = user("ann", t);
    let a = session(u.id, t);
    s.sessions.create(&a).await.unwrap();
    let (_, new_hash) = token();
    let at = t + Duration::hours(1);
    s.sessions
        .rotate(
            a.id,
            &new_hash,
            at,
            at + Duration::days(1),
            at + Duration::days(30),
        )
        .await
        .unwrap();
    assert_eq!(
        s.sessions
            .find_active_by_token(&a.token_hash, at)
            .await
            .unwrap(),
        None
    );
    let found = s
        .sessions
        .find_active_by_token(&new_hash, at)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, a.id);
    assert_eq!(
        (found.expires_at, found.refresh_expires_at),
        (at + Duration::days(1), at + Duration::days(30))
    );
    s.sessions.revoke(u.id, a.id, at).await.unwrap();
    let res = s.sessions.rotate(a.id, &token().1, at, at, at).await;
    assert!(matches!(res, Err(WriteError::NotFound)));
}

/// `list_active` returns only the user's active sessions, newest first.
#[contract]
pub async fn list_active_is_own_newest_first(s: Stores) {
    let t = t0();
    let (ann, bob) = (user("ann", t), user("bob", t));
    let old = session(ann.id, t - Duration::hours(2));
    let new = session(ann.id, t - Duration::hours(1));
    let mut expired = session(ann.id, t - Duration::hours(3));
    expired.expires_at = t - Duration::minutes(1);
    let revoked = session(ann.id, t - Duration::minutes(30));
    let other = session(bob.id, t);
    for x in [&old, &new, &expired, &revoked, &other] {
        s.sessions.create(x).await.unwrap();
    }
    s.sessions.revoke(ann.id, revoked.id, t).await.unwrap();
    let ids: Vec<AuthSessionId> = s
        .sessions
        .list_active(ann.id, t)
        .await
        .unwrap()
        .iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(ids, vec![new.id, old.id]);
}

/// `revoke` by another user, or a second time, is `NotFound`.
#[contract]
pub async fn revoke_is_owner_only_and_once(s: Stores) {
    let t = t0();
    let (ann, bob) = (user("ann", t), user("bob", t));
    let a = session(ann.id, t);
    s.sessions.create(&a).await.unwrap();
    assert!(matches!(
        s.sessions.revoke(bob.id, a.id, t).await,
        Err(WriteError::NotFound)
    ));
    assert!(
        s.sessions
            .find_active_by_token(&a.token_hash, t)
            .await
            .unwrap()
            .is_some()
    );
    s.sessions.revoke(ann.id, a.id, t).await.unwrap();
    assert!(matches!(
        s.sessions.revoke(ann.id, a.id, t).await,
        Err(WriteError::NotFound)
    ));
}

/// `revoke_all` revokes every unrevoked session of the user and counts them.
#[contract]
pub async fn revoke_all_counts(s: Stores) {
    let t = t0();
    let (ann, bob) = (user("ann", t), user("bob", t));
    let sessions: Vec<AuthSession> = (0..3)
        .map(|i| session(ann.id, t + Duration::seconds(i)))
        .collect();
    for x in &sessions {
        s.sessions.create(x).await.unwrap();
    }
    let bobs = session(bob.id, t);
    s.sessions.create(&bobs).await.unwrap();
    s.sessions.revoke(ann.id, sessions[0].id, t).await.unwrap();
    assert_eq!(s.sessions.revoke_all(ann.id, t).await.unwrap(), 2);
    assert!(s.sessions.list_active(ann.id, t).await.unwrap().is_empty());
    assert_eq!(s.sessions.list_active(bob.id, t).await.unwrap().len(), 1);
}

/// A refresh token is `Fresh` once, then `Reused`.
#[contract]
pub async fn refresh_token_is_fresh_then_reused(s: Stores) {
    let t = t0();
    let a = session(user("ann", t).id, t);
    s.sessions.create(&a).await.unwrap();
    let r = refresh_token(&a, t);
    s.sessions.add_refresh_token(&r).await.unwrap();
    match s
        .sessions
        .use_refresh_token(&r.token_hash, t)
        .await
        .unwrap()
    {
        RefreshOutcome::Fresh(got) => assert_eq!(
            got,
            RefreshToken {
                used_at: Some(t),
                ..r.clone()
            }
        ),
        other => panic!("expected Fresh, got {other:?}"),
    }
    match s
        .sessions
        .use_refresh_token(&r.token_hash, t + Duration::seconds(1))
        .await
        .unwrap()
    {
        RefreshOutcome::Reused(got) => {
            assert_eq!((got.id, got.session_id), (r.id, a.id));
            assert_eq!(got.used_at, Some(t));
        }
        other => panic!("expected Reused, got {other:?}"),
    }
}

/// Of 10 concurrent uses of one refresh token exactly one is `Fresh`, the rest `Reused`.
#[contract]
pub async fn concurrent_refresh_has_one_fresh(s: Stores) {
    let t = t0();
    let a = session(user("ann", t).id, t);
    s.sessions.create(&a).await.unwrap();
    let r = refresh_token(&a, t);
    s.sessions.add_refresh_token(&r).await.unwrap();
    let hash = r.token_hash.clone();
    let results = concurrently(10, |_| {
        let (s, hash) = (s.clone(), hash.clone());
        async move { s.sessions.use_refresh_token(&hash, t).await.unwrap() }
    })
    .await;
    let fresh = results
        .iter()
        .filter(|r| matches!(r, RefreshOutcome::Fresh(_)))
        .count();
    let reused = results
        .iter()
        .filter(|r| matches!(r, RefreshOutcome::Reused(_)))
        .count();
    assert_eq!((fresh, reused), (1, 9));
}

/// An expired or unknown refresh token is `Invalid`.
#[contract]
pub async fn expired_or_unknown_refresh_is_invalid(s: Stores) {
    let t = t0();
    let a = session(user("ann", t).id, t);
    s.sessions.create(&a).await.unwrap();
    let r = refresh_token(&a, t);
    s.sessions.add_refresh_token(&r).await.unwrap();
    assert_eq!(
        s.sessions
            .use_refresh_token(&r.token_hash, r.expires_at)
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
    assert_eq!(
        s.sessions.use_refresh_token(&token().1, t).await.unwrap(),
        RefreshOutcome::Invalid
    );
}

/// `purge_expired` deletes sessions past `refresh_expires_at` with their tokens, and keeps the rest.
#[contract]
pub async fn session_purge_removes_after_refresh_expiry(s: Stores) {
    let t = t0();
    let u = user("ann", t);
    let mut dead = session(u.id, t - Duration::days(40));
    dead.refresh_expires_at = t - Duration::days(10);
    dead.expires_at = t - Duration::days(39);
    let live = session(u.id, t);
    s.sessions.create(&dead).await.unwrap();
    s.sessions.create(&live).await.unwrap();
    let dead_refresh = refresh_token(&dead, t - Duration::days(40));
    s.sessions.add_refresh_token(&dead_refresh).await.unwrap();
    s.sessions
        .purge_expired(t, domain::PURGE_BATCH)
        .await
        .unwrap();
    assert_eq!(s.sessions.get(dead.id).await.unwrap(), None);
    assert!(s.sessions.get(live.id).await.unwrap().is_some());
    let outcome = s
        .sessions
        .use_refresh_token(&dead_refresh.token_hash, t - Duration::days(39))
        .await
        .unwrap();
    assert_eq!(outcome, RefreshOutcome::Invalid);
}

/// `delete_for_user` removes the user's sessions and refresh tokens only.
#[contract]
pub async fn session_delete_for_user(s: Stores) {
    let t = t0();
    let (ann, bob) = (user("ann", t), user("bob", t));
    let a = session(ann.id, t);
    let b = session(bob.id, t);
    s.sessions.create(&a).await.unwrap();
    s.sessions.create(&b).await.unwrap();
    let ra = refresh_token(&a, t);
    s.sessions.add_refresh_token(&ra).await.unwrap();
    assert_eq!(s.sessions.delete_for_user(ann.id).await.unwrap(), 1);
    assert_eq!(s.sessions.get(a.id).await.unwrap(), None);
    assert_eq!(
        s.sessions
            .use_refresh_token(&ra.token_hash, t)
            .await
            .unwrap(),
        RefreshOutcome::Invalid
    );
    assert!(s.sessions.get(b.id).await.unwrap().is_some());
}
