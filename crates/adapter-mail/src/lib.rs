//! The [`domain::Mailer`] port over lettre: each mail rendered from
//! minijinja templates (built in, or from a folder of the operator's) as a
//! text and an HTML part with a link carrying the token, then written to an
//! outbox folder as `.eml` files or sent through an SMTP relay.
//!
//! ```no_run
//! # async fn demo() -> Result<(), adapter_mail::MailSetupError> {
//! use adapter_mail::{LettreMailer, LinkLifetimes, LinkPatterns, MailerConfig, MailerTransport};
//! let mailer = LettreMailer::new(
//!     &MailerConfig {
//!         transport: MailerTransport::Outbox("data/outbox".into()),
//!         from: "Portico <no-reply@example.org>".into(),
//!         public_url: "https://app.example".into(),
//!         verify_path: "/verify-email".into(),
//!         reset_path: "/reset-password".into(),
//!         deletion_path: "/confirm-deletion".into(),
//!         sign_in_path: "/sign-in/email".into(),
//!         links: LinkPatterns::default(),
//!         templates_dir: None,
//!     },
//!     (&domain::AccountPolicy::default()).into(),
//! )?;
//! # let _ = mailer; Ok(()) }
//! ```

mod templates;

use async_trait::async_trait;
use domain::{Mail, Mailer, Notice, StoreError};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub use templates::TemplateError;
use templates::{MailContext, MailKind, MailTemplates, Rendered};

/// How long each mailed link works, for the mail's text.
#[derive(Debug, Clone, Copy)]
pub struct LinkLifetimes {
    /// The verification link.
    pub verification: time::Duration,
    /// The password-reset link.
    pub reset: time::Duration,
    /// The deletion confirmation link.
    pub deletion: time::Duration,
}

impl From<&domain::AccountPolicy> for LinkLifetimes {
    fn from(p: &domain::AccountPolicy) -> Self {
        Self {
            verification: p.candidate_ttl,
            reset: p.reset_ttl,
            deletion: p.deletion_ttl,
        }
    }
}

/// Where mail goes.
#[derive(Debug, Clone)]
pub enum MailerTransport {
    /// `.eml` files in this folder (created if missing).
    Outbox(std::path::PathBuf),
    /// An SMTP relay: `smtp://`, `smtps://` or `smtp://…?tls=required` URL
    /// with credentials.
    Smtp(String),
}

/// URL patterns of the pages that complete what a mail asks, each with a
/// `{token}` placeholder; an empty one links to Portico's own page at
/// `<public_url><path>`.
#[derive(Debug, Clone, Default)]
pub struct LinkPatterns {
    /// The email verification page.
    pub verify: String,
    /// The password reset page.
    pub reset: String,
    /// The account deletion confirmation.
    pub deletion: String,
    /// The email sign-in page (`{token}` is the link's `<flow>.<secret>`).
    pub sign_in: String,
}

/// How the mailer is set up.
#[derive(Debug, Clone)]
pub struct MailerConfig {
    /// Where mail goes.
    pub transport: MailerTransport,
    /// The `From:` mailbox (`Name <address>`).
    pub from: String,
    /// The server's public URL, which Portico's own pages are under.
    pub public_url: String,
    /// Portico's verification page.
    pub verify_path: String,
    /// Portico's password-reset page.
    pub reset_path: String,
    /// Portico's deletion page.
    pub deletion_path: String,
    /// Portico's email sign-in page.
    pub sign_in_path: String,
    /// Pages of the operator's own front end in place of Portico's.
    pub links: LinkPatterns,
    /// A folder whose templates replace the built-in ones by file name.
    pub templates_dir: Option<std::path::PathBuf>,
}

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
    sign_in_path: String,
    links: LinkPatterns,
    templates: MailTemplates,
    ttls: LinkLifetimes,
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
    /// A template does not load.
    #[error(transparent)]
    Template(#[from] TemplateError),
}

impl LettreMailer {
    /// Builds the transport `config` names, with the templates of its
    /// folder over the built-in ones (each checked by rendering it once);
    /// `ttls` are the links' lifetimes the mails state.
    pub fn new(config: &MailerConfig, ttls: LinkLifetimes) -> Result<Self, MailSetupError> {
        let templates = MailTemplates::load(config.templates_dir.as_deref())?;
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e: lettre::address::AddressError| MailSetupError::From(e.to_string()))?;
        let transport = match &config.transport {
            MailerTransport::Outbox(dir) => {
                std::fs::create_dir_all(dir).map_err(|source| MailSetupError::Outbox {
                    path: dir.display().to_string(),
                    source,
                })?;
                Transport::Outbox(AsyncFileTransport::new(dir))
            }
            MailerTransport::Smtp(url) => {
                let smtp = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| MailSetupError::Smtp(e.to_string()))?
                    .build();
                Transport::Smtp(smtp)
            }
        };
        Ok(Self {
            transport,
            from,
            public_url: config.public_url.clone(),
            verify_path: config.verify_path.clone(),
            reset_path: config.reset_path.clone(),
            deletion_path: config.deletion_path.clone(),
            sign_in_path: config.sign_in_path.clone(),
            links: config.links.clone(),
            templates,
            ttls,
        })
    }

    /// The configured pattern with the token, or Portico's own page.
    fn link(&self, pattern: &str, path: &str, token: &domain::Token) -> String {
        self.link_with(pattern, path, token.expose(), None)
    }

    /// [`Self::link`] for any token text; Portico's own page also gets
    /// `redirect_uri` (an operator's pattern has its own way back).
    fn link_with(&self, pattern: &str, path: &str, token: &str, redirect: Option<&str>) -> String {
        if pattern.is_empty() {
            let mut link = format!("{}{}?token={}", self.public_url, path, token);
            if let Some(redirect) = redirect {
                link.push_str("&redirect_uri=");
                link.extend(form_urlencoded::byte_serialize(redirect.as_bytes()));
            }
            link
        } else {
            pattern.replace("{token}", token)
        }
    }

    /// The rendered parts of `mail`.
    fn render(&self, mail: &Mail) -> Result<Rendered, TemplateError> {
        // A mail with a link: its kind, the username it greets, the link
        // and how long it works. A notice: its kind and what it names.
        let mut sign_in = (String::new(), String::new(), String::new());
        let mut code = "";
        let (kind, username, link, ttl, provider) = match mail {
            Mail::Verification {
                username, token, ..
            } => (
                MailKind::VerifyEmail,
                username.as_str(),
                self.link(&self.links.verify, &self.verify_path, token),
                Some(self.ttls.verification),
                "",
            ),
            Mail::PasswordReset { token, .. } => (
                MailKind::ResetPassword,
                "",
                self.link(&self.links.reset, &self.reset_path, token),
                Some(self.ttls.reset),
                "",
            ),
            Mail::AccountDeletion { token, .. } => (
                MailKind::ConfirmDeletion,
                "",
                self.link(&self.links.deletion, &self.deletion_path, token),
                Some(self.ttls.deletion),
                "",
            ),
            Mail::SignIn {
                link,
                code: c,
                redirect_uri,
                ..
            } => {
                code = c.expose();
                (
                    MailKind::SignIn,
                    "",
                    self.link_with(
                        &self.links.sign_in,
                        &self.sign_in_path,
                        &link.expose(),
                        redirect_uri.as_deref(),
                    ),
                    Some(domain::EMAIL_SIGN_IN_TTL),
                    "",
                )
            }
            Mail::Notice { notice, .. } => match notice {
                Notice::SecondFactorRemoved => (MailKind::MfaRemoved, "", String::new(), None, ""),
                Notice::ProviderLinked { provider } => (
                    MailKind::ProviderLinked,
                    "",
                    String::new(),
                    None,
                    provider.as_str(),
                ),
                Notice::NewSignIn { device, ip, at } => {
                    sign_in = (
                        device.clone(),
                        ip.clone().unwrap_or_else(|| "unknown".to_owned()),
                        at.format(&time::format_description::well_known::Rfc3339)
                            .unwrap_or_default(),
                    );
                    (MailKind::NewSignIn, "", String::new(), None, "")
                }
            },
        };
        self.templates.render(
            kind,
            &MailContext {
                username,
                link: &link,
                expires_in: &ttl.map(templates::in_words).unwrap_or_default(),
                provider,
                device: &sign_in.0,
                ip: &sign_in.1,
                at: &sign_in.2,
                code,
            },
        )
    }

    fn message(&self, mail: &Mail) -> Result<Message, StoreError> {
        let rendered = self
            .render(mail)
            .map_err(|e| StoreError::with_source("rendering mail", e))?;
        let to: Mailbox = mail
            .to()
            .as_str()
            .parse()
            .map_err(|e| StoreError::with_source("recipient address", e))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(rendered.subject)
            .multipart(
                MultiPart::alternative()
                    .singlepart(part(ContentType::TEXT_PLAIN, rendered.text))
                    .singlepart(part(ContentType::TEXT_HTML, rendered.html)),
            )
            .map_err(|e| StoreError::with_source("building mail", e))
    }
}

/// A body part, as plain 7-bit text when it allows (ASCII, lines within RFC
/// 5322's 998), so a link reads and clicks as it is: lettre alone would
/// quoted-printable-encode any line over 76 characters, and a link with a
/// 64-character token is one.
fn part(content_type: ContentType, text: String) -> SinglePart {
    let seven_bit = text.is_ascii() && text.lines().all(|l| l.len() <= 998);
    let body = if seven_bit {
        let crlf = text
            .replace("\r\n", "\n")
            .replace('\n', "\r\n")
            .into_bytes();
        Body::dangerous_pre_encoded(crlf, ContentTransferEncoding::SevenBit)
    } else {
        Body::new(text)
    };
    SinglePart::builder().header(content_type).body(body)
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

#[cfg(test)]
mod address_tests {
    use lettre::Address;
    use proptest::prelude::*;

    /// What the domain accepts, the mailer takes: an address Portico stores
    /// can always be mailed (the poison `evil>,<victim@example.org` was
    /// accepted, then refused by lettre on every retry).
    fn mailable(text: &str) -> bool {
        text.parse::<Address>().is_ok()
    }

    #[test]
    fn the_addresses_the_mailer_refuses_are_refused_at_the_boundary() {
        for text in [
            "evil>,<victim@example.org",
            "\"quoted\"@example.org",
            "a,b@example.org",
            "a..b@example.org",
        ] {
            assert!(domain::Email::parse(text).is_err(), "{text}");
        }
        for text in [
            "ann@example.org",
            "a.b+tag@sub.example.org",
            "jörg@bücher.example",
        ] {
            let email = domain::Email::parse(text).expect(text);
            assert!(mailable(email.as_str()), "{text}");
        }
    }

    proptest! {
        #[test]
        fn every_accepted_address_is_mailable(text in "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~.<>,;:\"()\\[\\]\\\\ @-]{1,40}") {
            if let Ok(email) = domain::Email::parse(&text) {
                prop_assert!(mailable(email.as_str()), "{:?} parsed but lettre refuses it", email);
            }
        }

        #[test]
        fn every_accepted_address_of_email_shape_is_mailable(
            local in "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~.<>,;:\"()-]{1,20}",
            domain in "[a-z0-9.-]{1,20}",
        ) {
            let text = format!("{local}@{domain}");
            if let Ok(email) = domain::Email::parse(&text) {
                prop_assert!(mailable(email.as_str()), "{:?} parsed but lettre refuses it", email);
            }
        }
    }
}
