//! Sign-in through identity providers (`/v1/oauth/…`) and the account's
//! links to them (`/v1/me/providers`). The rules are the domain's
//! ([`domain::Federation`]): the flow's state, PKCE verifier and
//! nonce stay on the server, the browser only ever carries a one-time code
//! back, and a link that is the last way to sign in stays.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use api_types::*;
use domain::{BegunFlow, CallbackSuccess, SignedIn as Outcome, flow_cookie_id};
use domain::{Password, Token};

use crate::auth::{ClientIp, SignedIn};
use crate::problem::{Fields, Problem};
use crate::state::AppState;

/// Lists the identity providers a front end can offer sign-in with.
#[utoipa::path(
    tag = "oauth",
    security(()),
    responses((status = 200, description = "The providers", body = ProvidersView))
)]
#[get("/v1/oauth/providers", name = "/v1/oauth/providers")]
pub async fn providers(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(ProvidersView {
        items: state
            .federation
            .providers()
            .into_iter()
            .map(|p| ProviderView {
                name: p.name.into(),
                display_name: p.display_name,
            })
            .collect(),
    })
}

fn found(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((LOCATION, location))
        .insert_header(("Cache-Control", "no-store"))
        .finish()
}

/// The flow cookies' path: the callbacks are under it.
const FLOW_COOKIE_PATH: &str = "/v1/oauth/";

/// The cookie of the flow named `id`.
fn flow_cookie_name(id: &str) -> String {
    format!("portico_oauth_{id}")
}

/// The cookie that binds a flow to the browser that started it: HttpOnly,
/// SameSite=Lax (the provider's redirect back is a top-level navigation,
/// which Lax lets through), living as long as the flow.
fn flow_cookie(state: &AppState, flow: &BegunFlow) -> Cookie<'static> {
    // Rounded up: the flow lives to its last second.
    let left = flow.expires_at - time::OffsetDateTime::now_utc();
    let ttl = (left + time::Duration::seconds(1) - time::Duration::nanoseconds(1))
        .whole_seconds()
        .max(0);
    Cookie::build(
        flow_cookie_name(&flow.cookie_id),
        flow.browser_secret.expose().to_owned(),
    )
    .http_only(true)
    .secure(state.http.cookie_secure)
    .same_site(SameSite::Lax)
    .path(FLOW_COOKIE_PATH)
    .max_age(CookieDuration::seconds(ttl))
    .finish()
}

/// Starts a sign-in: redirects to the provider (authorization code flow
/// with `state`, PKCE S256 and `nonce`, kept on the server for 10 minutes)
/// and sets a cookie that binds the flow to this browser: the callback
/// finds the flow only with it.
#[utoipa::path(
    tag = "oauth",
    security(()),
    params(("provider" = String, Path, description = "A configured provider"), RedirectQuery),
    responses(
        (status = 302, description = "To the provider's authorization endpoint"),
        (status = 404, description = "No such provider"),
        (status = 422, description = "redirect_uri is not on the allow-list"),
        (status = 429, description = "Too many requests from this IP"),
        (status = 502, description = "The provider's discovery failed"),
    )
)]
#[get(
    "/v1/oauth/{provider}/authorize",
    name = "/v1/oauth/{provider}/authorize"
)]
pub async fn authorize(
    state: web::Data<AppState>,
    provider: web::Path<String>,
    query: web::Query<RedirectQuery>,
) -> Result<HttpResponse, Problem> {
    let flow = state
        .federation
        .begin(&provider, &query.redirect_uri)
        .await?;
    let mut response = found(&flow.authorize_url);
    response
        .add_cookie(&flow_cookie(&state, &flow))
        .map_err(|e| Problem::internal(domain::StoreError::with_source("flow cookie", e)))?;
    Ok(response)
}

/// The provider's callback: checks the answer, then redirects to the flow's
/// `redirect_uri` with `?code=<one-time code>` (exchange it at
/// `POST /v1/oauth/exchange`), `?linked=<provider>` for a link, or
/// `?error=<kind>`.
#[utoipa::path(
    tag = "oauth",
    security(()),
    params(("provider" = String, Path, description = "A configured provider"), CallbackQuery),
    responses(
        (status = 302, description = "To the flow's redirect_uri with code, linked or error"),
        (status = 400, description = "Unknown, used, expired or tampered state: no flow to return to"),
        (status = 429, description = "Too many requests from this IP"),
    )
)]
#[get(
    "/v1/oauth/{provider}/callback",
    name = "/v1/oauth/{provider}/callback"
)]
pub async fn callback(
    state: web::Data<AppState>,
    req: HttpRequest,
    provider: web::Path<String>,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, Problem> {
    let query = query.into_inner();
    let code = match (&query.error, &query.code) {
        (Some(error), _) => Err(error.as_str()),
        (None, Some(code)) => Ok(code.as_str()),
        (None, None) => Err("no code"),
    };
    let flow_state = query.state.as_deref().unwrap_or("");
    let cookie = flow_cookie_id(flow_state).map(|id| flow_cookie_name(&id));
    let secret = cookie
        .as_deref()
        .and_then(|name| req.cookie(name))
        .map(|c| c.value().to_owned());
    let outcome = state
        .federation
        .callback(&provider, flow_state, secret.as_deref(), code)
        .await?;
    match &outcome.result {
        Ok(CallbackSuccess::Created(user)) => {
            tracing::info!(%provider, %user, "user created through an identity provider");
        }
        Ok(CallbackSuccess::SignedIn(user)) => {
            tracing::info!(%provider, %user, "provider sign-in");
        }
        Ok(CallbackSuccess::Linked(user)) => tracing::info!(%provider, %user, "provider linked"),
        Err(failed) => tracing::warn!(
            %provider,
            kind = failed.kind.as_str(),
            detail = failed.detail.as_deref().unwrap_or(""),
            "provider flow failed"
        ),
    }
    let mut response = found(&outcome.redirect_to);
    if let Some(name) = cookie {
        let mut spent = Cookie::build(name, "").path(FLOW_COOKIE_PATH).finish();
        spent.make_removal();
        response
            .add_cookie(&spent)
            .map_err(|e| Problem::internal(domain::StoreError::with_source("flow cookie", e)))?;
    }
    Ok(response)
}

/// Turns the callback's one-time code into a session: the same body and
/// cookies as a password sign-in, or 200 `mfa_required` when the account
/// has TOTP on (finish at `POST /v1/sessions/mfa`).
#[utoipa::path(
    tag = "oauth",
    security(()),
    request_body = ExchangeBody,
    responses(
        (status = 201, description = "Signed in", body = TokensView),
        (status = 200, description = "A second factor is needed", body = MfaRequiredView),
        (status = 400, description = "Unknown, used or expired code"),
        (status = 403, description = "Account locked or suspended"),
        (status = 422, description = "Malformed code"),
        (status = 429, description = "Too many requests from this IP"),
    )
)]
#[post("/v1/oauth/exchange", name = "/v1/oauth/exchange")]
pub async fn exchange(
    state: web::Data<AppState>,
    req: HttpRequest,
    ip: ClientIp,
    body: web::Json<ExchangeBody>,
) -> Result<HttpResponse, Problem> {
    let mut f = Fields::default();
    let Some(code) = f.check("code", Token::parse(body.code.trim())) else {
        return Err(f.into_problem());
    };
    match state
        .federation
        .exchange(
            &state.auth,
            &code,
            super::sessions::user_agent(&req),
            Some(ip.0),
        )
        .await?
    {
        Outcome::Session(issued) => Ok(super::sessions::issue(&state, issued, true)),
        Outcome::MfaRequired(challenge) => Ok(super::sessions::mfa_required(challenge)),
    }
}

/// Lists the identity providers linked to the account (never their tokens).
#[utoipa::path(
    tag = "oauth",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "The links", body = LinksView),
        (status = 401, description = "Not signed in"),
    )
)]
#[get("/v1/me/providers", name = "/v1/me/providers")]
pub async fn links(state: web::Data<AppState>, me: SignedIn) -> Result<HttpResponse, Problem> {
    let links = state.federation.links(me.user().id).await?;
    Ok(HttpResponse::Ok().json(LinksView {
        items: links.into_iter().map(Into::into).collect(),
    }))
}

/// Starts linking a provider to the signed-in account. Asks for the
/// password again (or a sign-in within the last 5 minutes, for an account
/// without one), and sets a cookie that binds the flow to this browser:
/// call it with the browser's credentials (`fetch(…, {credentials:
/// "include"})`) so the browser keeps the cookie for the callback.
#[utoipa::path(
    tag = "oauth",
    security(("bearer" = []), ("cookie" = [])),
    params(("provider" = String, Path, description = "A configured provider")),
    request_body = LinkBody,
    responses(
        (status = 200, description = "The provider's URL for this flow", body = AuthorizeUrlView),
        (status = 401, description = "Not signed in"),
        (status = 403, description = "Wrong password, or sign in again (reauthentication-required)"),
        (status = 404, description = "No such provider"),
        (status = 409, description = "The provider is linked already"),
        (status = 422, description = "redirect_uri is not on the allow-list"),
        (status = 423, description = "Too many wrong passwords; see Retry-After"),
        (status = 502, description = "The provider's discovery failed"),
    )
)]
#[post("/v1/me/providers/{provider}", name = "/v1/me/providers/{provider}")]
pub async fn link(
    state: web::Data<AppState>,
    me: SignedIn,
    ip: ClientIp,
    provider: web::Path<String>,
    body: web::Json<LinkBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let password = match body.password {
        Some(raw) => {
            let mut f = Fields::default();
            let Some(p) = f.check("password", Password::for_sign_in(raw)) else {
                return Err(f.into_problem());
            };
            Some(p)
        }
        None => None,
    };
    let flow = state
        .federation
        .begin_link(
            &me,
            &provider,
            &body.redirect_uri,
            password.as_ref(),
            Some(&ip.0),
        )
        .await?;
    let mut response = HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(AuthorizeUrlView {
            authorize_url: flow.authorize_url.clone(),
        });
    response
        .add_cookie(&flow_cookie(&state, &flow))
        .map_err(|e| Problem::internal(domain::StoreError::with_source("flow cookie", e)))?;
    Ok(response)
}

/// Removes the link to a provider, unless it is the account's last way to
/// sign in (no password and no other link).
#[utoipa::path(
    tag = "oauth",
    security(("bearer" = []), ("cookie" = [])),
    params(("provider" = String, Path, description = "A linked provider")),
    responses(
        (status = 204, description = "Unlinked"),
        (status = 401, description = "Not signed in"),
        (status = 404, description = "Not linked"),
        (status = 409, description = "The last way to sign in"),
    )
)]
#[delete("/v1/me/providers/{provider}", name = "/v1/me/providers/{provider}")]
pub async fn unlink(
    state: web::Data<AppState>,
    me: SignedIn,
    provider: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    state.federation.unlink(&me.principal, &provider).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the provider routes (`/v1/oauth/providers` before
/// `/v1/oauth/{provider}/…`).
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(providers)
        .service(authorize)
        .service(callback)
        .service(exchange)
        .service(links)
        .service(link)
        .service(unlink);
}
