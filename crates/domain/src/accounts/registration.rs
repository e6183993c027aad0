//! Registration through a pending candidate and email verification
//! (`user_candidate:{email}`), plus the account policy shared by the account services.

use crate::{AccountPolicy, Stores, System};
use crate::{
    Email, GrantWriteError, InsertUserError, Mail, Outgoing, Password, RegistrationCandidate,
    StoreError, Token, User, UserId, Username,
};

/// Why a registration was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    /// An existing user has this username (usernames are public, so this is said).
    #[error("username is taken")]
    UsernameTaken,
    /// New accounts cannot be created now (`registration.open` is off).
    #[error("registration is closed")]
    Closed,
    /// The password is shorter than `password.min_length`.
    #[error(transparent)]
    WeakPassword(#[from] crate::PasswordError),
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why a verification failed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// Unknown, used or expired token.
    #[error("invalid or expired token")]
    InvalidToken,
    /// Someone else verified this email first.
    #[error("email is taken")]
    EmailTaken,
    /// Someone else took the username while this registration was pending.
    #[error("username is taken")]
    UsernameTaken,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Registration and verification.
#[derive(Clone)]
pub struct Registration {
    stores: Stores,
    system: System,
    policy: AccountPolicy,
}

impl Registration {
    /// Builds the service.
    pub fn new(stores: Stores, system: System, policy: AccountPolicy) -> Self {
        Self {
            stores,
            system,
            policy,
        }
    }

    /// Starts a registration: stores a candidate and mails a verification token.
    /// When the email already has an account nothing is stored or sent, and the
    /// answer is the same `Ok(())`, so the endpoint does not reveal accounts.
    pub async fn register(
        &self,
        email: Email,
        username: Username,
        password: Password,
    ) -> Result<(), RegisterError> {
        self.register_from(email, username, password, None, None)
            .await
    }

    /// [`register`](Self::register) for a request from `ip` with
    /// `user_agent`: the account's [`UserOrigin`](crate::UserOrigin) keeps both.
    pub async fn register_from(
        &self,
        email: Email,
        username: Username,
        password: Password,
        ip: Option<&str>,
        user_agent: Option<&str>,
    ) -> Result<(), RegisterError> {
        let settings = self.policy.settings.current();
        if !settings.registration_open {
            return Err(RegisterError::Closed);
        }
        password.check_length(settings.password_min_length)?;
        let users = &self.stores.users;
        if users
            .find_by_username(&username)
            .await
            .map_err(RegisterError::Unexpected)?
            .is_some()
        {
            return Err(RegisterError::UsernameTaken);
        }
        // Hash either way so both paths cost the same.
        let password_hash = self
            .system
            .hasher
            .hash(&password)
            .await
            .map_err(RegisterError::Unexpected)?;
        // Counted whether or not the address has an account, so neither
        // the answer nor the work tells them apart.
        let within = crate::mail::delivery::within_address_limit(
            &self.stores,
            &self.system,
            &self.policy,
            "verification",
            &email,
        )
        .await
        .map_err(RegisterError::Unexpected)?;
        if !within
            || users
                .find_by_email(&email)
                .await
                .map_err(RegisterError::Unexpected)?
                .is_some()
        {
            return Ok(());
        }
        let token = self.system.tokens.generate();
        let now = self.system.now();
        let candidate = RegistrationCandidate {
            email: email.clone(),
            username: username.clone(),
            role: self.policy.default_role.clone(),
            password_hash,
            token_hash: token.hash(),
            created_at: now,
            expires_at: now + self.policy.candidate_ttl,
            origin: Some(crate::UserOrigin::new(
                crate::OriginKind::Registration,
                ip,
                user_agent,
            )),
        };
        self.stores
            .candidates
            .put(&candidate)
            .await
            .map_err(RegisterError::Unexpected)?;
        let mail = Mail::Verification {
            to: email,
            username,
            token,
        };
        crate::mail::delivery::queue(
            &self.stores,
            &self.system,
            Outgoing::Mail(mail),
            self.policy.candidate_ttl,
        )
        .await
        .map_err(RegisterError::Unexpected)
    }

    /// Turns the candidate holding `token` into a verified user with the candidate's role.
    pub async fn verify(&self, token: &Token) -> Result<User, VerifyError> {
        let now = self.system.now();
        let candidate = self
            .stores
            .candidates
            .take(&token.hash(), now)
            .await
            .map_err(VerifyError::Unexpected)?
            .ok_or(VerifyError::InvalidToken)?;
        let user = User {
            origin: candidate.origin,
            plan: self.policy.starting_plan(now),
            ..User::new_verified(
                UserId::from_uuid(self.system.ids.new_id()),
                candidate.email,
                candidate.username,
                candidate.password_hash,
                now,
            )
        };
        self.stores.users.create(&user).await.map_err(|e| match e {
            InsertUserError::EmailTaken => VerifyError::EmailTaken,
            InsertUserError::UsernameTaken => VerifyError::UsernameTaken,
            InsertUserError::Store(e) => VerifyError::Unexpected(e),
        })?;
        crate::stats::count(&self.stores, now, crate::DayCounts::new_user())
            .await
            .map_err(VerifyError::Unexpected)?;
        match self.stores.roles.grant(user.id, &candidate.role, now).await {
            Ok(()) => {
                let happened = crate::activity::Happened::new(
                    crate::ActivityKind::RegistrationVerified,
                    user.id,
                    crate::Actor::User(user.id),
                    &crate::activity::NO_ORIGIN,
                );
                crate::activity::record(&self.stores, &self.system, happened)
                    .await
                    .map_err(VerifyError::Unexpected)?;
                Ok(user)
            }
            Err(GrantWriteError::RoleNotFound) => Err(VerifyError::Unexpected(StoreError::msg(
                format!("role {} does not exist", candidate.role),
            ))),
            Err(GrantWriteError::Store(e)) => Err(VerifyError::Unexpected(e)),
        }
    }

    /// Whether no user has `username` yet.
    pub async fn username_available(&self, username: &Username) -> Result<bool, StoreError> {
        Ok(self
            .stores
            .users
            .find_by_username(username)
            .await?
            .is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RoleName;
    use crate::test_support::*;
    use crate::{MockCandidateRepository, MockRoleRepository, MockUserRepository};
    use futures::executor::block_on;
    use time::Duration;

    fn email() -> Email {
        Email::parse("ann@example.org").unwrap()
    }
    fn username() -> Username {
        Username::parse("ann").unwrap()
    }
    fn password() -> Password {
        Password::new("correct horse").unwrap()
    }

    #[test]
    fn register_stores_candidate_and_mails_token() {
        let mut h = Harness::new();
        let mut users = MockUserRepository::new();
        users.expect_find_by_username().returning(|_| Ok(None));
        users.expect_find_by_email().returning(|_| Ok(None));
        let mut candidates = MockCandidateRepository::new();
        candidates
            .expect_put()
            .withf(|c| {
                c.expires_at == T0 + Duration::hours(24) && c.token_hash == fixed_token().hash()
            })
            .times(1)
            .returning(|_| Ok(()));
        let queue = std::sync::Arc::new(MemoryStore::new());
        h.stores.users = std::sync::Arc::new(users);
        h.stores.candidates = std::sync::Arc::new(candidates);
        h.stores.mail_queue = queue.clone();
        // The mailer has no expectations: mail is only queued.
        let svc = Registration::new(h.stores, h.system, AccountPolicy::default());
        block_on(svc.register(email(), username(), password())).unwrap();
        let queued = queue.queued_mail();
        assert_eq!(queued.len(), 1);
        let (message, due) = &queued[0];
        assert!(matches!(
            &message.body,
            Outgoing::Mail(Mail::Verification { token, .. }) if *token == fixed_token()
        ));
        assert_eq!((*due, message.attempts), (T0, 0));
        assert_eq!(message.expires_at, T0 + Duration::hours(24));
    }

    #[test]
    fn register_with_existing_email_is_silent_and_sends_nothing() {
        let mut h = Harness::new();
        let mut users = MockUserRepository::new();
        users.expect_find_by_username().returning(|_| Ok(None));
        users
            .expect_find_by_email()
            .returning(|_| Ok(Some(sample_user(1))));
        h.stores.users = std::sync::Arc::new(users);
        // Candidates and mailer have no expectations: any call panics.
        let svc = Registration::new(h.stores, h.system, AccountPolicy::default());
        block_on(svc.register(email(), username(), password())).unwrap();
    }

    #[test]
    fn register_with_taken_username_is_refused() {
        let mut h = Harness::new();
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_username()
            .returning(|_| Ok(Some(sample_user(1))));
        h.stores.users = std::sync::Arc::new(users);
        let svc = Registration::new(h.stores, h.system, AccountPolicy::default());
        let err = block_on(svc.register(email(), username(), password())).unwrap_err();
        assert!(matches!(err, RegisterError::UsernameTaken));
    }

    #[test]
    fn verify_unknown_or_expired_token_is_invalid() {
        let mut h = Harness::new();
        let mut candidates = MockCandidateRepository::new();
        candidates.expect_take().returning(|_, _| Ok(None));
        h.stores.candidates = std::sync::Arc::new(candidates);
        let svc = Registration::new(h.stores, h.system, AccountPolicy::default());
        assert!(matches!(
            block_on(svc.verify(&fixed_token())),
            Err(VerifyError::InvalidToken)
        ));
    }

    #[test]
    fn verify_creates_verified_user_with_default_role() {
        let mut h = Harness::new();
        let mut candidates = MockCandidateRepository::new();
        candidates.expect_take().returning(|_, _| {
            Ok(Some(RegistrationCandidate {
                email: Email::parse("ann@example.org").unwrap(),
                username: Username::parse("ann").unwrap(),
                role: RoleName::user(),
                password_hash: crate::PasswordHash::new("h"),
                token_hash: fixed_token().hash(),
                created_at: T0,
                expires_at: T0 + Duration::hours(1),
                origin: None,
            }))
        });
        let mut users = MockUserRepository::new();
        users
            .expect_create()
            .withf(|u| u.verified && u.username.as_str() == "ann")
            .times(1)
            .returning(|_| Ok(()));
        let mut roles = MockRoleRepository::new();
        roles
            .expect_grant()
            .withf(|_, r, _| r.as_str() == "user")
            .times(1)
            .returning(|_, _, _| Ok(()));
        h.stores.candidates = std::sync::Arc::new(candidates);
        h.stores.users = std::sync::Arc::new(users);
        h.stores.roles = std::sync::Arc::new(roles);
        let svc = Registration::new(h.stores, h.system, AccountPolicy::default());
        let user = block_on(svc.verify(&fixed_token())).unwrap();
        assert!(user.verified);
        assert_eq!(user.created_at, T0);
    }

    #[test]
    fn verify_after_someone_else_took_the_email_reports_it() {
        let mut h = Harness::new();
        let mut candidates = MockCandidateRepository::new();
        candidates.expect_take().returning(|_, _| {
            Ok(Some(RegistrationCandidate {
                email: Email::parse("ann@example.org").unwrap(),
                username: Username::parse("ann").unwrap(),
                role: RoleName::user(),
                password_hash: crate::PasswordHash::new("h"),
                token_hash: fixed_token().hash(),
                created_at: T0,
                expires_at: T0 + Duration::hours(1),
                origin: None,
            }))
        });
        let mut users = MockUserRepository::new();
        users
            .expect_create()
            .returning(|_| Err(InsertUserError::EmailTaken));
        h.stores.candidates = std::sync::Arc::new(candidates);
        h.stores.users = std::sync::Arc::new(users);
        let svc = Registration::new(h.stores, h.system, AccountPolicy::default());
        assert!(matches!(
            block_on(svc.verify(&fixed_token())),
            Err(VerifyError::EmailTaken)
        ));
    }
}
