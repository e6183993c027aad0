//! The administrator's user management: list, lock and unlock, verify, and
//! the creation or promotion of the first administrator.

use crate::activity::{Happened, record};
use crate::{ActivityKind, RequestOrigin};
use crate::{
    AuthChange, Email, GrantWriteError, InsertUserError, Page, PageRequest, Password, Permission,
    RoleName, StoreError, User, UserChanges, UserId, Username, WriteError,
};
use crate::{Principal, Stores, System};

/// A time as an RFC 3339 JSON string, or null.
pub(crate) fn rfc3339(at: Option<time::OffsetDateTime>) -> serde_json::Value {
    at.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    })
    .map_or(serde_json::Value::Null, serde_json::Value::String)
}

#[path = "admin_standing.rs"]
mod standing;

/// Why an administrator's change to a user failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminUserError {
    /// The caller lacks `users:write`.
    #[error(transparent)]
    Forbidden(#[from] crate::Denied),
    /// No such user.
    #[error("user not found")]
    NotFound,
    /// An administrator cannot suspend their own account.
    #[error("one cannot suspend oneself")]
    SuspendSelf,
    /// A suspension's or a plan's end is not in the future.
    #[error("the end must be in the future")]
    UntilNotInFuture,
    /// No such active session of the user.
    #[error("session not found")]
    SessionNotFound,
    /// No plan with the name given.
    #[error("plan not found")]
    UnknownPlan,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why an administrator could not be created or promoted.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapAdminError {
    /// The email belongs to a user with a different username.
    #[error("the email address belongs to a user with another username")]
    EmailBelongsToAnotherUser,
    /// The username belongs to a user with a different email.
    #[error("the username belongs to a user with another email address")]
    UsernameTaken,
    /// The account would be created with a password shorter than
    /// `password.min_length`.
    #[error(transparent)]
    WeakPassword(#[from] crate::PasswordError),
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// What [`UserAdmin::ensure_admin`] did.
#[derive(Debug, Clone)]
pub enum AdminBootstrap {
    /// A new, verified user was created with the given password and made admin.
    Created(User),
    /// The existing user was granted `admin`; the password was not used.
    Promoted(User),
    /// The user already held `admin`; nothing changed.
    AlreadyAdmin(User),
}

/// User management for administrators. Reading needs `users:read` and
/// changing needs `users:write`, each checked once when the capability is
/// taken ([`UserAdmin::reader`], [`UserAdmin::writer`]): a caller without it
/// gets [`crate::Denied`] before anything else is looked at.
#[derive(Clone)]
pub struct UserAdmin {
    stores: Stores,
    system: System,
    settings: crate::LiveSettings,
}

/// What a holder of `users:read` may do; only [`UserAdmin::reader`] makes one.
pub struct UserReader<'a> {
    admin: &'a UserAdmin,
}

/// What a holder of `users:write` may do; only [`UserAdmin::writer`] makes
/// one. Acting on a user also needs every permission that user holds.
pub struct UserWriter<'a> {
    admin: &'a UserAdmin,
    by: &'a Principal,
}

impl UserAdmin {
    /// Builds the service.
    pub fn new(stores: Stores, system: System) -> Self {
        Self {
            stores,
            system,
            settings: crate::LiveSettings::default(),
        }
    }

    /// The same, reading `password.min_length` from `settings` (for the
    /// accounts [`UserAdmin::ensure_admin`] creates).
    pub fn with_settings(self, settings: crate::LiveSettings) -> Self {
        Self { settings, ..self }
    }

    /// The reads `by` may make: `Err` unless `by` holds `users:read`.
    pub fn reader(&self, by: &Principal) -> Result<UserReader<'_>, crate::Denied> {
        by.require(&Permission::USERS_READ)?;
        Ok(UserReader { admin: self })
    }

    /// The changes `by` may make: `Err` unless `by` holds `users:write`.
    pub fn writer<'a>(&'a self, by: &'a Principal) -> Result<UserWriter<'a>, crate::Denied> {
        by.require(&Permission::USERS_WRITE)?;
        Ok(UserWriter { admin: self, by })
    }

    /// Users that pass `filter`, newest first; `by` needs `users:read`.
    pub async fn list_users(
        &self,
        by: &Principal,
        filter: &crate::UserFilter,
        page: PageRequest,
    ) -> Result<Page<User>, crate::ReadError> {
        self.reader(by)?.list_users(filter, page).await
    }

    /// Any user; `by` needs `users:read`.
    pub async fn get_user(
        &self,
        by: &Principal,
        user_id: UserId,
    ) -> Result<Option<User>, crate::ReadError> {
        self.reader(by)?.get_user(user_id).await
    }

    /// Locks or unlocks a user on behalf of `by` (see [`UserWriter::set_locked`]).
    pub async fn set_locked(
        &self,
        by: &Principal,
        user_id: UserId,
        locked: bool,
    ) -> Result<User, AdminUserError> {
        self.writer(by)?.set_locked(user_id, locked).await
    }

    /// Removes a user's second factor on behalf of `by` (see
    /// [`UserWriter::remove_second_factor`]).
    pub async fn remove_second_factor(
        &self,
        by: &Principal,
        user_id: UserId,
    ) -> Result<(), AdminUserError> {
        self.writer(by)?.remove_second_factor(user_id).await
    }

    /// Marks a user's email verified or not on behalf of `by` (see
    /// [`UserWriter::set_verified`]).
    pub async fn set_verified(
        &self,
        by: &Principal,
        user_id: UserId,
        verified: bool,
    ) -> Result<User, AdminUserError> {
        self.writer(by)?.set_verified(user_id, verified).await
    }

    /// Makes the user with `email` and `username` an administrator, creating
    /// them (verified, with `password`) when neither exists. The built-in
    /// roles must exist ([`crate::Rbac::ensure_builtin_roles`]).
    pub async fn ensure_admin(
        &self,
        email: Email,
        username: Username,
        password: &Password,
    ) -> Result<AdminBootstrap, BootstrapAdminError> {
        let unexpected = BootstrapAdminError::Unexpected;
        let users = &self.stores.users;
        let existing = users.find_by_email(&email).await.map_err(unexpected)?;
        let (user, created) = match existing {
            Some(user) if user.username != username => {
                return Err(BootstrapAdminError::EmailBelongsToAnotherUser);
            }
            Some(user) => (user, false),
            None => {
                if users
                    .find_by_username(&username)
                    .await
                    .map_err(unexpected)?
                    .is_some()
                {
                    return Err(BootstrapAdminError::UsernameTaken);
                }
                password.check_length(self.settings.current().password_min_length)?;
                let hash = self
                    .system
                    .hasher
                    .hash(password)
                    .await
                    .map_err(unexpected)?;
                let now = self.system.now();
                let user = User {
                    origin: Some(crate::UserOrigin::new(
                        crate::OriginKind::Bootstrap,
                        None,
                        None,
                    )),
                    ..User::new_verified(
                        UserId::from_uuid(self.system.ids.new_id()),
                        email,
                        username,
                        hash,
                        now,
                    )
                };
                users.create(&user).await.map_err(|e| match e {
                    InsertUserError::EmailTaken => BootstrapAdminError::EmailBelongsToAnotherUser,
                    InsertUserError::UsernameTaken => BootstrapAdminError::UsernameTaken,
                    InsertUserError::Store(e) => unexpected(e),
                })?;
                crate::stats::count(&self.stores, now, crate::DayCounts::new_user())
                    .await
                    .map_err(unexpected)?;
                crate::webhooks::publish(
                    &self.stores,
                    &self.system,
                    crate::WebhookEventType::UserCreated,
                    serde_json::json!({ "user_id": user.id }),
                )
                .await
                .map_err(unexpected)?;
                (user, true)
            }
        };
        let held = self
            .stores
            .roles
            .roles_of(user.id)
            .await
            .map_err(unexpected)?;
        let has = |name: &str| held.iter().any(|r| r.name.as_str() == name);
        if !created && has(RoleName::ADMIN) {
            return Ok(AdminBootstrap::AlreadyAdmin(user));
        }
        let now = self.system.now();
        for role in [RoleName::user(), RoleName::admin()] {
            if has(role.as_str()) {
                continue;
            }
            match self.stores.roles.grant(user.id, &role, now).await {
                Ok(()) => self.stores.announce(AuthChange::User(user.id)).await,
                Err(GrantWriteError::RoleNotFound) => {
                    return Err(unexpected(StoreError::msg(format!(
                        "built-in role {role} is missing"
                    ))));
                }
                Err(GrantWriteError::Store(e)) => return Err(unexpected(e)),
            }
        }
        Ok(if created {
            AdminBootstrap::Created(user)
        } else {
            AdminBootstrap::Promoted(user)
        })
    }
}

impl UserReader<'_> {
    /// Users that pass `filter`, newest first.
    pub async fn list_users(
        &self,
        filter: &crate::UserFilter,
        page: PageRequest,
    ) -> Result<Page<User>, crate::ReadError> {
        Ok(self.admin.stores.users.list(filter, page).await?)
    }

    /// Any user.
    pub async fn get_user(&self, user_id: UserId) -> Result<Option<User>, crate::ReadError> {
        Ok(self.admin.stores.users.get(user_id).await?)
    }

    /// A user's second factor: whether TOTP is on, and the backup codes
    /// left (off for an unknown user).
    pub async fn mfa_status(&self, user_id: UserId) -> Result<crate::MfaStatus, crate::ReadError> {
        Ok(crate::mfa::status_in(&self.admin.stores, user_id).await?)
    }

    /// A user's links to identity providers, in provider order, without
    /// their tokens (none for an unknown user).
    pub async fn identity_links(
        &self,
        user_id: UserId,
    ) -> Result<Vec<crate::IdentityLinkExport>, crate::ReadError> {
        Ok(crate::federation::links_of(&self.admin.stores, user_id).await?)
    }

    /// A user's active sessions, newest first (none for an unknown user).
    pub async fn sessions(
        &self,
        user_id: UserId,
    ) -> Result<Vec<crate::AuthSession>, crate::ReadError> {
        let now = self.admin.system.now();
        Ok(self.admin.stores.sessions.list_active(user_id, now).await?)
    }
}

impl UserWriter<'_> {
    fn stores(&self) -> &Stores {
        &self.admin.stores
    }

    /// Locks or unlocks a user. Locking revokes every session at once (and
    /// pending provider-link flows); unlocking also clears a failed-login
    /// lockout and starts the guessing counters afresh.
    pub async fn set_locked(&self, user_id: UserId, locked: bool) -> Result<User, AdminUserError> {
        self.may_act_on(user_id).await?;
        let now = self.admin.system.now();
        let user = self
            .modify(
                user_id,
                UserChanges {
                    locked: Some(locked),
                    updated_at: Some(now),
                    // An unlock starts the guessing counters afresh.
                    security_changed_at: (!locked).then_some(now),
                    ..UserChanges::default()
                },
            )
            .await?;
        if locked {
            self.end_sessions(user_id, now).await?;
        } else {
            self.stores()
                .users
                .set_locked_until(user_id, None)
                .await
                .map_err(|e| match e {
                    WriteError::NotFound => AdminUserError::NotFound,
                    WriteError::Store(e) => AdminUserError::Unexpected(e),
                })?;
        }
        self.stores().announce(AuthChange::User(user_id)).await;
        let kind = if locked {
            ActivityKind::UserLocked
        } else {
            ActivityKind::UserUnlocked
        };
        self.record(kind, user_id, serde_json::Map::new()).await?;
        Ok(user)
    }

    /// Writes the event of an action of this administrator on `user_id`.
    async fn record(
        &self,
        kind: ActivityKind,
        user_id: UserId,
        details: serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), AdminUserError> {
        let origin = RequestOrigin::of_session(self.by);
        let mut happened = Happened::by_admin(kind, user_id, self.by, &origin);
        happened.details = details;
        record(self.stores(), &self.admin.system, happened)
            .await
            .map_err(AdminUserError::Unexpected)
    }

    /// Removes a user's second factor (TOTP and backup codes), for a user
    /// who lost both. The password alone signs in afterwards, and the user
    /// is told by mail. `NotFound` if the user has none (or does not exist).
    pub async fn remove_second_factor(&self, user_id: UserId) -> Result<(), AdminUserError> {
        self.may_act_on(user_id).await?;
        let user = self
            .stores()
            .users
            .get(user_id)
            .await
            .map_err(AdminUserError::Unexpected)?
            .ok_or(AdminUserError::NotFound)?;
        match self.stores().mfa.delete_for_user(user_id).await {
            Ok(0) => return Err(AdminUserError::NotFound),
            Ok(_) => self.stores().announce(AuthChange::User(user_id)).await,
            Err(e) => return Err(AdminUserError::Unexpected(e)),
        }
        self.record(ActivityKind::MfaDisabled, user_id, serde_json::Map::new())
            .await?;
        crate::mail::delivery::notify(
            self.stores(),
            &self.admin.system,
            &user.email,
            crate::Notice::SecondFactorRemoved,
        )
        .await
        .map_err(AdminUserError::Unexpected)
    }

    /// Marks a user's email verified or not.
    pub async fn set_verified(
        &self,
        user_id: UserId,
        verified: bool,
    ) -> Result<User, AdminUserError> {
        self.may_act_on(user_id).await?;
        self.modify_now(
            user_id,
            UserChanges {
                verified: Some(verified),
                ..UserChanges::default()
            },
        )
        .await
    }

    /// Fails unless the caller holds every permission `user_id` holds
    /// (oneself always passes).
    async fn may_act_on(&self, user_id: UserId) -> Result<(), AdminUserError> {
        if self.by.user_id() == user_id {
            return Ok(());
        }
        let roles = self
            .stores()
            .roles
            .roles_of(user_id)
            .await
            .map_err(AdminUserError::Unexpected)?;
        Ok(self.by.may_act_on(&roles)?)
    }

    /// Ends every session of `user_id` and its pending provider-link flows.
    async fn end_sessions(
        &self,
        user_id: UserId,
        now: time::OffsetDateTime,
    ) -> Result<(), AdminUserError> {
        self.stores()
            .sessions
            .revoke_all(user_id, now)
            .await
            .map_err(AdminUserError::Unexpected)?;
        crate::sessions::service::cancel_link_flows(self.stores(), user_id)
            .await
            .map_err(AdminUserError::Unexpected)
    }

    /// [`Self::modify`] with `updated_at` now.
    async fn modify_now(
        &self,
        user_id: UserId,
        changes: UserChanges,
    ) -> Result<User, AdminUserError> {
        let changes = UserChanges {
            updated_at: Some(self.admin.system.now()),
            ..changes
        };
        self.modify(user_id, changes).await
    }

    /// Writes `changes` (and only them) and returns the user as stored after.
    async fn modify(&self, user_id: UserId, changes: UserChanges) -> Result<User, AdminUserError> {
        self.stores()
            .users
            .update_fields(user_id, &changes)
            .await
            .map_err(|e| match e {
                WriteError::NotFound => AdminUserError::NotFound,
                WriteError::Store(e) => AdminUserError::Unexpected(e),
            })?;
        self.stores().announce(AuthChange::User(user_id)).await;
        self.stores()
            .users
            .get(user_id)
            .await
            .map_err(AdminUserError::Unexpected)?
            .ok_or(AdminUserError::NotFound)
    }
}

#[cfg(test)]
#[path = "admin_tests.rs"]
mod tests;
