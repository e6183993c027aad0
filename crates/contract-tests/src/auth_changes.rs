//! `AuthChangeFeed` contracts.

use crate::contract;
use std::collections::HashSet;
use std::time::Duration as StdDuration;

use domain::Stores;
use domain::*;

use crate::fixtures::*;

/// Reads `sub` until every change of `wanted` arrived (repeats and older
/// changes are allowed), or panics after 10 s naming what is missing.
async fn receive_all(sub: &mut Box<dyn AuthChangeSubscription>, mut wanted: HashSet<AuthChange>) {
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(10);
    while !wanted.is_empty() {
        let change = tokio::time::timeout_at(deadline, sub.next())
            .await
            .unwrap_or_else(|_| panic!("not received within 10 s: {wanted:?}"))
            .unwrap();
        wanted.remove(&change);
    }
}

/// A change published after two subscriptions opened reaches both, each
/// kind of change intact.
#[contract]
pub async fn published_changes_reach_every_subscription(s: Stores) {
    let mut first = s.auth_changes.subscribe().await.unwrap();
    let mut second = s.auth_changes.subscribe().await.unwrap();
    let changes: HashSet<AuthChange> = [
        AuthChange::Session(AuthSessionId::from_uuid(id())),
        AuthChange::User(UserId::from_uuid(id())),
        AuthChange::Everyone,
    ]
    .into();
    for change in &changes {
        s.auth_changes.publish(*change).await.unwrap();
    }
    receive_all(&mut first, changes.clone()).await;
    receive_all(&mut second, changes).await;
}

/// 50 changes published at once from parallel publishers all arrive.
#[contract]
pub async fn concurrent_publishes_all_arrive(s: Stores) {
    let mut sub = s.auth_changes.subscribe().await.unwrap();
    let users: Vec<UserId> = (0..50).map(|_| UserId::from_uuid(id())).collect();
    let published = users.clone();
    concurrently(50, move |i| {
        let (s, user) = (s.clone(), published[i]);
        async move {
            s.auth_changes
                .publish(AuthChange::User(user))
                .await
                .unwrap()
        }
    })
    .await;
    receive_all(&mut sub, users.into_iter().map(AuthChange::User).collect()).await;
}

/// A subscription keeps delivering after a quiet spell longer than a poll
/// interval, and a change published after it restarts comes through.
#[contract]
pub async fn a_subscription_keeps_delivering_after_a_quiet_spell(s: Stores) {
    let mut sub = s.auth_changes.subscribe().await.unwrap();
    let early = AuthChange::Session(AuthSessionId::from_uuid(id()));
    s.auth_changes.publish(early).await.unwrap();
    receive_all(&mut sub, [early].into()).await;
    tokio::time::sleep(StdDuration::from_millis(1500)).await;
    let late = AuthChange::User(UserId::from_uuid(id()));
    s.auth_changes.publish(late).await.unwrap();
    receive_all(&mut sub, [late].into()).await;
}
