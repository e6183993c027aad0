//! `ActivityRepository` contracts.

use crate::contract;
use domain::*;
use time::{Duration, OffsetDateTime};

use crate::fixtures::*;

fn event(user: UserId, kind: ActivityKind, actor: Actor, at: OffsetDateTime) -> ActivityEvent {
    let mut details = serde_json::Map::new();
    details.insert("method".into(), "password".into());
    details.insert(
        "nested".into(),
        serde_json::json!({"n": 1, "ü": [true, null]}),
    );
    ActivityEvent {
        id: ActivityEventId::from_uuid(id()),
        kind,
        at,
        user_id: user,
        actor,
        ip: Some("2001:db8::1".into()),
        device: Some(domain::Device::new(
            domain::DeviceType::Desktop,
            "Firefox «test»",
            Some("133.0"),
            "Linux",
            None,
            "Mozilla/5.0 (X11; Linux x86_64) «test»",
        )),
        details,
    }
}

fn ids(page: &Page<ActivityEvent>) -> Vec<ActivityEventId> {
    page.items.iter().map(|e| e.id).collect()
}

/// An event reads back exactly as appended (details, IP, device, actor of
/// each kind); appending the same id again leaves one event.
#[contract]
pub async fn events_read_back_and_a_retried_append_stores_one(s: Stores) {
    let t = t0();
    let (ann, admin) = (UserId::from_uuid(id()), UserId::from_uuid(id()));
    let mut mine = event(ann, ActivityKind::SignInSucceeded, Actor::User(ann), t);
    let by_admin = event(
        ann,
        ActivityKind::UserSuspended,
        Actor::Admin(admin),
        t + Duration::seconds(1),
    );
    let mut by_system = event(
        ann,
        ActivityKind::AccountDeleted,
        Actor::System,
        t + Duration::seconds(2),
    );
    by_system.ip = None;
    by_system.device = None;
    by_system.details = serde_json::Map::new();
    for e in [&mine, &by_admin, &by_system] {
        s.activity.append(e).await.unwrap();
    }
    let again = ActivityEvent {
        kind: ActivityKind::SignInFailed,
        ..mine.clone()
    };
    s.activity.append(&again).await.unwrap();
    let filter = ActivityFilter {
        user_id: Some(ann),
        ..ActivityFilter::default()
    };
    let page = s
        .activity
        .list(&filter, PageRequest::first(10))
        .await
        .unwrap();
    assert_eq!(page.items, vec![by_system, by_admin, mine.clone()]);
    mine.kind = ActivityKind::SignInSucceeded;
    assert_eq!(page.items[2], mine, "the first append stays");
}

/// A population of events for the filter rules: two users, an admin
/// acting on both, every few minutes.
async fn population(s: &Stores, t: OffsetDateTime) -> (Vec<ActivityEvent>, UserId, UserId, UserId) {
    let (ann, bob, admin) = (
        UserId::from_uuid(id()),
        UserId::from_uuid(id()),
        UserId::from_uuid(id()),
    );
    let mut all = Vec::new();
    for i in 0..12i64 {
        let user = if i % 2 == 0 { ann } else { bob };
        let (kind, actor) = match i % 3 {
            0 => (ActivityKind::SignInSucceeded, Actor::User(user)),
            1 => (ActivityKind::UserLocked, Actor::Admin(admin)),
            _ => (ActivityKind::PlanChanged, Actor::System),
        };
        // Two events share each time: the id breaks the tie.
        let e = event(user, kind, actor, t + Duration::minutes(i / 2));
        s.activity.append(&e).await.unwrap();
        all.push(e);
    }
    (all, ann, bob, admin)
}

/// Every filter returns exactly the events [`ActivityFilter::matches`]
/// passes, newest first (time, then id), through pages of two; `from` is
/// inclusive and `to` exclusive.
#[contract]
pub async fn list_filters_by_user_actor_type_and_time(s: Stores) {
    let t = t0();
    let (all, ann, bob, admin) = population(&s, t).await;
    let filters = [
        ActivityFilter::default(),
        ActivityFilter {
            user_id: Some(ann),
            ..Default::default()
        },
        ActivityFilter {
            user_id: Some(bob),
            kind: Some(ActivityKind::UserLocked),
            ..Default::default()
        },
        ActivityFilter {
            actor_id: Some(admin),
            ..Default::default()
        },
        ActivityFilter {
            actor_id: Some(ann),
            ..Default::default()
        },
        ActivityFilter {
            kind: Some(ActivityKind::PlanChanged),
            ..Default::default()
        },
        ActivityFilter {
            from: Some(t + Duration::minutes(2)),
            to: Some(t + Duration::minutes(4)),
            ..Default::default()
        },
        ActivityFilter {
            user_id: Some(ann),
            from: Some(t + Duration::minutes(5)),
            ..Default::default()
        },
        ActivityFilter {
            user_id: Some(UserId::from_uuid(id())),
            ..Default::default()
        },
    ];
    for filter in filters {
        let mut expected: Vec<&ActivityEvent> = all.iter().filter(|e| filter.matches(e)).collect();
        expected.sort_by_key(|e| std::cmp::Reverse((e.at, e.id)));
        let expected: Vec<ActivityEventId> = expected.iter().map(|e| e.id).collect();
        let mut got = Vec::new();
        let mut page = PageRequest::first(2);
        loop {
            let listed = s.activity.list(&filter, page).await.unwrap();
            assert!(listed.items.len() <= 2);
            got.extend(ids(&listed));
            match listed.next_cursor {
                Some(cursor) => page = PageRequest::after(2, cursor),
                None => break,
            }
        }
        assert_eq!(got, expected, "{filter:?}");
    }
}

/// `purge_before` deletes the oldest events before the time, at most
/// `limit` per call, and nothing at or after it.
#[contract]
pub async fn purge_removes_old_events_in_bounded_batches(s: Stores) {
    let t = t0();
    let (all, ..) = population(&s, t).await;
    let cut = t + Duration::minutes(3);
    let old = all.iter().filter(|e| e.at < cut).count() as u64;
    assert_eq!(old, 6);
    assert_eq!(s.activity.purge_before(cut, 4).await.unwrap(), 4);
    assert_eq!(s.activity.purge_before(cut, 4).await.unwrap(), 2);
    assert_eq!(s.activity.purge_before(cut, 4).await.unwrap(), 0);
    let left = s
        .activity
        .list(&ActivityFilter::default(), PageRequest::first(50))
        .await
        .unwrap();
    let mut expected: Vec<&ActivityEvent> = all.iter().filter(|e| e.at >= cut).collect();
    expected.sort_by_key(|e| std::cmp::Reverse((e.at, e.id)));
    assert_eq!(
        ids(&left),
        expected.iter().map(|e| e.id).collect::<Vec<_>>()
    );
}

/// `delete_for_user` deletes every event of that account (and only
/// those), also those an administrator made, and returns how many.
#[contract]
pub async fn delete_for_user_removes_only_that_accounts_events(s: Stores) {
    let (all, ann, bob, _) = population(&s, t0()).await;
    assert_eq!(s.activity.delete_for_user(ann).await.unwrap(), 6);
    assert_eq!(s.activity.delete_for_user(ann).await.unwrap(), 0);
    let left = s
        .activity
        .list(&ActivityFilter::default(), PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(left.items.len(), 6);
    assert!(left.items.iter().all(|e| e.user_id == bob));
    assert_eq!(all.len(), 12);
}
