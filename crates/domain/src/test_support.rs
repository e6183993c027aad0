//! Mocks and fixed values shared by the service unit tests.

use std::sync::Arc;

use time::{OffsetDateTime, macros::datetime};
use uuid::Uuid;

use crate::*;
use crate::{Stores, System};

/// The fixed "now" of unit tests.
pub(crate) const T0: OffsetDateTime = datetime!(2025-03-19 12:00:00 UTC);

/// The token every test token generator returns.
pub(crate) fn fixed_token() -> Token {
    Token::from_bytes([42; 32])
}

/// A verified user with id `n`.
pub(crate) fn sample_user(n: u128) -> User {
    User {
        id: UserId::from_uuid(Uuid::from_u128(n)),
        email: Email::parse(&format!("user{n}@example.org")).unwrap(),
        username: Username::parse(&format!("user{n}")).unwrap(),
        password_hash: Some(PasswordHash::new("stored")),
        verified: true,
        locked: false,
        locked_until: None,
        failed_logins: 0,
        profile: Profile::default(),
        preferences: serde_json::Map::new(),
        active_content_session_id: None,
        created_at: T0,
        updated_at: T0,
        security_changed_at: T0,
        last_accessed_at: None,
    }
}

/// A clock a test moves.
pub(crate) struct MovableClock(pub(crate) std::sync::Mutex<OffsetDateTime>);

impl MovableClock {
    /// Sets the time.
    pub(crate) fn set(&self, now: OffsetDateTime) {
        *self.0.lock().unwrap() = now;
    }
}

impl Clock for MovableClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap()
    }
}

/// Ports for a service under test: repositories are mocks with no
/// expectations (any call panics) until a test replaces them.
pub(crate) struct Harness {
    pub(crate) stores: Stores,
    pub(crate) system: System,
}

impl Harness {
    pub(crate) fn new() -> Self {
        Self::at(T0)
    }

    pub(crate) fn at(now: OffsetDateTime) -> Self {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(now);
        let mut ids = MockIdGenerator::new();
        let counter = std::sync::atomic::AtomicU64::new(1000);
        ids.expect_new_id().returning(move || {
            Uuid::from_u128(u128::from(
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
            ))
        });
        let mut tokens = MockTokenGenerator::new();
        tokens.expect_generate().returning(fixed_token);
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_hash()
            .returning(|p| Ok(PasswordHash::new(format!("hashed:{}", p.expose()))));
        hasher
            .expect_verify()
            .returning(|p, h| Ok(h.as_str() == format!("hashed:{}", p.expose())));
        hasher.expect_verify_dummy().returning(|_| Ok(()));
        hasher.expect_saturated().return_const(false);
        // No provider flow is pending: ending sessions cancels none.
        let mut flows = MockOAuthFlowRepository::new();
        flows.expect_delete_for_user().returning(|_| Ok(0));
        Self {
            stores: Stores {
                users: Arc::new(MockUserRepository::new()),
                candidates: Arc::new(MockCandidateRepository::new()),
                sessions: Arc::new(MockSessionRepository::new()),
                one_time_tokens: Arc::new(MockOneTimeTokenRepository::new()),
                roles: Arc::new(MockRoleRepository::new()),
                content: Arc::new(MockContentSessionRepository::new()),
                notifications: Arc::new(MockNotificationRepository::new()),
                feed: Arc::new(MockNotificationFeed::new()),
                uploads: Arc::new(MockUploadRepository::new()),
                payments: Arc::new(MockPaymentRepository::new()),
                rate_limiter: Arc::new(MemoryRateLimiter::default()),
                leases: Arc::new(MockLeaseRepository::new()),
                mail_queue: Arc::new(MemoryMailQueue::default()),
                auth_changes: Arc::new(RecordingFeed::default()),
                mfa: Arc::new(MemoryMfa::default()),
                identity_links: Arc::new(MockIdentityLinkRepository::new()),
                oauth_flows: Arc::new(flows),
            },
            system: System {
                clock: Arc::new(clock),
                ids: Arc::new(ids),
                tokens: Arc::new(tokens),
                hasher: Arc::new(hasher),
                mailer: Arc::new(MockMailer::new()),
                objects: Arc::new(MockObjectStore::new()),
                sealer: Arc::new(TestSealer),
            },
        }
    }
}

/// The mail queue in memory, with the port's claim rules.
#[derive(Default)]
pub(crate) struct MemoryMailQueue(std::sync::Mutex<Vec<(QueuedMail, OffsetDateTime)>>);

impl MemoryMailQueue {
    /// Every queued message with the instant it is due.
    pub(crate) fn contents(&self) -> Vec<(QueuedMail, OffsetDateTime)> {
        self.0.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl MailQueue for MemoryMailQueue {
    async fn enqueue(&self, message: &QueuedMail) -> Result<(), StoreError> {
        let due = message.created_at;
        self.0.lock().unwrap().push((message.clone(), due));
        Ok(())
    }

    async fn claim(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        let mut all = self.0.lock().unwrap();
        all.sort_by_key(|(_, due)| *due);
        let mut claimed = Vec::new();
        for (message, due) in all.iter_mut() {
            if *due <= now && claimed.len() < limit as usize {
                message.attempts += 1;
                *due = until;
                claimed.push(message.clone());
            }
        }
        Ok(claimed)
    }

    async fn retry_at(&self, id: QueuedMailId, at: OffsetDateTime) -> Result<(), WriteError> {
        let mut all = self.0.lock().unwrap();
        let (_, due) = all
            .iter_mut()
            .find(|(m, _)| m.id == id)
            .ok_or(WriteError::NotFound)?;
        *due = at;
        Ok(())
    }

    async fn remove(&self, id: QueuedMailId) -> Result<(), StoreError> {
        self.0.lock().unwrap().retain(|(m, _)| m.id != id);
        Ok(())
    }

    async fn count(&self) -> Result<u64, StoreError> {
        Ok(self.0.lock().unwrap().len() as u64)
    }
}

/// Exact in-memory counters: the password guard's attempts in unit tests.
#[derive(Default)]
pub(crate) struct MemoryRateLimiter(
    std::sync::Mutex<std::collections::HashMap<(String, i64), u64>>,
);

impl MemoryRateLimiter {
    fn slot(
        key: &str,
        window: Window,
        now: OffsetDateTime,
    ) -> ((String, i64), Option<OffsetDateTime>) {
        match window.bounds(now) {
            Some((start, end)) => ((key.to_owned(), start.unix_timestamp()), Some(end)),
            None => ((key.to_owned(), i64::MIN), None),
        }
    }
}

#[async_trait::async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn hit(
        &self,
        key: &str,
        window: Window,
        now: OffsetDateTime,
    ) -> Result<WindowCount, StoreError> {
        let (slot, resets_at) = Self::slot(key, window, now);
        let mut map = self.0.lock().unwrap();
        let count = map.entry(slot).or_default();
        *count += 1;
        Ok(WindowCount {
            count: *count,
            resets_at,
        })
    }

    async fn peek(
        &self,
        key: &str,
        window: Window,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        let (slot, _) = Self::slot(key, window, now);
        Ok(self.0.lock().unwrap().get(&slot).copied().unwrap_or(0))
    }

    async fn add_batch(
        &self,
        additions: &[crate::Addition],
        windows: &[Window],
    ) -> Result<Vec<Vec<WindowCount>>, StoreError> {
        let mut out = Vec::with_capacity(additions.len());
        for a in additions {
            let mut counts = Vec::with_capacity(windows.len());
            for window in windows {
                let (slot, resets_at) = Self::slot(&a.key, *window, a.at);
                let mut map = self.0.lock().unwrap();
                let n = map.entry(slot).or_default();
                *n += a.n;
                counts.push(WindowCount {
                    count: *n,
                    resets_at,
                });
            }
            out.push(counts);
        }
        Ok(out)
    }

    async fn give_back(
        &self,
        key: &str,
        window: Window,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (slot, _) = Self::slot(key, window, now);
        if let Some(n) = self.0.lock().unwrap().get_mut(&slot) {
            *n = n.saturating_sub(1);
        }
        Ok(())
    }

    async fn forget(&self, key: &str) -> Result<(), StoreError> {
        self.0.lock().unwrap().retain(|(k, _), _| k != key);
        Ok(())
    }

    async fn purge_expired(&self, _now: OffsetDateTime) -> Result<u64, StoreError> {
        Ok(0)
    }
}

/// A sealer for unit tests: the context and the bytes in hex, under key
/// `t`. Opening checks the context, as a real sealer's AEAD does.
pub(crate) struct TestSealer;

impl Sealer for TestSealer {
    fn seal(&self, context: &str, plain: &[u8]) -> Result<Sealed, StoreError> {
        Ok(Sealed::from_stored(format!(
            "t:{context}:{}",
            crate::hex_digest(plain)
        )))
    }
    fn open(&self, context: &str, sealed: &Sealed) -> Result<Vec<u8>, StoreError> {
        let rest = sealed
            .as_str()
            .strip_prefix(&format!("t:{context}:"))
            .ok_or_else(|| StoreError::msg("sealed for another context"))?;
        Ok((0..rest.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&rest[i..i + 2], 16).unwrap())
            .collect())
    }
    fn is_current(&self, sealed: &Sealed) -> bool {
        sealed.key_id() == "t"
    }
}

/// Second factors in memory, with the port's conditions.
#[derive(Default)]
pub(crate) struct MemoryMfa(std::sync::Mutex<std::collections::HashMap<UserId, MfaFactor>>);

impl MemoryMfa {
    fn with<R>(
        &self,
        user: UserId,
        id: MfaFactorId,
        confirmed: bool,
        f: impl FnOnce(&mut MfaFactor) -> R,
    ) -> Option<R> {
        let mut all = self.0.lock().unwrap();
        all.get_mut(&user)
            .filter(|x| x.id == id && x.is_confirmed() == confirmed)
            .map(f)
    }
}

#[async_trait::async_trait]
impl MfaRepository for MemoryMfa {
    async fn begin(&self, factor: &MfaFactor) -> Result<bool, StoreError> {
        let mut all = self.0.lock().unwrap();
        if all
            .get(&factor.user_id)
            .is_some_and(MfaFactor::is_confirmed)
        {
            return Ok(false);
        }
        all.insert(factor.user_id, factor.clone());
        Ok(true)
    }
    async fn get(&self, user_id: UserId) -> Result<Option<MfaFactor>, StoreError> {
        Ok(self.0.lock().unwrap().get(&user_id).cloned())
    }
    async fn confirm(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        step: i64,
        backup_codes: &[TokenHash],
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        Ok(self
            .with(user_id, id, false, |f| {
                f.confirmed_at = Some(at);
                f.last_step = Some(step);
                f.backup_codes = backup_codes.to_vec();
            })
            .is_some())
    }
    async fn accept_step(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        step: i64,
    ) -> Result<bool, StoreError> {
        Ok(self
            .with(user_id, id, true, |f| {
                if f.last_step.is_some_and(|last| last >= step) {
                    return false;
                }
                f.last_step = Some(step);
                true
            })
            .unwrap_or(false))
    }
    async fn use_backup_code(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        code: &TokenHash,
    ) -> Result<bool, StoreError> {
        Ok(self
            .with(user_id, id, true, |f| {
                let before = f.backup_codes.len();
                f.backup_codes.retain(|c| c != code);
                f.backup_codes.len() < before
            })
            .unwrap_or(false))
    }
    async fn replace_backup_codes(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        codes: &[TokenHash],
    ) -> Result<bool, StoreError> {
        Ok(self
            .with(user_id, id, true, |f| f.backup_codes = codes.to_vec())
            .is_some())
    }
    async fn reseal(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        old: &Sealed,
        new: &Sealed,
    ) -> Result<bool, StoreError> {
        let mut all = self.0.lock().unwrap();
        match all.get_mut(&user_id) {
            Some(f) if f.id == id && &f.secret == old => {
                f.secret = new.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    async fn delete(&self, user_id: UserId, id: MfaFactorId) -> Result<bool, StoreError> {
        let mut all = self.0.lock().unwrap();
        if all.get(&user_id).is_some_and(|f| f.id == id) {
            all.remove(&user_id);
            return Ok(true);
        }
        Ok(false)
    }
    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError> {
        Ok(u64::from(self.0.lock().unwrap().remove(&user_id).is_some()))
    }
    async fn list_after(
        &self,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<MfaFactor>, StoreError> {
        let mut all: Vec<_> = self
            .0
            .lock()
            .unwrap()
            .values()
            .filter(|f| after.is_none_or(|a| f.user_id > a))
            .cloned()
            .collect();
        all.sort_by_key(|f| f.user_id);
        all.truncate(limit as usize);
        Ok(all)
    }
}

/// An auth-change feed that keeps what was published, for tests that check
/// a service announced its change.
#[derive(Default)]
pub(crate) struct RecordingFeed(pub(crate) std::sync::Mutex<Vec<AuthChange>>);

impl RecordingFeed {
    /// What was published, in order.
    pub(crate) fn published(&self) -> Vec<AuthChange> {
        self.0.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl AuthChangeFeed for RecordingFeed {
    async fn publish(&self, change: AuthChange) -> Result<(), StoreError> {
        self.0.lock().unwrap().push(change);
        Ok(())
    }

    async fn subscribe(&self) -> Result<Box<dyn AuthChangeSubscription>, StoreError> {
        Err(StoreError::msg("tests do not subscribe"))
    }
}
