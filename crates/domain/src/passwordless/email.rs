//! Email link and code sign-in (see the module's notes for the records).

use std::fmt;

use time::{Duration, OffsetDateTime};

use crate::activity::{Happened, record};
use crate::mail::delivery::{queue, within_address_limit};
use crate::*;

/// How long a mailed link and code work.
pub const EMAIL_SIGN_IN_TTL: Duration = Duration::minutes(10);

/// Wrong codes a flow takes: the last of them voids it.
pub const EMAIL_SIGN_IN_TRIES: u32 = 5;

/// Why a presented code or link is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailProofError {
    /// Not six digits.
    #[error("must be the 6 digits from the mail")]
    Code,
    /// Not the link's `<flow id>.<secret>`.
    #[error("must be the whole token from the mailed link")]
    Link,
}

/// The 6-digit code of an email sign-in. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailCode(String);

impl EmailCode {
    /// Parses a code as typed: six ASCII digits (spaces around and
    /// between them are dropped, as people copy them from a mail).
    pub fn parse(input: &str) -> Result<Self, EmailProofError> {
        let digits: String = input.chars().filter(|c| *c != ' ').collect();
        if digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(digits))
        } else {
            Err(EmailProofError::Code)
        }
    }

    /// A uniformly random code from a fresh token's randomness (64 bits
    /// reduced to six digits: the bias is below 10⁻¹³).
    fn from_token(token: &Token) -> Self {
        let n = u64::from_str_radix(&token.expose()[..16], 16).unwrap_or_default();
        Self(format!("{:06}", n % 1_000_000))
    }

    /// The code, for the mail.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EmailCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmailCode(***)")
    }
}

/// What an email sign-in link carries: the flow id and the link's secret
/// (`<flow id>.<secret>`, 64 hex characters each).
#[derive(Clone, PartialEq, Eq)]
pub struct EmailLinkToken {
    flow: Token,
    secret: Token,
}

impl EmailLinkToken {
    /// Parses the token of a link.
    pub fn parse(input: &str) -> Result<Self, EmailProofError> {
        let (flow, secret) = input.split_once('.').ok_or(EmailProofError::Link)?;
        Ok(Self {
            flow: Token::parse(flow).map_err(|_| EmailProofError::Link)?,
            secret: Token::parse(secret).map_err(|_| EmailProofError::Link)?,
        })
    }

    /// The token, for the link.
    pub fn expose(&self) -> String {
        format!("{}.{}", self.flow.expose(), self.secret.expose())
    }
}

impl fmt::Debug for EmailLinkToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmailLinkToken(***)")
    }
}

/// What proves an email sign-in.
#[derive(Debug, Clone)]
pub enum EmailProof {
    /// The flow id the request answered with, and the mailed code.
    Code {
        /// The `flow_id`.
        flow: Token,
        /// The code.
        code: EmailCode,
    },
    /// The mailed link's token.
    Link(EmailLinkToken),
}

/// The second half of an email sign-in.
#[derive(Debug, Clone)]
pub struct EmailSignInRequest {
    /// The code or the link.
    pub proof: EmailProof,
    /// The client's User-Agent header, as sent.
    pub user_agent: Option<String>,
    /// Client IP.
    pub ip: Option<String>,
}

/// Why an email sign-in could not be asked for.
#[derive(Debug, thiserror::Error)]
pub enum RequestEmailSignInError {
    /// The runtime setting `mail.sign_in` is off.
    #[error("sign-in by email is turned off")]
    Off,
    /// `redirect_uri` is not on the allowlist.
    #[error("redirect_uri is not allowed")]
    RedirectNotAllowed,
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[from] StoreError),
}

/// Why an email sign-in did not complete.
#[derive(Debug, thiserror::Error)]
pub enum EmailSignInError {
    /// The runtime setting `mail.sign_in` is off (also for mails sent before).
    #[error("sign-in by email is turned off")]
    Off,
    /// A wrong code, or a flow that is unknown, used, expired or used up
    /// (not told apart).
    #[error("invalid or expired code or link")]
    InvalidToken,
    /// Locked by an administrator.
    #[error("account locked")]
    Locked,
    /// Suspended by an administrator.
    #[error("account suspended")]
    Suspended(crate::Suspension),
    /// Infrastructure failure.
    #[error("unexpected failure")]
    Unexpected(#[from] StoreError),
}

/// Sign-in by a link and a code mailed to the account's address.
#[derive(Clone)]
pub struct EmailSignIn {
    stores: Stores,
    system: System,
    policy: AccountPolicy,
    redirect_allowlist: Vec<String>,
}

impl EmailSignIn {
    /// Builds the service; a `redirect_uri` must be on `redirect_allowlist`
    /// (the identity providers' list: the front ends a sign-in may return to).
    pub fn new(
        stores: Stores,
        system: System,
        policy: AccountPolicy,
        redirect_allowlist: Vec<String>,
    ) -> Self {
        Self {
            stores,
            system,
            policy,
            redirect_allowlist,
        }
    }

    /// Whether `redirect_uri` may follow a link's sign-in.
    pub fn redirect_allowed(&self, redirect_uri: &str) -> bool {
        crate::federation::redirect::redirect_allowed(&self.redirect_allowlist, redirect_uri)
    }

    /// Asks for a sign-in mail to `email`, and answers the new flow's id,
    /// the same whether or not the address has an account: the request
    /// only queues it, and the mail worker looks the account up, writes
    /// the flow and mails the link and code (nothing for an unknown
    /// address). Past `mails_per_address_per_hour` for the address nothing
    /// is queued, with the same answer.
    pub async fn request(
        &self,
        email: &Email,
        redirect_uri: Option<String>,
    ) -> Result<Token, RequestEmailSignInError> {
        if !self.policy.settings.current().sign_in_by_mail {
            return Err(RequestEmailSignInError::Off);
        }
        if redirect_uri
            .as_deref()
            .is_some_and(|uri| !self.redirect_allowed(uri))
        {
            return Err(RequestEmailSignInError::RedirectNotAllowed);
        }
        let flow = self.system.tokens.generate();
        if within_address_limit(&self.stores, &self.system, &self.policy, "sign_in", email).await? {
            let expires_at = self.system.now() + EMAIL_SIGN_IN_TTL;
            let body = Outgoing::SignInRequest {
                to: email.clone(),
                flow: flow.clone(),
                redirect_uri,
                expires_at,
            };
            queue(&self.stores, &self.system, body, EMAIL_SIGN_IN_TTL).await?;
        }
        Ok(flow)
    }

    /// Completes a sign-in with the code or the link: a session, or a
    /// second-factor challenge when the user has TOTP on (a mailbox is
    /// one factor, as a password is). The first right use voids the flow
    /// for both; each wrong code counts, and the fifth voids the flow. It
    /// marks the address verified.
    pub async fn verify(
        &self,
        auth: &Authentication,
        request: EmailSignInRequest,
    ) -> Result<SignedIn, EmailSignInError> {
        if !self.policy.settings.current().sign_in_by_mail {
            return Err(EmailSignInError::Off);
        }
        let now = self.system.now();
        let tokens = &self.stores.one_time_tokens;
        let (flow, proof, purpose) = match &request.proof {
            EmailProof::Code { flow, code } => (
                flow,
                flow.hash_with_text(code.expose()),
                TokenPurpose::EmailSignInCode,
            ),
            EmailProof::Link(link) => (
                &link.flow,
                link.flow.hash_with(&link.secret),
                TokenPurpose::EmailSignInLink,
            ),
        };
        let flow_hash = flow.hash();
        let pending = tokens
            .find(&flow_hash, TokenPurpose::EmailSignIn, now)
            .await?
            .ok_or(EmailSignInError::InvalidToken)?;
        let origin = RequestOrigin {
            ip: request.ip.clone(),
            device: Some(self.system.device(request.user_agent.as_deref())),
        };
        let failed = |reason: &'static str| {
            Happened::new(
                ActivityKind::SignInFailed,
                pending.user_id,
                Actor::User(pending.user_id),
                &origin,
            )
            .with("reason", reason)
            .with("method", SignInMethod::Email.as_str())
        };
        if purpose == TokenPurpose::EmailSignInCode {
            // Counted on the flow itself, so the bound holds for its life.
            let tries = tokens
                .spend_try(&flow_hash, TokenPurpose::EmailSignIn, now)
                .await?
                .ok_or(EmailSignInError::InvalidToken)?;
            if tries > EMAIL_SIGN_IN_TRIES {
                tokens
                    .consume(&flow_hash, TokenPurpose::EmailSignIn, now)
                    .await?;
                return Err(EmailSignInError::InvalidToken);
            }
            if tokens.find(&proof, purpose, now).await?.is_none() {
                if tries == EMAIL_SIGN_IN_TRIES {
                    tokens
                        .consume(&flow_hash, TokenPurpose::EmailSignIn, now)
                        .await?;
                }
                record(&self.stores, &self.system, failed("code")).await?;
                return Err(EmailSignInError::InvalidToken);
            }
        } else if tokens.find(&proof, purpose, now).await?.is_none() {
            return Err(EmailSignInError::InvalidToken);
        }
        let user = self
            .stores
            .users
            .get(pending.user_id)
            .await?
            .ok_or(EmailSignInError::InvalidToken)?;
        if user.locked {
            record(&self.stores, &self.system, failed("locked")).await?;
            return Err(EmailSignInError::Locked);
        }
        if let Some(suspension) = user.suspended_at(now) {
            record(&self.stores, &self.system, failed("suspended")).await?;
            return Err(EmailSignInError::Suspended(suspension.clone()));
        }
        // The single use: of the link, the code and parallel requests, the
        // one that takes the flow signs in.
        tokens
            .consume(&flow_hash, TokenPurpose::EmailSignIn, now)
            .await?
            .ok_or(EmailSignInError::InvalidToken)?;
        tokens.consume(&proof, purpose, now).await?;
        if !user.verified {
            let changes = UserChanges {
                verified: Some(true),
                updated_at: Some(now),
                ..UserChanges::default()
            };
            match self.stores.users.update_fields(user.id, &changes).await {
                Ok(_) => self.stores.announce(AuthChange::User(user.id)).await,
                Err(WriteError::NotFound) => return Err(EmailSignInError::InvalidToken),
                Err(WriteError::Store(e)) => return Err(e.into()),
            }
        }
        // Email never proves a second factor: TOTP is asked when on.
        auth.second_step_or_session(
            &user,
            origin.device,
            request.ip,
            now,
            SignInMethod::Email,
            false,
        )
        .await
        .map_err(|e| match e {
            SignInError::Unexpected(e) => e.into(),
            _ => EmailSignInError::InvalidToken,
        })
    }
}

/// Writes the flow of a queued sign-in request for the account of `to`
/// and returns the mail with its link and code; `None` without an account
/// or once the request has expired. A retried delivery (a mail that may
/// or may not have gone out) writes a new code and link beside the
/// earlier ones, under the same flow and expiry.
pub(crate) async fn issue(
    stores: &Stores,
    system: &System,
    to: &Email,
    flow: &Token,
    redirect_uri: Option<&str>,
    expires_at: OffsetDateTime,
) -> Result<Option<Mail>, StoreError> {
    let now = system.now();
    if expires_at <= now {
        return Ok(None);
    }
    let Some(user) = stores.users.find_by_email(to).await? else {
        return Ok(None);
    };
    let tokens = &stores.one_time_tokens;
    tokens
        .consume(&flow.hash(), TokenPurpose::EmailSignIn, now)
        .await?;
    let code = EmailCode::from_token(&system.tokens.generate());
    let secret = system.tokens.generate();
    let record = |token_hash, purpose| OneTimeToken {
        token_hash,
        purpose,
        user_id: user.id,
        created_at: now,
        expires_at,
    };
    tokens
        .insert(&record(
            flow.hash_with_text(code.expose()),
            TokenPurpose::EmailSignInCode,
        ))
        .await?;
    tokens
        .insert(&record(
            flow.hash_with(&secret),
            TokenPurpose::EmailSignInLink,
        ))
        .await?;
    // The flow last: until it is written, neither proof works.
    tokens
        .insert(&record(flow.hash(), TokenPurpose::EmailSignIn))
        .await?;
    Ok(Some(Mail::SignIn {
        to: user.email,
        link: EmailLinkToken {
            flow: flow.clone(),
            secret,
        },
        code,
        redirect_uri: redirect_uri.map(str::to_owned),
        expires_at,
    }))
}
