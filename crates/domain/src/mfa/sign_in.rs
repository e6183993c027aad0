//! The second step of a sign-in: a challenge after the right password,
//! then the `mfa_token` and a code.

use time::OffsetDateTime;

use super::errors::MfaSignInError;
use super::service::{MfaProof, MultiFactor};
use crate::accounts::guard::Guess;
use crate::activity::{Happened, record};
use crate::sessions::service::IssuedSession;
use crate::*;

/// A pending sign-in waiting for its second factor.
#[derive(Debug, Clone)]
pub struct MfaChallenge {
    /// The `mfa_token` to present with the code (shown once).
    pub token: Token,
    /// When the token stops working.
    pub expires_at: OffsetDateTime,
}

/// The second step of a sign-in.
#[derive(Debug, Clone)]
pub struct MfaSignInRequest {
    /// The `mfa_token` the first step returned.
    pub token: Token,
    /// The code.
    pub proof: MfaProof,
    /// The client's User-Agent header, as sent (parsed into a
    /// [`Device`](crate::Device) here).
    pub user_agent: Option<String>,
    /// Client IP.
    pub ip: Option<String>,
}

impl MultiFactor {
    /// After a right password: a session, or a challenge when the user has
    /// TOTP on.
    pub(crate) async fn after_password(
        &self,
        user: &User,
        now: OffsetDateTime,
    ) -> Result<Option<MfaChallenge>, StoreError> {
        if !self
            .stores
            .mfa
            .get(user.id)
            .await?
            .is_some_and(|f| f.is_confirmed())
        {
            return Ok(None);
        }
        let token = self.system.tokens.generate();
        let expires_at = now + self.policy.mfa_token_ttl;
        self.stores
            .one_time_tokens
            .insert(&OneTimeToken {
                token_hash: token.hash(),
                purpose: TokenPurpose::MfaSignIn,
                user_id: user.id,
                created_at: now,
                expires_at,
            })
            .await?;
        Ok(Some(MfaChallenge { token, expires_at }))
    }

    /// The second step of a sign-in: the `mfa_token` and a code. Each try
    /// counts against the token (`mfa_token_tries`) and, when wrong, toward
    /// the account's lockout.
    pub async fn sign_in(
        &self,
        auth: &crate::Authentication,
        request: MfaSignInRequest,
    ) -> Result<IssuedSession, MfaSignInError> {
        let now = self.system.now();
        let hash = request.token.hash();
        let tokens = &self.stores.one_time_tokens;
        let challenge = tokens
            .find(&hash, TokenPurpose::MfaSignIn, now)
            .await?
            .ok_or(MfaSignInError::InvalidToken)?;
        // Counted on the token itself, so the bound holds for its whole
        // life (an aligned window would restart it at a boundary).
        let tries = tokens
            .spend_try(&hash, TokenPurpose::MfaSignIn, now)
            .await?
            .ok_or(MfaSignInError::InvalidToken)?;
        if tries > self.policy.mfa_token_tries.max(1) {
            tokens.consume(&hash, TokenPurpose::MfaSignIn, now).await?;
            return Err(MfaSignInError::InvalidToken);
        }
        let user = self
            .stores
            .users
            .get(challenge.user_id)
            .await?
            .ok_or(MfaSignInError::InvalidToken)?;
        let origin = RequestOrigin {
            ip: request.ip.clone(),
            device: Some(self.system.device(request.user_agent.as_deref())),
        };
        let event = |kind| Happened::new(kind, user.id, Actor::User(user.id), &origin);
        let failed =
            |reason: &'static str| event(ActivityKind::SignInFailed).with("reason", reason);
        if user.locked {
            record(&self.stores, &self.system, failed("locked")).await?;
            return Err(MfaSignInError::Locked);
        }
        if let Some(suspension) = user.suspended_at(now) {
            record(&self.stores, &self.system, failed("suspended")).await?;
            return Err(MfaSignInError::Suspended(suspension.clone()));
        }
        let factor = match self.stores.mfa.get(user.id).await? {
            Some(f) if f.is_confirmed() => f,
            // Turned off since the password step: that sign-in is void.
            _ => return Err(MfaSignInError::InvalidToken),
        };
        match self
            .check_proof(&user, &factor, &request.proof, request.ip.as_deref())
            .await?
        {
            Guess::Right => {}
            Guess::Wrong => {
                record(&self.stores, &self.system, failed("code")).await?;
                return Err(MfaSignInError::WrongCode);
            }
            Guess::LockedOut { until } => {
                record(&self.stores, &self.system, failed("locked")).await?;
                return Err(MfaSignInError::LockedOut { until });
            }
        }
        if matches!(request.proof, MfaProof::Backup(_)) {
            record(
                &self.stores,
                &self.system,
                event(ActivityKind::MfaBackupCodeUsed),
            )
            .await?;
        }
        if tokens
            .consume(&hash, TokenPurpose::MfaSignIn, now)
            .await?
            .is_none()
        {
            // A parallel request completed this sign-in first.
            return Err(MfaSignInError::InvalidToken);
        }
        match auth
            .finish_sign_in(
                &user,
                origin.device.clone(),
                request.ip,
                now,
                crate::SignInMethod::Mfa,
            )
            .await
        {
            Ok(session) => Ok(session),
            Err(crate::SignInError::Unexpected(e)) => Err(MfaSignInError::Unexpected(e)),
            Err(_) => Err(MfaSignInError::InvalidToken),
        }
    }
}
