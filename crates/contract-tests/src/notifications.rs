//! `NotificationRepository` contracts.

use crate::contract;
use domain::Stores;
use domain::*;
use serde_json::json;
use time::Duration;

use crate::fixtures::*;

/// `get` returns the owner's unexpired notification only.
#[contract]
pub async fn get_is_owner_only_and_hides_expired(s: Stores) {
    let t = t0();
    let (ann, bob) = (user("ann", t).id, user("bob", t).id);
    let n = notification(ann, t, Some(t + Duration::hours(1)));
    s.notifications.create(&n).await.unwrap();
    assert_eq!(
        s.notifications.get(ann, n.id, t).await.unwrap(),
        Some(n.clone())
    );
    assert_eq!(s.notifications.get(bob, n.id, t).await.unwrap(), None);
    assert_eq!(
        s.notifications
            .get(ann, n.id, t + Duration::hours(1))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        s.notifications
            .get(ann, NotificationId::from_uuid(id()), t)
            .await
            .unwrap(),
        None
    );
}

/// `list` is newest first, hides expired ones, filters unseen, and pages.
#[contract]
pub async fn list_filters_and_paginates(s: Stores) {
    let t = t0();
    let (ann, bob) = (user("ann", t).id, user("bob", t).id);
    let all: Vec<Notification> = (0..5)
        .map(|i| notification(ann, t + Duration::seconds(i), Some(t + Duration::days(1))))
        .collect();
    for n in &all {
        s.notifications.create(n).await.unwrap();
    }
    let expired = notification(
        ann,
        t + Duration::seconds(10),
        Some(t + Duration::seconds(30)),
    );
    s.notifications.create(&expired).await.unwrap();
    s.notifications
        .create(&notification(bob, t, None))
        .await
        .unwrap();
    s.notifications.mark_seen(ann, all[3].id, t).await.unwrap();
    let now = t + Duration::minutes(1);
    let page = s
        .notifications
        .list(ann, false, now, PageRequest::first(3))
        .await
        .unwrap();
    let ids: Vec<_> = page.items.iter().map(|n| n.id).collect();
    assert_eq!(ids, vec![all[4].id, all[3].id, all[2].id]);
    let rest = s
        .notifications
        .list(
            ann,
            false,
            now,
            PageRequest::after(3, page.next_cursor.unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(
        rest.items.iter().map(|n| n.id).collect::<Vec<_>>(),
        vec![all[1].id, all[0].id]
    );
    assert!(rest.next_cursor.is_none());
    let unseen = s
        .notifications
        .list(ann, true, now, PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(
        unseen.items.iter().map(|n| n.id).collect::<Vec<_>>(),
        vec![all[4].id, all[2].id, all[1].id, all[0].id]
    );
    // Before its expiry the short-lived one shows up first.
    let early = s
        .notifications
        .list(ann, true, t + Duration::seconds(20), PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(early.items[0].id, expired.id);
}

/// `mark_seen` keeps the first `seen_at`; another user's notification is `NotFound`.
#[contract]
pub async fn mark_seen_keeps_first_time_and_is_owner_only(s: Stores) {
    let t = t0();
    let (ann, bob) = (user("ann", t).id, user("bob", t).id);
    let n = notification(ann, t, None);
    s.notifications.create(&n).await.unwrap();
    assert!(matches!(
        s.notifications.mark_seen(bob, n.id, t).await,
        Err(WriteError::NotFound)
    ));
    s.notifications
        .mark_seen(ann, n.id, t + Duration::seconds(1))
        .await
        .unwrap();
    s.notifications
        .mark_seen(ann, n.id, t + Duration::seconds(9))
        .await
        .unwrap();
    let stored = s.notifications.get(ann, n.id, t).await.unwrap().unwrap();
    assert_eq!(stored.seen_at, Some(t + Duration::seconds(1)));
    let ghost = NotificationId::from_uuid(id());
    assert!(matches!(
        s.notifications.mark_seen(ann, ghost, t).await,
        Err(WriteError::NotFound)
    ));
}

/// `mark_all_seen` marks the user's unseen ones and counts only those it changed.
#[contract]
pub async fn mark_all_seen_counts_changes(s: Stores) {
    let t = t0();
    let (ann, bob) = (user("ann", t).id, user("bob", t).id);
    let ns: Vec<Notification> = (0..3)
        .map(|i| notification(ann, t + Duration::seconds(i), None))
        .collect();
    for n in &ns {
        s.notifications.create(n).await.unwrap();
    }
    let bobs = notification(bob, t, None);
    s.notifications.create(&bobs).await.unwrap();
    s.notifications.mark_seen(ann, ns[0].id, t).await.unwrap();
    assert_eq!(
        s.notifications
            .mark_all_seen(ann, t + Duration::seconds(5))
            .await
            .unwrap(),
        2
    );
    assert!(
        s.notifications
            .list(ann, true, t, PageRequest::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let first = s
        .notifications
        .get(ann, ns[0].id, t)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.seen_at, Some(t), "already seen keeps its time");
    assert_eq!(
        s.notifications
            .get(bob, bobs.id, t)
            .await
            .unwrap()
            .unwrap()
            .seen_at,
        None
    );
}

/// `set_response` and `delete` act on the owner's notification and are `NotFound` for others.
#[contract]
pub async fn response_and_delete_are_owner_only(s: Stores) {
    let t = t0();
    let (ann, bob) = (user("ann", t).id, user("bob", t).id);
    let n = notification(ann, t, None);
    s.notifications.create(&n).await.unwrap();
    let data = json!({"answer": "yes", "n": 2});
    assert!(matches!(
        s.notifications.set_response(bob, n.id, &data).await,
        Err(WriteError::NotFound)
    ));
    s.notifications
        .set_response(ann, n.id, &data)
        .await
        .unwrap();
    assert_eq!(
        s.notifications
            .get(ann, n.id, t)
            .await
            .unwrap()
            .unwrap()
            .response_data,
        Some(data)
    );
    assert!(matches!(
        s.notifications.delete(bob, n.id).await,
        Err(WriteError::NotFound)
    ));
    s.notifications.delete(ann, n.id).await.unwrap();
    assert_eq!(s.notifications.get(ann, n.id, t).await.unwrap(), None);
    assert!(matches!(
        s.notifications.delete(ann, n.id).await,
        Err(WriteError::NotFound)
    ));
}

/// `purge_expired` removes expired notifications and keeps the others.
#[contract]
pub async fn purge_removes_expired_only(s: Stores) {
    let t = t0();
    let ann = user("ann", t).id;
    let old = notification(ann, t - Duration::hours(2), Some(t - Duration::hours(1)));
    let live = notification(ann, t, Some(t + Duration::hours(1)));
    let forever = notification(ann, t, None);
    for n in [&old, &live, &forever] {
        s.notifications.create(n).await.unwrap();
    }
    s.notifications
        .purge_expired(t, domain::PURGE_BATCH)
        .await
        .unwrap();
    assert_eq!(
        s.notifications
            .get(ann, old.id, t - Duration::hours(2))
            .await
            .unwrap(),
        None
    );
    assert!(
        s.notifications
            .get(ann, live.id, t)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        s.notifications
            .get(ann, forever.id, t)
            .await
            .unwrap()
            .is_some()
    );
}

/// `delete_for_user` removes that user's notifications only.
#[contract]
pub async fn notification_delete_for_user(s: Stores) {
    let t = t0();
    let (ann, bob) = (user("ann", t).id, user("bob", t).id);
    for u in [ann, ann, bob] {
        s.notifications
            .create(&notification(u, t, None))
            .await
            .unwrap();
    }
    assert_eq!(s.notifications.delete_for_user(ann).await.unwrap(), 2);
    assert!(
        s.notifications
            .list(ann, false, t, PageRequest::first(10))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(
        s.notifications
            .list(bob, false, t, PageRequest::first(10))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
}
