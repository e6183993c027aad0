//! Roles, grants and permission checks. `admin` (holding `*`) and `user` are built in.

use std::collections::BTreeSet;

use super::errors::*;
use crate::{
    AuthChange, GrantWriteError, InsertError, Permission, Role, RoleName, StoreError, UserId,
    WriteError,
};
use crate::{Principal, Stores, System};

/// Role management and checks. Every change needs `roles:write`, checked
/// once when the capability is taken ([`Rbac::writer`]): a caller without
/// it gets [`crate::Denied`] before anything else is looked at.
#[derive(Clone)]
pub struct Rbac {
    stores: Stores,
    system: System,
}

/// What a holder of `roles:write` may do. Only [`Rbac::writer`] makes one,
/// so holding one is proof of the permission; each change still needs the
/// permissions it hands out, and acting on a user needs every permission
/// that user holds.
pub struct RoleWriter<'a> {
    rbac: &'a Rbac,
    by: &'a Principal,
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
                Ok(()) | Err(InsertError::Conflict) => {}
                Err(InsertError::Store(e)) => return Err(e),
            }
        }
        Ok(())
    }

    /// Every role, by name; `by` needs `roles:read`.
    pub async fn list_roles(&self, by: &Principal) -> Result<Vec<Role>, crate::ReadError> {
        by.require(&Permission::ROLES_READ)?;
        Ok(self.stores.roles.list().await?)
    }

    /// The role changes `by` may make: `Err` unless `by` holds `roles:write`.
    pub fn writer<'a>(&'a self, by: &'a Principal) -> Result<RoleWriter<'a>, crate::Denied> {
        by.require(&Permission::ROLES_WRITE)?;
        Ok(RoleWriter { rbac: self, by })
    }

    /// Creates a role on behalf of `by` (see [`RoleWriter::create_role`]).
    pub async fn create_role(
        &self,
        by: &Principal,
        name: RoleName,
        description: Option<String>,
        permissions: BTreeSet<Permission>,
    ) -> Result<Role, RoleError> {
        self.writer(by)?
            .create_role(name, description, permissions)
            .await
    }

    /// Changes a role on behalf of `by` (see [`RoleWriter::update_role`]).
    pub async fn update_role(
        &self,
        by: &Principal,
        name: &RoleName,
        description: Option<Option<String>>,
        permissions: Option<BTreeSet<Permission>>,
    ) -> Result<Role, RoleError> {
        self.writer(by)?
            .update_role(name, description, permissions)
            .await
    }

    /// Deletes a role on behalf of `by` (see [`RoleWriter::delete_role`]).
    pub async fn delete_role(&self, by: &Principal, name: &RoleName) -> Result<(), RoleError> {
        self.writer(by)?.delete_role(name).await
    }

    /// Grants a role on behalf of `by` (see [`RoleWriter::grant`]).
    pub async fn grant(
        &self,
        by: &Principal,
        user_id: UserId,
        role: &RoleName,
    ) -> Result<(), GrantRoleError> {
        self.writer(by)?.grant(user_id, role).await
    }

    /// Revokes a role on behalf of `by` (see [`RoleWriter::revoke`]).
    pub async fn revoke(
        &self,
        by: &Principal,
        user_id: UserId,
        role: &RoleName,
    ) -> Result<(), GrantRoleError> {
        self.writer(by)?.revoke(user_id, role).await
    }

    /// The roles the user holds.
    pub async fn roles_of(&self, user_id: UserId) -> Result<Vec<Role>, StoreError> {
        self.stores.roles.roles_of(user_id).await
    }
}

impl RoleWriter<'_> {
    fn stores(&self) -> &Stores {
        &self.rbac.stores
    }

    /// Creates a role holding `permissions`, which the caller must all hold.
    pub async fn create_role(
        &self,
        name: RoleName,
        description: Option<String>,
        permissions: BTreeSet<Permission>,
    ) -> Result<Role, RoleError> {
        if !self.by.holds_all(&permissions) {
            return Err(RoleError::Escalation);
        }
        if description
            .as_deref()
            .is_some_and(|d| !crate::kernel::stores::within(d, 255))
        {
            return Err(RoleError::DescriptionTooLong);
        }
        let now = self.rbac.system.now();
        let role = Role {
            name,
            description,
            permissions,
            created_at: now,
            updated_at: now,
        };
        match self.stores().roles.create(&role).await {
            Ok(()) => Ok(role),
            Err(InsertError::Conflict) => Err(RoleError::AlreadyExists),
            Err(InsertError::Store(e)) => Err(RoleError::Unexpected(e)),
        }
    }

    /// Changes a role's description and/or permissions; the caller must
    /// hold every permission the role is given. Built-in roles keep their
    /// permissions.
    pub async fn update_role(
        &self,
        name: &RoleName,
        description: Option<Option<String>>,
        permissions: Option<BTreeSet<Permission>>,
    ) -> Result<Role, RoleError> {
        if permissions.is_some() && name.is_builtin() {
            return Err(RoleError::BuiltIn);
        }
        if let Some(p) = &permissions
            && !self.by.holds_all(p)
        {
            return Err(RoleError::Escalation);
        }
        if let Some(Some(d)) = &description
            && !crate::kernel::stores::within(d, 255)
        {
            return Err(RoleError::DescriptionTooLong);
        }
        let roles = &self.stores().roles;
        let changes = crate::RoleChanges {
            description,
            permissions,
            updated_at: self.rbac.system.now(),
        };
        match roles.update_fields(name, &changes).await {
            // Anyone may hold it.
            Ok(()) => self.stores().announce(AuthChange::Everyone).await,
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
        match self.stores().roles.delete(name).await {
            Ok(()) => {
                self.stores().announce(AuthChange::Everyone).await;
                Ok(())
            }
            Err(WriteError::NotFound) => Err(RoleError::NotFound),
            Err(WriteError::Store(e)) => Err(RoleError::Unexpected(e)),
        }
    }

    /// Writes the event of a grant or revocation.
    async fn record(
        &self,
        kind: crate::ActivityKind,
        user_id: UserId,
        role: &RoleName,
    ) -> Result<(), GrantRoleError> {
        let origin = crate::RequestOrigin::of_session(self.by);
        let happened = crate::activity::Happened::by_admin(kind, user_id, self.by, &origin)
            .with("role", role.as_str());
        crate::activity::record(self.stores(), &self.rbac.system, happened)
            .await
            .map_err(GrantRoleError::Unexpected)
    }

    /// Fails unless the caller holds every permission of `role`.
    async fn may_hand_out(&self, role: &RoleName) -> Result<(), GrantRoleError> {
        let role = self
            .stores()
            .roles
            .get(role)
            .await
            .map_err(GrantRoleError::Unexpected)?
            .ok_or(GrantRoleError::RoleNotFound)?;
        if self.by.holds_all(&role.permissions) {
            Ok(())
        } else {
            Err(GrantRoleError::Escalation)
        }
    }

    /// Fails unless the caller holds every permission `user_id` holds
    /// (oneself always passes): a role manager does not act on someone
    /// above them.
    async fn may_act_on(&self, user_id: UserId) -> Result<(), GrantRoleError> {
        if self.by.user_id() == user_id {
            return Ok(());
        }
        let held = self
            .stores()
            .roles
            .roles_of(user_id)
            .await
            .map_err(GrantRoleError::Unexpected)?;
        self.by
            .may_act_on(&held)
            .map_err(|_| GrantRoleError::Escalation)
    }

    /// Grants a role to an existing user (idempotent); the caller needs
    /// every permission of the role and every permission the user holds.
    pub async fn grant(&self, user_id: UserId, role: &RoleName) -> Result<(), GrantRoleError> {
        self.may_hand_out(role).await?;
        self.may_act_on(user_id).await?;
        if self
            .stores()
            .users
            .get(user_id)
            .await
            .map_err(GrantRoleError::Unexpected)?
            .is_none()
        {
            return Err(GrantRoleError::UserNotFound);
        }
        match self
            .stores()
            .roles
            .grant(user_id, role, self.rbac.system.now())
            .await
        {
            Ok(()) => {
                self.stores().announce(AuthChange::User(user_id)).await;
                self.record(crate::ActivityKind::RoleGranted, user_id, role)
                    .await
            }
            Err(GrantWriteError::RoleNotFound) => Err(GrantRoleError::RoleNotFound),
            Err(GrantWriteError::Store(e)) => Err(GrantRoleError::Unexpected(e)),
        }
    }

    /// Revokes a role from a user; the caller needs every permission of
    /// the role and every permission the user holds. `admin` always keeps
    /// one holder.
    pub async fn revoke(&self, user_id: UserId, role: &RoleName) -> Result<(), GrantRoleError> {
        self.may_hand_out(role).await?;
        self.may_act_on(user_id).await?;
        let roles = &self.stores().roles;
        let outcome = if role.as_str() == RoleName::ADMIN {
            roles.revoke_unless_last(user_id, role).await
        } else {
            roles
                .revoke(user_id, role)
                .await
                .map(|()| crate::LastHolder::Revoked)
        };
        match outcome {
            Ok(crate::LastHolder::Revoked) => {
                self.stores().announce(AuthChange::User(user_id)).await;
                self.record(crate::ActivityKind::RoleRevoked, user_id, role)
                    .await
            }
            Ok(crate::LastHolder::Kept) => Err(GrantRoleError::LastAdmin),
            Err(WriteError::NotFound) => Err(GrantRoleError::NotGranted),
            Err(WriteError::Store(e)) => Err(GrantRoleError::Unexpected(e)),
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
