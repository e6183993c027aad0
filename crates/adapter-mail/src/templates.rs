//! The mail templates: built-in text, HTML and subject templates for each
//! kind of mail, any of which a folder of the operator's (`mail.templates_dir`)
//! replaces by file name. Rendered with minijinja: HTML templates escape
//! what they insert, an unknown variable is an error, and every template is
//! rendered once with sample values at start-up, so a broken override stops
//! the server with its file and line instead of failing a mail later.

use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

/// A kind of mail, named as its templates are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MailKind {
    /// `verify-email.*`: confirms a registration.
    VerifyEmail,
    /// `reset-password.*`: offers a password reset.
    ResetPassword,
    /// `confirm-deletion.*`: confirms an account deletion.
    ConfirmDeletion,
    /// `mfa-removed.*`: an administrator removed the second factor.
    MfaRemoved,
    /// `provider-linked.*`: an identity provider was linked (`provider`).
    ProviderLinked,
    /// `new-sign-in.*`: a sign-in from a device kind not seen lately
    /// (`device`, `ip`, `at`).
    NewSignIn,
    /// `sign-in.*`: an email sign-in's link and `code`.
    SignIn,
}

impl MailKind {
    const ALL: [MailKind; 7] = [
        Self::VerifyEmail,
        Self::ResetPassword,
        Self::ConfirmDeletion,
        Self::MfaRemoved,
        Self::ProviderLinked,
        Self::NewSignIn,
        Self::SignIn,
    ];

    fn stem(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify-email",
            Self::ResetPassword => "reset-password",
            Self::ConfirmDeletion => "confirm-deletion",
            Self::MfaRemoved => "mfa-removed",
            Self::ProviderLinked => "provider-linked",
            Self::NewSignIn => "new-sign-in",
            Self::SignIn => "sign-in",
        }
    }
}

/// Built-in templates, by file name.
const BUILT_IN: [(&str, &str); 22] = [
    ("layout.html", include_str!("templates/layout.html")),
    (
        "verify-email.subject.txt",
        include_str!("templates/verify-email.subject.txt"),
    ),
    (
        "verify-email.txt",
        include_str!("templates/verify-email.txt"),
    ),
    (
        "verify-email.html",
        include_str!("templates/verify-email.html"),
    ),
    (
        "reset-password.subject.txt",
        include_str!("templates/reset-password.subject.txt"),
    ),
    (
        "reset-password.txt",
        include_str!("templates/reset-password.txt"),
    ),
    (
        "reset-password.html",
        include_str!("templates/reset-password.html"),
    ),
    (
        "confirm-deletion.subject.txt",
        include_str!("templates/confirm-deletion.subject.txt"),
    ),
    (
        "confirm-deletion.txt",
        include_str!("templates/confirm-deletion.txt"),
    ),
    (
        "confirm-deletion.html",
        include_str!("templates/confirm-deletion.html"),
    ),
    (
        "mfa-removed.subject.txt",
        include_str!("templates/mfa-removed.subject.txt"),
    ),
    ("mfa-removed.txt", include_str!("templates/mfa-removed.txt")),
    (
        "mfa-removed.html",
        include_str!("templates/mfa-removed.html"),
    ),
    (
        "provider-linked.subject.txt",
        include_str!("templates/provider-linked.subject.txt"),
    ),
    (
        "provider-linked.txt",
        include_str!("templates/provider-linked.txt"),
    ),
    (
        "provider-linked.html",
        include_str!("templates/provider-linked.html"),
    ),
    (
        "new-sign-in.subject.txt",
        include_str!("templates/new-sign-in.subject.txt"),
    ),
    ("new-sign-in.txt", include_str!("templates/new-sign-in.txt")),
    (
        "new-sign-in.html",
        include_str!("templates/new-sign-in.html"),
    ),
    (
        "sign-in.subject.txt",
        include_str!("templates/sign-in.subject.txt"),
    ),
    ("sign-in.txt", include_str!("templates/sign-in.txt")),
    ("sign-in.html", include_str!("templates/sign-in.html")),
];

/// What a template sees.
#[derive(Debug, Serialize)]
pub(crate) struct MailContext<'a> {
    /// The username (verification mail only; empty in the others).
    pub username: &'a str,
    /// The link that completes the action.
    pub link: &'a str,
    /// How long the link works, in words ("24 hours"); empty in notices.
    pub expires_in: &'a str,
    /// The identity provider a notice is about (`provider-linked`; empty
    /// in the others).
    pub provider: &'a str,
    /// The device a `new-sign-in` notice names, in words (empty in the others).
    pub device: &'a str,
    /// The IP address it names (`unknown` when there was none; empty in the others).
    pub ip: &'a str,
    /// When, as RFC 3339 in UTC (`new-sign-in`; empty in the others).
    pub at: &'a str,
    /// The 6-digit code (`sign-in`; empty in the others).
    pub code: &'a str,
}

/// A rendered mail.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Rendered {
    /// One line.
    pub subject: String,
    /// The text part, ending with a newline.
    pub text: String,
    /// The HTML part.
    pub html: String,
}

/// Why the templates cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The folder cannot be read.
    #[error("cannot read mail.templates_dir {path}: {source}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file in the folder is not one of the templates.
    #[error("{path}: not a mail template (known names: {known})")]
    Unknown {
        /// The file.
        path: PathBuf,
        /// The names the folder may hold.
        known: String,
    },
    /// A template does not parse or does not render.
    #[error("mail template {origin}: {message}")]
    Broken {
        /// The file (or `built-in <name>`).
        origin: String,
        /// minijinja's message, with the template's name and line.
        message: String,
    },
}

/// The templates in use.
pub(crate) struct MailTemplates {
    env: Environment<'static>,
    /// Where each template came from, for messages.
    origins: Vec<(String, String)>,
}

impl MailTemplates {
    /// The built-in templates, with the files of `dir` (when set) in place
    /// of those with the same name; each checked by rendering it once.
    pub(crate) fn load(dir: Option<&Path>) -> Result<Self, TemplateError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let mut origins: Vec<(String, String)> = BUILT_IN
            .iter()
            .map(|(name, _)| ((*name).to_owned(), format!("built-in {name}")))
            .collect();
        let mut sources: Vec<(String, String)> = BUILT_IN
            .iter()
            .map(|(n, s)| ((*n).to_owned(), (*s).to_owned()))
            .collect();
        if let Some(dir) = dir {
            let folder = |source| TemplateError::Folder {
                path: dir.to_owned(),
                source,
            };
            let mut entries = std::fs::read_dir(dir)
                .map_err(folder)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(folder)?;
            entries.sort_by_key(std::fs::DirEntry::file_name);
            for entry in entries {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') || path.is_dir() {
                    continue;
                }
                let Some(slot) = sources.iter().position(|(n, _)| *n == name) else {
                    return Err(TemplateError::Unknown {
                        path,
                        known: BUILT_IN.map(|(n, _)| n).join(", "),
                    });
                };
                let text =
                    std::fs::read_to_string(&path).map_err(|source| TemplateError::Folder {
                        path: path.clone(),
                        source,
                    })?;
                sources[slot].1 = text;
                origins[slot].1 = path.display().to_string();
            }
        }
        for (name, source) in sources {
            let origin = origin_of(&origins, &name);
            env.add_template_owned(name, source)
                .map_err(|e| TemplateError::Broken {
                    origin,
                    message: describe(&e),
                })?;
        }
        let templates = Self { env, origins };
        let sample = MailContext {
            username: "sample",
            link: "https://app.example/page?token=0123abcd",
            expires_in: "1 hour",
            provider: "github",
            device: "Firefox 133.0 on Linux (desktop)",
            ip: "203.0.113.9",
            at: "2026-12-06T17:00:00Z",
            code: "012345",
        };
        for kind in MailKind::ALL {
            templates.render(kind, &sample)?;
        }
        Ok(templates)
    }

    /// Subject, text and HTML of a `kind` mail.
    pub(crate) fn render(
        &self,
        kind: MailKind,
        context: &MailContext<'_>,
    ) -> Result<Rendered, TemplateError> {
        let part = |suffix: &str| {
            let name = format!("{}.{suffix}", kind.stem());
            self.env
                .get_template(&name)
                .and_then(|t| t.render(context))
                .map_err(|e| TemplateError::Broken {
                    origin: origin_of(&self.origins, &name),
                    message: describe(&e),
                })
        };
        let subject = part("subject.txt")?
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let mut text = part("txt")?;
        if !text.ends_with('\n') {
            text.push('\n');
        }
        Ok(Rendered {
            subject,
            text,
            html: part("html")?,
        })
    }
}

fn origin_of(origins: &[(String, String)], name: &str) -> String {
    origins
        .iter()
        .find(|(n, _)| n == name)
        .map_or_else(|| name.to_owned(), |(_, o)| o.clone())
}

/// minijinja's message with the template and line it names, and the cause
/// (such as the template an `extends` could not find).
fn describe(e: &minijinja::Error) -> String {
    let mut message = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        message = format!("{message}: {c}");
        cause = c.source();
    }
    message
}

/// A duration in words for a mail: "24 hours", "1 hour", "30 minutes".
pub(crate) fn in_words(d: time::Duration) -> String {
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    let minutes = d.whole_minutes();
    if minutes >= 60 * 24 * 2 && minutes % (60 * 24) == 0 {
        plural(minutes / (60 * 24), "day")
    } else if minutes >= 60 && minutes % 60 == 0 {
        plural(minutes / 60, "hour")
    } else if minutes >= 1 {
        plural(minutes, "minute")
    } else {
        plural(d.whole_seconds().max(0), "second")
    }
}

#[cfg(test)]
#[path = "templates_tests.rs"]
mod tests;
