//! Outgoing mail through lettre: rendered as plain text with a link carrying
//! `?token=`, then written to the outbox folder as `.eml` files (default) or
//! sent through an SMTP relay.

use async_trait::async_trait;
use domain::{Mail, Mailer, StoreError};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{Config, MailTransport};

enum Transport {
    Outbox(AsyncFileTransport<Tokio1Executor>),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

/// Renders and delivers Portico's mails.
pub struct LettreMailer {
    transport: Transport,
    from: Mailbox,
    public_url: String,
    verify_path: String,
    reset_path: String,
    deletion_path: String,
    links: crate::config::MailLinks,
}

/// Why the mailer could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum MailSetupError {
    /// `mail.from` is not an address.
    #[error("mail.from is not a valid mailbox: {0}")]
    From(String),
    /// The outbox folder cannot be created.
    #[error("cannot create the outbox folder {path}: {source}")]
    Outbox {
        /// The folder.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `mail.smtp_url` is not usable.
    #[error("mail.smtp_url is invalid: {0}")]
    Smtp(String),
}

impl LettreMailer {
    /// Builds the transport the configuration names.
    pub fn from_config(config: &Config) -> Result<Self, MailSetupError> {
        let from: Mailbox = config
            .mail
            .from
            .parse()
            .map_err(|e: lettre::address::AddressError| MailSetupError::From(e.to_string()))?;
        let transport = match config.mail.transport {
            MailTransport::Outbox => {
                let dir = config.outbox_dir();
                std::fs::create_dir_all(&dir).map_err(|source| MailSetupError::Outbox {
                    path: dir.display().to_string(),
                    source,
                })?;
                Transport::Outbox(AsyncFileTransport::new(dir))
            }
            MailTransport::Smtp => {
                let smtp = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.mail.smtp_url)
                    .map_err(|e| MailSetupError::Smtp(e.to_string()))?
                    .build();
                Transport::Smtp(smtp)
            }
        };
        Ok(Self {
            transport,
            from,
            public_url: config.public_url(),
            verify_path: config.mail.verify_path.clone(),
            reset_path: config.mail.reset_path.clone(),
            deletion_path: config.mail.deletion_path.clone(),
            links: config.mail.links.clone(),
        })
    }

    /// The configured pattern with the token, or Portico's own page.
    fn link(&self, pattern: &str, path: &str, token: &domain::Token) -> String {
        if pattern.is_empty() {
            format!("{}{}?token={}", self.public_url, path, token.expose())
        } else {
            pattern.replace("{token}", token.expose())
        }
    }

    /// Subject and plain-text body of `mail`.
    fn render(&self, mail: &Mail) -> (String, String) {
        match mail {
            Mail::Verification {
                username, token, ..
            } => (
                "Confirm your email address".into(),
                format!(
                    "Hello {username},\n\n\
                     Confirm your email address to finish creating your account:\n\n\
                     {}\n\n\
                     The link works once and expires in 24 hours.\n\
                     If you did not sign up, ignore this message.\n",
                    self.link(&self.links.verify, &self.verify_path, token)
                ),
            ),
            Mail::PasswordReset { token, .. } => (
                "Reset your password".into(),
                format!(
                    "Hello,\n\n\
                     Someone asked to reset the password of this account. To choose a new one, open:\n\n\
                     {}\n\n\
                     The link works once and expires in one hour. Resetting signs out every session.\n\
                     If you did not ask for this, ignore this message.\n",
                    self.link(&self.links.reset, &self.reset_path, token)
                ),
            ),
            Mail::AccountDeletion { token, .. } => (
                "Confirm the deletion of your account".into(),
                format!(
                    "Hello,\n\n\
                     To delete your account and everything stored with it, open:\n\n\
                     {}\n\n\
                     The link works once and expires in one hour. Deletion cannot be undone.\n\
                     If you did not ask for this, ignore this message.\n",
                    self.link(&self.links.deletion, &self.deletion_path, token)
                ),
            ),
        }
    }

    fn message(&self, mail: &Mail) -> Result<Message, StoreError> {
        let (subject, body) = self.render(mail);
        let to: Mailbox = mail
            .to()
            .as_str()
            .parse()
            .map_err(|e| StoreError::with_source("recipient address", e))?;
        // Plain 7-bit text when the body allows it (ASCII, lines within RFC
        // 5322's 998), so the link reads and clicks as it is. lettre alone
        // would quoted-printable-encode any line over 76 characters, and a
        // link with a 64-character token is one.
        let seven_bit = body.is_ascii() && body.lines().all(|l| l.len() <= 998);
        let body = if seven_bit {
            let crlf = body.replace('\n', "\r\n").into_bytes();
            Body::dangerous_pre_encoded(crlf, ContentTransferEncoding::SevenBit)
        } else {
            Body::new(body)
        };
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(body),
            )
            .map_err(|e| StoreError::with_source("building mail", e))
    }
}

#[async_trait]
impl Mailer for LettreMailer {
    async fn send(&self, mail: &Mail) -> Result<(), StoreError> {
        let message = self.message(mail)?;
        match &self.transport {
            Transport::Outbox(t) => t
                .send(message)
                .await
                .map(|id| tracing::info!(outbox_id = %id, "mail written to the outbox"))
                .map_err(|e| StoreError::with_source("writing mail to the outbox", e)),
            Transport::Smtp(t) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| StoreError::with_source("sending mail over SMTP", e)),
        }
    }
}
