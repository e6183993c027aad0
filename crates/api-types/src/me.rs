//! The signed-in user: the own view, changes and deletion.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::*;

/// The signed-in user with roles and request counters.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    /// The account.
    #[serde(flatten)]
    pub user: UserView,
    /// Names of the roles held.
    pub roles: Vec<String>,
    /// What those roles grant, as they grant it, sorted: `*` (everything),
    /// `resource:*` (every action on a resource) or `resource:action`.
    #[schema(example = json!(["console:access", "users:*"]))]
    pub permissions: Vec<String>,
    /// The plan the user is on, with the features it gives.
    pub plan: MyPlanView,
    /// Request counters (minute, day, month, all time), this request
    /// included, with the plan's limits and when the windows reset.
    pub usage: QuotaView,
    /// The second factor.
    pub mfa: MfaView,
}

/// Whether sign-in asks for a second factor.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaView {
    /// TOTP is on: sign-in asks for a code.
    pub totp: bool,
    /// Backup codes not used yet (0 while TOTP is off).
    pub backup_codes_left: usize,
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub current_password: String,
    /// The new password (10–128 characters).
    pub new_password: String,
}

/// Changes to the own account; absent fields stay as they are, `null` clears.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeBody {
    /// Full name (at most 255 characters).
    #[serde(default, deserialize_with = "crate::schema::nullable")]
    #[schema(value_type = Option<String>)]
    pub full_name: Option<Option<String>>,
    /// Biography (at most 4000 characters).
    #[serde(default, deserialize_with = "crate::schema::nullable")]
    #[schema(value_type = Option<String>)]
    pub bio: Option<Option<String>>,
    /// Avatar URL or object key (at most 2048 characters).
    #[serde(default, deserialize_with = "crate::schema::nullable")]
    #[schema(value_type = Option<String>)]
    pub avatar: Option<Option<String>>,
    /// A web site: an absolute http or https URL (at most 2048 characters).
    #[serde(default, deserialize_with = "crate::schema::nullable")]
    #[schema(value_type = Option<String>)]
    pub website: Option<Option<String>>,
    /// Where you are (at most 100 characters, no control characters).
    #[serde(default, deserialize_with = "crate::schema::nullable")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Option<String>>,
    /// Preference keys to set; a `null` value removes a key.
    #[schema(value_type = Option<Object>)]
    pub preferences: Option<serde_json::Map<String, serde_json::Value>>,
    /// Changes the password; every other session is signed out.
    pub password: Option<PasswordChange>,
}

/// How the deletion is confirmed.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteMeBody {
    /// The account's password: deletes at once.
    pub password: Option<String>,
    /// The token from the deletion mail: deletes at once.
    pub token: Option<String>,
}
