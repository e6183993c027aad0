//! Role and user administration.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::*;

/// All roles.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleList {
    /// Ordered by name.
    pub items: Vec<RoleView>,
}

/// A new role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoleBody {
    /// Unique name: lowercase letters, digits, `_` and `-`.
    pub name: String,
    /// What it is for (at most 255 characters).
    pub description: Option<String>,
    /// Permissions: `*`, `resource:*` or `resource:action`.
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// Changes to a role; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRoleBody {
    /// New description; `null` clears it.
    #[serde(default, deserialize_with = "crate::schema::nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// The new, complete set of permissions (not for built-in roles).
    pub permissions: Option<Vec<String>>,
}

/// A user as an administrator sees them.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminUserView {
    /// The account.
    #[serde(flatten)]
    pub user: UserView,
    /// Consecutive failed sign-ins.
    pub failed_logins: u32,
    /// Roles held.
    pub roles: Vec<String>,
    /// The suspension in force, or `null`.
    pub suspension: Option<SuspensionView>,
    /// `suspended`, `locked`, `unverified` or `active` (the first that holds).
    #[schema(example = "active")]
    pub status: String,
    /// The plan assigned and holding, or `null` (the default plan).
    pub plan: Option<PlanAssignmentView>,
}

/// An administrator's suspension of an account.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuspensionView {
    /// What the user is told when signing in.
    #[schema(example = "Repeated spam reports")]
    pub reason: String,
    /// When it began (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub since: time::OffsetDateTime,
    /// When it lifts itself; `null` until an administrator lifts it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub until: Option<time::OffsetDateTime>,
}

impl From<&domain::Suspension> for SuspensionView {
    fn from(s: &domain::Suspension) -> Self {
        Self {
            reason: s.reason.as_str().to_owned(),
            since: s.since,
            until: s.until,
        }
    }
}

/// A suspension to set: every session of the user ends at once, and
/// signing in answers `account-suspended` with the reason and the end.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspendBody {
    /// What the user is told: 1 to 500 characters, one line.
    #[schema(example = "Repeated spam reports")]
    pub reason: String,
    /// When it lifts itself (RFC 3339, in the future); absent or `null`:
    /// until an administrator lifts it.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub until: Option<time::OffsetDateTime>,
}

/// An administrator's change to a user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserBody {
    /// Lock (revokes every session) or unlock (also clears a failed-login lockout).
    pub locked: Option<bool>,
    /// Mark the email address verified or not.
    pub verified: Option<bool>,
}
