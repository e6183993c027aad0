//! Support for the cross-crate journeys: a settable clock, a mailer that
//! records what it sends, an in-memory object store, and [`App`], every
//! service wired over one adapter's stores with production ids, tokens and
//! argon2id hashing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use domain::*;
use time::{Duration, OffsetDateTime};

/// A clock that stands still until moved.
#[derive(Debug)]
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    /// Starts at the real now.
    pub fn new() -> Self {
        Self(Mutex::new(truncate_to_millis(OffsetDateTime::now_utc())))
    }
    /// Moves time forward.
    pub fn advance(&self, by: Duration) {
        *self.0.lock().expect("clock") += by;
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().expect("clock")
    }
}

/// Keeps every mail it is asked to send.
#[derive(Debug, Default)]
pub struct RecordingMailer(Mutex<Vec<Mail>>);

impl RecordingMailer {
    /// The token of the last mail sent to `to`.
    pub fn last_token(&self, to: &str) -> Option<Token> {
        let to = Email::parse(to).ok()?;
        self.0
            .lock()
            .expect("mailer")
            .iter()
            .rev()
            .filter(|m| *m.to() == to)
            .find_map(|m| match m {
                Mail::Verification { token, .. }
                | Mail::PasswordReset { token, .. }
                | Mail::AccountDeletion { token, .. } => Some(token.clone()),
                Mail::Notice { .. } | Mail::SignIn { .. } => None,
            })
    }

    /// The link token and code of the last sign-in mail sent to `to`.
    pub fn last_sign_in(&self, to: &str) -> Option<(String, String)> {
        let to = Email::parse(to).ok()?;
        self.0
            .lock()
            .expect("mailer")
            .iter()
            .rev()
            .filter(|m| *m.to() == to)
            .find_map(|m| match m {
                Mail::SignIn { link, code, .. } => Some((link.expose(), code.expose().to_owned())),
                _ => None,
            })
    }
    /// How many mails were sent.
    pub fn count(&self) -> usize {
        self.0.lock().expect("mailer").len()
    }
}

#[async_trait]
impl Mailer for RecordingMailer {
    async fn send(&self, mail: &Mail) -> Result<(), StoreError> {
        self.0.lock().expect("mailer").push(mail.clone());
        Ok(())
    }
}

/// Object storage in memory: metadata and bytes per key.
#[derive(Debug, Default)]
pub struct MemoryObjects(Mutex<BTreeMap<ObjectKey, (ObjectMeta, Vec<u8>)>>);

impl MemoryObjects {
    /// Stores an object as a client upload would.
    pub fn put(&self, key: &ObjectKey, size: u64, content_type: &str, at: OffsetDateTime) {
        let meta = ObjectMeta {
            key: key.clone(),
            size,
            content_type: Some(content_type.into()),
            last_modified: at,
        };
        let bytes = vec![0; usize::try_from(size).unwrap_or(0)];
        self.0
            .lock()
            .expect("objects")
            .insert(key.clone(), (meta, bytes));
    }
    /// Whether `key` exists.
    pub fn contains(&self, key: &ObjectKey) -> bool {
        self.0.lock().expect("objects").contains_key(key)
    }
}

#[async_trait]
impl ObjectStore for MemoryObjects {
    async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>, StoreError> {
        Ok(self
            .0
            .lock()
            .expect("objects")
            .get(key)
            .map(|(m, _)| m.clone()))
    }
    async fn put(
        &self,
        key: &ObjectKey,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> Result<(), StoreError> {
        let meta = ObjectMeta {
            key: key.clone(),
            size: bytes.len() as u64,
            content_type: Some(content_type.into()),
            last_modified: domain::truncate_to_millis(OffsetDateTime::now_utc()),
        };
        self.0
            .lock()
            .expect("objects")
            .insert(key.clone(), (meta, bytes));
        Ok(())
    }
    async fn get(&self, key: &ObjectKey) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .0
            .lock()
            .expect("objects")
            .get(key)
            .map(|(_, b)| b.clone()))
    }
    async fn delete(&self, key: &ObjectKey) -> Result<(), StoreError> {
        self.0.lock().expect("objects").remove(key);
        Ok(())
    }
    async fn list(
        &self,
        after: Option<ObjectKey>,
        limit: u32,
    ) -> Result<Vec<ObjectMeta>, StoreError> {
        let map = self.0.lock().expect("objects");
        let iter = map
            .values()
            .map(|(m, _)| m)
            .filter(|m| after.as_ref().is_none_or(|a| m.key > *a));
        Ok(iter.take(limit as usize).cloned().collect())
    }
    async fn presign_put(
        &self,
        key: &ObjectKey,
        _content_type: &str,
        _max_size: u64,
        _expires_at: OffsetDateTime,
    ) -> Result<UploadTarget, StoreError> {
        Ok(UploadTarget {
            url: format!("memory://{key}"),
            method: "PUT".into(),
            headers: vec![],
        })
    }
    async fn presign_get(
        &self,
        key: &ObjectKey,
        _expires_at: OffsetDateTime,
    ) -> Result<String, StoreError> {
        Ok(format!("memory://{key}"))
    }
}

/// Every service over one set of stores.
pub struct App {
    /// Registration.
    pub registration: Registration,
    /// Sign-in and sessions.
    pub auth: Authentication,
    /// Password reset and change.
    pub passwords: Passwords,
    /// Own account and administration.
    pub profiles: Profiles,
    /// Roles.
    pub rbac: Rbac,
    /// Content sessions.
    pub content: ContentSessions,
    /// Notifications.
    pub notifications: Notifications,
    /// Uploads.
    pub uploads: Uploads,
    /// Payments.
    pub payments: Payments,
    /// The clock, to move time.
    pub clock: Arc<ManualClock>,
    /// The mailer, to read tokens.
    pub mailer: Arc<RecordingMailer>,
    /// Delivers queued mail to the mailer.
    pub mail: MailDelivery,
    /// The object store.
    pub objects: Arc<MemoryObjects>,
    /// The stores themselves.
    pub stores: Stores,
}

impl App {
    /// Wires every service over `stores` and creates the built-in roles.
    pub async fn new(stores: Stores) -> Self {
        let clock = Arc::new(ManualClock::new());
        let mailer = Arc::new(RecordingMailer::default());
        let objects = Arc::new(MemoryObjects::default());
        let hasher =
            platform::Argon2Hasher::new(platform::Argon2Params::default()).expect("argon2 params");
        let system = System {
            clock: clock.clone(),
            ids: Arc::new(platform::UuidV7Ids),
            tokens: Arc::new(platform::OsRandomTokens),
            hasher: Arc::new(hasher),
            mailer: mailer.clone(),
            objects: objects.clone(),
            sealer: Arc::new(
                platform::Keyring::parse([platform::Keyring::new_entry("k1").as_str()])
                    .expect("a fresh keyring"),
            ),
            devices: Arc::new(domain::UnparsedDevices),
        };
        let policy = AccountPolicy::default();
        let mail = MailDelivery::new(
            stores.clone(),
            system.clone(),
            policy.clone(),
            MailPolicy::default(),
        );
        let rbac = Rbac::new(stores.clone(), system.clone());
        rbac.ensure_builtin_roles().await.expect("built-in roles");
        Self {
            registration: Registration::new(stores.clone(), system.clone(), policy.clone()),
            auth: Authentication::new(stores.clone(), system.clone(), policy.clone()),
            passwords: Passwords::new(stores.clone(), system.clone(), policy.clone()),
            profiles: Profiles::new(stores.clone(), system.clone(), policy),
            rbac,
            content: ContentSessions::new(stores.clone(), system.clone(), ContentLimits::default()),
            notifications: Notifications::new(stores.clone(), system.clone()),
            uploads: Uploads::new(stores.clone(), system.clone(), UploadPolicy::default()),
            payments: Payments::new(stores.clone(), system),
            clock,
            mailer,
            mail,
            objects,
            stores,
        }
    }

    /// Registers and verifies a user, returning it.
    pub async fn verified_user(&self, email: &str, username: &str, password: &str) -> User {
        self.registration
            .register(
                Email::parse(email).unwrap(),
                Username::parse(username).unwrap(),
                Password::new(password).unwrap(),
            )
            .await
            .expect("register");
        let token = self.last_token(email).await.expect("verification mail");
        self.registration.verify(&token).await.expect("verify")
    }

    /// Delivers everything queued, as the server's mail worker would.
    pub async fn deliver_mail(&self) {
        while self
            .mail
            .deliver_due()
            .await
            .expect("mail delivery")
            .claimed
            > 0
        {}
    }

    /// The token of the last mail to `to`, after delivering queued mail.
    pub async fn last_token(&self, to: &str) -> Option<Token> {
        self.deliver_mail().await;
        self.mailer.last_token(to)
    }

    /// How many mails were sent, after delivering queued mail.
    pub async fn mail_count(&self) -> usize {
        self.deliver_mail().await;
        self.mailer.count()
    }

    /// Signs in and authenticates the new session's token: the caller as
    /// the services check it, with the roles held now.
    pub async fn principal(&self, login: &str, password: &str) -> Principal {
        let issued = self.sign_in(login, password).await.expect("sign in");
        self.auth
            .authenticate(&issued.access_token)
            .await
            .expect("authenticate")
    }

    /// Makes `user` an administrator directly in the store (as the
    /// bootstrap administrator is) and returns them as a principal.
    pub async fn admin(&self, user: &User, password: &str) -> Principal {
        self.stores
            .roles
            .grant(user.id, &RoleName::admin(), OffsetDateTime::now_utc())
            .await
            .expect("grant admin");
        self.principal(user.username.as_str(), password).await
    }

    /// Signs in with a password (accounts without a second factor).
    pub async fn sign_in(&self, login: &str, password: &str) -> Result<IssuedSession, SignInError> {
        match self.sign_in_step(login, password).await? {
            SignedIn::Session(issued) => Ok(issued),
            SignedIn::MfaRequired(_) => panic!("{login} has a second factor: use sign_in_step"),
        }
    }

    /// The password step of a sign-in, whatever it leads to.
    pub async fn sign_in_step(&self, login: &str, password: &str) -> Result<SignedIn, SignInError> {
        self.auth
            .sign_in(SignInRequest {
                login: login.into(),
                password: Password::for_sign_in(password).unwrap(),
                user_agent: Some("journey".into()),
                ip: Some("127.0.0.1".into()),
            })
            .await
    }
}
