//! `StatsRepository` contracts, and the counts the statistics' roll-up
//! asks of `UserRepository` and `SessionRepository`.

use crate::contract;
use domain::*;
use time::Duration;

use crate::fixtures::*;

/// Adds sum per field and per day; a day without adds has no record;
/// `days` returns the range's records oldest first.
#[contract]
pub async fn adds_sum_per_day_and_days_come_oldest_first(s: Stores) {
    let d1 = t0().date();
    let d2 = d1 + Duration::days(1);
    let d4 = d1 + Duration::days(3);
    let some = DayCounts {
        users_new: 1,
        users_deleted: 2,
        users_active: 3,
        sign_ins: 4,
        sign_in_failures: 5,
        requests: 1_000_000_000_000,
    };
    s.stats.add(d2, &some).await.unwrap();
    s.stats.add(d2, &some).await.unwrap();
    s.stats.add(d1, &DayCounts::new_user()).await.unwrap();
    s.stats.add(d4, &DayCounts::new_user()).await.unwrap();
    let days = s.stats.days(d1, d2 + Duration::days(1)).await.unwrap();
    let mut twice = some;
    twice += &some;
    assert_eq!(
        days,
        vec![
            DayStats {
                date: d1,
                counts: DayCounts::new_user(),
                totals: None
            },
            DayStats {
                date: d2,
                counts: twice,
                totals: None
            },
        ]
    );
    assert_eq!(s.stats.days(d4, d4).await.unwrap().len(), 1);
    assert!(
        s.stats
            .days(d4 + Duration::days(1), d4 + Duration::days(400))
            .await
            .unwrap()
            .is_empty()
    );
}

/// Of 16 concurrent adds to one day, every one is counted.
#[contract]
pub async fn concurrent_adds_all_count(s: Stores) {
    let d = t0().date();
    concurrently(16, |_| {
        let s = s.clone();
        async move {
            let c = DayCounts {
                requests: 2,
                users_active: 1,
                ..DayCounts::default()
            };
            s.stats.add(d, &c).await.unwrap();
        }
    })
    .await;
    let day = s.stats.days(d, d).await.unwrap().remove(0);
    assert_eq!((day.counts.requests, day.counts.users_active), (32, 16));
}

/// Totals replace the day's earlier totals and leave its counters alone;
/// sessions not counted read back as not counted.
#[contract]
pub async fn totals_replace_earlier_totals_and_keep_the_counters(s: Stores) {
    let d = t0().date();
    s.stats.add(d, &DayCounts::new_user()).await.unwrap();
    let first = Totals {
        users_total: 10,
        users_verified: 9,
        users_suspended: 1,
        sessions_active: Some(4),
    };
    s.stats.set_totals(d, &first).await.unwrap();
    let later = Totals {
        users_total: 11,
        users_verified: 10,
        users_suspended: 0,
        sessions_active: None,
    };
    s.stats.set_totals(d, &later).await.unwrap();
    let day = s.stats.days(d, d).await.unwrap().remove(0);
    assert_eq!(day.totals, Some(later));
    assert_eq!(day.counts, DayCounts::new_user());
    let other = d + Duration::days(1);
    s.stats.set_totals(other, &first).await.unwrap();
    let day = s.stats.days(other, other).await.unwrap().remove(0);
    assert_eq!(
        (day.totals, day.counts),
        (Some(first), DayCounts::default())
    );
}

/// `count` agrees with what `list` pages through, for every status.
#[contract]
pub async fn counting_users_agrees_with_listing_them(s: Stores) {
    let t = t0();
    let mut suspended = user("cs1", t);
    suspended.suspension = Some(Suspension {
        reason: SuspensionReason::parse("spam").unwrap(),
        since: t,
        until: Some(t + Duration::days(1)),
    });
    let mut unverified = user("cs2", t + Duration::seconds(1));
    unverified.verified = false;
    let mut locked = user("cs3", t + Duration::seconds(2));
    locked.locked = true;
    for u in [
        &suspended,
        &unverified,
        &locked,
        &user("cs4", t + Duration::seconds(3)),
    ] {
        s.users.create(u).await.unwrap();
    }
    let at = t + Duration::hours(1);
    for status in [
        None,
        Some(UserStatus::Active),
        Some(UserStatus::Suspended),
        Some(UserStatus::Unverified),
        Some(UserStatus::Locked),
    ] {
        let filter = UserFilter {
            status,
            at,
            ..UserFilter::default()
        };
        let listed = s
            .users
            .list(&filter, PageRequest::first(50))
            .await
            .unwrap()
            .items
            .len();
        assert_eq!(
            s.users.count(&filter).await.unwrap(),
            listed as u64,
            "{status:?}"
        );
    }
    let later = UserFilter {
        status: Some(UserStatus::Suspended),
        at: t + Duration::days(2),
        ..UserFilter::default()
    };
    assert_eq!(
        s.users.count(&later).await.unwrap(),
        0,
        "the suspension ended"
    );
}

/// Active sessions are the unrevoked ones not yet expired — or `None`.
#[contract]
pub async fn counting_active_sessions_counts_unrevoked_unexpired_ones(s: Stores) {
    let t = t0();
    let u = user("sc", t);
    s.users.create(&u).await.unwrap();
    let live = session(u.id, t);
    let revoked = session(u.id, t + Duration::seconds(1));
    let mut expired = session(u.id, t + Duration::seconds(2));
    expired.expires_at = t + Duration::seconds(3);
    for x in [&live, &revoked, &expired] {
        s.sessions.create(x).await.unwrap();
    }
    s.sessions
        .revoke(u.id, revoked.id, t + Duration::seconds(5))
        .await
        .unwrap();
    if let Some(n) = s
        .sessions
        .count_active(t + Duration::minutes(1))
        .await
        .unwrap()
    {
        assert_eq!(n, 1);
    }
}
