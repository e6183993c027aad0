//! Problems of sign-in by email, API keys and webhooks, and of a request by an API
//! key to manage the account. Exhaustive like the rest of the mapping.

use crate::problem::{Kind, Problem};

impl From<domain::EmailSignInError> for Problem {
    fn from(e: domain::EmailSignInError) -> Self {
        use domain::EmailSignInError as E;
        match e {
            E::InvalidToken => Problem::new(Kind::InvalidToken).detail(
                "The code is wrong, or the link or code is expired, used or used up: ask for a new mail.",
            ),
            E::Locked => Problem::new(Kind::AccountLocked),
            E::Suspended(s) => Problem::suspended(&s),
            E::Off => crate::routes::email_sign_in::off(),
            E::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<domain::CreateApiKeyError> for Problem {
    fn from(e: domain::CreateApiKeyError) -> Self {
        use domain::CreateApiKeyError as E;
        match e {
            E::NeedsSession(e) => e.into(),
            E::NotHeld(missing) => {
                let names: Vec<&str> = missing.iter().map(domain::Permission::as_str).collect();
                let mut f = crate::problem::Fields::default();
                f.add(
                    "permissions",
                    format!("you do not hold {}", names.join(", ")),
                );
                f.into_problem()
            }
            E::Expiry => {
                let mut f = crate::problem::Fields::default();
                f.add("expires_at", e.to_string());
                f.into_problem()
            }
            E::TooMany => Problem::new(Kind::Conflict).detail(format!(
                "You hold {} API keys, the most allowed: revoke one first.",
                domain::MAX_API_KEYS_PER_USER
            )),
            E::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<domain::ApiKeyAccessError> for Problem {
    fn from(e: domain::ApiKeyAccessError) -> Self {
        use domain::ApiKeyAccessError as E;
        match e {
            E::NeedsSession(e) => e.into(),
            E::Forbidden(e) => e.into(),
            E::NotFound => Problem::new(Kind::NotFound),
            E::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<domain::NeedsSession> for Problem {
    fn from(e: domain::NeedsSession) -> Self {
        Problem::new(Kind::Forbidden).detail(format!(
            "{}: API keys cannot change passwords, second factors, passkeys, providers, API keys or sessions, nor delete the account.",
            capitalized(&e.to_string())
        ))
    }
}

/// `text` with its first letter upper case.
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

impl From<domain::PasskeyError> for Problem {
    fn from(e: domain::PasskeyError) -> Self {
        use domain::PasskeyError as E;
        match e {
            E::NeedsSession(e) => e.into(),
            E::ReauthenticationRequired => Problem::new(Kind::ReauthenticationRequired).detail(
                "Give the account's password (or, for an account without one, sign in again) to add a passkey.",
            ),
            E::WrongPassword => Problem::new(Kind::WrongPassword),
            E::LockedOut { until } => super::locked_out(until),
            E::TooMany => Problem::new(Kind::Conflict).detail(format!(
                "You hold {} passkeys, the most allowed: remove one first.",
                domain::MAX_PASSKEYS_PER_USER
            )),
            E::Duplicate => Problem::new(Kind::Conflict)
                .detail("This passkey is registered already."),
            E::Invalid => Problem::new(Kind::InvalidCredentials).detail(
                "The passkey could not be verified (unknown, used or expired challenge, unknown passkey, wrong origin or RP ID, bad signature, or a signature counter that did not move forward): start again.",
            ),
            E::Malformed(why) => {
                let mut f = crate::problem::Fields::default();
                f.add("credential", format!("is not a WebAuthn credential: {why}"));
                f.into_problem()
            }
            E::NotFound => Problem::new(Kind::NotFound),
            E::Forbidden(e) => e.into(),
            E::LastWay => Problem::new(Kind::Conflict).detail(
                "This is the account's last way to sign in: set a password, link a provider or add another passkey first.",
            ),
            E::Locked => Problem::new(Kind::AccountLocked),
            E::Suspended(s) => Problem::suspended(&s),
            E::Ceremony(e) => Problem::internal(e),
            E::Unexpected(e) => Problem::internal(e),
        }
    }
}

impl From<domain::WebhookError> for Problem {
    fn from(e: domain::WebhookError) -> Self {
        use domain::WebhookError as E;
        use domain::WebhookInputError as I;
        match e {
            E::Forbidden(e) => e.into(),
            E::NotFound => Problem::new(Kind::NotFound),
            E::Invalid(i) => {
                let field = match i {
                    I::NoEvents | I::UnknownEvent(_) => "events",
                    I::Description => "description",
                    I::BadUrl | I::NotHttps | I::Loopback | I::Private => "url",
                };
                let mut f = crate::problem::Fields::default();
                f.add(field, i.to_string());
                f.into_problem()
            }
            E::TooMany => Problem::new(Kind::Conflict).detail(format!(
                "{} webhook endpoints exist, the most allowed: delete one first.",
                domain::MAX_WEBHOOKS
            )),
            E::Disabled => Problem::new(Kind::Conflict)
                .detail("The endpoint is disabled: enable it (PATCH enabled: true) first."),
            E::Unexpected(e) => Problem::internal(e),
        }
    }
}
