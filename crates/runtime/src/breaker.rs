//! A circuit breaker per store: once a store is known to be down, its calls
//! fail at once as unavailable (503 with `Retry-After`) instead of each
//! waiting out the driver's timeout, and one probe call at a time goes
//! through to find out when it is back.
//!
//! - Closed (the normal state): calls go through. A call that fails as
//!   unavailable (connection refused or lost, a driver or store-call
//!   timeout) opens the breaker.
//! - Open: calls are refused without touching the store until the
//!   cool-down has passed; then one call is let through as a probe while
//!   the others are still refused.
//! - The probe's outcome decides: success closes the breaker, another
//!   unavailable failure opens it for a new cool-down. Any other outcome
//!   (a conflict, a missing row) shows the store answering and closes it.
//!
//! So during an outage a client waits for at most one timeout per store
//! and cool-down (the probe's), never one per request.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// What a call may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Go ahead (the breaker is closed).
    Pass,
    /// Go ahead as the one probe of an open breaker.
    Probe,
    /// Fail at once: the store is known to be down.
    Refuse,
}

/// One store's breaker.
pub(crate) struct Breaker {
    /// Whether the store is known to be down: the closed fast path reads
    /// only this.
    open: AtomicBool,
    /// While open: when the next probe may go, and whether one is out.
    state: Mutex<OpenState>,
    /// How long refusals last before a probe.
    cool_down: Duration,
}

#[derive(Debug, Clone, Copy)]
struct OpenState {
    probe_at: Instant,
    probing: bool,
}

impl Breaker {
    /// A closed breaker that, once opened, refuses for `cool_down` between probes.
    pub(crate) fn new(cool_down: Duration) -> Self {
        Self {
            open: AtomicBool::new(false),
            state: Mutex::new(OpenState {
                probe_at: Instant::now(),
                probing: false,
            }),
            cool_down,
        }
    }

    /// Whether a call may go now.
    pub(crate) fn admit(&self) -> Admission {
        if !self.open.load(Ordering::Acquire) {
            return Admission::Pass;
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !self.open.load(Ordering::Acquire) {
            return Admission::Pass;
        }
        if state.probing || Instant::now() < state.probe_at {
            return Admission::Refuse;
        }
        state.probing = true;
        Admission::Probe
    }

    /// Records how a call that was let through ended: `unavailable` when it
    /// failed because the store could not be reached.
    pub(crate) fn record(&self, admission: Admission, unavailable: bool) {
        if unavailable {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let was_open = self.open.swap(true, Ordering::AcqRel);
            // A call let through before the breaker opened does not restart
            // the cool-down; the probe's failure does.
            if !was_open || admission == Admission::Probe {
                state.probe_at = Instant::now() + self.cool_down;
            }
            if admission == Admission::Probe {
                state.probing = false;
            }
            if !was_open {
                tracing::warn!(
                    cool_down_ms = self.cool_down.as_millis() as u64,
                    "a store is unreachable: its calls fail at once (503) until a probe gets through"
                );
            }
        } else if self.open.load(Ordering::Acquire) && admission == Admission::Probe {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.probing = false;
            self.open.store(false, Ordering::Release);
            tracing::info!("a store answers again: its calls go through");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unavailable_call_opens_it_and_one_probe_at_a_time_tests_it() {
        let b = Breaker::new(Duration::from_millis(50));
        assert_eq!(b.admit(), Admission::Pass);
        b.record(Admission::Pass, false);
        assert_eq!(b.admit(), Admission::Pass);
        b.record(Admission::Pass, true);
        assert_eq!(b.admit(), Admission::Refuse);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(b.admit(), Admission::Probe);
        assert_eq!(b.admit(), Admission::Refuse, "one probe at a time");
        b.record(Admission::Probe, true);
        assert_eq!(b.admit(), Admission::Refuse, "a failed probe re-opens it");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(b.admit(), Admission::Probe);
        b.record(Admission::Probe, false);
        assert_eq!(b.admit(), Admission::Pass, "a good probe closes it");
    }

    #[test]
    fn late_failures_of_calls_from_before_do_not_extend_the_cool_down() {
        let b = Breaker::new(Duration::from_millis(50));
        b.record(Admission::Pass, true);
        std::thread::sleep(Duration::from_millis(30));
        // A call admitted before the breaker opened times out now.
        b.record(Admission::Pass, true);
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(b.admit(), Admission::Probe);
    }
}
