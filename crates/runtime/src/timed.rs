//! Store-call timing and deadlines: every repository port wrapped so that
//! each call's latency and outcome land in
//! `portico_store_call_duration_seconds` (labels: port, operation, outcome),
//! and so that no call outlives `stores.call_timeout_ms`, whatever its driver
//! does: a call past the deadline fails as an unavailable store (503). The
//! wrappers forward every method unchanged; the signatures below mirror the
//! traits in `domain::ports`, and the compiler checks that they match.
//!
//! Each call also goes through its store's circuit breaker (see
//! the `breaker` module): once a store is known to be down, calls fail at
//! once as unavailable, and one probe a second finds out when it is back.
//!

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use domain::Stores;
use domain::*;
use time::{Duration, OffsetDateTime};

use crate::breaker::{Admission, Breaker};
use crate::metrics::Metrics;

/// Why a call was refused without reaching its store.
#[derive(Debug, thiserror::Error)]
#[error("the store is known to be down (a probe call is tried every second)")]
struct StoreDown;

/// A port implementation whose calls are timed, bounded and guarded by
/// its store's circuit breaker.
struct Timed<T: ?Sized> {
    inner: Arc<T>,
    metrics: Arc<Metrics>,
    deadline: std::time::Duration,
    /// The breaker of the store serving this port (shared by its ports).
    breaker: Arc<Breaker>,
}

/// What every wrapper shares, and the breakers so far, one per store.
struct Wrapping {
    metrics: Arc<Metrics>,
    deadline: std::time::Duration,
    /// By the address of the store object the ports point to: the ports of
    /// one store (one adapter instance) share one breaker.
    breakers: RefCell<HashMap<usize, Arc<Breaker>>>,
}

/// How long a store known to be down is refused before a probe call.
const BREAKER_COOL_DOWN: std::time::Duration = std::time::Duration::from_secs(1);

fn wrap<T: ?Sized>(inner: Arc<T>, w: &Wrapping) -> Arc<Timed<T>> {
    let store = Arc::as_ptr(&inner).cast::<()>() as usize;
    let breaker = w
        .breakers
        .borrow_mut()
        .entry(store)
        .or_insert_with(|| Arc::new(Breaker::new(BREAKER_COOL_DOWN)))
        .clone();
    Arc::new(Timed {
        inner,
        metrics: w.metrics.clone(),
        deadline: w.deadline,
        breaker,
    })
}

/// The result of a call that did not reach its store: an unavailable
/// store, whichever error type the port returns.
trait Unreached {
    fn unreached(error: StoreError) -> Self;
    /// Whether this result is a failure to reach the store.
    fn unavailable(&self) -> bool;
}

/// Error types of the ports, each with a `Store` variant.
trait HoldsStoreError {
    fn store_error(&self) -> Option<&StoreError>;
}

impl HoldsStoreError for StoreError {
    fn store_error(&self) -> Option<&StoreError> {
        Some(self)
    }
}

macro_rules! holds_store_error {
    ($($error:ty),+) => {$(
        impl HoldsStoreError for $error {
            fn store_error(&self) -> Option<&StoreError> {
                match self {
                    Self::Store(e) => Some(e),
                    _ => None,
                }
            }
        }
    )+};
}

holds_store_error!(
    WriteError,
    InsertError,
    InsertUserError,
    GrantWriteError,
    InsertPaymentError,
    TransitionError,
    LinkError
);

impl<T, E: From<StoreError> + HoldsStoreError> Unreached for Result<T, E> {
    fn unreached(error: StoreError) -> Self {
        Err(error.into())
    }
    fn unavailable(&self) -> bool {
        matches!(self, Err(e) if e.store_error().is_some_and(StoreError::is_unavailable))
    }
}

/// `stores` with every port timed into `metrics`, each call cut off after
/// `deadline`, guarded by a breaker per store.
pub fn stores(stores: Stores, metrics: Arc<Metrics>, deadline: std::time::Duration) -> Stores {
    let m = &Wrapping {
        metrics,
        deadline,
        breakers: RefCell::default(),
    };
    Stores {
        candidates: wrap(stores.candidates, m),
        sessions: wrap(stores.sessions, m),
        one_time_tokens: wrap(stores.one_time_tokens, m),
        content: wrap(stores.content, m),
        notifications: wrap(stores.notifications, m),
        // A subscription is one long call: nothing to time per call.
        feed: stores.feed,
        auth_changes: stores.auth_changes,
        leases: wrap(stores.leases, m),
        mail_queue: wrap(stores.mail_queue, m),
        payments: wrap(stores.payments, m),
        rate_limiter: wrap(stores.rate_limiter, m),
        roles: wrap(stores.roles, m),
        uploads: wrap(stores.uploads, m),
        users: wrap(stores.users, m),
        mfa: wrap(stores.mfa, m),
        identity_links: wrap(stores.identity_links, m),
        oauth_flows: wrap(stores.oauth_flows, m),
    }
}

macro_rules! timed {
    ($port:literal, $trait:ident { $(fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)* }) => {
        #[async_trait]
        impl $trait for Timed<dyn $trait> {
            $(async fn $name(&self $(, $arg: $ty)*) -> $ret {
                let admission = self.breaker.admit();
                if admission == Admission::Refuse {
                    return <$ret as Unreached>::unreached(StoreError::unavailable(
                        concat!($port, ".", stringify!($name)),
                        StoreDown,
                    ));
                }
                let started = Instant::now();
                let result = match tokio::time::timeout(self.deadline, self.inner.$name($($arg),*)).await {
                    Ok(result) => result,
                    Err(elapsed) => <$ret as Unreached>::unreached(StoreError::unavailable(
                        format!("{}.{} took too long", $port, stringify!($name)),
                        elapsed,
                    )),
                };
                self.breaker.record(admission, result.unavailable());
                self.metrics
                    .store($port, stringify!($name), result.is_ok(), started.elapsed());
                result
            })*
        }
    };
}

timed!("candidates", CandidateRepository {
    fn put(&self, candidate: &RegistrationCandidate) -> Result<(), StoreError>;
    fn take(&self, token_hash: &TokenHash, now: OffsetDateTime) -> Result<Option<RegistrationCandidate>, StoreError>;
    fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
});

timed!("sessions", SessionRepository {
    fn create(&self, session: &AuthSession) -> Result<(), StoreError>;
    fn get(&self, id: AuthSessionId) -> Result<Option<AuthSession>, StoreError>;
    fn find_active_by_token(&self, token_hash: &TokenHash, now: OffsetDateTime) -> Result<Option<AuthSession>, StoreError>;
    fn touch(&self, id: AuthSessionId, at: OffsetDateTime, expires_at: OffsetDateTime) -> Result<(), WriteError>;
    fn rotate(&self, id: AuthSessionId, token_hash: &TokenHash, at: OffsetDateTime, expires_at: OffsetDateTime, refresh_expires_at: OffsetDateTime) -> Result<(), WriteError>;
    fn list_active(&self, user_id: UserId, now: OffsetDateTime) -> Result<Vec<AuthSession>, StoreError>;
    fn revoke(&self, user_id: UserId, id: AuthSessionId, at: OffsetDateTime) -> Result<(), WriteError>;
    fn revoke_all(&self, user_id: UserId, at: OffsetDateTime) -> Result<u64, StoreError>;
    fn add_refresh_token(&self, token: &RefreshToken) -> Result<(), StoreError>;
    fn use_refresh_token(&self, token_hash: &TokenHash, now: OffsetDateTime) -> Result<RefreshOutcome, StoreError>;
    fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
    fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError>;
});

timed!("one_time_tokens", OneTimeTokenRepository {
    fn insert(&self, token: &OneTimeToken) -> Result<(), StoreError>;
    fn consume(&self, token_hash: &TokenHash, purpose: TokenPurpose, now: OffsetDateTime) -> Result<Option<OneTimeToken>, StoreError>;
    fn find(&self, token_hash: &TokenHash, purpose: TokenPurpose, now: OffsetDateTime) -> Result<Option<OneTimeToken>, StoreError>;
    fn spend_try(&self, token_hash: &TokenHash, purpose: TokenPurpose, now: OffsetDateTime) -> Result<Option<u32>, StoreError>;
    fn delete_for_user(&self, user_id: UserId, purpose: Option<TokenPurpose>) -> Result<u64, StoreError>;
    fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
});

timed!("content", ContentSessionRepository {
    fn create(&self, session: &ContentSession) -> Result<(), StoreError>;
    fn get(&self, id: ContentSessionId) -> Result<Option<ContentSession>, StoreError>;
    fn list_for_user(&self, user_id: UserId, page: PageRequest) -> Result<Page<ContentSession>, StoreError>;
    fn rename(&self, id: ContentSessionId, name: Option<String>, at: OffsetDateTime) -> Result<(), WriteError>;
    fn delete(&self, id: ContentSessionId) -> Result<(), WriteError>;
    fn put_data(&self, id: ContentSessionId, key: &StorageKey, value: &serde_json::Value) -> Result<(), WriteError>;
    fn put_data_within(&self, id: ContentSessionId, key: &StorageKey, value: &serde_json::Value, max_keys: usize) -> Result<DataPut, WriteError>;
    fn get_data(&self, id: ContentSessionId, key: &StorageKey) -> Result<Option<serde_json::Value>, StoreError>;
    fn list_data(&self, id: ContentSessionId) -> Result<BTreeMap<StorageKey, serde_json::Value>, StoreError>;
    fn delete_data(&self, id: ContentSessionId, key: &StorageKey) -> Result<(), WriteError>;
    fn add_message(&self, message: &Message, mark_unread: bool) -> Result<(), WriteError>;
    fn get_message(&self, session: ContentSessionId, id: MessageId) -> Result<Option<Message>, StoreError>;
    fn list_messages(&self, session: ContentSessionId, page: PageRequest) -> Result<Page<Message>, StoreError>;
    fn mark_read(&self, id: ContentSessionId) -> Result<(), WriteError>;
    fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError>;
});

timed!("notifications", NotificationRepository {
    fn create(&self, notification: &Notification) -> Result<(), StoreError>;
    fn get(&self, user_id: UserId, id: NotificationId, now: OffsetDateTime) -> Result<Option<Notification>, StoreError>;
    fn list(&self, user_id: UserId, unseen_only: bool, now: OffsetDateTime, page: PageRequest) -> Result<Page<Notification>, StoreError>;
    fn mark_seen(&self, user_id: UserId, id: NotificationId, at: OffsetDateTime) -> Result<(), WriteError>;
    fn mark_all_seen(&self, user_id: UserId, at: OffsetDateTime) -> Result<u64, StoreError>;
    fn set_response(&self, user_id: UserId, id: NotificationId, data: &serde_json::Value) -> Result<(), WriteError>;
    fn delete(&self, user_id: UserId, id: NotificationId) -> Result<(), WriteError>;
    fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
    fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError>;
});

timed!("payments", PaymentRepository {
    fn create(&self, payment: &Payment) -> Result<(), InsertPaymentError>;
    fn get(&self, id: PaymentId) -> Result<Option<Payment>, StoreError>;
    fn list_for_user(&self, user_id: UserId, page: PageRequest) -> Result<Page<Payment>, StoreError>;
    fn transition(&self, id: PaymentId, from: PaymentStatus, to: PaymentStatus, at: OffsetDateTime) -> Result<Payment, TransitionError>;
});

timed!("rate_limiter", RateLimiter {
    fn hit(&self, key: &str, window: Window, now: OffsetDateTime) -> Result<WindowCount, StoreError>;
    fn hit_many(&self, key: &str, windows: &[Window], now: OffsetDateTime) -> Result<Vec<WindowCount>, StoreError>;
    fn peek(&self, key: &str, window: Window, now: OffsetDateTime) -> Result<u64, StoreError>;
    fn add_batch(&self, additions: &[Addition], windows: &[Window]) -> Result<Vec<Vec<WindowCount>>, StoreError>;
    fn give_back(&self, key: &str, window: Window, now: OffsetDateTime) -> Result<(), StoreError>;
    fn forget(&self, key: &str) -> Result<(), StoreError>;
    fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
});

timed!("roles", RoleRepository {
    fn create(&self, role: &Role) -> Result<(), InsertError>;
    fn get(&self, name: &RoleName) -> Result<Option<Role>, StoreError>;
    fn list(&self) -> Result<Vec<Role>, StoreError>;
    fn update_fields(&self, name: &RoleName, changes: &RoleChanges) -> Result<(), WriteError>;
    fn delete(&self, name: &RoleName) -> Result<(), WriteError>;
    fn grant(&self, user_id: UserId, role: &RoleName, at: OffsetDateTime) -> Result<(), GrantWriteError>;
    fn revoke(&self, user_id: UserId, role: &RoleName) -> Result<(), WriteError>;
    fn revoke_unless_last(&self, user_id: UserId, role: &RoleName) -> Result<LastHolder, WriteError>;
    fn roles_of(&self, user_id: UserId) -> Result<Vec<Role>, StoreError>;
    fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError>;
});

timed!("uploads", UploadRepository {
    fn create(&self, request: &UploadRequest) -> Result<(), InsertError>;
    fn get(&self, id: UploadId) -> Result<Option<UploadRequest>, StoreError>;
    fn list_for_user(&self, user_id: UserId, page: PageRequest) -> Result<Page<UploadRequest>, StoreError>;
    fn complete(&self, id: UploadId, size: u64, at: OffsetDateTime) -> Result<bool, WriteError>;
    fn delete(&self, id: UploadId) -> Result<(), WriteError>;
    fn list_expired(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<UploadRequest>, StoreError>;
    fn references(&self, key: &ObjectKey) -> Result<bool, StoreError>;
    fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError>;
});

timed!("users", UserRepository {
    fn create(&self, user: &User) -> Result<(), InsertUserError>;
    fn get(&self, id: UserId) -> Result<Option<User>, StoreError>;
    fn find_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;
    fn find_by_username(&self, username: &Username) -> Result<Option<User>, StoreError>;
    fn update_fields(&self, id: UserId, changes: &UserChanges) -> Result<FieldsUpdate, WriteError>;
    fn increment_failed_logins(&self, id: UserId) -> Result<u32, WriteError>;
    fn set_locked_until(&self, id: UserId, until: Option<OffsetDateTime>) -> Result<(), WriteError>;
    fn record_sign_in(&self, id: UserId, at: OffsetDateTime) -> Result<(), WriteError>;
    fn list(&self, page: PageRequest) -> Result<Page<User>, StoreError>;
    fn delete(&self, id: UserId) -> Result<(), WriteError>;
});

timed!("mail_queue", MailQueue {
    fn enqueue(&self, message: &QueuedMail) -> Result<(), StoreError>;
    fn claim(&self, now: OffsetDateTime, until: OffsetDateTime, limit: u32) -> Result<Vec<QueuedMail>, StoreError>;
    fn retry_at(&self, id: QueuedMailId, at: OffsetDateTime) -> Result<(), WriteError>;
    fn remove(&self, id: QueuedMailId) -> Result<(), StoreError>;
    fn count(&self) -> Result<u64, StoreError>;
});

timed!("leases", LeaseRepository {
    fn try_acquire(&self, name: &str, holder: &str, now: OffsetDateTime, ttl: Duration) -> Result<bool, StoreError>;
    fn release(&self, name: &str, holder: &str) -> Result<(), StoreError>;
});

timed!("mfa", MfaRepository {
    fn begin(&self, factor: &MfaFactor) -> Result<bool, StoreError>;
    fn get(&self, user_id: UserId) -> Result<Option<MfaFactor>, StoreError>;
    fn confirm(&self, user_id: UserId, id: MfaFactorId, step: i64, backup_codes: &[TokenHash], at: OffsetDateTime) -> Result<bool, StoreError>;
    fn accept_step(&self, user_id: UserId, id: MfaFactorId, step: i64) -> Result<bool, StoreError>;
    fn use_backup_code(&self, user_id: UserId, id: MfaFactorId, code: &TokenHash) -> Result<bool, StoreError>;
    fn replace_backup_codes(&self, user_id: UserId, id: MfaFactorId, codes: &[TokenHash]) -> Result<bool, StoreError>;
    fn reseal(&self, user_id: UserId, id: MfaFactorId, old: &Sealed, new: &Sealed) -> Result<bool, StoreError>;
    fn delete(&self, user_id: UserId, id: MfaFactorId) -> Result<bool, StoreError>;
    fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError>;
    fn list_after(&self, after: Option<UserId>, limit: u32) -> Result<Vec<MfaFactor>, StoreError>;
});

timed!("identity_links", IdentityLinkRepository {
    fn link(&self, link: &IdentityLink) -> Result<(), LinkError>;
    fn find(&self, provider: &ProviderName, subject: &str) -> Result<Option<IdentityLink>, StoreError>;
    fn list_for_user(&self, user_id: UserId) -> Result<Vec<IdentityLink>, StoreError>;
    fn store_tokens(&self, user_id: UserId, provider: &ProviderName, tokens: Option<Sealed>, expire_at: Option<OffsetDateTime>) -> Result<bool, StoreError>;
    fn reseal(&self, user_id: UserId, provider: &ProviderName, old: &Sealed, new: &Sealed) -> Result<bool, StoreError>;
    fn unlink(&self, user_id: UserId, provider: &ProviderName, keep_one: bool) -> Result<Unlinked, StoreError>;
    fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError>;
    fn list_after(&self, after: Option<(UserId, ProviderName)>, limit: u32) -> Result<Vec<IdentityLink>, StoreError>;
});

timed!("oauth_flows", OAuthFlowRepository {
    fn insert(&self, flow: &OAuthFlow) -> Result<(), StoreError>;
    fn take(&self, state_hash: &TokenHash, now: OffsetDateTime) -> Result<Option<OAuthFlow>, StoreError>;
    fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError>;
    fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
});
