//! Registration, verification, username look-ups and password resets.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A registration.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    /// Email address; a verification link is sent there.
    pub email: String,
    /// Username: 3–32 of `a-z`, `0-9`, `_`, `-`, `.`, starting with a letter or digit.
    pub username: String,
    /// Password: 10–128 characters.
    pub password: String,
}

/// A token from a mailed link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// The `token` query parameter of the link.
    pub token: String,
}

/// Whether a username is free.
#[derive(Debug, Serialize, ToSchema)]
pub struct Availability {
    /// True when no user has it.
    pub available: bool,
}

/// A password reset request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequestBody {
    /// The account's email address.
    pub email: String,
}

/// A password reset confirmation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmBody {
    /// The token from the mailed link.
    pub token: String,
    /// The new password (10–128 characters).
    pub new_password: String,
}
