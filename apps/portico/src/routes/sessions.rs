//! Sign-in, refresh rotation, listing and revoking sessions, sign-out.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use actix_web::http::header::USER_AGENT;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use api_types::*;
use domain::{AuthSessionId, Password, Token};
use domain::{IssuedSession, SignInRequest};
use uuid::Uuid;

use crate::auth::{ClientIp, SESSION_COOKIE, SignedIn, cleared_cookies, session_cookies};
use crate::problem::{Fields, Problem};
use crate::state::AppState;

/// The 201 of every completed sign-in: the token pair and, when
/// `set_cookies`, the session and CSRF cookies.
pub(crate) fn issue(state: &AppState, issued: IssuedSession, set_cookies: bool) -> HttpResponse {
    let csrf = state.csrf.token(issued.session.id);
    // The cookie holds the opaque token, living as long as the session; the
    // body's access token is the JWT when JWTs are on.
    let expires_at = issued.session.expires_at;
    let (access_token, access_expires_at) = match &issued.jwt {
        Some(jwt) => (jwt.token.clone(), jwt.expires_at),
        None => (issued.access_token.expose().to_owned(), expires_at),
    };
    let body = TokensView {
        access_token,
        refresh_token: issued.refresh_token.expose().to_owned(),
        expires_at: access_expires_at,
        csrf_token: csrf.clone(),
        session: SessionView::new(issued.session, true),
    };
    let mut response = HttpResponse::Created();
    response.insert_header(("Cache-Control", "no-store"));
    if set_cookies {
        let secure = state.http.cookie_secure;
        for cookie in session_cookies(&issued.access_token, &csrf, expires_at, secure) {
            response.cookie(cookie);
        }
    }
    response.json(body)
}

/// Signs in with an email or username and a password.
///
/// Returns a bearer token pair and sets the HttpOnly `portico_session`
/// cookie plus the `portico_csrf` cookie. Every fifth consecutive failure
/// locks the account for 15 minutes (423 with `Retry-After`).
#[utoipa::path(
    tag = "sessions",
    request_body = SignInBody,
    responses(
        (status = 201, description = "Signed in", body = TokensView),
        (status = 200, description = "Password right; the account has TOTP on: send a code to /v1/sessions/mfa", body = MfaRequiredView),
        (status = 401, description = "Invalid login or password"),
        (status = 403, description = "Account locked or suspended (account-suspended, with reason and until) by an administrator, or email not verified"),
        (status = 423, description = "Locked after repeated failures; see Retry-After"),
        (status = 429, description = "Too many requests from this IP"),
    )
)]
#[post("/v1/sessions", name = "/v1/sessions")]
pub async fn sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    ip: ClientIp,
    body: web::Json<SignInBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let mut f = Fields::default();
    if body.login.trim().is_empty() {
        f.add("login", "must not be empty");
    }
    let password = f.check("password", Password::for_sign_in(body.password));
    let Some(password) = password else {
        return Err(f.into_problem());
    };
    f.finish()?;
    let signed_in = state
        .auth
        .sign_in(SignInRequest {
            login: body.login.trim().to_owned(),
            password,
            user_agent: user_agent(&req),
            ip: Some(ip.0),
        })
        .await?;
    Ok(match signed_in {
        domain::SignedIn::Session(issued) => issue(&state, issued, true),
        domain::SignedIn::MfaRequired(challenge) => mfa_required(challenge),
    })
}

/// The request's User-Agent header (the domain bounds and parses it into
/// the session's device).
pub(crate) fn user_agent(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| domain::bounded_user_agent(ua).to_owned())
}

/// 200 with the challenge: no session, no cookie.
pub(crate) fn mfa_required(challenge: domain::MfaChallenge) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(MfaRequiredView {
            mfa_required: true,
            mfa_token: challenge.token.expose().to_owned(),
            methods: vec!["totp", "backup_code"],
            expires_at: challenge.expires_at,
        })
}

/// Exchanges a refresh token for a new token pair. Each refresh token works
/// once: presenting a used one revokes its whole session.
#[utoipa::path(
    tag = "sessions",
    request_body = RefreshBody,
    responses(
        (status = 201, description = "New token pair", body = TokensView),
        (status = 400, description = "Unknown or expired refresh token"),
        (status = 401, description = "Refresh token reused: the session is revoked"),
        (status = 403, description = "The account is suspended (account-suspended, with reason and until)"),
    )
)]
#[post("/v1/sessions/refresh", name = "/v1/sessions/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<RefreshBody>,
) -> Result<HttpResponse, Problem> {
    let mut f = Fields::default();
    let Some(token) = f.check("refresh_token", Token::parse(body.refresh_token.trim())) else {
        return Err(f.into_problem());
    };
    let issued = state.auth.refresh(&token).await?;
    let cookie_client = req.cookie(SESSION_COOKIE).is_some();
    Ok(issue(&state, issued, cookie_client))
}

/// Lists the caller's active sessions, newest first.
#[utoipa::path(
    tag = "sessions",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Active sessions", body = SessionList),
    )
)]
#[get("/v1/sessions", name = "/v1/sessions")]
pub async fn list(
    state: web::Data<AppState>,
    me: SignedIn,
) -> Result<web::Json<SessionList>, Problem> {
    let sessions = state.auth.list_sessions(me.user().id).await?;
    Ok(web::Json(SessionList::of(sessions, me.session().id)))
}

/// Signs out: revokes the session making the request and clears the cookies.
#[utoipa::path(
    tag = "sessions",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 204, description = "Signed out"),
    )
)]
#[delete("/v1/sessions/current", name = "/v1/sessions/current")]
pub async fn sign_out(state: web::Data<AppState>, me: SignedIn) -> Result<HttpResponse, Problem> {
    state
        .auth
        .revoke_session(&me.principal, me.session().id)
        .await?;
    let mut response = HttpResponse::NoContent();
    for cookie in cleared_cookies(state.http.cookie_secure) {
        response.cookie(cookie);
    }
    Ok(response.finish())
}

/// Revokes one of the caller's sessions.
#[utoipa::path(
    tag = "sessions",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "Session id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such active session of the caller"),
    )
)]
#[delete("/v1/sessions/{id}", name = "/v1/sessions/{id}")]
pub async fn revoke(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let id = AuthSessionId::from_uuid(id.into_inner());
    state.auth.revoke_session(&me.principal, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The public keys access JWTs are signed with (`tokens.access_format =
/// "jwt"`), for services that check Portico's tokens without calling it.
///
/// The current key, and each older key until every token it signed has
/// expired. Empty while JWTs were never turned on.
#[utoipa::path(
    tag = "sessions",
    responses((status = 200, description = "The JWK Set", body = JwkSetView))
)]
#[get("/.well-known/jwks.json", name = "/.well-known/jwks.json")]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    let keys = state
        .jwt_keys
        .as_ref()
        .map(|k| {
            k.current()
                .published(time::OffsetDateTime::now_utc(), state.jwt_ttl)
        })
        .unwrap_or_default()
        .into_iter()
        .map(|(kid, x)| JwkView {
            kty: "OKP",
            crv: "Ed25519",
            x,
            kid,
            alg: "EdDSA",
            use_: "sig",
        })
        .collect();
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=60"))
        .json(JwkSetView { keys })
}

/// Registers the sign-in and sessions routes, in matching order.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(jwks)
        .service(sign_in)
        .service(refresh)
        .service(list)
        .service(sign_out)
        .service(revoke);
}
