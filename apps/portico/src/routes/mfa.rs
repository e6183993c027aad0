//! The second factor: TOTP enrolment and confirmation, turning it off, new
//! backup codes (`/v1/me/mfa/…`), and the second step of a sign-in
//! (`POST /v1/sessions/mfa`). The rules are the domain's
//! ([`domain::MultiFactor`]).

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use actix_web::{HttpRequest, HttpResponse, delete, post, web};
use api_types::*;
use domain::{BackupCode, Password, Token, TotpCode};
use domain::{MfaProof, MfaSignInRequest};

use crate::auth::{ClientIp, SignedIn};
use crate::problem::{Fields, Problem};
use crate::state::AppState;

fn backup_codes(codes: Vec<BackupCode>) -> BackupCodesView {
    BackupCodesView {
        backup_codes: codes.iter().map(BackupCode::display).collect(),
    }
}

/// Starts a TOTP enrolment: a new secret, pending until confirmed.
///
/// Restarting replaces a pending secret. 409 while TOTP is on.
#[utoipa::path(
    tag = "mfa",
    security(("bearer" = []), ("cookie" = [])),
    request_body = EnrolBody,
    responses(
        (status = 201, description = "The secret to add to an authenticator app", body = EnrolmentView),
        (status = 403, description = "Wrong password"),
        (status = 409, description = "TOTP is already on"),
        (status = 423, description = "Too many wrong passwords or codes; see Retry-After"),
    )
)]
#[post("/v1/me/mfa/totp", name = "/v1/me/mfa/totp")]
pub async fn enrol(
    state: web::Data<AppState>,
    me: SignedIn,
    ip: ClientIp,
    body: web::Json<EnrolBody>,
) -> Result<HttpResponse, Problem> {
    let mut f = Fields::default();
    let Some(password) = f.check(
        "password",
        Password::for_sign_in(body.into_inner().password),
    ) else {
        return Err(f.into_problem());
    };
    let enrolment = state
        .mfa
        .enrol(&me.principal, &password, Some(&ip.0))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(EnrolmentView {
            secret: enrolment.secret,
            otpauth_uri: enrolment.otpauth_uri,
        }))
}

/// Confirms the enrolment with a first code: TOTP is required at sign-in
/// from now on. Returns the backup codes, shown only this once.
#[utoipa::path(
    tag = "mfa",
    security(("bearer" = []), ("cookie" = [])),
    request_body = ConfirmBody,
    responses(
        (status = 200, description = "TOTP is on", body = BackupCodesView),
        (status = 403, description = "Wrong code"),
        (status = 409, description = "No enrolment is pending"),
        (status = 422, description = "The code is not six digits"),
        (status = 423, description = "Too many wrong codes; see Retry-After"),
    )
)]
#[post("/v1/me/mfa/totp/confirm", name = "/v1/me/mfa/totp/confirm")]
pub async fn confirm(
    state: web::Data<AppState>,
    me: SignedIn,
    ip: ClientIp,
    body: web::Json<ConfirmBody>,
) -> Result<HttpResponse, Problem> {
    let mut f = Fields::default();
    let Some(code) = f.check("code", TotpCode::parse(&body.code)) else {
        return Err(f.into_problem());
    };
    let codes = state.mfa.confirm(&me.principal, &code, Some(&ip.0)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(backup_codes(codes)))
}

/// The password and code of a change, parsed.
fn password_and_code(body: PasswordAndCodeBody) -> Result<(Password, MfaProof), Problem> {
    let mut f = Fields::default();
    let password = f.check("password", Password::for_sign_in(body.password));
    let proof = f.check("code", MfaProof::parse(&body.code));
    match (password, proof) {
        (Some(p), Some(c)) => Ok((p, c)),
        _ => Err(f.into_problem()),
    }
}

/// Turns TOTP off; the backup codes stop working.
#[utoipa::path(
    tag = "mfa",
    security(("bearer" = []), ("cookie" = [])),
    request_body = PasswordAndCodeBody,
    responses(
        (status = 204, description = "TOTP is off"),
        (status = 403, description = "Wrong password or code"),
        (status = 409, description = "TOTP is not on"),
        (status = 423, description = "Too many wrong passwords or codes; see Retry-After"),
    )
)]
#[delete("/v1/me/mfa/totp", name = "/v1/me/mfa/totp")]
pub async fn disable(
    state: web::Data<AppState>,
    me: SignedIn,
    ip: ClientIp,
    body: web::Json<PasswordAndCodeBody>,
) -> Result<HttpResponse, Problem> {
    let (password, proof) = password_and_code(body.into_inner())?;
    state
        .mfa
        .disable(&me.principal, &password, &proof, Some(&ip.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new set of backup codes; the old set stops working.
#[utoipa::path(
    tag = "mfa",
    security(("bearer" = []), ("cookie" = [])),
    request_body = PasswordAndCodeBody,
    responses(
        (status = 201, description = "The new codes, shown once", body = BackupCodesView),
        (status = 403, description = "Wrong password or code"),
        (status = 409, description = "TOTP is not on"),
        (status = 423, description = "Too many wrong passwords or codes; see Retry-After"),
    )
)]
#[post("/v1/me/mfa/backup-codes", name = "/v1/me/mfa/backup-codes")]
pub async fn regenerate(
    state: web::Data<AppState>,
    me: SignedIn,
    ip: ClientIp,
    body: web::Json<PasswordAndCodeBody>,
) -> Result<HttpResponse, Problem> {
    let (password, proof) = password_and_code(body.into_inner())?;
    let codes = state
        .mfa
        .regenerate_backup_codes(&me.principal, &password, &proof, Some(&ip.0))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(backup_codes(codes)))
}

/// Completes a sign-in that answered `mfa_required`: the same body and
/// cookies as a password sign-in.
///
/// A code is accepted once; a backup code works once. Wrong codes count
/// toward the account's lockout; an `mfa_token` allows 5 codes in its 5
/// minutes.
#[utoipa::path(
    tag = "sessions",
    request_body = MfaSignInBody,
    responses(
        (status = 201, description = "Signed in", body = TokensView),
        (status = 400, description = "Unknown, expired, used-up or used mfa_token: sign in again"),
        (status = 403, description = "Wrong or already used code, or the account locked or suspended meanwhile"),
        (status = 422, description = "Malformed code, or neither or both of code and backup_code"),
        (status = 423, description = "Too many wrong codes; see Retry-After"),
        (status = 429, description = "Too many requests from this IP"),
    )
)]
#[post("/v1/sessions/mfa", name = "/v1/sessions/mfa")]
pub async fn finish_sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    ip: ClientIp,
    body: web::Json<MfaSignInBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let mut f = Fields::default();
    let token = f.check("mfa_token", Token::parse(body.mfa_token.trim()));
    let proof = match (body.code, body.backup_code) {
        (Some(code), None) => f.check("code", TotpCode::parse(&code).map(MfaProof::Totp)),
        (None, Some(code)) => f.check(
            "backup_code",
            BackupCode::parse(&code).map(MfaProof::Backup),
        ),
        (Some(_), Some(_)) => {
            f.add("code", "send either code or backup_code, not both");
            None
        }
        (None, None) => {
            f.add("code", "send code (TOTP) or backup_code");
            None
        }
    };
    let (Some(token), Some(proof)) = (token, proof) else {
        return Err(f.into_problem());
    };
    let issued = state
        .mfa
        .sign_in(
            &state.auth,
            MfaSignInRequest {
                token,
                proof,
                user_agent: super::sessions::user_agent(&req),
                ip: Some(ip.0),
            },
        )
        .await?;
    Ok(super::sessions::issue(&state, issued, true))
}

/// Registers the second-factor routes.
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(enrol)
        .service(confirm)
        .service(disable)
        .service(regenerate)
        .service(finish_sign_in);
}
