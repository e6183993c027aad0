//! Unit tests of rate limits and the buffered usage counters.

use std::sync::Arc;

use super::*;
use crate::test_support::*;
use crate::{MockRateLimiter, WindowCount};
use futures::executor::block_on;

#[test]
fn allows_up_to_the_limit_then_refuses_with_zero_remaining() {
    for (count, allowed, remaining) in [(1, true, 2), (3, true, 0), (4, false, 0)] {
        let mut h = Harness::new();
        let mut limiter = MockRateLimiter::new();
        limiter.expect_hit().returning(move |_, _, _| {
            Ok(WindowCount {
                count,
                resets_at: Some(T0),
            })
        });
        h.stores.rate_limiter = Arc::new(limiter);
        let svc = RateLimits::new(h.stores, h.system);
        let d = block_on(svc.check(
            "k",
            Quota {
                limit: 3,
                window: Window::MINUTE,
            },
        ))
        .unwrap();
        assert_eq!(
            (d.allowed, d.remaining),
            (allowed, remaining),
            "count {count}"
        );
    }
}

#[test]
fn usage_counts_four_windows() {
    let mut h = Harness::new();
    let mut limiter = MockRateLimiter::new();
    limiter
        .expect_hit_many()
        .times(1)
        .returning(|_, windows, _| {
            Ok(windows
                .iter()
                .map(|w| WindowCount {
                    count: match w {
                        Window::AllTime => 100,
                        Window::Seconds(60) => 1,
                        Window::Seconds(_) => 10,
                        Window::Month => 50,
                    },
                    resets_at: None,
                })
                .collect())
        });
    h.stores.rate_limiter = Arc::new(limiter);
    let svc = RateLimits::new(h.stores, h.system);
    let u = block_on(svc.record_usage(sample_user(1).id)).unwrap();
    assert_eq!(
        u,
        Usage {
            last_minute: 1,
            last_day: 10,
            last_month: 50,
            all_time: 100
        }
    );
}

#[test]
fn buffered_usage_counts_in_memory_and_a_flush_writes_exactly_what_was_counted() {
    let h = Harness::new();
    let limiter = h.stores.rate_limiter.clone();
    let svc = RateLimits::buffered(h.stores, h.system);
    let (ann, bob) = (sample_user(1).id, sample_user(2).id);
    // Ann had 5 requests stored before this instance saw her.
    let earlier = crate::Addition {
        key: usage_key(ann),
        at: T0,
        n: 5,
    };
    block_on(limiter.add_batch(&[earlier], &USAGE_WINDOWS)).unwrap();
    for n in 1..=40 {
        let u = block_on(svc.record_usage(ann)).unwrap();
        assert_eq!((u.last_minute, u.all_time), (5 + n, 5 + n));
    }
    block_on(svc.record_usage(bob)).unwrap();
    let stored = |user| block_on(limiter.peek(&usage_key(user), Window::AllTime, T0)).unwrap();
    assert_eq!(stored(ann), 5, "nothing written before the flush");
    assert_eq!(block_on(svc.flush()).unwrap(), 41);
    assert_eq!((stored(ann), stored(bob)), (45, 1));
    // Another instance's counts show after the next flush.
    let elsewhere = crate::Addition {
        key: usage_key(ann),
        at: T0,
        n: 100,
    };
    block_on(limiter.add_batch(&[elsewhere], &USAGE_WINDOWS)).unwrap();
    assert_eq!(block_on(svc.record_usage(ann)).unwrap().all_time, 46);
    assert_eq!(block_on(svc.flush()).unwrap(), 1);
    assert_eq!(block_on(svc.record_usage(ann)).unwrap().all_time, 147);
    assert_eq!(block_on(svc.usage(ann)).unwrap().all_time, 147);
    assert_eq!(block_on(svc.flush()).unwrap(), 1);
    assert_eq!(block_on(svc.flush()).unwrap(), 0, "nothing left to write");
    assert_eq!(stored(ann), 147);
}

#[test]
fn a_failed_flush_keeps_its_counts_for_the_next() {
    let mut h = Harness::new();
    let mut limiter = MockRateLimiter::new();
    let mut seq = mockall::Sequence::new();
    limiter.expect_peek().returning(|_, _, _| Ok(0));
    limiter
        .expect_add_batch()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| {
            Err(StoreError::unavailable(
                "adding counts",
                StoreError::msg("down"),
            ))
        });
    limiter
        .expect_add_batch()
        .times(1)
        .in_sequence(&mut seq)
        .returning(|additions, windows| {
            assert_eq!(additions.iter().map(|a| a.n).sum::<u64>(), 3);
            Ok(additions
                .iter()
                .map(|a| {
                    windows
                        .iter()
                        .map(|_| WindowCount {
                            count: a.n,
                            resets_at: None,
                        })
                        .collect()
                })
                .collect())
        });
    h.stores.rate_limiter = Arc::new(limiter);
    let svc = RateLimits::buffered(h.stores, h.system);
    let ann = sample_user(1).id;
    block_on(svc.record_usage(ann)).unwrap();
    block_on(svc.record_usage(ann)).unwrap();
    assert!(block_on(svc.flush()).is_err());
    assert_eq!(
        block_on(svc.record_usage(ann)).unwrap().last_minute,
        3,
        "still counted"
    );
    assert_eq!(block_on(svc.flush()).unwrap(), 3);
}
