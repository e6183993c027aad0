//! The passkey service: registration, sign-in, list, rename, remove.

use std::sync::Arc;

use time::Duration;

use crate::accounts::guard::{PasswordGuard, Reask};
use crate::activity::{Happened, record};
use crate::*;

/// How long a ceremony may take between its options and its answer.
pub const PASSKEY_CHALLENGE_TTL: Duration = Duration::minutes(5);

/// How recent the sign-in of an account without a password must be to add
/// a passkey (an account with one gives its password).
pub const PASSKEY_REAUTH_WINDOW: Duration = Duration::minutes(5);

/// The most passkeys one user may register.
pub const MAX_PASSKEYS_PER_USER: usize = 20;

/// Why a passkey operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// The request presented an API key, which cannot manage the account.
    #[error(transparent)]
    NeedsSession(#[from] NeedsSession),
    /// The account has a password and none was given; or it has none and
    /// the session was not signed in within [`PASSKEY_REAUTH_WINDOW`].
    #[error("sign in again (or give the password) to add a passkey")]
    ReauthenticationRequired,
    /// The password is wrong.
    #[error("wrong password")]
    WrongPassword,
    /// Too many wrong guesses: try again after `until`.
    #[error("too many attempts")]
    LockedOut {
        /// When the lockout ends.
        until: time::OffsetDateTime,
    },
    /// The user has as many passkeys as allowed.
    #[error("at most {MAX_PASSKEYS_PER_USER} passkeys per account")]
    TooMany,
    /// The credential is registered already (to this or another account).
    #[error("this passkey is registered already")]
    Duplicate,
    /// The ceremony failed: an unknown, used or expired challenge, an
    /// unknown credential, a wrong origin, RP ID or signature, a counter
    /// that did not move forward (not told apart).
    #[error("the passkey could not be verified")]
    Invalid,
    /// The credential JSON is not a `PublicKeyCredential`.
    #[error("not a WebAuthn credential: {0}")]
    Malformed(String),
    /// The user has no such passkey.
    #[error("no such passkey")]
    NotFound,
    /// The caller lacks a permission (for another user's passkeys).
    #[error(transparent)]
    Forbidden(#[from] Denied),
    /// It is the user's last way to sign in (no password, no provider, no
    /// other passkey).
    #[error("the last way to sign in cannot be removed")]
    LastWay,
    /// Locked by an administrator.
    #[error("account locked")]
    Locked,
    /// Suspended by an administrator.
    #[error("account suspended")]
    Suspended(Suspension),
    /// The ceremony adapter failed.
    #[error("WebAuthn failure")]
    Ceremony(#[source] CeremonyError),
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[from] StoreError),
}

impl From<WriteError> for PasskeyError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::NotFound => Self::NotFound,
            WriteError::Store(e) => Self::Unexpected(e),
        }
    }
}

impl From<CeremonyError> for PasskeyError {
    fn from(e: CeremonyError) -> Self {
        match e {
            CeremonyError::Rejected(_) => Self::Invalid,
            CeremonyError::Malformed(why) => Self::Malformed(why),
            e @ CeremonyError::Internal(_) => Self::Ceremony(e),
        }
    }
}

/// A ceremony begun: the id to send back and the options for the browser.
#[derive(Debug, Clone)]
pub struct PasskeyCeremonyStarted {
    /// The challenge's id.
    pub challenge_id: PasskeyChallengeId,
    /// The options JSON (`{"publicKey": …}`).
    pub options: serde_json::Value,
}

/// A passkey sign-in attempt, as the client sent it.
#[derive(Debug, Clone)]
pub struct PasskeySignIn {
    /// The challenge [`Passkeys::begin_sign_in`] gave.
    pub challenge_id: PasskeyChallengeId,
    /// The `PublicKeyCredential` JSON of the assertion.
    pub credential: serde_json::Value,
    /// The client's IP address.
    pub ip: Option<String>,
    /// The client's User-Agent.
    pub user_agent: Option<String>,
}

/// Passkeys: registering, signing in, listing, renaming, removing.
#[derive(Clone)]
pub struct Passkeys {
    stores: Stores,
    system: System,
    policy: AccountPolicy,
    ceremony: Arc<dyn PasskeyCeremony>,
}

impl Passkeys {
    /// Builds the service over the relying party `ceremony` serves.
    pub fn new(
        stores: Stores,
        system: System,
        policy: AccountPolicy,
        ceremony: Arc<dyn PasskeyCeremony>,
    ) -> Self {
        Self {
            stores,
            system,
            policy,
            ceremony,
        }
    }

    /// Begins registering a passkey for the signed-in caller. An account
    /// with a password must give it (wrong guesses count toward the
    /// account's lockout); one without must have signed in within
    /// [`PASSKEY_REAUTH_WINDOW`]: a stolen session alone adds no way in.
    pub async fn begin_registration(
        &self,
        caller: &Principal,
        password: Option<&Password>,
        ip: Option<&str>,
    ) -> Result<PasskeyCeremonyStarted, PasskeyError> {
        let user = caller.account()?;
        PasswordGuard::new(&self.stores, &self.system, &self.policy)
            .reauthenticate(caller, password, ip, PASSKEY_REAUTH_WINDOW)
            .await
            .map_err(|e| match e {
                Reask::Required => PasskeyError::ReauthenticationRequired,
                Reask::WrongPassword => PasskeyError::WrongPassword,
                Reask::LockedOut { until } => PasskeyError::LockedOut { until },
                Reask::Store(e) => PasskeyError::Unexpected(e),
            })?;
        let existing = self.stores.passkeys.list_for_user(user.id).await?;
        if existing.len() >= MAX_PASSKEYS_PER_USER {
            return Err(PasskeyError::TooMany);
        }
        let exclude: Vec<CredentialId> = existing.into_iter().map(|p| p.credential_id).collect();
        let holder = PasskeyHolder {
            id: user.id,
            name: user.email.as_str().to_owned(),
            display_name: display_name(user).unwrap_or_else(|| user.username.as_str().to_owned()),
        };
        let start = self.ceremony.start_registration(&holder, &exclude)?;
        self.keep(Some(user.id), start).await
    }

    /// Finishes a registration the caller began: checks the authenticator's
    /// answer and stores the passkey.
    pub async fn finish_registration(
        &self,
        caller: &Principal,
        challenge_id: PasskeyChallengeId,
        name: Option<PasskeyName>,
        credential: &serde_json::Value,
    ) -> Result<Passkey, PasskeyError> {
        let user = caller.account()?;
        let now = self.system.now();
        let challenge = self
            .stores
            .passkey_challenges
            .take(challenge_id, now)
            .await?
            .filter(|c| c.user_id == Some(user.id))
            .ok_or(PasskeyError::Invalid)?;
        let new = self
            .ceremony
            .finish_registration(credential, &challenge.state)?;
        let count = self.stores.passkeys.list_for_user(user.id).await?.len();
        if count >= MAX_PASSKEYS_PER_USER {
            return Err(PasskeyError::TooMany);
        }
        let passkey = Passkey {
            id: PasskeyId::from_uuid(self.system.ids.new_id()),
            user_id: user.id,
            credential_id: new.credential_id,
            credential: new.credential,
            counter: new.counter,
            name: name
                .unwrap_or_else(|| PasskeyName::from_stored(format!("Passkey {}", count + 1))),
            created_at: now,
            last_used_at: None,
        };
        if !self.stores.passkeys.insert(&passkey).await? {
            return Err(PasskeyError::Duplicate);
        }
        self.record(ActivityKind::PasskeyAdded, caller, &passkey)
            .await?;
        Ok(passkey)
    }

    /// The caller's passkeys, oldest first.
    pub async fn mine(&self, caller: &Principal) -> Result<Vec<Passkey>, PasskeyError> {
        let user = caller.account()?;
        Ok(self.stores.passkeys.list_for_user(user.id).await?)
    }

    /// Renames one of the caller's passkeys.
    pub async fn rename(
        &self,
        caller: &Principal,
        id: PasskeyId,
        name: &PasskeyName,
    ) -> Result<Passkey, PasskeyError> {
        let user = caller.account()?;
        self.stores.passkeys.rename(user.id, id, name).await?;
        self.stores
            .passkeys
            .list_for_user(user.id)
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(PasskeyError::NotFound)
    }

    /// Removes one of the caller's passkeys, unless it is their last way
    /// to sign in (no password, no identity provider, no other passkey).
    pub async fn remove(&self, caller: &Principal, id: PasskeyId) -> Result<(), PasskeyError> {
        let user = caller.account()?;
        let keep_one = user.password_hash.is_none()
            && self
                .stores
                .identity_links
                .list_for_user(user.id)
                .await?
                .is_empty();
        let passkey = self
            .stores
            .passkeys
            .list_for_user(user.id)
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(PasskeyError::NotFound)?;
        match self.stores.passkeys.delete(user.id, id, keep_one).await? {
            PasskeyRemoved::Removed => {}
            PasskeyRemoved::NotFound => return Err(PasskeyError::NotFound),
            PasskeyRemoved::LastOne => return Err(PasskeyError::LastWay),
        }
        self.record(ActivityKind::PasskeyRemoved, caller, &passkey)
            .await?;
        Ok(())
    }

    /// A user's passkeys, oldest first (`users:read`): what an
    /// administrator sees.
    pub async fn of_user(
        &self,
        caller: &Principal,
        user: UserId,
    ) -> Result<Vec<Passkey>, PasskeyError> {
        caller.require(&Permission::USERS_READ)?;
        Ok(self.stores.passkeys.list_for_user(user).await?)
    }

    /// Removes another user's passkey (`users:write`, and every permission
    /// the user's roles hold): a lost or stolen device. Unlike the user's
    /// own removal it may take the last way to sign in; the user then
    /// signs in by email or resets the password.
    pub async fn remove_of_user(
        &self,
        caller: &Principal,
        user: UserId,
        id: PasskeyId,
    ) -> Result<(), PasskeyError> {
        caller.require(&Permission::USERS_WRITE)?;
        let roles = self.stores.roles.roles_of(user).await?;
        caller.may_act_on(&roles)?;
        let passkey = self
            .stores
            .passkeys
            .list_for_user(user)
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(PasskeyError::NotFound)?;
        match self.stores.passkeys.delete(user, id, false).await? {
            PasskeyRemoved::Removed => {}
            PasskeyRemoved::NotFound | PasskeyRemoved::LastOne => {
                return Err(PasskeyError::NotFound);
            }
        }
        self.record(ActivityKind::PasskeyRemoved, caller, &passkey)
            .await
            .map_err(PasskeyError::from)
    }

    /// Begins a sign-in with any discoverable passkey. The answer is the
    /// same for everyone: it names no account.
    pub async fn begin_sign_in(&self) -> Result<PasskeyCeremonyStarted, PasskeyError> {
        let start = self.ceremony.start_sign_in()?;
        self.keep(None, start).await
    }

    /// Finishes a sign-in: the challenge is spent whatever the outcome; a
    /// verified assertion whose counter moved forward signs in. With user
    /// verification it is a complete sign-in, TOTP or not (the passkey is
    /// the possession factor and the PIN or biometric the second); without
    /// it, an account with TOTP is asked for the code.
    pub async fn sign_in(
        &self,
        auth: &Authentication,
        attempt: PasskeySignIn,
    ) -> Result<SignedIn, PasskeyError> {
        let now = self.system.now();
        let challenge = self
            .stores
            .passkey_challenges
            .take(attempt.challenge_id, now)
            .await?
            .filter(|c| c.user_id.is_none())
            .ok_or(PasskeyError::Invalid)?;
        let (handle, credential_id) = self.ceremony.identify(&attempt.credential)?;
        let passkey = self
            .stores
            .passkeys
            .find_by_credential(&credential_id)
            .await?
            .filter(|p| p.user_id == handle)
            .ok_or(PasskeyError::Invalid)?;
        let origin = RequestOrigin {
            ip: attempt.ip.clone(),
            device: Some(self.system.device(attempt.user_agent.as_deref())),
        };
        let failed = |reason: &'static str| {
            Happened::new(
                ActivityKind::SignInFailed,
                passkey.user_id,
                Actor::User(passkey.user_id),
                &origin,
            )
            .with("reason", reason)
            .with("method", SignInMethod::Passkey.as_str())
        };
        let assertion = match self.ceremony.finish_sign_in(
            &attempt.credential,
            &challenge.state,
            &passkey.credential,
        ) {
            Ok(assertion) => assertion,
            Err(e) => {
                record(&self.stores, &self.system, failed("passkey")).await?;
                return Err(e.into());
            }
        };
        // The compare-and-set on the counter: of two sign-ins carrying the
        // same counter (a clone, or a replay racing the original), one wins.
        if !self
            .stores
            .passkeys
            .record_use(passkey.id, assertion.counter, &assertion.credential, now)
            .await?
        {
            record(&self.stores, &self.system, failed("passkey")).await?;
            return Err(PasskeyError::Invalid);
        }
        let user = self
            .stores
            .users
            .get(passkey.user_id)
            .await?
            .ok_or(PasskeyError::Invalid)?;
        if user.locked {
            record(&self.stores, &self.system, failed("locked")).await?;
            return Err(PasskeyError::Locked);
        }
        if let Some(suspension) = user.suspended_at(now) {
            record(&self.stores, &self.system, failed("suspended")).await?;
            return Err(PasskeyError::Suspended(suspension.clone()));
        }
        // The device is one factor; its verification of the user (PIN,
        // biometrics) the second.
        auth.second_step_or_session(
            &user,
            origin.device,
            attempt.ip,
            now,
            SignInMethod::Passkey,
            assertion.user_verified,
        )
        .await
        .map_err(|e| match e {
            SignInError::Unexpected(e) => e.into(),
            _ => PasskeyError::Invalid,
        })
    }

    async fn keep(
        &self,
        user_id: Option<UserId>,
        start: CeremonyStart,
    ) -> Result<PasskeyCeremonyStarted, PasskeyError> {
        let challenge = PasskeyChallenge {
            id: PasskeyChallengeId::from_uuid(self.system.ids.new_id()),
            user_id,
            state: start.state,
            expires_at: self.system.now() + PASSKEY_CHALLENGE_TTL,
        };
        self.stores.passkey_challenges.insert(&challenge).await?;
        Ok(PasskeyCeremonyStarted {
            challenge_id: challenge.id,
            options: start.options,
        })
    }

    async fn record(
        &self,
        kind: ActivityKind,
        caller: &Principal,
        passkey: &Passkey,
    ) -> Result<(), StoreError> {
        let origin = RequestOrigin::of_session(caller);
        // The user's own change, or an administrator's on their account.
        let happened = Happened::by_admin(kind, passkey.user_id, caller, &origin)
            .with("passkey_id", passkey.id.to_string())
            .with("name", passkey.name.as_str());
        record(&self.stores, &self.system, happened).await
    }
}

/// The profile's name, when it has one.
fn display_name(user: &User) -> Option<String> {
    user.profile
        .full_name
        .clone()
        .filter(|name| !name.trim().is_empty())
}
