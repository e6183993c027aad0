//! Why a role operation was refused.

use crate::StoreError;

/// Why a role operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    /// The caller lacks `roles:write`.
    #[error(transparent)]
    Forbidden(#[from] crate::Denied),
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
    /// The caller lacks `roles:write`.
    #[error(transparent)]
    Forbidden(#[from] crate::Denied),
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
