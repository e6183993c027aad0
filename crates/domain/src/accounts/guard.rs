//! Password guessing limits: every check of a password (sign-in, the
//! current password of a change, the password of an account deletion or of
//! a second-factor change) goes through [`PasswordGuard::check`], and every
//! check of a second-factor code through [`PasswordGuard::check_code`]; each
//! reserves the attempt before anything is verified.
//!
//! The policy:
//! - Per account and client IP: at most `security.lockout_attempts` (5)
//!   attempts in a window of `security.lockout_minutes` (15), both runtime
//!   settings (a changed window starts its counts afresh). The attempt that uses the
//!   last one and fails answers "locked out"; later ones are refused without
//!   verifying anything until the window ends. Another IP is not affected, so
//!   one address cannot lock the owner out.
//! - Per account over every IP: at most `account_lockout_threshold` (50)
//!   attempts in the same window, against guessing from many addresses.
//! - Wrong passwords and wrong codes count together.
//! - The counts are reserved atomically before hashing: N parallel guesses
//!   get N distinct counts, so at most the threshold are ever verified.
//! - While the hasher is saturated, a check is refused as busy before
//!   anything else is done for it (no look-up, no reservation), so shedding
//!   costs little. An attempt whose verification failed (the hasher shed it
//!   as busy, a store failed, a sealed secret would not open) verified
//!   nothing, so it gives both reservations back: an outage or an operator's
//!   mistake never locks anyone out.
//! - A right password is not a guess: it gives its own reservations back,
//!   but it clears nothing. It is the first of two factors or a confirmation
//!   inside a signed-in session, and clearing there would hand a guesser of
//!   codes (or a thief of the session who knows the password) a fresh set of
//!   tries with every right password. The counts end with a complete sign-in
//!   ([`PasswordGuard::clear`]), a right code, or a security change.
//! - The counters are keyed by the account's `security_changed_at`, which
//!   only a new password or an administrator's unlock moves: those start the
//!   counts afresh, and nothing else does (a profile edit does not).
//! - Unknown logins are counted the same way under the login's hash, so an
//!   unknown login locks out exactly like a known one and costs the same
//!   (dummy) hash: the answers do not tell whether an account exists.
//!
//! Windows are fixed and aligned, so across a window boundary up to twice
//! the threshold can be tried within one window's length.

use time::OffsetDateTime;

use crate::{AccountPolicy, Stores, System};
use crate::{Password, StoreError, User, Window};

/// Whose password is being guessed.
pub(crate) enum Subject<'a> {
    /// A known account.
    User(&'a User),
    /// A login that names no account (or one without a password).
    Unknown(&'a str),
    /// An address registered but not verified yet: counted as the unknown
    /// login it still is, checked against the password it registered with.
    Candidate(&'a str, &'a crate::PasswordHash),
}

/// What a guarded check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guess {
    /// The password or code is right (a right code also cleared the counts).
    Right,
    /// The password is wrong (or the subject unknown), attempts remain.
    Wrong,
    /// No attempts remain until `until`: refused, or this failure used the last.
    LockedOut {
        /// When the window ends.
        until: OffsetDateTime,
    },
}

/// Why [`PasswordGuard::reauthenticate`] refused.
#[derive(Debug)]
pub(crate) enum Reask {
    /// No password was given, or the sign-in is not recent enough.
    Required,
    /// The password is wrong.
    WrongPassword,
    /// Too many wrong guesses until `until`.
    LockedOut {
        /// When the lockout ends.
        until: OffsetDateTime,
    },
    /// Infrastructure failure.
    Store(StoreError),
}

impl From<StoreError> for Reask {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

/// Checks passwords under the guessing limits.
pub(crate) struct PasswordGuard<'a> {
    stores: &'a Stores,
    system: &'a System,
    policy: &'a AccountPolicy,
}

impl<'a> PasswordGuard<'a> {
    /// The guard over `stores` under `policy`.
    pub(crate) fn new(stores: &'a Stores, system: &'a System, policy: &'a AccountPolicy) -> Self {
        Self {
            stores,
            system,
            policy,
        }
    }

    /// Re-asks before a sensitive change (a new way into the account): the
    /// account's password, checked under the guessing limits, or for an
    /// account without one, a session signed in within `window`. A stolen
    /// access token alone passes neither.
    pub(crate) async fn reauthenticate(
        &self,
        principal: &crate::Principal,
        password: Option<&Password>,
        ip: Option<&str>,
        window: time::Duration,
    ) -> Result<(), Reask> {
        let user = principal.user();
        match (&user.password_hash, password) {
            (Some(_), Some(password)) => match self.check(Subject::User(user), ip, password).await?
            {
                Guess::Right => Ok(()),
                Guess::Wrong => Err(Reask::WrongPassword),
                Guess::LockedOut { until } => Err(Reask::LockedOut { until }),
            },
            (Some(_), None) => Err(Reask::Required),
            (None, _) => {
                let signed_in_for = self.system.now() - principal.session().created_at;
                if signed_in_for > window {
                    Err(Reask::Required)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Refuses a check at once, before any store is asked, while the hasher
    /// is saturated ([`crate::PasswordHasher::saturated`]): the error is
    /// [`StoreError::busy`], as the hasher itself would answer.
    pub(crate) fn admit(&self) -> Result<(), StoreError> {
        if self.system.hasher.saturated() {
            return Err(StoreError::busy("password hashing is saturated"));
        }
        Ok(())
    }

    /// Reserves one attempt for `subject` from `ip`, then verifies
    /// `password`. A right password clears nothing (see the module's rules).
    pub(crate) async fn check(
        &self,
        subject: Subject<'_>,
        ip: Option<&str>,
        password: &Password,
    ) -> Result<Guess, StoreError> {
        self.admit()?;
        let hasher = &self.system.hasher;
        let verify = async {
            match &subject {
                Subject::User(User {
                    password_hash: Some(hash),
                    ..
                }) => hasher.verify(password, hash).await,
                Subject::Candidate(_, hash) => hasher.verify(password, hash).await,
                Subject::User(_) | Subject::Unknown(_) => {
                    hasher.verify_dummy(password).await.map(|()| false)
                }
            }
        };
        self.guarded(&subject, ip, verify, false).await
    }

    /// Reserves one attempt for `user` from `ip`, then runs `verify` (a
    /// second-factor code check): wrong codes count toward the same lockout
    /// as wrong passwords, and a locked-out account is not asked for a code.
    pub(crate) async fn check_code(
        &self,
        user: &User,
        ip: Option<&str>,
        verify: impl std::future::Future<Output = Result<bool, StoreError>>,
    ) -> Result<Guess, StoreError> {
        self.guarded(&Subject::User(user), ip, verify, true).await
    }

    /// The counters of `subject`: per account, and per account and IP.
    fn keys(subject: &Subject<'_>, ip: Option<&str>) -> (String, String) {
        let account_key = match subject {
            Subject::User(user) => format!(
                "guess:u:{}:{}",
                user.id,
                user.security_changed_at.unix_timestamp_nanos() / 1000
            ),
            Subject::Unknown(login) | Subject::Candidate(login, _) => {
                use sha2::Digest as _;
                let digest = sha2::Sha256::digest(login.trim().to_lowercase().as_bytes());
                let short: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
                format!("guess:l:{short}")
            }
        };
        let ip_key = format!("{account_key}:{}", ip.unwrap_or("-"));
        (account_key, ip_key)
    }

    /// Clears both counts of `user` from `ip`: a sign-in is complete.
    pub(crate) async fn clear(&self, user: &User, ip: Option<&str>) -> Result<(), StoreError> {
        let (account_key, ip_key) = Self::keys(&Subject::User(user), ip);
        self.stores.rate_limiter.forget(&ip_key).await?;
        self.stores.rate_limiter.forget(&account_key).await
    }

    /// The reservation, lockout and bookkeeping around one `verify`, which
    /// runs only if attempts remain.
    async fn guarded(
        &self,
        subject: &Subject<'_>,
        ip: Option<&str>,
        verify: impl std::future::Future<Output = Result<bool, StoreError>>,
        clear_when_right: bool,
    ) -> Result<Guess, StoreError> {
        let now = self.system.now();
        let (account_key, ip_key) = Self::keys(subject, ip);
        let settings = self.policy.settings.current();
        let window = Window::Seconds(
            u32::try_from(settings.lockout_window.whole_seconds().max(1)).unwrap_or(u32::MAX),
        );
        let limiter = &self.stores.rate_limiter;
        let per_ip = limiter.hit(&ip_key, window, now).await?;
        let per_account = limiter.hit(&account_key, window, now).await?;
        let ip_limit = u64::from(settings.lockout_attempts.max(1));
        let account_limit = u64::from(self.policy.account_lockout_threshold.max(1));
        let until = |count: &crate::WindowCount| count.resets_at.unwrap_or(now);
        if per_ip.count > ip_limit {
            return Ok(Guess::LockedOut {
                until: until(&per_ip),
            });
        }
        if per_account.count > account_limit {
            return Ok(Guess::LockedOut {
                until: until(&per_account),
            });
        }
        let right = match verify.await {
            Ok(right) => right,
            Err(e) => {
                // Nothing was verified (shed as busy, a store failed, a
                // secret would not open): the attempt is not a guess, so it
                // gives its reservations back.
                limiter.give_back(&ip_key, window, now).await?;
                limiter.give_back(&account_key, window, now).await?;
                return Err(e);
            }
        };
        if right {
            if clear_when_right {
                limiter.forget(&ip_key).await?;
                limiter.forget(&account_key).await?;
            } else {
                // Not a guess, but no proof of the whole sign-in either: it
                // gives back its own reservations and clears nobody else's.
                limiter.give_back(&ip_key, window, now).await?;
                limiter.give_back(&account_key, window, now).await?;
            }
            return Ok(Guess::Right);
        }
        if let Subject::User(user) = subject {
            match self.stores.users.increment_failed_logins(user.id).await {
                Ok(_) => {
                    self.stores.announce(crate::AuthChange::User(user.id)).await;
                }
                Err(crate::WriteError::NotFound) => {}
                Err(crate::WriteError::Store(e)) => return Err(e),
            }
        }
        if per_ip.count == ip_limit {
            Ok(Guess::LockedOut {
                until: until(&per_ip),
            })
        } else if per_account.count == account_limit {
            Ok(Guess::LockedOut {
                until: until(&per_account),
            })
        } else {
            Ok(Guess::Wrong)
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;
    use crate::test_support::*;

    fn guard_check(h: &Harness, user: &User, ip: &str, password: &str) -> Guess {
        let policy = AccountPolicy::default();
        let guard = PasswordGuard::new(&h.stores, &h.system, &policy);
        block_on(guard.check(
            Subject::User(user),
            Some(ip),
            &Password::for_sign_in(password).unwrap(),
        ))
        .unwrap()
    }

    fn harness() -> Harness {
        let mut h = Harness::new();
        let mut users = crate::MockUserRepository::new();
        users.expect_increment_failed_logins().returning(|_| Ok(1));
        h.stores.users = std::sync::Arc::new(users);
        h
    }

    /// An edit of the profile (which moves `updated_at`) must not give a
    /// guesser a fresh set of tries: only a security change does.
    #[test]
    fn a_profile_edit_does_not_reset_the_lockout() {
        let h = harness();
        let mut user = sample_user(1);
        let mut answers = Vec::new();
        for round in 0..3 {
            // A profile edit between rounds.
            user.updated_at = T0 + time::Duration::seconds(round);
            for _ in 0..5 {
                answers.push(guard_check(&h, &user, "10.0.0.1", "wrong password"));
            }
        }
        let locked = answers
            .iter()
            .filter(|g| matches!(g, Guess::LockedOut { .. }))
            .count();
        assert_eq!(locked, 11, "{answers:?}");
    }

    /// A check whose verification failed (a secret sealed under a key the
    /// keyring lacks, a store outage) verified nothing: it is not a guess.
    #[test]
    fn a_failed_verification_is_not_counted() {
        let h = harness();
        let user = sample_user(1);
        let policy = AccountPolicy::default();
        let guard = PasswordGuard::new(&h.stores, &h.system, &policy);
        for _ in 0..20 {
            let failed = block_on(guard.check_code(&user, Some("10.0.0.1"), async {
                Err(StoreError::msg(
                    "sealed under key k2, which the keyring does not hold",
                ))
            }));
            assert!(failed.is_err());
        }
        assert_eq!(
            guard_check(&h, &user, "10.0.0.1", "wrong password"),
            Guess::Wrong
        );
    }

    /// A new password (or an administrator's unlock) starts afresh.
    #[test]
    fn a_security_change_starts_the_counts_afresh() {
        let h = harness();
        let mut user = sample_user(1);
        for _ in 0..5 {
            guard_check(&h, &user, "10.0.0.1", "wrong password");
        }
        assert!(matches!(
            guard_check(&h, &user, "10.0.0.1", "wrong password"),
            Guess::LockedOut { .. }
        ));
        user.security_changed_at = T0 + time::Duration::seconds(1);
        assert_eq!(
            guard_check(&h, &user, "10.0.0.1", "wrong password"),
            Guess::Wrong
        );
    }
}
