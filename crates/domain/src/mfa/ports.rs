//! Second factors (the two-factor collection and `2fa_enabled` of the
//! schemas Portico came from): one TOTP factor per user, its secret sealed,
//! the last time step it accepted (the replay guard) and the hashes of the
//! backup codes still unused.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{MfaFactorId, Sealed, StoreError, TokenHash, UserId};

/// A user's TOTP factor, pending until confirmed with a first code.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MfaFactor {
    /// New at each enrolment; every write below names it.
    pub id: MfaFactorId,
    /// Whose factor it is (at most one per user).
    pub user_id: UserId,
    /// The TOTP secret, sealed by the [`crate::Sealer`] for this user.
    pub secret: Sealed,
    /// When a first code confirmed it; until then sign-in does not ask for it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub confirmed_at: Option<OffsetDateTime>,
    /// The last TOTP time step accepted; a code of this step or an earlier
    /// one is refused (no replay).
    pub last_step: Option<i64>,
    /// Hashes ([`crate::BackupCode::hash`]) of the unused backup codes.
    pub backup_codes: Vec<TokenHash>,
    /// When the enrolment began.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl MfaFactor {
    /// Whether sign-in asks for it.
    pub fn is_confirmed(&self) -> bool {
        self.confirmed_at.is_some()
    }
}

/// Stores second factors. Every write is one atomic step on the stored
/// record, conditioned on the factor's id, so concurrent calls cannot both
/// win and a write for a factor that was replaced changes nothing.
#[portico_macros::port("mfa")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait MfaRepository: Send + Sync {
    /// Stores `factor` (unconfirmed, no backup codes) as the user's pending
    /// factor, replacing a pending one. MUST return `false` and change
    /// nothing when the user has a confirmed factor.
    async fn begin(&self, factor: &MfaFactor) -> Result<bool, StoreError>;

    /// The user's factor, pending or confirmed.
    async fn get(&self, user_id: UserId) -> Result<Option<MfaFactor>, StoreError>;

    /// Confirms pending factor `id`: sets `confirmed_at = at`, `last_step =
    /// step` and the backup codes. MUST return `false` and change nothing
    /// unless the user's factor is `id` and unconfirmed; of N concurrent
    /// calls at most one returns `true`.
    async fn confirm(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        step: i64,
        backup_codes: &[TokenHash],
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Accepts time step `step`: sets `last_step = step` only if factor `id`
    /// is confirmed and its `last_step` is below `step`, else returns
    /// `false`. Of N concurrent calls with one step exactly one returns `true`.
    async fn accept_step(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        step: i64,
    ) -> Result<bool, StoreError>;

    /// Removes `code` from the backup codes of confirmed factor `id`;
    /// `true` if it was there. Of N concurrent calls with one code exactly
    /// one returns `true`.
    async fn use_backup_code(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        code: &TokenHash,
    ) -> Result<bool, StoreError>;

    /// Replaces every backup code of confirmed factor `id` with `codes`;
    /// `false` (and nothing changed) if the user's factor is not `id` or is
    /// pending.
    async fn replace_backup_codes(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        codes: &[TokenHash],
    ) -> Result<bool, StoreError>;

    /// Replaces the sealed secret of factor `id` with `new` if it is still
    /// `old` (re-encryption under a new key); `false` otherwise.
    async fn reseal(
        &self,
        user_id: UserId,
        id: MfaFactorId,
        old: &Sealed,
        new: &Sealed,
    ) -> Result<bool, StoreError>;

    /// Deletes factor `id` of the user (with its backup codes); `false` if
    /// the user's factor is not `id`.
    async fn delete(&self, user_id: UserId, id: MfaFactorId) -> Result<bool, StoreError>;

    /// Deletes whatever factor the user has; returns how many (0 or 1).
    async fn delete_for_user(&self, user_id: UserId) -> Result<u64, StoreError>;

    /// Up to `limit` factors, pending or confirmed, of the users whose id
    /// follows `after` (from the first when `None`), in ascending user id
    /// order: re-encryption walks every factor with it.
    async fn list_after(
        &self,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<MfaFactor>, StoreError>;
}
