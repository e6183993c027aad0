//! `RateLimiter` contracts.

use crate::contract;
use std::collections::BTreeSet;

use domain::Stores;
use domain::*;
use time::Duration;

use crate::fixtures::*;

fn key(name: &str) -> String {
    format!("contract:{name}:{}", id().simple())
}

/// Hits count up within a window, report its end, and start again at 1 in the next window.
#[contract]
pub async fn hit_counts_within_a_window_and_restarts_in_the_next(s: Stores) {
    let t = t0();
    let k = key("window");
    let (start, end) = Window::MINUTE.bounds(t).unwrap();
    let first = s.rate_limiter.hit(&k, Window::MINUTE, start).await.unwrap();
    assert_eq!(
        first,
        WindowCount {
            count: 1,
            resets_at: Some(end)
        }
    );
    assert_eq!(
        s.rate_limiter
            .hit(&k, Window::MINUTE, start + Duration::seconds(59))
            .await
            .unwrap()
            .count,
        2
    );
    let next = s.rate_limiter.hit(&k, Window::MINUTE, end).await.unwrap();
    assert_eq!(
        next,
        WindowCount {
            count: 1,
            resets_at: Some(end + Duration::minutes(1))
        }
    );
    // Other keys and other window lengths count apart.
    assert_eq!(
        s.rate_limiter
            .hit(&key("other"), Window::MINUTE, start)
            .await
            .unwrap()
            .count,
        1
    );
    assert_eq!(
        s.rate_limiter
            .hit(&k, Window::DAY, start)
            .await
            .unwrap()
            .count,
        1
    );
}

/// 50 concurrent hits yield the counts 1..=50 once each.
#[contract]
pub async fn concurrent_hits_count_exactly(s: Stores) {
    let t = t0();
    let k = key("race");
    let counts = concurrently(50, |_| {
        let (s, k) = (s.clone(), k.clone());
        async move { s.rate_limiter.hit(&k, Window::DAY, t).await.unwrap().count }
    })
    .await;
    assert_eq!(
        counts.into_iter().collect::<BTreeSet<u64>>(),
        (1..=50).collect()
    );
    assert_eq!(s.rate_limiter.peek(&k, Window::DAY, t).await.unwrap(), 50);
}

/// `hit_many` counts each window as `hit` would, answering in the order asked;
/// a window listed twice counts twice, and no windows count nothing.
#[contract]
pub async fn hit_many_counts_each_window_in_order(s: Stores) {
    let t = t0();
    let k = key("many");
    let minute_end = Window::MINUTE.bounds(t).unwrap().1;
    let day_end = Window::DAY.bounds(t).unwrap().1;
    let all = [Window::MINUTE, Window::DAY, Window::AllTime];
    let counts = s.rate_limiter.hit_many(&k, &all, t).await.unwrap();
    let first = |count, resets_at| WindowCount { count, resets_at };
    assert_eq!(
        counts,
        vec![
            first(1, Some(minute_end)),
            first(1, Some(day_end)),
            first(1, None)
        ]
    );
    assert_eq!(
        s.rate_limiter
            .hit(&k, Window::MINUTE, t)
            .await
            .unwrap()
            .count,
        2
    );
    let counts = s
        .rate_limiter
        .hit_many(&k, &[Window::AllTime, Window::MINUTE], t)
        .await
        .unwrap();
    assert_eq!(
        counts.iter().map(|c| c.count).collect::<Vec<_>>(),
        [2, 3],
        "answers follow the order asked"
    );
    let twice = s
        .rate_limiter
        .hit_many(&k, &[Window::MINUTE, Window::MINUTE], t)
        .await
        .unwrap();
    assert_eq!(twice.iter().map(|c| c.count).collect::<Vec<_>>(), [4, 5]);
    assert_eq!(s.rate_limiter.hit_many(&k, &[], t).await.unwrap(), vec![]);
    for (window, expected) in [(Window::MINUTE, 5), (Window::DAY, 1), (Window::AllTime, 2)] {
        assert_eq!(
            s.rate_limiter.peek(&k, window, t).await.unwrap(),
            expected,
            "{window:?}"
        );
    }
    // The next minute starts again; the day and all-time windows go on.
    let counts = s.rate_limiter.hit_many(&k, &all, minute_end).await.unwrap();
    assert_eq!(
        counts.iter().map(|c| c.count).collect::<Vec<_>>(),
        [1, 2, 3]
    );
}

/// 30 concurrent `hit_many` calls yield the counts 1..=30 once each in every window (a calendar month included).
#[contract]
pub async fn concurrent_hit_many_count_exactly(s: Stores) {
    let t = t0();
    let k = key("many-race");
    let all = [Window::MINUTE, Window::DAY, Window::MONTH, Window::AllTime];
    let calls = concurrently(30, |_| {
        let (s, k) = (s.clone(), k.clone());
        async move { s.rate_limiter.hit_many(&k, &all, t).await.unwrap() }
    })
    .await;
    for (i, window) in all.iter().enumerate() {
        assert_eq!(
            calls.iter().map(|c| c[i].count).collect::<BTreeSet<u64>>(),
            (1..=30).collect(),
            "{window:?}"
        );
        assert_eq!(s.rate_limiter.peek(&k, *window, t).await.unwrap(), 30);
    }
}

/// `peek` reads without counting (0 when unknown); `forget` clears every window of the key.
#[contract]
pub async fn peek_does_not_count_and_forget_resets(s: Stores) {
    let t = t0();
    let k = key("peek");
    assert_eq!(s.rate_limiter.peek(&k, Window::MINUTE, t).await.unwrap(), 0);
    s.rate_limiter.hit(&k, Window::MINUTE, t).await.unwrap();
    s.rate_limiter.hit(&k, Window::AllTime, t).await.unwrap();
    assert_eq!(s.rate_limiter.peek(&k, Window::MINUTE, t).await.unwrap(), 1);
    assert_eq!(s.rate_limiter.peek(&k, Window::MINUTE, t).await.unwrap(), 1);
    let other = key("kept");
    s.rate_limiter.hit(&other, Window::MINUTE, t).await.unwrap();
    s.rate_limiter.forget(&k).await.unwrap();
    assert_eq!(s.rate_limiter.peek(&k, Window::MINUTE, t).await.unwrap(), 0);
    assert_eq!(
        s.rate_limiter.peek(&k, Window::AllTime, t).await.unwrap(),
        0
    );
    assert_eq!(
        s.rate_limiter
            .peek(&other, Window::MINUTE, t)
            .await
            .unwrap(),
        1
    );
}

/// The all-time window keeps counting across any span and has no reset time.
#[contract]
pub async fn all_time_window_never_resets(s: Stores) {
    let t = t0();
    let k = key("forever");
    s.rate_limiter.hit(&k, Window::AllTime, t).await.unwrap();
    let later = s
        .rate_limiter
        .hit(&k, Window::AllTime, t + Duration::days(400))
        .await
        .unwrap();
    assert_eq!(
        later,
        WindowCount {
            count: 2,
            resets_at: None
        }
    );
}

/// `purge_expired` drops windows that ended and keeps current and all-time ones.
#[contract]
pub async fn purge_removes_ended_windows(s: Stores) {
    let t = t0();
    let k = key("purge");
    let (start, _) = Window::MINUTE.bounds(t).unwrap();
    let past = start - Duration::minutes(5);
    s.rate_limiter.hit(&k, Window::MINUTE, past).await.unwrap();
    s.rate_limiter.hit(&k, Window::MINUTE, t).await.unwrap();
    s.rate_limiter.hit(&k, Window::AllTime, t).await.unwrap();
    s.rate_limiter
        .purge_expired(t, domain::PURGE_BATCH)
        .await
        .unwrap();
    assert_eq!(
        s.rate_limiter.peek(&k, Window::MINUTE, past).await.unwrap(),
        0
    );
    assert_eq!(s.rate_limiter.peek(&k, Window::MINUTE, t).await.unwrap(), 1);
    assert_eq!(
        s.rate_limiter.peek(&k, Window::AllTime, t).await.unwrap(),
        1
    );
}

/// `give_back` takes one hit off the current window only, never below 0 even
/// when concurrent calls outnumber the hits, and creates no counter.
#[contract]
pub async fn give_back_takes_one_hit_back_never_below_zero(s: Stores) {
    let t = t0();
    let k = key("give-back");
    let (start, end) = Window::MINUTE.bounds(t).unwrap();
    // Nothing to give back: still nothing, and the next hit counts 1.
    s.rate_limiter
        .give_back(&k, Window::MINUTE, start)
        .await
        .unwrap();
    assert_eq!(
        s.rate_limiter
            .peek(&k, Window::MINUTE, start)
            .await
            .unwrap(),
        0
    );
    for _ in 0..3 {
        s.rate_limiter.hit(&k, Window::MINUTE, start).await.unwrap();
    }
    s.rate_limiter.hit(&k, Window::MINUTE, end).await.unwrap();
    s.rate_limiter.hit(&k, Window::DAY, start).await.unwrap();
    s.rate_limiter
        .give_back(&k, Window::MINUTE, start)
        .await
        .unwrap();
    assert_eq!(
        s.rate_limiter
            .peek(&k, Window::MINUTE, start)
            .await
            .unwrap(),
        2
    );
    // The next window and another window length are untouched.
    assert_eq!(
        s.rate_limiter.peek(&k, Window::MINUTE, end).await.unwrap(),
        1
    );
    assert_eq!(
        s.rate_limiter.peek(&k, Window::DAY, start).await.unwrap(),
        1
    );
    // Ten concurrent give-backs against two hits: 0, not below.
    concurrently(10, |_| {
        let (s, k) = (s.clone(), k.clone());
        async move {
            s.rate_limiter
                .give_back(&k, Window::MINUTE, start)
                .await
                .unwrap()
        }
    })
    .await;
    assert_eq!(
        s.rate_limiter
            .peek(&k, Window::MINUTE, start)
            .await
            .unwrap(),
        0
    );
    let again = s.rate_limiter.hit(&k, Window::MINUTE, start).await.unwrap();
    assert_eq!(again.count, 1);
    // A key never hit gets no counter: a hit after a give-back counts 1.
    let fresh = key("give-back-fresh");
    s.rate_limiter
        .give_back(&fresh, Window::AllTime, t)
        .await
        .unwrap();
    assert_eq!(
        s.rate_limiter
            .hit(&fresh, Window::AllTime, t)
            .await
            .unwrap()
            .count,
        1
    );
}

/// `add_batch` adds each addition to its windows, sums additions to one
/// counter, and answers every counter's value after the whole batch.
#[contract]
pub async fn add_batch_sums_into_each_window(s: Stores) {
    let t = t0();
    let (a, b) = (key("batch-a"), key("batch-b"));
    let (start, end) = Window::MINUTE.bounds(t).unwrap();
    s.rate_limiter.hit(&a, Window::MINUTE, start).await.unwrap();
    let windows = [Window::MINUTE, Window::DAY, Window::AllTime];
    let add = |key: &str, at, n| Addition {
        key: key.to_owned(),
        at,
        n,
    };
    let counts = s
        .rate_limiter
        .add_batch(
            &[add(&a, start, 4), add(&b, start, 2), add(&a, end, 3)],
            &windows,
        )
        .await
        .unwrap();
    let values: Vec<Vec<u64>> = counts
        .iter()
        .map(|c| c.iter().map(|w| w.count).collect())
        .collect();
    // a: the hit and 4 in the first minute, 3 in the next; 7 added in all
    // (the hit counted the minute only), in one day unless the two minutes
    // straddle midnight.
    let same_day = Window::DAY.bounds(start) == Window::DAY.bounds(end);
    let (day_first, day_next) = if same_day { (7, 7) } else { (4, 3) };
    assert_eq!(
        values,
        [vec![5, day_first, 7], vec![2, 2, 2], vec![3, day_next, 7]]
    );
    assert_eq!(counts[2][0].resets_at, Some(end + Duration::minutes(1)));
    assert_eq!(counts[0][2].resets_at, None);
    assert_eq!(
        s.rate_limiter
            .peek(&a, Window::MINUTE, start)
            .await
            .unwrap(),
        5
    );
    assert_eq!(
        s.rate_limiter.peek(&a, Window::MINUTE, end).await.unwrap(),
        3
    );
    assert_eq!(
        s.rate_limiter.peek(&a, Window::AllTime, t).await.unwrap(),
        7
    );
    assert_eq!(s.rate_limiter.peek(&b, Window::DAY, t).await.unwrap(), 2);
    // An empty batch touches nothing.
    assert!(
        s.rate_limiter
            .add_batch(&[], &windows)
            .await
            .unwrap()
            .is_empty()
    );
}

/// 20 concurrent batches of 3 and 20 concurrent hits on one key total 80 in
/// every window.
#[contract]
pub async fn concurrent_batches_and_hits_sum_exactly(s: Stores) {
    let t = t0();
    let k = key("batch-race");
    let windows = [Window::MINUTE, Window::AllTime];
    concurrently(40, |i| {
        let (s, k) = (s.clone(), k.clone());
        async move {
            if i % 2 == 0 {
                let addition = Addition {
                    key: k,
                    at: t,
                    n: 3,
                };
                s.rate_limiter
                    .add_batch(&[addition], &windows)
                    .await
                    .unwrap();
            } else {
                s.rate_limiter.hit_many(&k, &windows, t).await.unwrap();
            }
        }
    })
    .await;
    for window in windows {
        assert_eq!(
            s.rate_limiter.peek(&k, window, t).await.unwrap(),
            80,
            "{window:?}"
        );
    }
}

/// A month window is the calendar month (UTC): the last millisecond of
/// January and the first of February count apart, through `hit`, `peek`
/// and `add_batch` alike, and a count reports the month's end.
#[contract]
pub async fn month_windows_follow_the_calendar(s: Stores) {
    let k = key("month");
    let jan = time::macros::datetime!(2027-01-31 23:59:59.999 UTC);
    let feb = time::macros::datetime!(2027-02-01 0:00 UTC);
    let first = s.rate_limiter.hit(&k, Window::MONTH, jan).await.unwrap();
    assert_eq!(first.count, 1);
    assert_eq!(first.resets_at, Some(feb));
    let next = s.rate_limiter.hit(&k, Window::MONTH, feb).await.unwrap();
    assert_eq!(next.count, 1, "February starts afresh");
    assert_eq!(
        next.resets_at,
        Some(time::macros::datetime!(2027-03-01 0:00 UTC))
    );
    let batch = [
        Addition {
            key: k.clone(),
            at: jan - Duration::days(30),
            n: 4,
        },
        Addition {
            key: k.clone(),
            at: feb + Duration::days(27),
            n: 2,
        },
    ];
    let counts = s
        .rate_limiter
        .add_batch(&batch, &[Window::MONTH, Window::DAY])
        .await
        .unwrap();
    assert_eq!(counts[0][0].count, 5, "January: 1 + 4");
    assert_eq!(counts[1][0].count, 3, "February: 1 + 2");
    assert_eq!(
        s.rate_limiter.peek(&k, Window::MONTH, jan).await.unwrap(),
        5
    );
    assert_eq!(
        s.rate_limiter.peek(&k, Window::MONTH, feb).await.unwrap(),
        3
    );
}
