//! The second factor: enrolment of a TOTP authenticator, its confirmation
//! (which hands out the backup codes), turning it off, new backup codes, and
//! the second step of a sign-in (`mfa_token` plus a code).
//!
//! The rules, all here so an embedder gets them too:
//! - Every change needs the current password (enrolment) or the password
//!   and a code (turning off, new backup codes); every password and code is
//!   checked under the same guessing limits as a sign-in, so wrong codes
//!   count toward the account's lockout.
//! - A TOTP code is accepted once: the factor records the step it matched
//!   and refuses that step and earlier ones afterwards, atomically, so two
//!   requests racing with one code cannot both pass.
//! - A backup code works once (it is removed atomically when used); the
//!   store keeps only salted hashes.
//! - An `mfa_token` lives `mfa_token_ttl` (5 minutes) and allows
//!   `mfa_token_tries` (5) codes; it is consumed by the sign-in it completes.
//! - The TOTP secret is sealed by the [`crate::Sealer`] under the context
//!   `totp:<user id>`.

use super::errors::*;
use super::totp;

use crate::accounts::guard::{Guess, PasswordGuard, Subject};
use crate::{AccountPolicy, Stores, System};
use crate::{
    AuthChange, BackupCode, MfaFactor, MfaFactorId, Password, StoreError, TotpCode, User, UserId,
};

/// Backup codes in a set.
pub const BACKUP_CODES: usize = 10;

/// What an authenticator app needs to start producing codes.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The secret in base32 (RFC 4648, no padding), for typing in.
    pub secret: String,
    /// The `otpauth://` URI (as a QR code, for scanning).
    pub otpauth_uri: String,
}

/// A proof of the second factor.
#[derive(Debug, Clone)]
pub enum MfaProof {
    /// A code from the authenticator app.
    Totp(TotpCode),
    /// One of the backup codes.
    Backup(BackupCode),
}

impl MfaProof {
    /// A TOTP code if `text` is six digits, else a backup code.
    pub fn parse(text: &str) -> Result<Self, crate::CodeError> {
        match TotpCode::parse(text) {
            Ok(code) => Ok(Self::Totp(code)),
            Err(_) => BackupCode::parse(text).map(Self::Backup),
        }
    }
}

/// Whether a user has the second factor on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfaStatus {
    /// TOTP is required at sign-in.
    pub totp: bool,
    /// Backup codes not used yet.
    pub backup_codes_left: usize,
}

/// What re-encrypting the sealed secrets did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResealReport {
    /// Secrets looked at.
    pub seen: u64,
    /// Secrets sealed anew under the current key.
    pub resealed: u64,
}

/// Enrolment, confirmation, removal and use of the second factor.
#[derive(Clone)]
pub struct MultiFactor {
    pub(super) stores: Stores,
    pub(super) system: System,
    pub(super) policy: AccountPolicy,
}

/// The context a user's TOTP secret is sealed under.
pub(super) fn context(user: UserId) -> String {
    format!("totp:{user}")
}

impl MultiFactor {
    /// Builds the service.
    pub fn new(stores: Stores, system: System, policy: AccountPolicy) -> Self {
        Self {
            stores,
            system,
            policy,
        }
    }

    pub(super) fn guard(&self) -> PasswordGuard<'_> {
        PasswordGuard::new(&self.stores, &self.system, &self.policy)
    }

    /// Whether `user` has TOTP on, and how many backup codes are left.
    pub async fn status(&self, user: UserId) -> Result<MfaStatus, StoreError> {
        status_in(&self.stores, user).await
    }

    /// The status of the signed-in `principal`'s user, read from the store
    /// once per resolved principal (the clones of one share it). A server
    /// that caches principals must drop them on the user's
    /// [`crate::AuthChange`] after every write of confirm, backup-code use
    /// or replacement, and deletion, as it does for the other user changes.
    pub async fn status_of(&self, principal: &crate::Principal) -> Result<MfaStatus, StoreError> {
        if let Some(known) = principal.known_mfa() {
            return Ok(known);
        }
        let status = self.status(principal.user_id()).await?;
        principal.remember_mfa(status);
        Ok(status)
    }

    /// Starts (or restarts) an enrolment: a new secret, pending until
    /// [`MultiFactor::confirm`] sees a code of it.
    pub async fn enrol(
        &self,
        caller: &crate::Principal,
        password: &Password,
        ip: Option<&str>,
    ) -> Result<Enrolment, EnrolError> {
        let user = caller.account()?;
        match self
            .guard()
            .check(Subject::User(user), ip, password)
            .await?
        {
            Guess::Right => {}
            Guess::Wrong => return Err(EnrolError::WrongPassword),
            Guess::LockedOut { until } => return Err(EnrolError::LockedOut { until }),
        }
        let secret = random_bytes(&self.system, totp::SECRET_BYTES);
        let factor = MfaFactor {
            id: MfaFactorId::from_uuid(self.system.ids.new_id()),
            user_id: user.id,
            secret: self.system.sealer.seal(&context(user.id), &secret)?,
            confirmed_at: None,
            last_step: None,
            backup_codes: Vec::new(),
            created_at: self.system.now(),
        };
        // `begin` refuses, atomically, while a confirmed factor exists.
        if !self.stores.mfa.begin(&factor).await? {
            return Err(EnrolError::AlreadyEnabled);
        }
        Ok(Enrolment {
            secret: totp::base32(&secret),
            otpauth_uri: totp::otpauth_uri(&self.policy.mfa_issuer, user.email.as_str(), &secret),
        })
    }

    /// Confirms the pending enrolment with a first code: TOTP is on from
    /// now, and the returned backup codes (shown once) are its only copies.
    pub async fn confirm(
        &self,
        caller: &crate::Principal,
        code: &TotpCode,
        ip: Option<&str>,
    ) -> Result<Vec<BackupCode>, ConfirmMfaError> {
        let user = caller.account()?;
        let factor = match self.stores.mfa.get(user.id).await? {
            Some(f) if !f.is_confirmed() => f,
            _ => return Err(ConfirmMfaError::NotPending),
        };
        let mut matched = None;
        let verify = async {
            matched = self.matching_step(&factor, code)?;
            Ok(matched.is_some())
        };
        match self.guard().check_code(user, ip, verify).await? {
            Guess::Right => {}
            Guess::Wrong => return Err(ConfirmMfaError::WrongCode),
            Guess::LockedOut { until } => return Err(ConfirmMfaError::LockedOut { until }),
        }
        let step = matched.ok_or(ConfirmMfaError::WrongCode)?;
        let codes = self.new_backup_codes();
        let hashes: Vec<_> = codes.iter().map(|c| c.hash(user.id)).collect();
        let now = self.system.now();
        if !self
            .stores
            .mfa
            .confirm(user.id, factor.id, step, &hashes, now)
            .await?
        {
            // A new enrolment replaced this one, or a parallel confirmation won.
            return Err(ConfirmMfaError::NotPending);
        }
        self.stores.announce(AuthChange::User(user.id)).await;
        self.record(crate::ActivityKind::MfaEnabled, user, ip)
            .await?;
        Ok(codes)
    }

    /// Writes the event of the user's change to the second factor.
    async fn record(
        &self,
        kind: crate::ActivityKind,
        user: &User,
        ip: Option<&str>,
    ) -> Result<(), StoreError> {
        let origin = crate::RequestOrigin {
            ip: ip.map(str::to_owned),
            device: None,
        };
        let happened =
            crate::activity::Happened::new(kind, user.id, crate::Actor::User(user.id), &origin);
        crate::activity::record(&self.stores, &self.system, happened).await
    }

    /// Turns TOTP off (the backup codes go with it), given the password and
    /// a code (TOTP or backup).
    pub async fn disable(
        &self,
        caller: &crate::Principal,
        password: &Password,
        proof: &MfaProof,
        ip: Option<&str>,
    ) -> Result<(), ChangeMfaError> {
        let user = caller.account()?;
        let factor = self.check_change(user, password, proof, ip).await?;
        if self.stores.mfa.delete(user.id, factor.id).await? {
            self.stores.announce(AuthChange::User(user.id)).await;
            self.record(crate::ActivityKind::MfaDisabled, user, ip)
                .await?;
            Ok(())
        } else {
            Err(ChangeMfaError::NotEnabled)
        }
    }

    /// A new set of backup codes in place of the old, given the password
    /// and a code (TOTP or backup).
    pub async fn regenerate_backup_codes(
        &self,
        caller: &crate::Principal,
        password: &Password,
        proof: &MfaProof,
        ip: Option<&str>,
    ) -> Result<Vec<BackupCode>, ChangeMfaError> {
        let user = caller.account()?;
        let factor = self.check_change(user, password, proof, ip).await?;
        let codes = self.new_backup_codes();
        let hashes: Vec<_> = codes.iter().map(|c| c.hash(user.id)).collect();
        if self
            .stores
            .mfa
            .replace_backup_codes(user.id, factor.id, &hashes)
            .await?
        {
            self.stores.announce(AuthChange::User(user.id)).await;
            self.record(crate::ActivityKind::MfaBackupCodesRegenerated, user, ip)
                .await?;
            Ok(codes)
        } else {
            Err(ChangeMfaError::NotEnabled)
        }
    }

    /// The password, then the code, each under the guessing limits; the
    /// confirmed factor they unlock.
    async fn check_change(
        &self,
        user: &User,
        password: &Password,
        proof: &MfaProof,
        ip: Option<&str>,
    ) -> Result<MfaFactor, ChangeMfaError> {
        let factor = match self.stores.mfa.get(user.id).await? {
            Some(f) if f.is_confirmed() => f,
            _ => return Err(ChangeMfaError::NotEnabled),
        };
        match self
            .guard()
            .check(Subject::User(user), ip, password)
            .await?
        {
            Guess::Right => {}
            Guess::Wrong => return Err(ChangeMfaError::WrongPassword),
            Guess::LockedOut { until } => return Err(ChangeMfaError::LockedOut { until }),
        }
        match self.check_proof(user, &factor, proof, ip).await? {
            Guess::Right => Ok(factor),
            Guess::Wrong => Err(ChangeMfaError::WrongCode),
            Guess::LockedOut { until } => Err(ChangeMfaError::LockedOut { until }),
        }
    }

    /// Checks `proof` against `factor` under the guessing limits, spending
    /// it: a TOTP step is recorded, a backup code removed.
    pub(super) async fn check_proof(
        &self,
        user: &User,
        factor: &MfaFactor,
        proof: &MfaProof,
        ip: Option<&str>,
    ) -> Result<Guess, StoreError> {
        let mfa = &self.stores.mfa;
        let verify = async {
            match proof {
                MfaProof::Totp(code) => match self.matching_step(factor, code)? {
                    Some(step) => mfa.accept_step(user.id, factor.id, step).await,
                    None => Ok(false),
                },
                MfaProof::Backup(code) => {
                    let used = mfa
                        .use_backup_code(user.id, factor.id, &code.hash(user.id))
                        .await?;
                    if used {
                        // The count of codes left changed.
                        self.stores.announce(AuthChange::User(user.id)).await;
                    }
                    Ok(used)
                }
            }
        };
        self.guard().check_code(user, ip, verify).await
    }

    /// The time step whose code `code` is, if any, near now.
    pub(super) fn matching_step(
        &self,
        factor: &MfaFactor,
        code: &TotpCode,
    ) -> Result<Option<i64>, StoreError> {
        let secret = self
            .system
            .sealer
            .open(&context(factor.user_id), &factor.secret)?;
        Ok(totp::matching_step(
            &secret,
            code.as_str(),
            self.system.now().unix_timestamp(),
        ))
    }

    fn new_backup_codes(&self) -> Vec<BackupCode> {
        (0..BACKUP_CODES)
            .map(|_| BackupCode::from_random(self.system.tokens.generate().expose()))
            .collect()
    }
}

/// `len` bytes from the token generator (256 bits per token, hex).
pub(crate) fn random_bytes(system: &System, len: usize) -> Vec<u8> {
    let token = system.tokens.generate();
    let hex = token.expose().as_bytes();
    (0..len.min(crate::Token::BYTES))
        .map(|i| {
            let nibble = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            (nibble(hex[2 * i]) << 4) | nibble(hex[2 * i + 1])
        })
        .collect()
}

/// Whether `user` has TOTP on, and how many backup codes are left, as
/// `stores` hold it.
pub(crate) async fn status_in(stores: &Stores, user: UserId) -> Result<MfaStatus, StoreError> {
    Ok(match stores.mfa.get(user).await? {
        Some(f) if f.is_confirmed() => MfaStatus {
            totp: true,
            backup_codes_left: f.backup_codes.len(),
        },
        _ => MfaStatus {
            totp: false,
            backup_codes_left: 0,
        },
    })
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
