//! `UploadRepository` contracts.

use crate::contract;
use domain::Stores;
use domain::*;
use time::Duration;

use crate::fixtures::*;

/// Requests read back equal; a second request for the same object key is `Conflict`.
#[contract]
pub async fn create_get_and_key_conflict(s: Stores) {
    let t = t0();
    let (ann, bob) = (user("ann", t).id, user("bob", t).id);
    let r = upload(ann, "users/ann/a.png", t);
    s.uploads.create(&r).await.unwrap();
    assert_eq!(s.uploads.get(r.id).await.unwrap(), Some(r.clone()));
    assert_eq!(
        s.uploads.get(UploadId::from_uuid(id())).await.unwrap(),
        None
    );
    let clash = upload(bob, "users/ann/a.png", t);
    assert!(matches!(
        s.uploads.create(&clash).await,
        Err(InsertError::Conflict)
    ));
}

/// `complete` moves pending to completed once (exactly one of concurrent calls wins); unknown is `NotFound`.
#[contract]
pub async fn complete_is_compare_and_set(s: Stores) {
    let t = t0();
    let r = upload(user("ann", t).id, "users/ann/a.png", t);
    s.uploads.create(&r).await.unwrap();
    let at = t + Duration::minutes(5);
    let results = concurrently(8, |_| {
        let s = s.clone();
        async move { s.uploads.complete(r.id, 512, at).await.unwrap() }
    })
    .await;
    assert_eq!(results.iter().filter(|won| **won).count(), 1);
    let stored = s.uploads.get(r.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.size, stored.completed_at),
        (UploadStatus::Completed, Some(512), Some(at))
    );
    assert!(!s.uploads.complete(r.id, 1, at).await.unwrap());
    let ghost = UploadId::from_uuid(id());
    assert!(matches!(
        s.uploads.complete(ghost, 1, at).await,
        Err(WriteError::NotFound)
    ));
}

/// `list_for_user` shows the user's requests newest first, paged.
#[contract]
pub async fn list_for_user_paginates(s: Stores) {
    let t = t0();
    let (ann, bob) = (user("ann", t).id, user("bob", t).id);
    let mine: Vec<UploadRequest> = (0..3)
        .map(|i| upload(ann, &format!("users/ann/{i}.png"), t + Duration::seconds(i)))
        .collect();
    for r in &mine {
        s.uploads.create(r).await.unwrap();
    }
    s.uploads
        .create(&upload(bob, "users/bob/x.png", t))
        .await
        .unwrap();
    let page = s
        .uploads
        .list_for_user(ann, PageRequest::first(2))
        .await
        .unwrap();
    assert_eq!(page.items, vec![mine[2].clone(), mine[1].clone()]);
    let rest = s
        .uploads
        .list_for_user(ann, PageRequest::after(2, page.next_cursor.unwrap()))
        .await
        .unwrap();
    assert_eq!(rest.items, vec![mine[0].clone()]);
    assert!(rest.next_cursor.is_none());
}

/// `list_expired` returns pending requests at or past expiry, oldest expiry first, up to the limit.
#[contract]
pub async fn list_expired_is_pending_only_oldest_first(s: Stores) {
    let t = t0();
    let u = user("ann", t).id;
    let older = upload(u, "users/ann/older.png", t - Duration::hours(3));
    let old = upload(u, "users/ann/old.png", t - Duration::hours(2));
    let done = upload(u, "users/ann/done.png", t - Duration::hours(3));
    let live = upload(u, "users/ann/live.png", t);
    for r in [&old, &older, &done, &live] {
        s.uploads.create(r).await.unwrap();
    }
    s.uploads
        .complete(done.id, 1, t - Duration::hours(3))
        .await
        .unwrap();
    let expired = s.uploads.list_expired(t, 10).await.unwrap();
    assert_eq!(
        expired.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![older.id, old.id]
    );
    assert_eq!(s.uploads.list_expired(t, 1).await.unwrap().len(), 1);
    // Exactly at expires_at counts as expired.
    let at_edge = s.uploads.list_expired(live.expires_at, 10).await.unwrap();
    assert!(at_edge.iter().any(|r| r.id == live.id));
}

/// `references` tells whether any request names a key; `delete` removes one and is `NotFound` after.
#[contract]
pub async fn references_and_delete(s: Stores) {
    let t = t0();
    let r = upload(user("ann", t).id, "users/ann/a.png", t);
    s.uploads.create(&r).await.unwrap();
    assert!(s.uploads.references(&r.object_key).await.unwrap());
    assert!(
        !s.uploads
            .references(&ObjectKey::parse("users/ann/other.png").unwrap())
            .await
            .unwrap()
    );
    s.uploads.delete(r.id).await.unwrap();
    assert!(!s.uploads.references(&r.object_key).await.unwrap());
    assert!(matches!(
        s.uploads.delete(r.id).await,
        Err(WriteError::NotFound)
    ));
}

/// `delete_for_user` removes that user's requests only.
#[contract]
pub async fn upload_delete_for_user(s: Stores) {
    let t = t0();
    let (ann, bob) = (user("ann", t).id, user("bob", t).id);
    s.uploads
        .create(&upload(ann, "users/ann/1.png", t))
        .await
        .unwrap();
    s.uploads
        .create(&upload(ann, "users/ann/2.png", t))
        .await
        .unwrap();
    let b = upload(bob, "users/bob/1.png", t);
    s.uploads.create(&b).await.unwrap();
    assert_eq!(s.uploads.delete_for_user(ann).await.unwrap(), 2);
    assert!(
        s.uploads
            .list_for_user(ann, PageRequest::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(s.uploads.get(b.id).await.unwrap().is_some());
}
