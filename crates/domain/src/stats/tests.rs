//! Statistics over the in-memory adapter: what is counted where it
//! happens, the roll-up's totals, and the report's range and rights.

use std::sync::Arc;

use futures::executor::block_on;
use time::{Date, Duration};

use crate::kernel::principal::testing::principal;
use crate::test_support::*;
use crate::*;

struct World {
    stores: Stores,
    system: System,
    clock: Arc<MovableClock>,
    stats: Statistics,
    user: User,
}

fn world() -> World {
    let (h, clock, user) = Harness::over_memory();
    World {
        stats: Statistics::new(h.stores.clone(), h.system.clone()),
        stores: h.stores,
        system: h.system,
        clock,
        user,
    }
}

fn today() -> Date {
    T0.date()
}

fn day(w: &World, date: Date) -> DayStats {
    block_on(w.stores.stats.days(date, date))
        .unwrap()
        .pop()
        .unwrap_or(DayStats {
            date,
            counts: DayCounts::default(),
            totals: None,
        })
}

fn sign_in(w: &World, password: &str) {
    let auth = Authentication::new(w.stores.clone(), w.system.clone(), AccountPolicy::default());
    let _ = block_on(auth.sign_in(SignInRequest {
        login: w.user.email.as_str().to_owned(),
        password: Password::for_sign_in(password).unwrap(),
        user_agent: None,
        ip: None,
    }));
}

#[test]
fn sign_ins_and_failures_are_counted_on_their_day() {
    let w = world();
    sign_in(&w, "right password");
    sign_in(&w, "wrong password");
    sign_in(&w, "right password");
    let counts = day(&w, today()).counts;
    assert_eq!((counts.sign_ins, counts.sign_in_failures), (2, 1));
    w.clock.set(T0 + Duration::days(1));
    sign_in(&w, "right password");
    assert_eq!(day(&w, today().next_day().unwrap()).counts.sign_ins, 1);
    assert_eq!(day(&w, today()).counts.sign_ins, 2, "yesterday stays");
}

#[test]
fn requests_count_every_hit_and_a_user_is_active_once_a_day_across_instances() {
    let w = world();
    // Two instances counting the same user, each flushing its own buffer.
    let a = RateLimits::buffered(w.stores.clone(), w.system.clone());
    let b = RateLimits::buffered(w.stores.clone(), w.system.clone());
    let other = UserId::from_uuid(uuid::Uuid::from_u128(99));
    for _ in 0..3 {
        block_on(a.record_usage(w.user.id)).unwrap();
    }
    block_on(b.record_usage(w.user.id)).unwrap();
    block_on(b.record_usage(other)).unwrap();
    block_on(a.flush()).unwrap();
    block_on(b.flush()).unwrap();
    w.clock.set(T0 + Duration::seconds(90));
    block_on(a.record_usage(w.user.id)).unwrap();
    block_on(a.flush()).unwrap();
    let counts = day(&w, today()).counts;
    assert_eq!(counts.requests, 6);
    assert_eq!(counts.users_active, 2, "each user once");
    // Unbuffered: the first request of the day counts the user.
    let direct = RateLimits::new(w.stores.clone(), w.system.clone());
    w.clock.set(T0 + Duration::days(1));
    block_on(direct.record_usage(w.user.id)).unwrap();
    block_on(direct.record_usage(w.user.id)).unwrap();
    let next = day(&w, today().next_day().unwrap()).counts;
    assert_eq!((next.requests, next.users_active), (2, 1));
}

#[test]
fn the_roll_up_counts_totals_and_the_report_fills_the_range() {
    let w = world();
    let mut suspended = sample_user(2);
    suspended.suspension = Some(Suspension {
        reason: SuspensionReason::parse("spam").unwrap(),
        since: T0,
        until: None,
    });
    block_on(w.stores.users.create(&suspended)).unwrap();
    let mut unverified = sample_user(3);
    unverified.verified = false;
    block_on(w.stores.users.create(&unverified)).unwrap();
    sign_in(&w, "right password");
    let totals = block_on(w.stats.roll_up()).unwrap();
    assert_eq!(
        totals,
        Totals {
            users_total: 3,
            users_verified: 2,
            users_suspended: 1,
            sessions_active: Some(1),
        }
    );
    // The next day: a new account, counted, applied to yesterday's totals.
    w.clock.set(T0 + Duration::days(1));
    block_on(crate::stats::count(
        &w.stores,
        w.system.now(),
        DayCounts::new_user(),
    ))
    .unwrap();
    let admin = principal(9, &["stats:read"]);
    let from = today() - Duration::days(2);
    let to = today() + Duration::days(1);
    let report = block_on(w.stats.report(&admin, Some(from), Some(to))).unwrap();
    assert_eq!(report.days.len(), 4);
    assert_eq!(report.days[0].date, from);
    assert_eq!(report.days[0].counts, DayCounts::default());
    assert_eq!(report.days[2].totals, Some(totals));
    assert_eq!(report.days[2].counts.sign_ins, 1);
    assert_eq!(report.days[3].counts.users_new, 1);
    assert_eq!(report.totals.users_total, 4);
    assert_eq!(report.totals.users_verified, 3);
}

#[test]
fn the_report_needs_its_permission_and_a_range_of_one_to_366_days() {
    let w = world();
    let nobody = principal(9, &[]);
    assert!(matches!(
        block_on(w.stats.report(&nobody, None, None)),
        Err(StatsError::Forbidden(_))
    ));
    let admin = principal(9, &["stats:read"]);
    let last_30 = block_on(w.stats.report(&admin, None, None)).unwrap();
    assert_eq!(last_30.days.len(), 30);
    assert_eq!(last_30.days[29].date, today());
    let year = today() + Duration::days(365);
    assert_eq!(
        block_on(w.stats.report(&admin, Some(today()), Some(year)))
            .unwrap()
            .days
            .len(),
        366
    );
    for (from, to) in [
        (today(), year + Duration::days(1)),
        (today(), today() - Duration::days(1)),
    ] {
        assert!(matches!(
            block_on(w.stats.report(&admin, Some(from), Some(to))),
            Err(StatsError::BadRange)
        ));
    }
}
