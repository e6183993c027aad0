//! The second factor: enrolment, codes and the second step of a sign-in.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The current password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolBody {
    /// The account's password.
    pub password: String,
}

/// A new authenticator's secret. Shown once; pending until confirmed.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolmentView {
    /// The secret in base32 (SHA-1, 6 digits, 30-second steps), to type in.
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    pub secret: String,
    /// The same as an `otpauth://` URI, to show as a QR code.
    pub otpauth_uri: String,
}

/// A code from the authenticator app.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    /// Six digits.
    #[schema(example = "123456")]
    pub code: String,
}

/// Backup codes: each works once in place of a TOTP code. Shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct BackupCodesView {
    /// Ten codes of 20 hex characters in groups of four.
    pub backup_codes: Vec<String>,
}

/// The password and a code (a TOTP code or a backup code).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordAndCodeBody {
    /// The account's password.
    pub password: String,
    /// A TOTP code (six digits) or a backup code.
    pub code: String,
}

/// The second step of a sign-in: the `mfa_token` and exactly one of `code`
/// and `backup_code`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaSignInBody {
    /// From the 200 of `POST /v1/sessions`.
    pub mfa_token: String,
    /// A TOTP code (six digits).
    pub code: Option<String>,
    /// A backup code.
    pub backup_code: Option<String>,
}
