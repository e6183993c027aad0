//! Registration, verification, username availability and password reset:
//! the endpoints that work without signing in.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use actix_web::{HttpResponse, get, post, web};
use api_types::*;
use domain::{Email, Password, Token, Username};

use crate::auth::{ClientIp, limit_per_minute};
use crate::problem::{Fields, Kind, Problem};
use crate::state::AppState;

/// Starts a registration.
///
/// Stores a pending candidate and mails a verification link. The answer is
/// the same whether or not the email already has an account.
#[utoipa::path(
    tag = "accounts",
    request_body = RegisterBody,
    responses(
        (status = 202, description = "Candidate stored and mail sent (or the email already has an account)"),
        (status = 403, description = "Registration is closed (`registration.open` is off): problem `registration-closed`"),
        (status = 409, description = "Username taken"),
        (status = 422, description = "Invalid fields"),
        (status = 429, description = "Too many requests from this IP"),
    )
)]
#[post("/v1/registrations", name = "/v1/registrations")]
pub async fn register(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    ip: crate::auth::ClientIp,
    body: web::Json<RegisterBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let settings = state.settings.live().current();
    if !settings.registration_open {
        return Err(Problem::new(Kind::RegistrationClosed)
            .detail("New accounts cannot be created at the moment."));
    }
    let mut f = Fields::default();
    let email = f.check("email", Email::parse(&body.email));
    let username = f.check("username", Username::parse(&body.username));
    let password = f.check(
        "password",
        Password::with_min_length(body.password, settings.password_min_length),
    );
    let (Some(email), Some(username), Some(password)) = (email, username, password) else {
        return Err(f.into_problem());
    };
    state
        .registration
        .register_from(
            email,
            username,
            password,
            Some(&ip.0),
            super::sessions::user_agent(&req).as_deref(),
        )
        .await?;
    Ok(HttpResponse::Accepted().finish())
}

fn parse_token(raw: &str) -> Result<Token, Problem> {
    let mut f = Fields::default();
    let token = f.check("token", Token::parse(raw.trim()));
    token.ok_or_else(|| f.into_problem())
}

/// Verifies a registration and creates the user.
#[utoipa::path(
    tag = "accounts",
    request_body = TokenBody,
    responses(
        (status = 201, description = "The new user", body = UserView),
        (status = 400, description = "Unknown, used or expired token"),
        (status = 409, description = "The email or username was taken meanwhile"),
    )
)]
#[post("/v1/registrations/verify", name = "/v1/registrations/verify")]
pub async fn verify(
    state: web::Data<AppState>,
    body: web::Json<TokenBody>,
) -> Result<HttpResponse, Problem> {
    let token = parse_token(&body.token)?;
    let user = state.registration.verify(&token).await?;
    Ok(HttpResponse::Created().json(UserView::from(user)))
}

/// Tells whether a username is free. Rate-limited per client IP
/// (`username_status_req:{ip}`).
#[utoipa::path(
    tag = "accounts",
    params(("username" = String, Path, description = "The username to check")),
    responses(
        (status = 200, description = "Availability", body = Availability),
        (status = 422, description = "Not a valid username"),
        (status = 429, description = "Too many look-ups from this IP"),
    )
)]
#[get("/v1/usernames/{username}", name = "/v1/usernames/{username}")]
pub async fn username_available(
    state: web::Data<AppState>,
    ip: ClientIp,
    username: web::Path<String>,
) -> Result<web::Json<Availability>, Problem> {
    let key = domain::username_status_key(&ip.0);
    limit_per_minute(
        &state,
        &key,
        state.http.rate_limits.username_checks_per_minute,
    )
    .await?;
    let mut f = Fields::default();
    let Some(name) = f.check("username", Username::parse(&username)) else {
        return Err(f.into_problem());
    };
    let available = state.registration.username_available(&name).await?;
    Ok(web::Json(Availability { available }))
}

/// Asks for a password reset link. Always 202, whether or not the address
/// has an account.
#[utoipa::path(
    tag = "accounts",
    request_body = ResetRequestBody,
    responses(
        (status = 202, description = "A link was mailed if the address has an account"),
        (status = 422, description = "Not an email address"),
    )
)]
#[post("/v1/password-resets", name = "/v1/password-resets")]
pub async fn request_reset(
    state: web::Data<AppState>,
    body: web::Json<ResetRequestBody>,
) -> Result<HttpResponse, Problem> {
    let mut f = Fields::default();
    let Some(email) = f.check("email", Email::parse(&body.email)) else {
        return Err(f.into_problem());
    };
    state.passwords.request_reset(&email).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// Sets a new password with a reset token; every session of the user is revoked.
#[utoipa::path(
    tag = "accounts",
    request_body = ResetConfirmBody,
    responses(
        (status = 204, description = "Password changed; every session revoked"),
        (status = 400, description = "Unknown, used or expired token"),
        (status = 422, description = "Invalid fields"),
    )
)]
#[post("/v1/password-resets/confirm", name = "/v1/password-resets/confirm")]
pub async fn confirm_reset(
    state: web::Data<AppState>,
    body: web::Json<ResetConfirmBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let mut f = Fields::default();
    let token = f.check("token", Token::parse(body.token.trim()));
    let min = state.settings.live().current().password_min_length;
    let password = f.check(
        "new_password",
        Password::with_min_length(body.new_password, min),
    );
    let (Some(token), Some(password)) = (token, password) else {
        return Err(f.into_problem());
    };
    state.passwords.confirm_reset(&token, &password).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Registers the registration, verification and password resets routes, in matching order.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(register)
        .service(verify)
        .service(username_available)
        .service(request_reset)
        .service(confirm_reset);
}
