//! The administrator's user management: list, lock and unlock, verify.

use super::{Stores, System};
use crate::{Page, PageRequest, StoreError, UpdateUserError, User, UserId, WriteError};

/// Why an administrator's change to a user failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminUserError {
    /// No such user.
    #[error("user not found")]
    NotFound,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// User management for administrators (callers check the `admin` role).
#[derive(Clone)]
pub struct UserAdmin {
    stores: Stores,
    system: System,
}

impl UserAdmin {
    /// Builds the service.
    pub fn new(stores: Stores, system: System) -> Self {
        Self { stores, system }
    }

    /// Users newest first (administrators).
    pub async fn list_users(&self, page: PageRequest) -> Result<Page<User>, StoreError> {
        self.stores.users.list(page).await
    }

    /// Locks or unlocks a user (administrators). Locking revokes every session
    /// at once; unlocking also clears a failed-login lockout.
    pub async fn set_locked(&self, user_id: UserId, locked: bool) -> Result<User, AdminUserError> {
        let now = self.system.now();
        let user = self
            .modify(user_id, |u| {
                u.locked = locked;
                u.updated_at = now;
            })
            .await?;
        if locked {
            self.stores
                .sessions
                .revoke_all(user_id, now)
                .await
                .map_err(AdminUserError::Unexpected)?;
        } else {
            self.stores
                .users
                .set_locked_until(user_id, None)
                .await
                .map_err(|e| match e {
                    WriteError::NotFound => AdminUserError::NotFound,
                    WriteError::Store(e) => AdminUserError::Unexpected(e),
                })?;
        }
        Ok(user)
    }

    /// Marks a user's email verified or not (administrators).
    pub async fn set_verified(
        &self,
        user_id: UserId,
        verified: bool,
    ) -> Result<User, AdminUserError> {
        let now = self.system.now();
        self.modify(user_id, |u| {
            u.verified = verified;
            u.updated_at = now;
        })
        .await
    }

    async fn modify(
        &self,
        user_id: UserId,
        change: impl FnOnce(&mut User),
    ) -> Result<User, AdminUserError> {
        let mut user = self
            .stores
            .users
            .get(user_id)
            .await
            .map_err(AdminUserError::Unexpected)?
            .ok_or(AdminUserError::NotFound)?;
        change(&mut user);
        self.stores.users.update(&user).await.map_err(|e| match e {
            UpdateUserError::NotFound => AdminUserError::NotFound,
            UpdateUserError::Store(e) => AdminUserError::Unexpected(e),
            UpdateUserError::EmailTaken | UpdateUserError::UsernameTaken => {
                AdminUserError::Unexpected(StoreError::msg(
                    "unchanged email or username reported as taken",
                ))
            }
        })?;
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::services::test_support::*;
    use crate::{MockSessionRepository, MockUserRepository};
    use futures::executor::block_on;

    #[test]
    fn locking_revokes_sessions_and_unlocking_clears_the_lockout() {
        let mut h = Harness::new();
        let mut users = MockUserRepository::new();
        users.expect_get().returning(|_| Ok(Some(sample_user(1))));
        users
            .expect_update()
            .withf(|u| u.locked)
            .times(1)
            .returning(|_| Ok(()));
        users
            .expect_update()
            .withf(|u| !u.locked)
            .times(1)
            .returning(|_| Ok(()));
        users
            .expect_set_locked_until()
            .withf(|_, until| until.is_none())
            .times(1)
            .returning(|_, _| Ok(()));
        let mut sessions = MockSessionRepository::new();
        sessions
            .expect_revoke_all()
            .times(1)
            .returning(|_, _| Ok(2));
        h.stores.users = Arc::new(users);
        h.stores.sessions = Arc::new(sessions);
        let admin = UserAdmin::new(h.stores, h.system);
        assert!(
            block_on(admin.set_locked(sample_user(1).id, true))
                .unwrap()
                .locked
        );
        assert!(
            !block_on(admin.set_locked(sample_user(1).id, false))
                .unwrap()
                .locked
        );
    }

    #[test]
    fn unknown_user_is_not_found() {
        let mut h = Harness::new();
        let mut users = MockUserRepository::new();
        users.expect_get().returning(|_| Ok(None));
        h.stores.users = Arc::new(users);
        let admin = UserAdmin::new(h.stores, h.system);
        assert!(matches!(
            block_on(admin.set_verified(sample_user(1).id, true)),
            Err(AdminUserError::NotFound)
        ));
    }
}
