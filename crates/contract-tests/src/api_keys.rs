//! `ApiKeyRepository` contracts: keys read back as stored, found by hash,
//! listed per user newest first, deleted only by their user, and a last
//! use that only moves forward under concurrent writers.

use std::collections::BTreeSet;

use crate::contract;
use domain::*;
use time::Duration;

use crate::fixtures::*;

fn key(user: UserId, name: &str, at: time::OffsetDateTime, permissions: Option<&[&str]>) -> ApiKey {
    let (token, _) = token();
    let secret = ApiKeySecret::parse(&format!("pk_{}", token.expose())).unwrap();
    ApiKey {
        id: ApiKeyId::from_uuid(id()),
        user_id: user,
        name: ApiKeyName::parse(name).unwrap(),
        prefix: secret.prefix(),
        key_hash: secret.hash(),
        permissions: permissions.map(|p| {
            p.iter()
                .map(|p| Permission::parse(p).unwrap())
                .collect::<BTreeSet<_>>()
        }),
        created_at: at,
        expires_at: None,
        last_used_at: None,
    }
}

/// A key comes back from `find_by_hash` and `list_for_user` exactly as
/// inserted (with and without permissions, expiry and last use); each
/// user sees only their own, newest first.
#[contract]
pub async fn keys_read_back_as_stored_newest_first_per_user(s: Stores) {
    let t = t0();
    let (ann, bob) = (UserId::from_uuid(id()), UserId::from_uuid(id()));
    let old = key(ann, "CI “deploys” ✓", t, None);
    let mut new = key(
        ann,
        "read-only",
        t + Duration::seconds(1),
        Some(&["content:read", "users:*"]),
    );
    new.expires_at = Some(t + Duration::days(30));
    new.last_used_at = Some(t + Duration::seconds(2));
    let other = key(bob, "bob's", t, Some(&[]));
    for k in [&old, &new, &other] {
        s.api_keys.insert(k).await.unwrap();
    }
    assert_eq!(
        s.api_keys.find_by_hash(&new.key_hash).await.unwrap(),
        Some(new.clone())
    );
    assert_eq!(
        s.api_keys.find_by_hash(&old.key_hash).await.unwrap(),
        Some(old.clone())
    );
    assert_eq!(
        s.api_keys.find_by_hash(&other.key_hash).await.unwrap(),
        Some(other.clone())
    );
    let (_, unknown) = token();
    assert_eq!(s.api_keys.find_by_hash(&unknown).await.unwrap(), None);
    assert_eq!(s.api_keys.list_for_user(ann).await.unwrap(), [new, old]);
    assert_eq!(s.api_keys.list_for_user(bob).await.unwrap(), [other]);
    assert_eq!(
        s.api_keys
            .list_for_user(UserId::from_uuid(id()))
            .await
            .unwrap(),
        []
    );
}

/// `delete` removes a key only for its own user (`NotFound` for another
/// user's or an unknown id); `delete_for_user` removes the user's keys and
/// counts them.
#[contract]
pub async fn keys_are_deleted_only_by_their_user(s: Stores) {
    let t = t0();
    let (ann, bob) = (UserId::from_uuid(id()), UserId::from_uuid(id()));
    let a1 = key(ann, "a1", t, None);
    let a2 = key(ann, "a2", t + Duration::seconds(1), None);
    let b1 = key(bob, "b1", t, None);
    for k in [&a1, &a2, &b1] {
        s.api_keys.insert(k).await.unwrap();
    }
    assert!(matches!(
        s.api_keys.delete(bob, a1.id).await,
        Err(WriteError::NotFound)
    ));
    assert!(matches!(
        s.api_keys.delete(ann, ApiKeyId::from_uuid(id())).await,
        Err(WriteError::NotFound)
    ));
    s.api_keys.delete(ann, a1.id).await.unwrap();
    assert_eq!(s.api_keys.find_by_hash(&a1.key_hash).await.unwrap(), None);
    assert!(matches!(
        s.api_keys.delete(ann, a1.id).await,
        Err(WriteError::NotFound)
    ));
    assert_eq!(s.api_keys.delete_for_user(ann).await.unwrap(), 1);
    assert_eq!(s.api_keys.find_by_hash(&a2.key_hash).await.unwrap(), None);
    assert_eq!(s.api_keys.list_for_user(bob).await.unwrap(), [b1]);
    assert_eq!(s.api_keys.delete_for_user(ann).await.unwrap(), 0);
}

/// `record_use` only moves `last_used_at` forward: of 16 concurrent uses
/// at different times the latest stays, and an older one later changes
/// nothing; a deleted key's use is not an error.
#[contract]
pub async fn the_last_use_only_moves_forward_under_concurrent_writers(s: Stores) {
    let t = t0();
    let k = key(UserId::from_uuid(id()), "busy", t, None);
    s.api_keys.insert(&k).await.unwrap();
    let outcomes = concurrently(16, |i| {
        let s = s.clone();
        async move {
            s.api_keys
                .record_use(k.id, t + Duration::seconds(i64::try_from(i).unwrap() + 1))
                .await
        }
    })
    .await;
    assert!(outcomes.iter().all(Result::is_ok));
    let latest = t + Duration::seconds(16);
    let stored = s.api_keys.find_by_hash(&k.key_hash).await.unwrap().unwrap();
    assert_eq!(stored.last_used_at, Some(latest));
    s.api_keys.record_use(k.id, t).await.unwrap();
    let stored = s.api_keys.find_by_hash(&k.key_hash).await.unwrap().unwrap();
    assert_eq!(stored.last_used_at, Some(latest));
    s.api_keys.delete(k.user_id, k.id).await.unwrap();
    s.api_keys
        .record_use(k.id, latest + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(s.api_keys.find_by_hash(&k.key_hash).await.unwrap(), None);
}
