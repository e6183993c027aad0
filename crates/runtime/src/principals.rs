//! The principal cache: who a token authenticates, kept in memory for a
//! short time so that a signed-in request reads nothing from the stores.
//!
//! - Keyed by the token's SHA-256 hash (the token itself is never kept),
//!   bounded (`security.principal_cache_capacity` entries) and each entry
//!   lives at most `security.principal_cache_ttl_ms` (2 s by default; 0
//!   turns the cache off).
//! - Every write that can change who a token authenticates is announced
//!   by the domain service that makes it, on the [`AuthChangeFeed`] port;
//!   the server gives the domain a [`LocalFirst`] feed, so the change drops
//!   the affected entries of this instance before the service's caller sees
//!   the result, then is published on the store's feed for the other
//!   instances.
//! - [`run`] listens on the feed and drops what each change names. When the
//!   subscription breaks (changes may have been missed) it drops everything
//!   and subscribes again; while it cannot subscribe, nothing is cached.
//!   If the feed loses a change silently, an entry is stale for at most the
//!   TTL.
//! - A lookup whose store read raced a change does not fill the cache (a
//!   generation count), so a dropped entry cannot come back stale.
//! - Each hit still checks the session's expiry and revocation and the
//!   user's lock ([`Principal::is_current`]).
//! - Every change, this instance's or another's, is also re-broadcast in
//!   process ([`PrincipalCache::changes`]) for long-lived responses: an
//!   open notification stream rechecks its session at once, whether or
//!   not principals are cached.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use domain::{AuthChange, AuthChangeFeed, Credential, TokenHash};
use domain::{AuthenticateError, Authentication, Principal};

/// Cached principals of this instance.
pub struct PrincipalCache {
    entries: Option<moka::sync::Cache<TokenHash, Arc<Principal>>>,
    /// Bumped by every drop; a fill that started before one is not stored.
    generation: AtomicU64,
    /// Taken for reading by a fill's check-and-insert, for writing by a drop.
    fill: RwLock<()>,
    /// Whether the change feed is listening; nothing is cached while not.
    listening: AtomicBool,
    /// Every change heard, for the long-lived responses that must end with
    /// a session (they subscribe through [`PrincipalCache::changes`]).
    changes: tokio::sync::broadcast::Sender<AuthChange>,
}

impl PrincipalCache {
    /// A cache of at most `capacity` principals, each kept at most `ttl`;
    /// a zero `ttl` or `capacity` caches nothing.
    pub fn new(ttl: Duration, capacity: u64) -> Self {
        let entries = (!ttl.is_zero() && capacity > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .support_invalidation_closures()
                .build()
        });
        Self {
            entries,
            generation: AtomicU64::new(0),
            fill: RwLock::new(()),
            listening: AtomicBool::new(false),
            changes: tokio::sync::broadcast::channel(1024).0,
        }
    }

    /// The changes heard from now on (made here or announced by another
    /// instance); a lagging receiver should treat the gap as
    /// [`AuthChange::Everyone`].
    pub fn changes(&self) -> tokio::sync::broadcast::Receiver<AuthChange> {
        self.changes.subscribe()
    }

    /// Whether principals are cached at all.
    pub fn enabled(&self) -> bool {
        self.entries.is_some()
    }

    /// The principal `credential` authenticates: from the cache when a current
    /// entry is there, else resolved through `auth` (and cached). A session
    /// whose idle expiry is due is extended in the background, so the
    /// response never waits for that write.
    pub async fn authenticate(
        &self,
        auth: &Authentication,
        credential: &Credential,
    ) -> Result<Principal, AuthenticateError> {
        let Some(entries) = &self.entries else {
            return auth.authenticate_credential(credential).await;
        };
        let hash = credential.hash();
        let now = time::OffsetDateTime::now_utc();
        if let Some(found) = entries.get(&hash) {
            if found.is_current(now) {
                return Ok(Principal::clone(&found));
            }
            entries.invalidate(&hash);
        }
        let started = self.generation.load(Ordering::Acquire);
        let mut principal = auth.resolve_credential(credential).await?;
        if auth.touch_due(&principal) {
            // Extended now in the cached copy, in the store in the
            // background: the next refill sees the store's own value.
            let (auth, mut touched) = (auth.clone(), principal.clone());
            tokio::spawn(async move {
                if let Err(e) = auth.touch(&mut touched).await {
                    tracing::debug!(error = %crate::error_chain(&e), "session touch failed");
                }
            });
            principal.mark_used(now);
        }
        let guard = self.fill.read().unwrap_or_else(|e| e.into_inner());
        if self.listening.load(Ordering::Acquire)
            && self.generation.load(Ordering::Acquire) == started
        {
            entries.insert(hash, Arc::new(principal.clone()));
        }
        drop(guard);
        Ok(principal)
    }

    /// Drops every entry `change` concerns, and passes the change on to
    /// [`PrincipalCache::changes`].
    pub fn drop_for(&self, change: AuthChange) {
        // Nobody listening is not an error.
        let _ = self.changes.send(change);
        let Some(entries) = &self.entries else {
            return;
        };
        // Settings concern no principal (their follower hears them above).
        if change == AuthChange::Settings {
            return;
        }
        let _guard = self.fill.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        // Registered predicates apply to every entry stored before them.
        let dropped = match change {
            AuthChange::Session(id) => entries
                .invalidate_entries_if(move |_, p| p.session().id == id)
                .is_ok(),
            AuthChange::User(id) => entries
                .invalidate_entries_if(move |_, p| p.user().id == id)
                .is_ok(),
            AuthChange::Everyone | AuthChange::Settings => false,
        };
        if !dropped {
            entries.invalidate_all();
        }
    }

    /// Records whether the feed is listening. Either way everything cached
    /// so far is dropped and fills in flight are not stored: what they read
    /// may predate changes the feed was not there to hear.
    fn set_listening(&self, listening: bool) {
        self.drop_for(AuthChange::Everyone);
        self.listening.store(listening, Ordering::Release);
    }
}

/// The auth-change feed the domain announces on, as the server gives it:
/// each change first drops this instance's entries (before the domain's
/// caller sees its result), then goes to the store's feed for the other
/// instances. A failed publish is logged, not returned (the write it
/// follows has happened): the other instances' entries then expire with
/// their TTL.
pub struct LocalFirst {
    cache: Arc<PrincipalCache>,
    feed: Arc<dyn AuthChangeFeed>,
    deadline: Duration,
}

impl LocalFirst {
    /// Announces into `cache` and on `feed`, each publish cut off after `deadline`.
    pub fn new(
        cache: Arc<PrincipalCache>,
        feed: Arc<dyn AuthChangeFeed>,
        deadline: Duration,
    ) -> Self {
        Self {
            cache,
            feed,
            deadline,
        }
    }
}

#[async_trait::async_trait]
impl AuthChangeFeed for LocalFirst {
    async fn publish(&self, change: AuthChange) -> Result<(), domain::StoreError> {
        self.cache.drop_for(change);
        match tokio::time::timeout(self.deadline, self.feed.publish(change)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %crate::error_chain(&e), %change, "could not announce an auth change; other instances keep their cached principals until the TTL");
            }
            Err(_) => {
                tracing::warn!(%change, "announcing an auth change took too long; other instances keep their cached principals until the TTL");
            }
        }
        Ok(())
    }

    async fn subscribe(
        &self,
    ) -> Result<Box<dyn domain::AuthChangeSubscription>, domain::StoreError> {
        self.feed.subscribe().await
    }
}

/// Listens on `feed` for changes made by any instance and drops what they
/// concern from `cache` (and passes them on to its
/// [`PrincipalCache::changes`], also with the cache off), until the task is
/// aborted.
pub async fn run(cache: Arc<PrincipalCache>, feed: Arc<dyn AuthChangeFeed>) {
    let mut pause = Duration::from_millis(500);
    loop {
        match feed.subscribe().await {
            Ok(mut subscription) => {
                tracing::debug!("listening for auth changes");
                cache.set_listening(true);
                pause = Duration::from_millis(500);
                loop {
                    match subscription.next().await {
                        Ok(change) => cache.drop_for(change),
                        Err(e) => {
                            tracing::warn!(error = %crate::error_chain(&e), "auth change feed broke; dropping cached principals and resubscribing");
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %crate::error_chain(&e), "cannot subscribe to auth changes; caching no principals until it works");
            }
        }
        cache.set_listening(false);
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(30));
    }
}
