//! Roles, grants and permission checks. `admin` (holding `*`) and `user` are built in.

use std::collections::BTreeSet;

use super::{Stores, System};
use crate::{CreateError, GrantError, Permission, Role, RoleName, StoreError, UserId, WriteError};

/// Why a role operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    /// A role with that name exists.
    #[error("role already exists")]
    AlreadyExists,
    /// No role with that name.
    #[error("role not found")]
    NotFound,
    /// `admin` and `user` cannot be deleted or have their permissions changed.
    #[error("built-in role cannot be changed")]
    BuiltIn,
    /// The description is longer than 255 characters.
    #[error("description is too long")]
    DescriptionTooLong,
    /// The role would hold a permission the caller does not hold.
    #[error("cannot hand out a permission one does not hold")]
    Escalation,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why a grant or revocation failed.
#[derive(Debug, thiserror::Error)]
pub enum GrantRoleError {
    /// No such user.
    #[error("user not found")]
    UserNotFound,
    /// No such role.
    #[error("role not found")]
    RoleNotFound,
    /// The user does not hold the role (revocation only).
    #[error("role not granted")]
    NotGranted,
    /// The role holds a permission the caller does not hold: granting or
    /// revoking it is beyond the caller.
    #[error("cannot hand out or take away a permission one does not hold")]
    Escalation,
    /// The user is the last holder of `admin`, which must keep one.
    #[error("the last administrator keeps the admin role")]
    LastAdmin,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Why an authorization check failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthorizeError {
    /// The user holds no role granting the permission.
    #[error("permission denied")]
    Forbidden,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[source] StoreError),
}

/// Role management and checks.
#[derive(Clone)]
pub struct Rbac {
    stores: Stores,
    system: System,
}

impl Rbac {
    /// Builds the service.
    pub fn new(stores: Stores, system: System) -> Self {
        Self { stores, system }
    }

    /// Creates `admin` (with `*`) and `user` if they are missing. Safe to call at every start.
    pub async fn ensure_builtin_roles(&self) -> Result<(), StoreError> {
        let now = self.system.now();
        let builtins = [
            (
                RoleName::admin(),
                "Administrators: every permission",
                vec!["*"],
            ),
            (RoleName::user(), "Every verified user", vec![]),
        ];
        for (name, description, perms) in builtins {
            let permissions = perms
                .into_iter()
                .filter_map(|p| Permission::parse(p).ok())
                .collect();
            let role = Role {
                name,
                description: Some(description.into()),
                permissions,
                created_at: now,
                updated_at: now,
            };
            match self.stores.roles.create(&role).await {
                Ok(()) | Err(CreateError::Conflict) => {}
                Err(CreateError::Store(e)) => return Err(e),
            }
        }
        Ok(())
    }

    /// Every role, by name.
    pub async fn list_roles(&self) -> Result<Vec<Role>, StoreError> {
        self.stores.roles.list().await
    }

    /// The permissions `user_id` holds through its roles.
    async fn permissions_of(&self, user_id: UserId) -> Result<Vec<Permission>, StoreError> {
        Ok(self
            .roles_of(user_id)
            .await?
            .into_iter()
            .flat_map(|r| r.permissions)
            .collect())
    }

    /// Whether `by` holds every one of `permissions` (so may hand them out).
    async fn holds_all<'a>(
        &self,
        by: UserId,
        permissions: impl IntoIterator<Item = &'a Permission>,
    ) -> Result<bool, StoreError> {
        let held = self.permissions_of(by).await?;
        Ok(permissions
            .into_iter()
            .all(|wanted| held.iter().any(|p| p.grants(wanted))))
    }

    /// Creates a role on behalf of `by`, who must hold every permission the
    /// role holds.
    pub async fn create_role(
        &self,
        by: UserId,
        name: RoleName,
        description: Option<String>,
        permissions: BTreeSet<Permission>,
    ) -> Result<Role, RoleError> {
        if !self
            .holds_all(by, &permissions)
            .await
            .map_err(RoleError::Unexpected)?
        {
            return Err(RoleError::Escalation);
        }
        if description
            .as_deref()
            .is_some_and(|d| !super::within(d, 255))
        {
            return Err(RoleError::DescriptionTooLong);
        }
        let now = self.system.now();
        let role = Role {
            name,
            description,
            permissions,
            created_at: now,
            updated_at: now,
        };
        match self.stores.roles.create(&role).await {
            Ok(()) => Ok(role),
            Err(CreateError::Conflict) => Err(RoleError::AlreadyExists),
            Err(CreateError::Store(e)) => Err(RoleError::Unexpected(e)),
        }
    }

    /// Changes a role's description and/or permissions on behalf of `by`,
    /// who must hold every permission the role is given. Built-in roles keep
    /// their permissions.
    pub async fn update_role(
        &self,
        by: UserId,
        name: &RoleName,
        description: Option<Option<String>>,
        permissions: Option<BTreeSet<Permission>>,
    ) -> Result<Role, RoleError> {
        if permissions.is_some() && name.is_builtin() {
            return Err(RoleError::BuiltIn);
        }
        if let Some(p) = &permissions
            && !self.holds_all(by, p).await.map_err(RoleError::Unexpected)?
        {
            return Err(RoleError::Escalation);
        }
        if let Some(Some(d)) = &description
            && !super::within(d, 255)
        {
            return Err(RoleError::DescriptionTooLong);
        }
        let roles = &self.stores.roles;
        let changes = crate::RoleChanges {
            description,
            permissions,
            updated_at: self.system.now(),
        };
        match roles.update_fields(name, &changes).await {
            Ok(()) => {}
            Err(WriteError::NotFound) => return Err(RoleError::NotFound),
            Err(WriteError::Store(e)) => return Err(RoleError::Unexpected(e)),
        }
        roles
            .get(name)
            .await
            .map_err(RoleError::Unexpected)?
            .ok_or(RoleError::NotFound)
    }

    /// Deletes a role and its grants. Built-in roles cannot be deleted.
    pub async fn delete_role(&self, name: &RoleName) -> Result<(), RoleError> {
        if name.is_builtin() {
            return Err(RoleError::BuiltIn);
        }
        match self.stores.roles.delete(name).await {
            Ok(()) => Ok(()),
            Err(WriteError::NotFound) => Err(RoleError::NotFound),
            Err(WriteError::Store(e)) => Err(RoleError::Unexpected(e)),
        }
    }

    /// Fails unless `by` holds every permission of `role`.
    async fn may_hand_out(&self, by: UserId, role: &RoleName) -> Result<(), GrantRoleError> {
        let role = self
            .stores
            .roles
            .get(role)
            .await
            .map_err(GrantRoleError::Unexpected)?
            .ok_or(GrantRoleError::RoleNotFound)?;
        if self
            .holds_all(by, &role.permissions)
            .await
            .map_err(GrantRoleError::Unexpected)?
        {
            Ok(())
        } else {
            Err(GrantRoleError::Escalation)
        }
    }

    /// Grants a role to an existing user (idempotent) on behalf of `by`, who
    /// must hold every permission of the role.
    pub async fn grant(
        &self,
        by: UserId,
        user_id: UserId,
        role: &RoleName,
    ) -> Result<(), GrantRoleError> {
        self.may_hand_out(by, role).await?;
        if self
            .stores
            .users
            .get(user_id)
            .await
            .map_err(GrantRoleError::Unexpected)?
            .is_none()
        {
            return Err(GrantRoleError::UserNotFound);
        }
        match self
            .stores
            .roles
            .grant(user_id, role, self.system.now())
            .await
        {
            Ok(()) => Ok(()),
            Err(GrantError::RoleNotFound) => Err(GrantRoleError::RoleNotFound),
            Err(GrantError::Store(e)) => Err(GrantRoleError::Unexpected(e)),
        }
    }

    /// Revokes a role from a user on behalf of `by`, who must hold every
    /// permission of the role. `admin` always keeps one holder.
    pub async fn revoke(
        &self,
        by: UserId,
        user_id: UserId,
        role: &RoleName,
    ) -> Result<(), GrantRoleError> {
        self.may_hand_out(by, role).await?;
        let roles = &self.stores.roles;
        let outcome = if role.as_str() == RoleName::ADMIN {
            roles.revoke_unless_last(user_id, role).await
        } else {
            roles
                .revoke(user_id, role)
                .await
                .map(|()| crate::LastHolder::Revoked)
        };
        match outcome {
            Ok(crate::LastHolder::Revoked) => Ok(()),
            Ok(crate::LastHolder::Kept) => Err(GrantRoleError::LastAdmin),
            Err(WriteError::NotFound) => Err(GrantRoleError::NotGranted),
            Err(WriteError::Store(e)) => Err(GrantRoleError::Unexpected(e)),
        }
    }

    /// The roles the user holds.
    pub async fn roles_of(&self, user_id: UserId) -> Result<Vec<Role>, StoreError> {
        self.stores.roles.roles_of(user_id).await
    }

    /// Whether the user holds the `admin` role.
    pub async fn is_admin(&self, user_id: UserId) -> Result<bool, StoreError> {
        Ok(self
            .roles_of(user_id)
            .await?
            .iter()
            .any(|r| r.name.as_str() == RoleName::ADMIN))
    }

    /// Succeeds if any of the user's roles grants `wanted`.
    pub async fn authorize(
        &self,
        user_id: UserId,
        wanted: &Permission,
    ) -> Result<(), AuthorizeError> {
        let roles = self
            .roles_of(user_id)
            .await
            .map_err(AuthorizeError::Unexpected)?;
        if roles
            .iter()
            .flat_map(|r| r.permissions.iter())
            .any(|p| p.grants(wanted))
        {
            Ok(())
        } else {
            Err(AuthorizeError::Forbidden)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::MockRoleRepository;
    use crate::services::test_support::*;
    use futures::executor::block_on;

    fn role(name: &str, perms: &[&str]) -> Role {
        Role {
            name: RoleName::parse(name).unwrap(),
            description: None,
            permissions: perms
                .iter()
                .map(|p| Permission::parse(p).unwrap())
                .collect(),
            created_at: T0,
            updated_at: T0,
        }
    }

    fn with_roles(roles: Vec<Role>) -> Rbac {
        let mut h = Harness::new();
        let mut repo = MockRoleRepository::new();
        repo.expect_roles_of().returning(move |_| Ok(roles.clone()));
        h.stores.roles = Arc::new(repo);
        Rbac::new(h.stores, h.system)
    }

    #[test]
    fn permission_denied_without_a_granting_role() {
        let svc = with_roles(vec![role("user", &[]), role("editor", &["posts:write"])]);
        let wanted = Permission::parse("users:delete").unwrap();
        assert!(matches!(
            block_on(svc.authorize(sample_user(1).id, &wanted)),
            Err(AuthorizeError::Forbidden)
        ));
    }

    #[test]
    fn permission_granted_by_exact_or_wildcard() {
        let svc = with_roles(vec![role("moderator", &["users:*"])]);
        let wanted = Permission::parse("users:delete").unwrap();
        block_on(svc.authorize(sample_user(1).id, &wanted)).unwrap();
        let admin = with_roles(vec![role("admin", &["*"])]);
        block_on(admin.authorize(
            sample_user(1).id,
            &Permission::parse("payments:refund").unwrap(),
        ))
        .unwrap();
        assert!(block_on(admin.is_admin(sample_user(1).id)).unwrap());
    }

    #[test]
    fn builtin_roles_cannot_be_deleted_or_repermissioned() {
        let h = Harness::new();
        let svc = Rbac::new(h.stores, h.system);
        assert!(matches!(
            block_on(svc.delete_role(&RoleName::admin())),
            Err(RoleError::BuiltIn)
        ));
        let res = block_on(svc.update_role(
            sample_user(1).id,
            &RoleName::user(),
            None,
            Some(BTreeSet::new()),
        ));
        assert!(matches!(res, Err(RoleError::BuiltIn)));
    }

    /// A caller whose roles hold `held`, and a role `target` holding `perms`.
    fn caller_with(
        held: &[&str],
        target: Role,
    ) -> (Rbac, Arc<std::sync::Mutex<Vec<&'static str>>>) {
        let mut h = Harness::new();
        let mut repo = MockRoleRepository::new();
        let mine = vec![role("mine", held)];
        repo.expect_roles_of().returning(move |_| Ok(mine.clone()));
        repo.expect_get()
            .returning(move |_| Ok(Some(target.clone())));
        let calls = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (granted, revoked, kept) = (calls.clone(), calls.clone(), calls.clone());
        repo.expect_grant().returning(move |_, _, _| {
            granted.lock().unwrap().push("grant");
            Ok(())
        });
        repo.expect_revoke().returning(move |_, _| {
            revoked.lock().unwrap().push("revoke");
            Ok(())
        });
        repo.expect_revoke_unless_last().returning(move |_, _| {
            kept.lock().unwrap().push("revoke_unless_last");
            Ok(crate::LastHolder::Kept)
        });
        repo.expect_create().returning(|_| Ok(()));
        repo.expect_update_fields().returning(|_, _| Ok(()));
        let mut users = crate::MockUserRepository::new();
        users.expect_get().returning(|_| Ok(Some(sample_user(2))));
        h.stores.roles = Arc::new(repo);
        h.stores.users = Arc::new(users);
        (Rbac::new(h.stores, h.system), calls)
    }

    #[test]
    fn nobody_hands_out_a_permission_they_do_not_hold() {
        let me = sample_user(1).id;
        let them = sample_user(2).id;
        // roles:write alone is not admin: it cannot grant or revoke admin.
        let (svc, calls) = caller_with(&["roles:write"], role("admin", &["*"]));
        assert!(matches!(
            block_on(svc.grant(me, me, &RoleName::admin())),
            Err(GrantRoleError::Escalation)
        ));
        assert!(matches!(
            block_on(svc.revoke(me, them, &RoleName::admin())),
            Err(GrantRoleError::Escalation)
        ));
        let everything: BTreeSet<Permission> = [Permission::parse("*").unwrap()].into();
        let name = RoleName::parse("superuser").unwrap();
        assert!(matches!(
            block_on(svc.create_role(me, name.clone(), None, everything.clone())),
            Err(RoleError::Escalation)
        ));
        assert!(matches!(
            block_on(svc.update_role(me, &name, None, Some(everything))),
            Err(RoleError::Escalation)
        ));
        assert!(calls.lock().unwrap().is_empty(), "nothing was written");
        // What one holds can be handed out.
        let (svc, calls) = caller_with(&["posts:*"], role("editor", &["posts:write"]));
        block_on(svc.grant(me, them, &RoleName::parse("editor").unwrap())).unwrap();
        let own: BTreeSet<Permission> = [Permission::parse("posts:read").unwrap()].into();
        block_on(svc.create_role(me, RoleName::parse("reader").unwrap(), None, own)).unwrap();
        assert_eq!(*calls.lock().unwrap(), vec!["grant"]);
    }

    #[test]
    fn the_last_administrator_keeps_the_admin_role() {
        let me = sample_user(1).id;
        let (svc, calls) = caller_with(&["*"], role("admin", &["*"]));
        assert!(matches!(
            block_on(svc.revoke(me, me, &RoleName::admin())),
            Err(GrantRoleError::LastAdmin)
        ));
        assert_eq!(*calls.lock().unwrap(), vec!["revoke_unless_last"]);
    }
}
