//! What the domain mails: a [`Mail`] with a link and its token, or a
//! [`Notice`] of a security change.

use crate::{Email, Token, Username};

/// An email the domain asks to send. The mailer renders it (links, templates).
#[derive(Debug, Clone, PartialEq)]
pub enum Mail {
    /// Confirms a registration; the link carries `token`.
    Verification {
        /// Address the mail goes to.
        to: Email,
        /// The username being registered.
        username: Username,
        /// Single-use verification token.
        token: Token,
    },
    /// Offers a password reset; the link carries `token`.
    PasswordReset {
        /// Address the mail goes to.
        to: Email,
        /// Single-use reset token.
        token: Token,
    },
    /// Confirms an account deletion request; the link carries `token`.
    AccountDeletion {
        /// Address the mail goes to.
        to: Email,
        /// Single-use deletion token.
        token: Token,
    },
    /// Signs in without a password: a link and a code, either of which
    /// works once until `expires_at`.
    SignIn {
        /// Address the mail goes to.
        to: Email,
        /// What the link carries.
        link: crate::EmailLinkToken,
        /// The code to type instead.
        code: crate::EmailCode,
        /// Where Portico's own page continues after the sign-in.
        redirect_uri: Option<String>,
        /// When the link and code stop working.
        expires_at: time::OffsetDateTime,
    },
    /// Tells the owner of an account about a security change (no link).
    Notice {
        /// Address the mail goes to.
        to: Email,
        /// What happened.
        notice: Notice,
    },
}

/// A security change the owner of an account is told about by mail, so
/// that a change they did not make (a thief with their session, a support
/// role acting on them) does not go unnoticed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum Notice {
    /// An administrator removed the account's second factor: the password
    /// alone signs in now.
    SecondFactorRemoved,
    /// An identity provider was linked: signing in there signs in here.
    ProviderLinked {
        /// The provider's configured name.
        provider: String,
    },
    /// Someone signed in from a device kind the account has not signed in
    /// from lately.
    NewSignIn {
        /// The device, in words (`Firefox 133.0 on Linux (desktop)`).
        device: String,
        /// The client's IP address, if known.
        ip: Option<String>,
        /// When.
        #[serde(with = "time::serde::rfc3339")]
        at: time::OffsetDateTime,
    },
}

impl Mail {
    /// The recipient.
    pub fn to(&self) -> &Email {
        match self {
            Self::Verification { to, .. }
            | Self::PasswordReset { to, .. }
            | Self::AccountDeletion { to, .. }
            | Self::SignIn { to, .. }
            | Self::Notice { to, .. } => to,
        }
    }
}
