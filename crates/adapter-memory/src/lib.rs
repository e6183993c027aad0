//! Portico's in-memory adapter: every repository port of `domain` over
//! maps in this process's memory.
//!
//! It is the fast swap for tests of code that uses the domain (no server to
//! start, a fresh store per test in microseconds) and what the examples run
//! on. It passes the whole contract suite, concurrency rules included: each
//! call takes one lock over the whole state and does all of its reads and
//! writes under it, so every call is atomic and calls are serialised. Two
//! [`MemoryStore`] values made by [`MemoryStore::new`] share nothing;
//! clones share everything (the feeds included), as two handles on one
//! database would.
//!
//! Nothing expires by itself: expired records are invisible where a port
//! says so, and `purge_expired` removes them. Nothing survives the process
//! either: for a store that does, use `adapter-sql` with SQLite.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use adapter_memory::MemoryStore;
//! use domain::{Email, UserRepository};
//!
//! let stores = MemoryStore::new().stores(); // every port, for domain's services
//! let nobody = stores.users.find_by_email(&Email::parse("ann@example.org")?).await?;
//! assert!(nobody.is_none());
//! # Ok(())
//! # }
//! ```

mod accounts;
mod activity;
mod api_keys;
mod content;
mod conversations;
mod federation;
mod feeds;
mod jobs;
mod limits;
mod mfa;
mod notifications;
mod passkeys;
mod payments;
mod plans;
mod rbac;
mod sessions;
mod settings;
mod state;
mod stats;
mod uploads;
mod webhooks;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use domain::{AuthChange, FeedEvent, Stores};
use tokio::sync::broadcast;

use state::State;

/// How many announcements a feed keeps for a slow subscriber before that
/// subscriber's next read reports that it missed some.
const FEED_CAPACITY: usize = 4096;

/// Every port in memory; clones share one store.
#[derive(Clone)]
pub struct MemoryStore {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    notifications: broadcast::Sender<FeedEvent>,
    auth_changes: broadcast::Sender<AuthChange>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                notifications: broadcast::channel(FEED_CAPACITY).0,
                auth_changes: broadcast::channel(FEED_CAPACITY).0,
            }),
        }
    }

    /// Every port, served by this store.
    pub fn stores(&self) -> Stores {
        Stores::from_one(Arc::new(self.clone()))
    }

    /// The whole state, locked for one call. No call awaits while it holds
    /// the lock, and a panic while holding it cannot leave a half-made
    /// write behind (each call checks before it writes), so a poisoned lock
    /// is taken as it is.
    fn state(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// What a test may look at beyond the ports.
impl MemoryStore {
    /// Every queued message with the instant it is next due, in the order
    /// they were queued.
    pub fn queued_mail(&self) -> Vec<(domain::QueuedMail, time::OffsetDateTime)> {
        let state = self.state();
        let mut queued: Vec<_> = state
            .mail
            .values()
            .map(|q| (q.mail.clone(), q.due_at))
            .collect();
        queued.sort_by_key(|(m, _)| (m.created_at, m.id));
        queued
    }
}
