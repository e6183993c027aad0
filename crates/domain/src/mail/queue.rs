//! The mail queue: what is to be mailed waits in the durable store until a
//! background worker hands it to the [`Mailer`](crate::Mailer), so requests
//! never wait for mail, a restart loses none, and a failed delivery is tried
//! again later.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::{Email, Mail, QueuedMailId, StoreError, Token, Username, WriteError};

/// What a queued message asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    /// A mail ready to send.
    Mail(Mail),
    /// A password reset was asked for this address. The worker looks the
    /// account up and, if there is one, issues a reset token and mails it;
    /// for an unknown address it does nothing. Queued for every address, so
    /// the request does the same work whether the account exists or not, and
    /// no reset token waits in the store.
    ResetRequest {
        /// The address given.
        to: Email,
    },
    /// An email sign-in was asked for this address. The worker looks the
    /// account up and, if there is one, writes the flow and mails its link
    /// and code; for an unknown address it does nothing. The flow id is not
    /// a secret (the requester holds it); the code and link are made by
    /// the worker, so none waits in the store.
    SignInRequest {
        /// The address given.
        to: Email,
        /// The flow id the request answered with.
        flow: Token,
        /// Where Portico's own page continues after the sign-in.
        redirect_uri: Option<String>,
        /// When the flow stops working (counted from the request).
        expires_at: OffsetDateTime,
    },
}

/// The kinds of [`Outgoing`], as stores record them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutgoingKind {
    /// [`Mail::Verification`].
    Verification,
    /// [`Mail::PasswordReset`].
    PasswordReset,
    /// [`Mail::AccountDeletion`].
    AccountDeletion,
    /// [`Outgoing::ResetRequest`].
    ResetRequest,
    /// [`Mail::Notice`].
    Notice,
    /// [`Mail::SignIn`].
    SignIn,
    /// [`Outgoing::SignInRequest`].
    SignInRequest,
}

impl OutgoingKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verification => "verification",
            Self::PasswordReset => "password_reset",
            Self::AccountDeletion => "account_deletion",
            Self::ResetRequest => "reset_request",
            Self::Notice => "notice",
            Self::SignIn => "sign_in",
            Self::SignInRequest => "sign_in_request",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Verification,
            Self::PasswordReset,
            Self::AccountDeletion,
            Self::ResetRequest,
            Self::Notice,
            Self::SignIn,
            Self::SignInRequest,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

/// An [`Outgoing`] taken apart into the plain fields stores keep: every
/// adapter writes these four and rebuilds the value with [`Outgoing::from_fields`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingFields {
    /// The kind.
    pub kind: OutgoingKind,
    /// The recipient's address, as given.
    pub to: String,
    /// The username, for verification mails.
    pub username: Option<String>,
    /// The single-use token the mail's link carries, if it has one.
    pub token: Option<String>,
    /// What a notice says, as JSON text (notices only).
    pub details: Option<String>,
}

impl Outgoing {
    /// The recipient.
    pub fn to(&self) -> &Email {
        match self {
            Self::Mail(mail) => mail.to(),
            Self::ResetRequest { to } | Self::SignInRequest { to, .. } => to,
        }
    }

    /// Its kind.
    pub fn kind(&self) -> OutgoingKind {
        match self {
            Self::Mail(Mail::Verification { .. }) => OutgoingKind::Verification,
            Self::Mail(Mail::PasswordReset { .. }) => OutgoingKind::PasswordReset,
            Self::Mail(Mail::AccountDeletion { .. }) => OutgoingKind::AccountDeletion,
            Self::Mail(Mail::Notice { .. }) => OutgoingKind::Notice,
            Self::Mail(Mail::SignIn { .. }) => OutgoingKind::SignIn,
            Self::ResetRequest { .. } => OutgoingKind::ResetRequest,
            Self::SignInRequest { .. } => OutgoingKind::SignInRequest,
        }
    }

    /// The plain fields a store keeps.
    pub fn fields(&self) -> OutgoingFields {
        let (username, token) = match self {
            Self::Mail(Mail::Verification {
                username, token, ..
            }) => (Some(username), Some(token)),
            Self::Mail(Mail::PasswordReset { token, .. } | Mail::AccountDeletion { token, .. }) => {
                (None, Some(token))
            }
            Self::SignInRequest { flow, .. } => (None, Some(flow)),
            Self::ResetRequest { .. }
            | Self::Mail(Mail::Notice { .. })
            | Self::Mail(Mail::SignIn { .. }) => (None, None),
        };
        let details = match self {
            Self::Mail(Mail::Notice { notice, .. }) => serde_json::to_string(notice).ok(),
            Self::SignInRequest {
                redirect_uri,
                expires_at,
                ..
            } => serde_json::to_string(&SignInDetails {
                redirect_uri: redirect_uri.clone(),
                expires_at: *expires_at,
                link: None,
                code: None,
            })
            .ok(),
            Self::Mail(Mail::SignIn {
                link,
                code,
                redirect_uri,
                expires_at,
                ..
            }) => serde_json::to_string(&SignInDetails {
                redirect_uri: redirect_uri.clone(),
                expires_at: *expires_at,
                link: Some(link.expose()),
                code: Some(code.expose().to_owned()),
            })
            .ok(),
            _ => None,
        };
        OutgoingFields {
            kind: self.kind(),
            to: self.to().as_str().to_owned(),
            username: username.map(|u| u.as_str().to_owned()),
            token: token.map(|t| t.expose().to_owned()),
            details,
        }
    }

    /// Rebuilds the value from stored fields; a field a kind needs that is
    /// missing or invalid is a [`StoreError`] (the record is corrupt).
    pub fn from_fields(fields: OutgoingFields) -> Result<Self, StoreError> {
        fn corrupt<E: std::error::Error + Send + Sync + 'static>(
            what: &'static str,
        ) -> impl FnOnce(E) -> StoreError {
            move |e| StoreError::with_source(what, e)
        }
        let to = Email::from_stored(&fields.to).map_err(corrupt("stored queued mail recipient"))?;
        let token = || -> Result<Token, StoreError> {
            let raw = fields
                .token
                .as_deref()
                .ok_or_else(|| StoreError::msg("stored queued mail message has no token"))?;
            Token::parse(raw).map_err(corrupt("stored queued mail token"))
        };
        Ok(match fields.kind {
            OutgoingKind::Verification => {
                let raw = fields
                    .username
                    .as_deref()
                    .ok_or_else(|| StoreError::msg("stored verification mail has no username"))?;
                Self::Mail(Mail::Verification {
                    to,
                    username: Username::parse(raw)
                        .map_err(corrupt("stored queued mail username"))?,
                    token: token()?,
                })
            }
            OutgoingKind::PasswordReset => Self::Mail(Mail::PasswordReset {
                to,
                token: token()?,
            }),
            OutgoingKind::AccountDeletion => Self::Mail(Mail::AccountDeletion {
                to,
                token: token()?,
            }),
            OutgoingKind::ResetRequest => Self::ResetRequest { to },
            OutgoingKind::SignInRequest => {
                let details = sign_in_details(&fields)?;
                Self::SignInRequest {
                    to,
                    flow: token()?,
                    redirect_uri: details.redirect_uri,
                    expires_at: details.expires_at,
                }
            }
            OutgoingKind::SignIn => {
                let details = sign_in_details(&fields)?;
                let missing = || StoreError::msg("stored sign-in mail has no link or code");
                Self::Mail(Mail::SignIn {
                    to,
                    link: crate::EmailLinkToken::parse(&details.link.ok_or_else(missing)?)
                        .map_err(corrupt("stored sign-in mail link"))?,
                    code: crate::EmailCode::parse(&details.code.ok_or_else(missing)?)
                        .map_err(corrupt("stored sign-in mail code"))?,
                    redirect_uri: details.redirect_uri,
                    expires_at: details.expires_at,
                })
            }
            OutgoingKind::Notice => {
                let raw = fields
                    .details
                    .as_deref()
                    .ok_or_else(|| StoreError::msg("stored notice mail has no details"))?;
                Self::Mail(Mail::Notice {
                    to,
                    notice: serde_json::from_str(raw)
                        .map_err(corrupt("stored notice mail details"))?,
                })
            }
        })
    }
}

/// What a sign-in request or mail keeps in [`OutgoingFields::details`].
#[derive(serde::Serialize, serde::Deserialize)]
struct SignInDetails {
    redirect_uri: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<String>,
}

fn sign_in_details(fields: &OutgoingFields) -> Result<SignInDetails, StoreError> {
    let raw = fields
        .details
        .as_deref()
        .ok_or_else(|| StoreError::msg("stored sign-in mail has no details"))?;
    serde_json::from_str(raw).map_err(|e| StoreError::with_source("stored sign-in mail details", e))
}

/// One queued message.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedMail {
    /// Its id.
    pub id: QueuedMailId,
    /// What it asks for.
    pub body: Outgoing,
    /// When it was queued.
    pub created_at: OffsetDateTime,
    /// After this it is dropped unsent: the link it carries has expired.
    pub expires_at: OffsetDateTime,
    /// Delivery attempts so far: 0 when queued, one more per [`MailQueue::claim`].
    pub attempts: u32,
}

/// A queued message as a store reads it back: plain values, checked by
/// [`QueuedMail::from_stored`].
#[derive(Debug, Clone)]
pub struct StoredMail {
    /// The id.
    pub id: uuid::Uuid,
    /// The stored kind name ([`OutgoingKind::as_str`]).
    pub kind: String,
    /// [`OutgoingFields::to`].
    pub to: String,
    /// [`OutgoingFields::username`].
    pub username: Option<String>,
    /// [`OutgoingFields::token`].
    pub token: Option<String>,
    /// [`OutgoingFields::details`].
    pub details: Option<String>,
    /// Attempts so far.
    pub attempts: i64,
    /// When it was queued.
    pub created_at: OffsetDateTime,
    /// When it expires.
    pub expires_at: OffsetDateTime,
}

impl QueuedMail {
    /// Rebuilds a message from what a store kept; a value no message can
    /// have is a [`StoreError`] (the record is corrupt).
    pub fn from_stored(stored: StoredMail) -> Result<Self, StoreError> {
        let kind = OutgoingKind::parse(&stored.kind)
            .ok_or_else(|| StoreError::msg("stored queued mail has an unknown kind"))?;
        let body = Outgoing::from_fields(OutgoingFields {
            kind,
            to: stored.to,
            username: stored.username,
            token: stored.token,
            details: stored.details,
        })?;
        Ok(Self {
            id: QueuedMailId::from_uuid(stored.id),
            body,
            created_at: stored.created_at,
            expires_at: stored.expires_at,
            attempts: u32::try_from(stored.attempts)
                .map_err(|e| StoreError::with_source("stored queued mail attempts", e))?,
        })
    }
}

/// The durable queue of outgoing mail.
///
/// A message is due from when it is queued. A worker claims due messages,
/// which hides them from other claims for a while (so a worker that dies
/// mid-delivery only delays them), then removes each one it delivered or gave
/// up on, or makes it due again later. Delivery is at least once.
#[portico_macros::port("mail_queue")]
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait MailQueue: Send + Sync {
    /// Queues `message`, due at once. Its `attempts` is stored as given.
    async fn enqueue(&self, message: &QueuedMail) -> Result<(), StoreError>;

    /// Claims up to `limit` of the messages due at `now` (those due longest
    /// first) and returns them in the order they were queued: each one's
    /// `attempts` goes up by one (it is returned with the new count) and it
    /// is not due again until `until`. MUST be atomic: of concurrent claims,
    /// at most one returns any given message.
    async fn claim(
        &self,
        now: OffsetDateTime,
        until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError>;

    /// Makes a message due again at `at` (after a failed attempt), keeping
    /// its attempts; `NotFound` when it is gone.
    async fn retry_at(&self, id: QueuedMailId, at: OffsetDateTime) -> Result<(), WriteError>;

    /// Removes a message, delivered or given up on; a missing one is not an error.
    async fn remove(&self, id: QueuedMailId) -> Result<(), StoreError>;

    /// How many messages are queued, due or not (for metrics and health).
    async fn count(&self) -> Result<u64, StoreError>;
}
