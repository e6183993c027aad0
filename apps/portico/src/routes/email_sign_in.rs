//! Sign-in by a link and a code mailed to the account's address
//! (`POST /v1/sessions/email`, `POST /v1/sessions/email/verify`). The rules
//! are the domain's ([`domain::EmailSignIn`]).

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use actix_web::{HttpRequest, HttpResponse, post, web};
use api_types::*;
use domain::{Email, EmailCode, EmailLinkToken, EmailProof, EmailSignInRequest, Token};

use crate::auth::ClientIp;
use crate::problem::{Fields, Problem};
use crate::routes::sessions::{issue, mfa_required, user_agent};
use crate::state::AppState;

/// The answer while the runtime setting `mail.sign_in` is off.
pub(crate) fn off() -> Problem {
    Problem::new(crate::problem::Kind::Forbidden)
        .detail("Sign-in by email is turned off on this server (runtime setting mail.sign_in).")
}

/// Mails a sign-in link and a 6-digit code to an account's address.
///
/// Always 202 with a `flow_id`, whether or not the address has an account
/// (no mail goes to an address without one). The link and the code work
/// once (using one voids the other) for 10 minutes. One address gets at
/// most `mail.per_address_per_hour` sign-in mails an hour; past it the
/// answer is the same and nothing is sent.
#[utoipa::path(
    tag = "sessions",
    request_body = EmailSignInBody,
    responses(
        (status = 202, description = "A mail with a link and a code was sent if the address has an account", body = EmailFlowView),
        (status = 403, description = "Sign-in by email is turned off (runtime setting mail.sign_in)"),
        (status = 422, description = "Not an email address, or a redirect_uri off the allowlist"),
    )
)]
#[post("/v1/sessions/email", name = "/v1/sessions/email")]
pub async fn request_email_sign_in(
    state: web::Data<AppState>,
    body: web::Json<EmailSignInBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let mut f = Fields::default();
    let email = f.check("email", Email::parse(body.email.trim()));
    if let Some(uri) = &body.redirect_uri
        && !state.email_sign_in.redirect_allowed(uri)
    {
        f.add("redirect_uri", "is not on the allowlist");
    }
    let Some(email) = email else {
        return Err(f.into_problem());
    };
    f.finish()?;
    let flow = state
        .email_sign_in
        .request(&email, body.redirect_uri)
        .await
        .map_err(|e| match e {
            domain::RequestEmailSignInError::Off => off(),
            domain::RequestEmailSignInError::RedirectNotAllowed => {
                let mut f = Fields::default();
                f.add("redirect_uri", "is not on the allowlist");
                f.into_problem()
            }
            domain::RequestEmailSignInError::Unexpected(e) => Problem::internal(e),
        })?;
    Ok(HttpResponse::Accepted()
        .insert_header(("Cache-Control", "no-store"))
        .json(EmailFlowView {
            flow_id: flow.expose().to_owned(),
        }))
}

/// Completes an email sign-in with the mailed code (and the `flow_id`) or
/// the link's `token`.
///
/// 201 with the tokens and cookies, or 200 `mfa_required` when the account
/// has TOTP on (email never skips the second step). Five wrong codes void
/// the flow. Marks the address verified.
#[utoipa::path(
    tag = "sessions",
    request_body = EmailVerifyBody,
    responses(
        (status = 201, description = "Signed in", body = TokensView),
        (status = 200, description = "The account has TOTP on: send a code to /v1/sessions/mfa", body = MfaRequiredView),
        (status = 400, description = "Wrong code, or an unknown, used, expired or used-up flow (invalid-token)"),
        (status = 403, description = "Account locked or suspended by an administrator, or sign-in by email turned off"),
        (status = 422, description = "Neither flow_id and code nor token, or both, or malformed"),
    )
)]
#[post("/v1/sessions/email/verify", name = "/v1/sessions/email/verify")]
pub async fn verify_email_sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    ip: ClientIp,
    body: web::Json<EmailVerifyBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let mut f = Fields::default();
    let proof = match (body.flow_id, body.code, body.token) {
        (Some(flow), Some(code), None) => {
            let flow = f.check("flow_id", Token::parse(flow.trim()));
            let code = f.check("code", EmailCode::parse(&code));
            flow.zip(code)
                .map(|(flow, code)| EmailProof::Code { flow, code })
        }
        (None, None, Some(token)) => f
            .check("token", EmailLinkToken::parse(token.trim()))
            .map(EmailProof::Link),
        (_, _, Some(_)) => {
            f.add("token", "send either the link's token or flow_id and code");
            None
        }
        (flow, code, None) => {
            if flow.is_none() {
                f.add("flow_id", "is needed with a code");
            }
            if code.is_none() {
                f.add(
                    "code",
                    "is needed with a flow_id (or send the link's token)",
                );
            }
            None
        }
    };
    let Some(proof) = proof else {
        return Err(f.into_problem());
    };
    let signed_in = state
        .email_sign_in
        .verify(
            &state.auth,
            EmailSignInRequest {
                proof,
                user_agent: user_agent(&req),
                ip: Some(ip.0),
            },
        )
        .await?;
    Ok(match signed_in {
        domain::SignedIn::Session(issued) => issue(&state, issued, true),
        domain::SignedIn::MfaRequired(challenge) => mfa_required(challenge),
    })
}

/// Registers the email sign-in routes (before `/v1/sessions/{id}`).
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(request_email_sign_in)
        .service(verify_email_sign_in);
}
