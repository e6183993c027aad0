//! `LeaseRepository` and `NotificationFeed` contracts.

use crate::contract;
use std::collections::HashSet;
use std::time::Duration as StdDuration;

use domain::Stores;
use domain::*;
use time::Duration;

use crate::fixtures::*;

/// A free lease is taken; another holder is refused until it expires; the
/// holder renews it.
#[contract]
pub async fn lease_is_exclusive_until_expiry_and_renewable(s: Stores) {
    let name = format!("job-{}", id().simple());
    let t = t0();
    let ttl = Duration::seconds(1);
    assert!(s.leases.try_acquire(&name, "a", t, ttl).await.unwrap());
    assert!(!s.leases.try_acquire(&name, "b", t, ttl).await.unwrap());
    assert!(s.leases.try_acquire(&name, "a", t, ttl).await.unwrap());
    // Stores with native expiry go by their own clock: wait the TTL out.
    tokio::time::sleep(StdDuration::from_millis(1_300)).await;
    let later = t0();
    assert!(s.leases.try_acquire(&name, "b", later, ttl).await.unwrap());
    assert!(!s.leases.try_acquire(&name, "a", later, ttl).await.unwrap());
}

/// `release` frees the holder's lease and leaves another holder's alone.
#[contract]
pub async fn lease_release_is_holder_only(s: Stores) {
    let name = format!("job-{}", id().simple());
    let t = t0();
    let ttl = Duration::minutes(5);
    assert!(s.leases.try_acquire(&name, "a", t, ttl).await.unwrap());
    s.leases.release(&name, "b").await.unwrap();
    assert!(!s.leases.try_acquire(&name, "b", t, ttl).await.unwrap());
    s.leases.release(&name, "a").await.unwrap();
    assert!(s.leases.try_acquire(&name, "b", t, ttl).await.unwrap());
    // Releasing a lease nobody holds is fine.
    s.leases.release("never-taken", "a").await.unwrap();
}

/// Of concurrent takes of one free lease, exactly one succeeds.
#[contract]
pub async fn concurrent_lease_takes_have_one_winner(s: Stores) {
    let name = format!("job-{}", id().simple());
    let t = t0();
    let takes = (0..8).map(|i| {
        let leases = s.leases.clone();
        let name = name.clone();
        tokio::spawn(async move {
            leases
                .try_acquire(&name, &format!("holder-{i}"), t, Duration::minutes(5))
                .await
                .unwrap()
        })
    });
    let won = futures::future::join_all(takes)
        .await
        .into_iter()
        .filter(|r| *r.as_ref().unwrap())
        .count();
    assert_eq!(won, 1);
}

/// Notifications created after `subscribe` are announced, each with its user.
#[contract]
pub async fn feed_announces_new_notifications(s: Stores) {
    let t = t0();
    let (ann, bob) = (user("ann", t).id, user("bob", t).id);
    let mut sub = s.feed.subscribe().await.unwrap();
    let created = [
        notification(ann, t, None),
        notification(bob, t, None),
        notification(ann, t + Duration::milliseconds(1), None),
    ];
    for n in &created {
        s.notifications.create(n).await.unwrap();
    }
    let mut wanted: HashSet<FeedEvent> = created
        .iter()
        .map(|n| FeedEvent {
            user_id: n.user_id,
            id: n.id,
        })
        .collect();
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(10);
    while !wanted.is_empty() {
        let event = tokio::time::timeout_at(deadline, sub.next())
            .await
            .unwrap_or_else(|_| panic!("not announced within 10 s: {wanted:?}"))
            .unwrap();
        wanted.remove(&event);
    }
}

/// A burst larger than any polling batch, all created at one instant, is
/// announced in full (a poller must not stall on rows sharing a time).
#[contract]
pub async fn feed_announces_a_burst_at_one_instant(s: Stores) {
    let t = t0();
    let ann = user("ann", t).id;
    let mut sub = s.feed.subscribe().await.unwrap();
    let burst: Vec<Notification> = (0..600).map(|_| notification(ann, t, None)).collect();
    let writes = burst.iter().map(|n| s.notifications.create(n));
    for result in futures::future::join_all(writes).await {
        result.unwrap();
    }
    let mut wanted: HashSet<NotificationId> = burst.iter().map(|n| n.id).collect();
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(20);
    while !wanted.is_empty() {
        let event = tokio::time::timeout_at(deadline, sub.next())
            .await
            .unwrap_or_else(|_| panic!("{} of 600 not announced within 20 s", wanted.len()))
            .unwrap();
        wanted.remove(&event.id);
    }
}

/// A subscription announces only notifications stored after it started, and
/// each of those once: rows from just before `subscribe` (within any polling
/// look-back) are not announced, so a client resuming after the newest
/// notification it has is never sent that one or an older one again.
#[contract]
pub async fn feed_skips_what_came_before_and_never_repeats(s: Stores) {
    let t = t0();
    let ann = user("ann", t).id;
    let before: Vec<Notification> = (0..3)
        .map(|i| notification(ann, t + Duration::milliseconds(i), None))
        .collect();
    for n in &before {
        s.notifications.create(n).await.unwrap();
    }
    let mut sub = s.feed.subscribe().await.unwrap();
    let fresh = notification(ann, t0(), None);
    s.notifications.create(&fresh).await.unwrap();
    // Everything announced until the new notification (which may take a
    // while on a loaded cluster), then for long enough to cover several
    // polls and look-backs.
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(10);
    while !got.contains(&fresh.id) {
        let event = tokio::time::timeout_at(deadline, sub.next())
            .await
            .unwrap_or_else(|_| panic!("not announced within 10 s; got {got:?}"));
        got.push(event.unwrap().id);
    }
    let until = tokio::time::Instant::now() + StdDuration::from_millis(2_500);
    while let Ok(event) = tokio::time::timeout_at(until, sub.next()).await {
        got.push(event.unwrap().id);
    }
    assert_eq!(
        got,
        vec![fresh.id],
        "before: {:?}",
        before.iter().map(|n| n.id).collect::<Vec<_>>()
    );
}
