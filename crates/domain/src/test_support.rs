//! Mocks and fixed values shared by the service unit tests.

use std::sync::Arc;

use time::{OffsetDateTime, macros::datetime};
use uuid::Uuid;

use crate::*;
use crate::{Stores, System};

/// The in-memory adapter (`crates/adapter-memory`), built against this
/// crate for its unit tests: as a dev-dependency it would implement the
/// ports of another build of `domain`, which these tests cannot use.
#[allow(unreachable_pub, dead_code)]
#[path = "../../adapter-memory/src/lib.rs"]
mod memory;

pub(crate) use memory::MemoryStore;

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
        last_active_at: None,
        suspension: None,
        plan: None,
        origin: None,
    }
}

/// A new token at each call (the harness's fixed one would repeat).
pub(crate) struct CountingTokens(pub(crate) std::sync::atomic::AtomicU8);

impl CountingTokens {
    /// Tokens of bytes 1, 2, 3, …
    pub(crate) fn new() -> Self {
        Self(std::sync::atomic::AtomicU8::new(1))
    }
}

impl TokenGenerator for CountingTokens {
    fn generate(&self) -> Token {
        Token::from_bytes([self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst); 32])
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
        // Counters, the mail queue and second factors are the in-memory
        // adapter's: exact, with the ports' rules.
        let memory = Arc::new(MemoryStore::new());
        // Usage counters mark users active; nothing else of users is expected.
        let mut users = MockUserRepository::new();
        users.expect_mark_active().returning(|_, _| Ok(()));
        let mut flows = MockOAuthFlowRepository::new();
        flows.expect_delete_for_user().returning(|_| Ok(0));
        Self {
            stores: Stores {
                users: Arc::new(users),
                candidates: memory.clone(),
                sessions: Arc::new(MockSessionRepository::new()),
                one_time_tokens: Arc::new(MockOneTimeTokenRepository::new()),
                roles: Arc::new(MockRoleRepository::new()),
                content: Arc::new(MockContentSessionRepository::new()),
                notifications: Arc::new(MockNotificationRepository::new()),
                feed: Arc::new(MockNotificationFeed::new()),
                uploads: Arc::new(MockUploadRepository::new()),
                payments: Arc::new(MockPaymentRepository::new()),
                rate_limiter: memory.clone(),
                plans: memory.clone(),
                activity: memory.clone(),
                stats: memory.clone(),
                settings: memory.clone(),
                api_keys: memory.clone(),
                passkeys: memory.clone(),
                passkey_challenges: memory.clone(),
                leases: Arc::new(MockLeaseRepository::new()),
                mail_queue: memory.clone(),
                webhooks: memory.clone(),
                conversations: memory.clone(),
                blocks: memory.clone(),
                webhook_queue: memory.clone(),
                auth_changes: Arc::new(RecordingFeed::default()),
                mfa: memory,
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
                devices: Arc::new(TestDevices),
            },
        }
    }
}

impl Harness {
    /// Ports over the in-memory adapter, with a clock the test moves (at
    /// [`T0`]) and user 1 stored with the password `right password`.
    pub(crate) fn over_memory() -> (Self, Arc<MovableClock>, User) {
        let mut h = Self::new();
        h.stores = MemoryStore::new().stores();
        let clock = Arc::new(MovableClock(std::sync::Mutex::new(T0)));
        h.system.clock = clock.clone();
        let mut user = sample_user(1);
        user.password_hash = Some(PasswordHash::new("hashed:right password"));
        futures::executor::block_on(h.stores.users.create(&user)).expect("user 1");
        (h, clock, user)
    }
}

/// A device parser for unit tests: a User-Agent naming `Firefox` is a
/// desktop Firefox on Linux, one naming `iPhone` a mobile Safari on iOS;
/// anything else is unparsed.
pub(crate) struct TestDevices;

impl crate::DeviceParser for TestDevices {
    fn parse(&self, user_agent: &str) -> crate::Device {
        use crate::{Device, DeviceType};
        if user_agent.contains("Firefox") {
            Device::new(
                DeviceType::Desktop,
                "Firefox",
                Some("133.0"),
                "Linux",
                None,
                user_agent,
            )
        } else if user_agent.contains("iPhone") {
            Device::new(
                DeviceType::Mobile,
                "Mobile Safari",
                Some("17.5"),
                "iOS",
                Some("17.5"),
                user_agent,
            )
        } else {
            Device::unparsed(user_agent)
        }
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

/// Turns TOTP on for `user` in `stores` (a confirmed factor with a made-up
/// sealed secret): a sign-in then asks for the second step.
pub(crate) fn totp_on(stores: &Stores, user: UserId) {
    let factor = MfaFactor {
        id: MfaFactorId::from_uuid(Uuid::from_u128(5)),
        user_id: user,
        secret: Sealed::from_stored("k1:sealed"),
        confirmed_at: None,
        last_step: None,
        backup_codes: vec![],
        created_at: T0,
    };
    futures::executor::block_on(stores.mfa.begin(&factor)).expect("a pending factor");
    assert!(
        futures::executor::block_on(stores.mfa.confirm(user, factor.id, 1, &[], T0))
            .expect("confirmed")
    );
}
