//! Password reset by mailed single-use token, and password change.

use crate::{AccountPolicy, Stores, System};
use crate::{
    AuthSessionId, Email, Mail, OneTimeToken, Outgoing, Password, StoreError, Token, TokenPurpose,
    UserId,
};

/// Why a reset could not be confirmed.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmResetError {
    /// Unknown, used or expired token.
    #[error("invalid or expired token")]
    InvalidToken,
    /// The new password is shorter than `password.min_length` (the token
    /// is not spent).
    #[error(transparent)]
    WeakPassword(#[from] crate::PasswordError),
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why a password could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    /// The request presented an API key, which cannot manage the account.
    #[error(transparent)]
    NeedsSession(#[from] crate::NeedsSession),
    /// The current password given was wrong.
    #[error("current password is wrong")]
    WrongPassword,
    /// Too many wrong passwords: no more checks until `until`.
    #[error("too many wrong passwords")]
    LockedOut {
        /// When the password may be tried again.
        until: time::OffsetDateTime,
    },
    /// The user no longer exists.
    #[error("user not found")]
    NotFound,
    /// The new password is shorter than `password.min_length`.
    #[error(transparent)]
    WeakPassword(#[from] crate::PasswordError),
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Password reset and change.
#[derive(Clone)]
pub struct Passwords {
    stores: Stores,
    system: System,
    policy: AccountPolicy,
}

impl Passwords {
    /// Builds the service.
    pub fn new(stores: Stores, system: System, policy: AccountPolicy) -> Self {
        Self {
            stores,
            system,
            policy,
        }
    }

    /// Asks for a reset token to be mailed to `email` if it has an account.
    /// The request only queues it (the same writes whether the account
    /// exists or not); the mail worker looks the account up, issues the
    /// token and mails it. A new token invalidates the user's earlier ones.
    /// Past `mails_per_address_per_hour` for the address, nothing is queued.
    pub async fn request_reset(&self, email: &Email) -> Result<(), StoreError> {
        if !crate::mail::delivery::within_address_limit(
            &self.stores,
            &self.system,
            &self.policy,
            "reset",
            email,
        )
        .await?
        {
            return Ok(());
        }
        crate::mail::delivery::queue(
            &self.stores,
            &self.system,
            Outgoing::ResetRequest { to: email.clone() },
            self.policy.reset_ttl,
        )
        .await
    }

    /// Issues a reset token for the account of `email` (voiding the earlier
    /// ones) and returns the mail that carries it; `None` without an account.
    pub(crate) async fn issue_reset(&self, email: &Email) -> Result<Option<Mail>, StoreError> {
        let Some(user) = self.stores.users.find_by_email(email).await? else {
            return Ok(None);
        };
        let now = self.system.now();
        let tokens = &self.stores.one_time_tokens;
        tokens
            .delete_for_user(user.id, Some(TokenPurpose::PasswordReset))
            .await?;
        let token = self.system.tokens.generate();
        tokens
            .insert(&OneTimeToken {
                token_hash: token.hash(),
                purpose: TokenPurpose::PasswordReset,
                user_id: user.id,
                created_at: now,
                expires_at: now + self.policy.reset_ttl,
            })
            .await?;
        Ok(Some(Mail::PasswordReset {
            to: user.email,
            token,
        }))
    }

    /// Sets a new password with a reset token, clears any lockout and revokes every session.
    pub async fn confirm_reset(
        &self,
        token: &Token,
        new_password: &Password,
    ) -> Result<(), ConfirmResetError> {
        new_password.check_length(self.policy.settings.current().password_min_length)?;
        let now = self.system.now();
        let record = self
            .stores
            .one_time_tokens
            .consume(&token.hash(), TokenPurpose::PasswordReset, now)
            .await
            .map_err(ConfirmResetError::Unexpected)?
            .ok_or(ConfirmResetError::InvalidToken)?;
        let found = self
            .set_password(record.user_id, new_password, None)
            .await
            .map_err(ConfirmResetError::Unexpected)?;
        if !found {
            return Err(ConfirmResetError::InvalidToken);
        }
        self.stores
            .users
            .record_sign_in(record.user_id, now)
            .await
            .map_err(|e| match e {
                crate::WriteError::NotFound => ConfirmResetError::InvalidToken,
                crate::WriteError::Store(e) => ConfirmResetError::Unexpected(e),
            })?;
        self.stores
            .announce(crate::AuthChange::User(record.user_id))
            .await;
        self.record(
            crate::ActivityKind::PasswordReset,
            record.user_id,
            &crate::activity::NO_ORIGIN,
        )
        .await
        .map_err(ConfirmResetError::Unexpected)
    }

    /// Writes the event of a password change by the user.
    async fn record(
        &self,
        kind: crate::ActivityKind,
        user_id: UserId,
        origin: &crate::RequestOrigin,
    ) -> Result<(), StoreError> {
        let happened =
            crate::activity::Happened::new(kind, user_id, crate::Actor::User(user_id), origin);
        crate::activity::record(&self.stores, &self.system, happened).await
    }

    /// Changes the password after checking the current one; revokes every other
    /// session of the user (`keep` stays signed in).
    pub async fn change_password(
        &self,
        caller: &crate::Principal,
        current: &Password,
        new_password: &Password,
        keep: Option<AuthSessionId>,
        ip: Option<&str>,
    ) -> Result<(), ChangePasswordError> {
        let user_id = caller.account()?.id;
        new_password.check_length(self.policy.settings.current().password_min_length)?;
        let user = self
            .stores
            .users
            .get(user_id)
            .await
            .map_err(ChangePasswordError::Unexpected)?
            .ok_or(ChangePasswordError::NotFound)?;
        let guard =
            crate::accounts::guard::PasswordGuard::new(&self.stores, &self.system, &self.policy);
        match guard
            .check(crate::accounts::guard::Subject::User(&user), ip, current)
            .await
            .map_err(ChangePasswordError::Unexpected)?
        {
            crate::accounts::guard::Guess::Right => {}
            crate::accounts::guard::Guess::Wrong => return Err(ChangePasswordError::WrongPassword),
            crate::accounts::guard::Guess::LockedOut { until } => {
                return Err(ChangePasswordError::LockedOut { until });
            }
        }
        match self.set_password(user_id, new_password, keep).await {
            Ok(true) => {}
            Ok(false) => return Err(ChangePasswordError::NotFound),
            Err(e) => return Err(ChangePasswordError::Unexpected(e)),
        }
        let origin = crate::RequestOrigin {
            ip: ip.map(str::to_owned),
            device: None,
        };
        self.record(crate::ActivityKind::PasswordChanged, user_id, &origin)
            .await
            .map_err(ChangePasswordError::Unexpected)
    }

    /// Stores a new hash and revokes every session but `keep`. `Ok(false)` if the user is gone.
    async fn set_password(
        &self,
        user_id: UserId,
        new_password: &Password,
        keep: Option<AuthSessionId>,
    ) -> Result<bool, StoreError> {
        let now = self.system.now();
        let hash = self.system.hasher.hash(new_password).await?;
        let changes = crate::UserChanges {
            password_hash: Some(Some(hash)),
            updated_at: Some(now),
            // The guessing counters start afresh under the new password.
            security_changed_at: Some(now),
            ..crate::UserChanges::default()
        };
        match self.stores.users.update_fields(user_id, &changes).await {
            Ok(_) => self.stores.announce(crate::AuthChange::User(user_id)).await,
            Err(crate::WriteError::NotFound) => return Ok(false),
            Err(crate::WriteError::Store(e)) => return Err(e),
        }
        // Reset links mailed before the change must not undo it, nor a
        // provider-link flow started before it complete.
        self.stores
            .one_time_tokens
            .delete_for_user(user_id, Some(crate::TokenPurpose::PasswordReset))
            .await?;
        crate::sessions::service::cancel_link_flows(&self.stores, user_id).await?;
        let sessions = &self.stores.sessions;
        for session in sessions
            .list_active(user_id, now)
            .await?
            .into_iter()
            .filter(|s| Some(s.id) != keep)
        {
            match sessions.revoke(user_id, session.id, now).await {
                Ok(()) => {
                    self.stores
                        .announce(crate::AuthChange::Session(session.id))
                        .await;
                }
                Err(crate::WriteError::NotFound) => {}
                Err(crate::WriteError::Store(e)) => return Err(e),
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::test_support::*;
    use crate::{MockOneTimeTokenRepository, MockSessionRepository, MockUserRepository};
    use futures::executor::block_on;

    #[test]
    fn a_reset_request_only_queues_whatever_the_address() {
        // The users, tokens and mailer mocks have no expectations: the
        // request does not look the account up, so it cannot tell whether
        // there is one, in its answer or its timing.
        let mut h = Harness::new();
        let queue = Arc::new(MemoryStore::new());
        h.stores.mail_queue = queue.clone();
        let svc = Passwords::new(h.stores, h.system, AccountPolicy::default());
        let to = Email::parse("nobody@example.org").unwrap();
        block_on(svc.request_reset(&to)).unwrap();
        let queued = queue.queued_mail();
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].0.body, Outgoing::ResetRequest { to });
        assert_eq!(queued[0].0.expires_at, T0 + time::Duration::hours(1));
    }

    #[test]
    fn one_address_gets_at_most_three_reset_mails_an_hour() {
        let mut h = Harness::new();
        let queue = Arc::new(MemoryStore::new());
        h.stores.mail_queue = queue.clone();
        let svc = Passwords::new(h.stores, h.system, AccountPolicy::default());
        let to = Email::parse("ann@example.org").unwrap();
        for _ in 0..8 {
            block_on(svc.request_reset(&to)).unwrap();
        }
        assert_eq!(queue.queued_mail().len(), 3);
        // Another address has its own count.
        block_on(svc.request_reset(&Email::parse("bob@example.org").unwrap())).unwrap();
        assert_eq!(queue.queued_mail().len(), 4);
    }

    #[test]
    fn confirm_with_unknown_token_is_invalid() {
        let mut h = Harness::new();
        let mut tokens = MockOneTimeTokenRepository::new();
        tokens.expect_consume().returning(|_, _, _| Ok(None));
        h.stores.one_time_tokens = Arc::new(tokens);
        let svc = Passwords::new(h.stores, h.system, AccountPolicy::default());
        let err =
            block_on(svc.confirm_reset(&fixed_token(), &Password::new("new password!").unwrap()))
                .unwrap_err();
        assert!(matches!(err, ConfirmResetError::InvalidToken));
    }

    #[test]
    fn confirm_sets_the_hash_and_revokes_every_session() {
        let mut h = Harness::new();
        let mut tokens = MockOneTimeTokenRepository::new();
        tokens.expect_consume().returning(|hash, purpose, _| {
            Ok(Some(OneTimeToken {
                token_hash: hash.clone(),
                purpose,
                user_id: sample_user(1).id,
                created_at: T0,
                expires_at: T0 + time::Duration::hours(1),
            }))
        });
        let mut users = MockUserRepository::new();
        users.expect_get().returning(|_| Ok(Some(sample_user(1))));
        users
            .expect_update_fields()
            .withf(|_, c| {
                matches!(&c.password_hash, Some(Some(h)) if h.as_str() == "hashed:new password!")
                    && c.locked.is_none()
                    && c.bio.is_none()
            })
            .times(1)
            .returning(|_, _| Ok(crate::FieldsUpdate::Written));
        users
            .expect_record_sign_in()
            .times(1)
            .returning(|_, _| Ok(()));
        let mut sessions = MockSessionRepository::new();
        sessions.expect_list_active().returning(|_, _| {
            let s = |n| crate::AuthSession {
                id: AuthSessionId::from_uuid(uuid::Uuid::from_u128(n)),
                user_id: sample_user(1).id,
                token_hash: fixed_token().hash(),
                device: None,
                ip: None,
                created_at: T0,
                last_accessed_at: T0,
                expires_at: T0,
                refresh_expires_at: T0,
                revoked_at: None,
            };
            Ok(vec![s(1), s(2)])
        });
        sessions
            .expect_revoke()
            .times(2)
            .returning(|_, _, _| Ok(()));
        // Every other reset token of the user goes with the change.
        tokens
            .expect_delete_for_user()
            .withf(|_, purpose| *purpose == Some(TokenPurpose::PasswordReset))
            .times(1)
            .returning(|_, _| Ok(2));
        h.stores.one_time_tokens = Arc::new(tokens);
        h.stores.users = Arc::new(users);
        h.stores.sessions = Arc::new(sessions);
        let svc = Passwords::new(h.stores, h.system, AccountPolicy::default());
        block_on(svc.confirm_reset(&fixed_token(), &Password::new("new password!").unwrap()))
            .unwrap();
    }

    #[test]
    fn change_with_wrong_current_password_is_refused() {
        let mut h = Harness::new();
        let mut users = MockUserRepository::new();
        users.expect_get().returning(|_| Ok(Some(sample_user(1))));
        users.expect_update_fields().never();
        users.expect_increment_failed_logins().returning(|_| Ok(1));
        h.stores.users = Arc::new(users);
        let svc = Passwords::new(h.stores, h.system, AccountPolicy::default());
        let err = block_on(svc.change_password(
            &crate::kernel::principal::testing::signed_in(&sample_user(1)),
            &Password::for_sign_in("not it").unwrap(),
            &Password::new("new password!").unwrap(),
            None,
            Some("192.0.2.1"),
        ))
        .unwrap_err();
        assert!(matches!(err, ChangePasswordError::WrongPassword));
    }
}
