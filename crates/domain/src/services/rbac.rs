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

    /// Creates a role.
    pub async fn create_role(
        &self,
        name: RoleName,
        description: Option<String>,
        permissions: BTreeSet<Permission>,
    ) -> Result<Role, RoleError> {
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

    /// Changes a role's description and/or permissions. Built-in roles keep their permissions.
    pub async fn update_role(
        &self,
        name: &RoleName,
        description: Option<Option<String>>,
        permissions: Option<BTreeSet<Permission>>,
    ) -> Result<Role, RoleError> {
        if permissions.is_some() && name.is_builtin() {
            return Err(RoleError::BuiltIn);
        }
        if let Some(Some(d)) = &description
            && !super::within(d, 255)
        {
            return Err(RoleError::DescriptionTooLong);
        }
        let roles = &self.stores.roles;
        let mut role = roles
            .get(name)
            .await
            .map_err(RoleError::Unexpected)?
            .ok_or(RoleError::NotFound)?;
        if let Some(d) = description {
            role.description = d;
        }
        if let Some(p) = permissions {
            role.permissions = p;
        }
        role.updated_at = self.system.now();
        match roles.update(&role).await {
            Ok(()) => Ok(role),
            Err(WriteError::NotFound) => Err(RoleError::NotFound),
            Err(WriteError::Store(e)) => Err(RoleError::Unexpected(e)),
        }
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

    /// Grants a role to an existing user (idempotent).
    pub async fn grant(&self, user_id: UserId, role: &RoleName) -> Result<(), GrantRoleError> {
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

    /// Revokes a role from a user.
    pub async fn revoke(&self, user_id: UserId, role: &RoleName) -> Result<(), GrantRoleError> {
        match self.stores.roles.revoke(user_id, role).await {
            Ok(()) => Ok(()),
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
        let res = block_on(svc.update_role(&RoleName::user(), None, Some(BTreeSet::new())));
        assert!(matches!(res, Err(RoleError::BuiltIn)));
    }
}
