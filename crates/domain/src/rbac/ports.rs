//! Roles and grants (`roles` + `user_roles`).

use std::collections::BTreeSet;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{InsertError, Permission, RoleName, StoreError, UserId, WriteError};

/// A named set of permissions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Role {
    /// Unique name.
    pub name: RoleName,
    /// What the role is for.
    pub description: Option<String>,
    /// Permissions it grants.
    pub permissions: BTreeSet<Permission>,
    /// When it was created; listings are newest first by this.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// Why a role could not be granted.
#[derive(Debug, thiserror::Error)]
pub enum GrantWriteError {
    /// No role with that name.
    #[error("role not found")]
    RoleNotFound,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

store_failure!(GrantWriteError);

/// A change to some fields of a role (see [`RoleRepository::update_fields`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleChanges {
    /// A new description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// The new, complete set of permissions.
    pub permissions: Option<BTreeSet<Permission>>,
    /// The new `updated_at`.
    pub updated_at: OffsetDateTime,
}

/// What [`RoleRepository::revoke_unless_last`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastHolder {
    /// The grant is gone; others still hold the role.
    Revoked,
    /// The user is the last holder: the grant stays.
    Kept,
}

/// Stores roles and which users hold them.
#[portico_macros::port("roles")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait RoleRepository: Send + Sync {
    /// Inserts a role. `Conflict` if one with the same name exists.
    async fn create(&self, role: &Role) -> Result<(), InsertError>;

    /// The role named `name`, or `None`.
    async fn get(&self, name: &RoleName) -> Result<Option<Role>, StoreError>;

    /// Every role, ordered by name.
    async fn list(&self) -> Result<Vec<Role>, StoreError>;

    /// Writes the fields `changes` names (and `updated_at`), atomically and
    /// nothing else: a concurrent change of the other field MUST survive.
    /// `NotFound` for an unknown name.
    async fn update_fields(&self, name: &RoleName, changes: &RoleChanges)
    -> Result<(), WriteError>;

    /// Deletes the role and every grant of it. `NotFound` for an unknown name.
    async fn delete(&self, name: &RoleName) -> Result<(), WriteError>;

    /// Grants `role` to the user. Idempotent: granting twice is not an error
    /// and leaves one grant. `RoleNotFound` if the role does not exist.
    async fn grant(
        &self,
        user_id: UserId,
        role: &RoleName,
        at: OffsetDateTime,
    ) -> Result<(), GrantWriteError>;

    /// Removes the grant. `NotFound` if the user did not hold the role.
    async fn revoke(&self, user_id: UserId, role: &RoleName) -> Result<(), WriteError>;

    /// Removes the grant unless the user is the role's last holder, then
    /// returns [`LastHolder::Kept`] and changes nothing. Atomic: of N
    /// concurrent calls revoking the role from each of its N holders, at
    /// least one MUST be refused, so the role never ends up with no holder.
    /// `NotFound` if the user did not hold the role.
    async fn revoke_unless_last(
        &self,
        user_id: UserId,
        role: &RoleName,
    ) -> Result<LastHolder, WriteError>;

    /// The roles the user holds, ordered by name (empty for an unknown user).
    async fn roles_of(&self, user_id: UserId) -> Result<Vec<Role>, StoreError>;

    /// Removes every grant the user holds; returns how many.
    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError>;
}
