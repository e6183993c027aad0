//! Who is calling: bearer tokens and the session cookie (with its CSRF
//! check), client IPs, and the per-user and per-IP rate limits.
//!
//! Cookie sign-in sets two cookies, both `SameSite=Strict` (no other site's
//! page or link sends them): `portico_session` (HttpOnly, the access token)
//! and `portico_csrf` (readable by scripts). A request authenticated by
//! the cookie that changes state (any method but GET, HEAD and OPTIONS) must
//! send the `portico_csrf` value in the `X-CSRF-Token` header; values are
//! compared in constant time. Bearer requests need no CSRF header.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::Method;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use domain::{Credential, Principal, Quota, RateDecision, Usage};
use domain::{Token, Window};
use time::OffsetDateTime;

use crate::problem::{Kind, Problem, RateInfo};
use crate::state::AppState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "portico_session";
/// Name of the CSRF cookie.
pub const CSRF_COOKIE: &str = "portico_csrf";
/// Header that must echo the CSRF cookie.
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// A signed-in caller: the domain's [`Principal`] (user, session, roles;
/// `me.user` and `me.session` read through to it) and the request counters.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Who is calling, as the domain services check it.
    pub principal: Principal,
    /// The user's request counters after counting this request.
    pub usage: Usage,
}

impl std::ops::Deref for SignedIn {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.principal
    }
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, Problem> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| Problem::internal(domain::StoreError::msg("application state missing")))
}

fn presented_token(req: &HttpRequest) -> Result<(Credential, bool), Problem> {
    let unauthenticated = || Problem::new(Kind::Unauthenticated);
    if let Some(value) = req.headers().get(AUTHORIZATION) {
        let value = value.to_str().map_err(|_| unauthenticated())?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| unauthenticated().detail("Use `Authorization: Bearer <token>`."))?;
        return Credential::parse(token)
            .map(|t| (t, false))
            .ok_or_else(unauthenticated);
    }
    let cookie = req.cookie(SESSION_COOKIE).ok_or_else(unauthenticated)?;
    let token = Credential::parse(cookie.value()).ok_or_else(unauthenticated)?;
    Ok((token, true))
}

/// A cookie-authenticated request that changes state must send its
/// session's CSRF token (see [`crate::keys::CsrfKey`]) in `X-CSRF-Token`.
/// The token is derived from the session id, so a value the client chose
/// (in the header and a cookie alike) never passes.
fn check_csrf(
    req: &HttpRequest,
    state: &AppState,
    session: domain::AuthSessionId,
) -> Result<(), Problem> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let sent = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    if sent.is_some_and(|sent| state.csrf.verify(session, sent)) {
        return Ok(());
    }
    Err(Problem::new(Kind::CsrfFailed).detail(format!(
        "Requests authenticated by the session cookie that change state must send the {CSRF_COOKIE} cookie's value in the {CSRF_HEADER} header."
    )))
}

fn rate_info(decision: &RateDecision) -> RateInfo {
    let reset_secs = decision
        .resets_at
        .map(|at| (at - OffsetDateTime::now_utc()).whole_seconds().max(0))
        .and_then(|s| u64::try_from(s).ok())
        .unwrap_or(60);
    RateInfo {
        limit: decision.limit,
        remaining: decision.remaining,
        reset_secs,
        policy: Some(("minute", 60)),
    }
}

/// The requests a used-up plan still lets through, so that users can see
/// their usage, sign out, and take or delete their data.
const QUOTA_EXEMPT: [(Method, &str); 4] = [
    (Method::GET, "/v1/me"),
    (Method::DELETE, "/v1/sessions/current"),
    (Method::GET, "/v1/me/export"),
    (Method::DELETE, "/v1/me"),
];

fn quota_exempt(req: &HttpRequest) -> bool {
    let path = req.path().trim_end_matches('/');
    QUOTA_EXEMPT
        .iter()
        .any(|(method, exempt)| req.method() == method && path == *exempt)
}

async fn sign_in_check(req: HttpRequest) -> Result<SignedIn, Problem> {
    let state = state(&req)?;
    let (token, via_cookie) = presented_token(&req)?;
    let authenticated = state.principals.authenticate(&state.auth, &token).await?;
    if via_cookie {
        check_csrf(&req, &state, authenticated.session().id)?;
    }
    let user_id = authenticated.user().id;
    let usage = state.rate_limits.record_usage(user_id).await?;
    let limit = state.http.rate_limits.user_per_minute;
    if limit > 0 && usage.last_minute > limit {
        let now = OffsetDateTime::now_utc();
        let resets_at = Window::MINUTE.bounds(now).map(|(_, end)| end);
        return Err(Problem::rate_limited(rate_info(&RateDecision {
            allowed: false,
            limit,
            remaining: 0,
            resets_at,
        })));
    }
    if !quota_exempt(&req) {
        match state.plans.enforce(&authenticated, &usage).await {
            Ok(()) => {}
            Err(domain::QuotaError::Exceeded(exceeded)) => {
                return Err(Problem::quota_exceeded(
                    &exceeded,
                    OffsetDateTime::now_utc(),
                ));
            }
            Err(domain::QuotaError::Unexpected(e)) => return Err(Problem::internal(e)),
        }
    }
    Ok(SignedIn {
        principal: authenticated,
        usage,
    })
}

impl FromRequest for SignedIn {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Problem>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(sign_in_check(req.clone()))
    }
}

/// The caller's IP address: the peer address, or with
/// `server.trusted_proxies` the first untrusted `X-Forwarded-For` hop from
/// the right (see [`crate::proxies`]).
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

impl FromRequest for ClientIp {
    type Error = Problem;
    type Future = std::future::Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(client_ip(req)))
    }
}

pub(crate) fn client_ip(req: &HttpRequest) -> ClientIp {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return ClientIp("unknown".into());
    };
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return ClientIp(peer.to_string());
    };
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("X-Forwarded-For")
        .filter_map(|v| v.to_str().ok())
        .collect();
    ClientIp(state.http.proxies.client(peer, &forwarded).to_string())
}

/// Counts a hit of `key` against `limit` per minute; `Err` (429) when over.
/// A zero limit turns the check off.
pub async fn limit_per_minute(state: &AppState, key: &str, limit: u64) -> Result<(), Problem> {
    if limit == 0 {
        return Ok(());
    }
    let quota = Quota {
        limit,
        window: Window::MINUTE,
    };
    let decision = state.rate_limits.check(key, quota).await?;
    if decision.allowed {
        Ok(())
    } else {
        Err(Problem::rate_limited(rate_info(&decision)))
    }
}

/// The per-IP limit of the endpoints that work without signing in.
pub async fn limit_ip(state: &AppState, ip: &ClientIp) -> Result<(), Problem> {
    let key = format!("ip:{}", ip.0);
    limit_per_minute(state, &key, state.http.rate_limits.ip_per_minute).await
}

/// The session and CSRF cookies for a new session.
pub fn session_cookies(
    token: &Token,
    csrf: &str,
    expires_at: OffsetDateTime,
    secure: bool,
) -> [Cookie<'static>; 2] {
    let max_age = CookieDuration::seconds(
        (expires_at - OffsetDateTime::now_utc())
            .whole_seconds()
            .max(0),
    );
    let session = Cookie::build(SESSION_COOKIE, token.expose().to_owned())
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .path("/")
        .max_age(max_age)
        .finish();
    let csrf = Cookie::build(CSRF_COOKIE, csrf.to_owned())
        .http_only(false)
        .secure(secure)
        .same_site(SameSite::Strict)
        .path("/")
        .max_age(max_age)
        .finish();
    [session, csrf]
}

/// Cookies that clear the session and CSRF cookies.
pub fn cleared_cookies(secure: bool) -> [Cookie<'static>; 2] {
    [SESSION_COOKIE, CSRF_COOKIE].map(|name| {
        let mut c = Cookie::build(name, "")
            .path("/")
            .secure(secure)
            .same_site(SameSite::Strict)
            .finish();
        c.make_removal();
        c
    })
}
