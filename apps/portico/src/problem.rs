//! RFC 9457 problem details: the one error body of the whole API.
//!
//! Every error response is `application/problem+json` with a stable `type`
//! URI (`urn:portico:problem:<kind>`), a `title`, the `status`, an optional
//! `detail`, and for validation failures `errors`: messages per field.

use std::collections::BTreeMap;
use std::fmt;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of problem bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Declares [`Kind`] from one table: variant, slug, HTTP status, title.
macro_rules! kinds {
    ($($(#[$doc:meta])* $name:ident = $slug:literal, $status:ident, $title:literal;)*) => {
        /// What went wrong, as a stable machine-readable kind. The `type` URI of a
        /// problem is `urn:portico:problem:` followed by [`Kind::slug`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Kind {
            $($(#[$doc])* $name,)*
        }

        impl Kind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [Kind] = &[$(Kind::$name),*];

            /// The kind's stable name, the last part of its `type` URI.
            pub fn slug(self) -> &'static str {
                match self {
                    $(Self::$name => $slug,)*
                }
            }

            /// HTTP status and title.
            pub fn status_and_title(self) -> (StatusCode, &'static str) {
                match self {
                    $(Self::$name => (StatusCode::$status, $title),)*
                }
            }
        }
    };
}

kinds! {
    /// The body or parameters failed validation (see `errors`).
    Validation = "validation", UNPROCESSABLE_ENTITY, "Request validation failed";
    /// The body is not valid JSON or not the expected shape.
    MalformedRequest = "malformed-request", BAD_REQUEST, "Malformed request";
    /// The body is larger than the server accepts.
    PayloadTooLarge = "payload-too-large", PAYLOAD_TOO_LARGE, "Request body too large";
    /// The body's media type is not accepted.
    UnsupportedMediaType = "unsupported-media-type", UNSUPPORTED_MEDIA_TYPE, "Unsupported media type";
    /// The body arrived too slowly (below the minimum data rate).
    RequestTimeout = "request-timeout", REQUEST_TIMEOUT, "Request body too slow";
    /// No such route or resource.
    NotFound = "not-found", NOT_FOUND, "Not found";
    /// The route exists but not with this method.
    MethodNotAllowed = "method-not-allowed", METHOD_NOT_ALLOWED, "Method not allowed";
    /// No valid credentials were presented.
    Unauthenticated = "unauthenticated", UNAUTHORIZED, "Authentication required";
    /// A cookie-authenticated change came without a matching CSRF header.
    CsrfFailed = "csrf-failed", FORBIDDEN, "CSRF token missing or invalid";
    /// The other participant blocks the caller.
    Blocked = "blocked", FORBIDDEN, "Blocked";
    /// The caller lacks the permission.
    Forbidden = "forbidden", FORBIDDEN, "Permission denied";
    /// Wrong login or password.
    InvalidCredentials = "invalid-credentials", UNAUTHORIZED, "Invalid login or password";
    /// Too many failed sign-ins: locked for a while.
    LockedOut = "locked-out", LOCKED, "Too many failed sign-ins";
    /// Locked by an administrator.
    AccountLocked = "account-locked", FORBIDDEN, "Account locked";
    /// Suspended by an administrator (with `reason` and `until`).
    AccountSuspended = "account-suspended", FORBIDDEN, "Account suspended";
    /// New accounts cannot be made now (`registration.open` is off).
    RegistrationClosed = "registration-closed", FORBIDDEN, "Registration is closed";
    /// The email address has not been verified.
    EmailNotVerified = "email-not-verified", FORBIDDEN, "Email address not verified";
    /// A single-use token is unknown, used or expired.
    InvalidToken = "invalid-token", BAD_REQUEST, "Invalid or expired token";
    /// A refresh token was used twice; its session is revoked.
    RefreshTokenReused = "refresh-token-reused", UNAUTHORIZED, "Refresh token reused";
    /// The current password given is wrong.
    WrongPassword = "wrong-password", FORBIDDEN, "Wrong password";
    /// A sensitive change needs the password again (or a recent sign-in).
    ReauthenticationRequired = "reauthentication-required", FORBIDDEN, "Sign in again to do this";
    /// The second-factor code is wrong or was used already.
    WrongCode = "wrong-code", FORBIDDEN, "Wrong or already used code";
    /// The username is taken.
    UsernameTaken = "username-taken", CONFLICT, "Username taken";
    /// The email address is taken.
    EmailTaken = "email-taken", CONFLICT, "Email address taken";
    /// The resource already exists.
    AlreadyExists = "already-exists", CONFLICT, "Already exists";
    /// Built-in roles cannot be changed this way.
    BuiltInRole = "built-in-role", CONFLICT, "Built-in role";
    /// The resource is not in a state that allows this.
    Conflict = "conflict", CONFLICT, "Conflict with the current state";
    /// A per-resource limit is reached (storage keys of a content session).
    LimitReached = "limit-reached", CONFLICT, "Limit reached";
    /// The plan's daily or monthly requests are used up: retry after
    /// `Retry-After` seconds (the window's end).
    QuotaExceeded = "quota-exceeded", TOO_MANY_REQUESTS, "Request quota used up";
    /// The resource expired.
    Gone = "gone", GONE, "Expired";
    /// `If-Match` names a version the resource no longer has: read it again.
    PreconditionFailed = "precondition-failed", PRECONDITION_FAILED, "Changed since it was read";
    /// An `Idempotency-Key` was reused for a different request.
    IdempotencyKeyReused = "idempotency-key-reused", UNPROCESSABLE_ENTITY, "Idempotency key reused for a different request";
    /// Too many requests.
    RateLimited = "rate-limited", TOO_MANY_REQUESTS, "Too many requests";
    /// A store is unreachable: retry after `Retry-After` seconds.
    Unavailable = "store-unavailable", SERVICE_UNAVAILABLE, "A store is unavailable";
    /// An identity provider could not be reached or answered with garbage.
    ProviderUnavailable = "provider-unavailable", BAD_GATEWAY, "The identity provider is unavailable";
    /// The server is saturated (password hashing): retry after `Retry-After` seconds.
    Overloaded = "overloaded", SERVICE_UNAVAILABLE, "Server busy";
    /// Anything else; details are in the server log.
    Internal = "internal", INTERNAL_SERVER_ERROR, "Internal server error";
}

/// Rate-limit figures for the `RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateInfo {
    /// Hits allowed per window.
    pub limit: u64,
    /// Hits left.
    pub remaining: u64,
    /// Seconds until the window resets.
    pub reset_secs: u64,
    /// The policy's name and window length in seconds, for the
    /// `RateLimit-Policy` and `RateLimit` headers (`None`: only the
    /// `RateLimit-Limit/Remaining/Reset` ones).
    pub policy: Option<(&'static str, u64)>,
}

impl RateInfo {
    /// Only a `Retry-After` of `secs`: no quota to report.
    pub fn retry_after(secs: u64) -> Self {
        Self {
            limit: 0,
            remaining: 0,
            reset_secs: secs,
            policy: None,
        }
    }
}

/// An error response. Build one from a [`Kind`], or convert a domain error
/// (see `errors`). Two words wide: everything but the kind is boxed, so
/// `Result<T, Problem>` stays small on the success path.
pub struct Problem {
    kind: Kind,
    extra: Box<Extra>,
}

#[derive(Default)]
struct Extra {
    detail: Option<String>,
    errors: BTreeMap<String, Vec<String>>,
    rate: Option<RateInfo>,
    allow: Option<String>,
    /// `reason` and `until` of an `account-suspended` problem.
    suspension: Option<(String, Option<String>)>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// The JSON body of a problem, as documented in OpenAPI.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemBody {
    /// Stable URI of the error kind, e.g. `urn:portico:problem:validation`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short human summary of the kind.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What happened in this case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Validation messages per field.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, Vec<String>>,
    /// Of `account-suspended`: why, in the administrator's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Repeated spam reports")]
    pub reason: Option<String>,
    /// Of `account-suspended`: when the suspension lifts itself (RFC 3339);
    /// absent while it lasts until an administrator lifts it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime, example = "2026-12-31T00:00:00Z")]
    pub until: Option<String>,
}

impl Problem {
    /// A problem of `kind`.
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            extra: Box::default(),
        }
    }

    /// Adds a human explanation.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.extra.detail = Some(detail.into());
        self
    }

    /// A 500 that logs `source` (with its chain) and shows nothing of it, or,
    /// when the chain holds a [`domain::StoreError`] that says the store was
    /// unreachable, a 503 `store-unavailable` with `Retry-After`.
    pub fn internal(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        if find_store(&source, domain::StoreError::is_busy).is_some() {
            let mut p = Self::new(Kind::Overloaded)
                .detail("Too many passwords are being checked at once; try again in a moment.");
            p.extra.rate = Some(RateInfo::retry_after(RETRY_AFTER_OVERLOADED_SECS));
            return p;
        }
        if let Some(store) = find_store(&source, domain::StoreError::is_unavailable) {
            let mut p = Self::unavailable(store.to_string());
            p.extra.source = Some(Box::new(source));
            return p;
        }
        let mut p = Self::new(Kind::Internal);
        p.extra.source = Some(Box::new(source));
        p
    }

    /// A 503 `store-unavailable` with `Retry-After`: `what` says which
    /// store or operation could not be reached.
    pub fn unavailable(what: impl Into<String>) -> Self {
        let mut p = Self::new(Kind::Unavailable).detail(format!(
            "A store could not be reached ({}); try again shortly.",
            what.into()
        ));
        p.extra.rate = Some(RateInfo::retry_after(RETRY_AFTER_UNAVAILABLE_SECS));
        p
    }

    /// A validation failure with messages per field.
    pub fn validation(errors: BTreeMap<String, Vec<String>>) -> Self {
        let mut p = Self::new(Kind::Validation);
        p.extra.errors = errors;
        p
    }

    /// A 429 `quota-exceeded`: the plan's day or month is used up until
    /// `exceeded.resets_at`, with `Retry-After` and the `RateLimit-*` headers.
    pub fn quota_exceeded(exceeded: &domain::QuotaExceeded, now: time::OffsetDateTime) -> Self {
        let reset_secs =
            u64::try_from((exceeded.resets_at - now).whole_seconds().max(1)).unwrap_or(1);
        let window = exceeded.window.as_str();
        let mut p = Self::new(Kind::QuotaExceeded).detail(format!(
            "The plan's {} requests per {window} are used up; they start again at {} (UTC).",
            exceeded.limit,
            exceeded
                .resets_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        ));
        p.extra.rate = Some(RateInfo {
            limit: exceeded.limit,
            remaining: 0,
            reset_secs,
            policy: Some((window, exceeded.window_seconds)),
        });
        p
    }

    /// A 429 with `RateLimit-*` and `Retry-After`.
    pub fn rate_limited(rate: RateInfo) -> Self {
        let mut p = Self::new(Kind::RateLimited);
        p.extra.rate = Some(rate);
        p
    }

    /// A 423 telling when sign-in may be tried again.
    pub fn locked_out(retry_after_secs: u64) -> Self {
        let mut p = Self::new(Kind::LockedOut)
            .detail("The account is locked after repeated failed sign-ins; try again later.");
        p.extra.rate = Some(RateInfo::retry_after(retry_after_secs));
        p
    }

    /// A 403 `account-suspended` with the suspension's reason and end.
    pub fn suspended(suspension: &domain::Suspension) -> Self {
        let until = suspension.until.and_then(|u| {
            u.format(&time::format_description::well_known::Rfc3339)
                .ok()
        });
        let detail = match &until {
            Some(until) => format!("This account is suspended until {until}."),
            None => "This account is suspended until an administrator lifts it.".to_owned(),
        };
        let mut p = Self::new(Kind::AccountSuspended).detail(detail);
        p.extra.suspension = Some((suspension.reason.as_str().to_owned(), until));
        p
    }

    /// A 405 naming the allowed methods.
    pub fn method_not_allowed(allow: Vec<&str>) -> Self {
        let mut p = Self::new(Kind::MethodNotAllowed);
        p.extra.allow = Some(allow.join(", "));
        p
    }

    /// The kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The body.
    pub fn body(&self) -> ProblemBody {
        let (status, title) = self.kind.status_and_title();
        ProblemBody {
            kind: format!("urn:portico:problem:{}", self.kind.slug()),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: self.extra.detail.clone(),
            errors: self.extra.errors.clone(),
            reason: self.extra.suspension.as_ref().map(|(r, _)| r.clone()),
            until: self.extra.suspension.as_ref().and_then(|(_, u)| u.clone()),
        }
    }
}

impl fmt::Debug for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Problem")
            .field("kind", &self.kind)
            .field("detail", &self.extra.detail)
            .field("errors", &self.extra.errors)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (status, title) = self.kind.status_and_title();
        write!(f, "{} {title}", status.as_u16())?;
        if let Some(d) = &self.extra.detail {
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

/// `Retry-After` of a 503 `store-unavailable`: about how long a store client
/// takes to reconnect after its server is back.
pub const RETRY_AFTER_UNAVAILABLE_SECS: u64 = 5;

/// `Retry-After` of a 503 `overloaded`: a hash takes tens of milliseconds,
/// so the queue has moved on a second later.
pub const RETRY_AFTER_OVERLOADED_SECS: u64 = 1;

/// The first [`domain::StoreError`] in `error`'s chain for which `test` holds.
fn find_store<'a>(
    error: &'a (dyn std::error::Error + 'static),
    test: fn(&domain::StoreError) -> bool,
) -> Option<&'a domain::StoreError> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(store) = e.downcast_ref::<domain::StoreError>()
            && test(store)
        {
            return Some(store);
        }
        next = e.source();
    }
    None
}

pub use runtime::error_chain;

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        self.kind.status_and_title().0
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(source) = &self.extra.source {
            if self.kind == Kind::Unavailable {
                tracing::warn!(error = %error_chain(source.as_ref()), "store unavailable");
            } else {
                tracing::error!(error = %error_chain(source.as_ref()), "request failed");
            }
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        if let Some(rate) = self.extra.rate {
            if rate.limit > 0 {
                response.insert_header(("RateLimit-Limit", rate.limit.to_string()));
                response.insert_header(("RateLimit-Remaining", rate.remaining.to_string()));
                response.insert_header(("RateLimit-Reset", rate.reset_secs.to_string()));
            }
            if let Some((name, window)) = rate.policy {
                response.insert_header((
                    "RateLimit-Policy",
                    format!("\"{name}\";q={};w={window}", rate.limit),
                ));
                response.insert_header((
                    "RateLimit",
                    format!("\"{name}\";r={};t={}", rate.remaining, rate.reset_secs),
                ));
            }
            response.insert_header((header::RETRY_AFTER, rate.reset_secs.max(1).to_string()));
        }
        if let Some(allow) = &self.extra.allow
            && let Ok(v) = HeaderValue::from_str(allow)
        {
            response.insert_header((header::ALLOW, v));
        }
        response.json(self.body())
    }
}

/// Collects validation messages per field while parsing a request into
/// domain values.
#[derive(Debug, Default)]
pub struct Fields(BTreeMap<String, Vec<String>>);

impl Fields {
    /// Keeps the value, or records the error's message under `field`.
    pub fn check<T, E: fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.add(field, e.to_string());
                None
            }
        }
    }

    /// Records a message under `field`.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    /// `Ok` when nothing was recorded, else the validation problem.
    pub fn finish(self) -> Result<(), Problem> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Problem::validation(self.0))
        }
    }

    /// The validation problem (for when a value is missing).
    pub fn into_problem(self) -> Problem {
        Problem::validation(self.0)
    }
}

#[cfg(test)]
#[path = "problem_tests.rs"]
mod tests;
