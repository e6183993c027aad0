//! Passkeys (WebAuthn): registering and managing your own
//! (`/v1/me/passkeys…`) and signing in with one (`/v1/passkeys/authentication`,
//! `/v1/sessions/passkey`). The rules are the domain's
//! ([`domain::Passkeys`]); the ceremonies are webauthn-rs's.

// actix-web's route macros move each handler into a generated service type,
// which makes the `pub` of the inner fn unreachable by construction.
#![allow(unreachable_pub)]

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use api_types::*;
use domain::{PasskeyChallengeId, PasskeyId, PasskeyName, PasskeySignIn, Password, UserId};
use uuid::Uuid;

use crate::auth::{ClientIp, SignedIn};
use crate::problem::{Fields, Problem};
use crate::routes::sessions::{issue, mfa_required, user_agent};
use crate::state::AppState;

fn started(started: domain::PasskeyCeremonyStarted) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(PasskeyCeremonyView {
            challenge_id: started.challenge_id.as_uuid(),
            options: started.options,
        })
}

/// Starts registering a passkey for your account.
///
/// Pass `options` to `navigator.credentials.create()` and send the result
/// to `POST /v1/me/passkeys` within 5 minutes. An account with a password
/// must give it (wrong guesses count toward its lockout); one without must
/// have signed in within the last 5 minutes.
#[utoipa::path(
    tag = "passkeys",
    security(("bearer" = []), ("cookie" = [])),
    request_body = PasskeyRegistrationBody,
    responses(
        (status = 200, description = "The creation options and the challenge's id", body = PasskeyCeremonyView),
        (status = 403, description = "Wrong password; no password for an account that has one, or no recent sign-in for one without (reauthentication-required); or the request presented an API key"),
        (status = 409, description = "You hold 20 passkeys already"),
        (status = 429, description = "Too many wrong passwords: wait for Retry-After"),
    )
)]
#[post("/v1/me/passkeys/registration", name = "/v1/me/passkeys/registration")]
pub async fn begin_registration(
    state: web::Data<AppState>,
    me: SignedIn,
    ip: ClientIp,
    body: web::Json<PasskeyRegistrationBody>,
) -> Result<HttpResponse, Problem> {
    me.account()?;
    let mut f = Fields::default();
    let password = body
        .into_inner()
        .password
        .and_then(|p| f.check("password", Password::for_sign_in(p)));
    f.finish()?;
    let begun = state
        .passkeys
        .begin_registration(&me, password.as_ref(), Some(&ip.0))
        .await?;
    Ok(started(begun))
}

/// Finishes registering a passkey with what the authenticator answered.
#[utoipa::path(
    tag = "passkeys",
    security(("bearer" = []), ("cookie" = [])),
    request_body = AddPasskeyBody,
    responses(
        (status = 201, description = "The passkey", body = PasskeyView),
        (status = 403, description = "The request presented an API key"),
        (status = 409, description = "The passkey is registered already, or you hold 20"),
        (status = 422, description = "A bad name, a credential that is not WebAuthn JSON, or one that does not verify (unknown, used or expired challenge, wrong origin or RP ID, bad signature)"),
    )
)]
#[post("/v1/me/passkeys", name = "/v1/me/passkeys")]
pub async fn add(
    state: web::Data<AppState>,
    me: SignedIn,
    body: web::Json<AddPasskeyBody>,
) -> Result<HttpResponse, Problem> {
    me.account()?;
    let body = body.into_inner();
    let mut f = Fields::default();
    let name = body
        .name
        .as_deref()
        .and_then(|n| f.check("name", PasskeyName::parse(n)));
    f.finish()?;
    let passkey = state
        .passkeys
        .finish_registration(
            &me,
            PasskeyChallengeId::from_uuid(body.challenge_id),
            name,
            &body.credential,
        )
        .await
        .map_err(|e| match e {
            // A signed-in caller's 401 would read as "your session ended".
            domain::PasskeyError::Invalid => {
                let mut f = Fields::default();
                f.add(
                    "credential",
                    "does not verify (unknown, used or expired challenge, wrong origin or RP ID, or bad signature): start again",
                );
                f.into_problem()
            }
            e => e.into(),
        })?;
    Ok(HttpResponse::Created().json(PasskeyView::from(passkey)))
}

/// Your passkeys, oldest first.
#[utoipa::path(
    tag = "passkeys",
    security(("bearer" = []), ("cookie" = [])),
    responses(
        (status = 200, description = "Your passkeys", body = PasskeyList),
        (status = 403, description = "The request presented an API key"),
    )
)]
#[get("/v1/me/passkeys", name = "/v1/me/passkeys")]
pub async fn mine(state: web::Data<AppState>, me: SignedIn) -> Result<HttpResponse, Problem> {
    let passkeys = state.passkeys.mine(&me).await?;
    Ok(HttpResponse::Ok().json(PasskeyList {
        items: passkeys.into_iter().map(PasskeyView::from).collect(),
    }))
}

/// Renames one of your passkeys.
#[utoipa::path(
    tag = "passkeys",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "The passkey's id")),
    request_body = RenamePasskeyBody,
    responses(
        (status = 200, description = "The passkey", body = PasskeyView),
        (status = 403, description = "The request presented an API key"),
        (status = 404, description = "You have no such passkey"),
        (status = 422, description = "A bad name"),
    )
)]
#[patch("/v1/me/passkeys/{id}", name = "/v1/me/passkeys/{id}")]
pub async fn rename(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
    body: web::Json<RenamePasskeyBody>,
) -> Result<HttpResponse, Problem> {
    me.account()?;
    let mut f = Fields::default();
    let name = f.check("name", PasskeyName::parse(&body.name));
    let Some(name) = name else {
        return Err(f.into_problem());
    };
    let passkey = state
        .passkeys
        .rename(&me, PasskeyId::from_uuid(id.into_inner()), &name)
        .await?;
    Ok(HttpResponse::Ok().json(PasskeyView::from(passkey)))
}

/// Removes one of your passkeys, unless it is your last way to sign in.
#[utoipa::path(
    tag = "passkeys",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "The passkey's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "The request presented an API key"),
        (status = 404, description = "You have no such passkey"),
        (status = 409, description = "It is your last way to sign in (no password, provider or other passkey)"),
    )
)]
#[delete("/v1/me/passkeys/{id}", name = "/v1/me/passkeys/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    state
        .passkeys
        .remove(&me, PasskeyId::from_uuid(id.into_inner()))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A user's passkeys, oldest first (`users:read`).
#[utoipa::path(
    tag = "passkeys",
    security(("bearer" = []), ("cookie" = [])),
    params(("id" = Uuid, Path, description = "User id")),
    responses(
        (status = 200, description = "The user's passkeys", body = PasskeyList),
        (status = 403, description = "You lack users:read"),
    )
)]
#[get("/v1/users/{id}/passkeys", name = "/v1/users/{id}/passkeys")]
pub async fn of_user(
    state: web::Data<AppState>,
    me: SignedIn,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, Problem> {
    let passkeys = state
        .passkeys
        .of_user(&me, UserId::from_uuid(id.into_inner()))
        .await?;
    Ok(HttpResponse::Ok().json(PasskeyList {
        items: passkeys.into_iter().map(PasskeyView::from).collect(),
    }))
}

/// Removes a user's passkey (`users:write`, and every permission the user
/// holds): a lost or stolen device. It may be the user's last way to sign
/// in; they then sign in by email or reset the password.
#[utoipa::path(
    tag = "passkeys",
    security(("bearer" = []), ("cookie" = [])),
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("passkey_id" = Uuid, Path, description = "The passkey's id"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "You lack users:write, or a permission the user holds"),
        (status = 404, description = "The user has no such passkey"),
    )
)]
#[delete(
    "/v1/users/{id}/passkeys/{passkey_id}",
    name = "/v1/users/{id}/passkeys/{passkey_id}"
)]
pub async fn remove_of_user(
    state: web::Data<AppState>,
    me: SignedIn,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, Problem> {
    let (user, id) = path.into_inner();
    state
        .passkeys
        .remove_of_user(&me, UserId::from_uuid(user), PasskeyId::from_uuid(id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Starts a sign-in with a passkey.
///
/// The options are the same for everyone (an empty `allowCredentials`:
/// the authenticator offers its discoverable passkeys for this site), so
/// they reveal nothing about accounts. Send the assertion to
/// `POST /v1/sessions/passkey` within 5 minutes.
#[utoipa::path(
    tag = "sessions",
    request_body = PasskeyAuthenticationBody,
    responses(
        (status = 200, description = "The request options and the challenge's id", body = PasskeyCeremonyView),
    )
)]
#[post("/v1/passkeys/authentication", name = "/v1/passkeys/authentication")]
pub async fn begin_passkey_sign_in(
    state: web::Data<AppState>,
    body: Option<web::Json<PasskeyAuthenticationBody>>,
) -> Result<HttpResponse, Problem> {
    drop(body);
    Ok(started(state.passkeys.begin_sign_in().await?))
}

/// Signs in with a passkey's assertion.
///
/// 201 with the tokens and cookies. A passkey used with user verification
/// (PIN or biometrics) is a complete sign-in even with TOTP on; without it
/// an account with TOTP answers 200 `mfa_required`.
#[utoipa::path(
    tag = "sessions",
    request_body = PasskeySignInBody,
    responses(
        (status = 201, description = "Signed in", body = TokensView),
        (status = 200, description = "No user verification and the account has TOTP on: send a code to /v1/sessions/mfa", body = MfaRequiredView),
        (status = 401, description = "Unknown, used or expired challenge, unknown passkey, wrong origin or RP ID, bad signature, or a counter that did not move forward (invalid-credentials)"),
        (status = 403, description = "Account locked or suspended by an administrator"),
        (status = 422, description = "The credential is not WebAuthn JSON"),
    )
)]
#[post("/v1/sessions/passkey", name = "/v1/sessions/passkey")]
pub async fn sign_in_with_passkey(
    state: web::Data<AppState>,
    req: HttpRequest,
    ip: ClientIp,
    body: web::Json<PasskeySignInBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let signed_in = state
        .passkeys
        .sign_in(
            &state.auth,
            PasskeySignIn {
                challenge_id: PasskeyChallengeId::from_uuid(body.challenge_id),
                credential: body.credential,
                ip: Some(ip.0),
                user_agent: user_agent(&req),
            },
        )
        .await?;
    Ok(match signed_in {
        domain::SignedIn::Session(issued) => issue(&state, issued, true),
        domain::SignedIn::MfaRequired(challenge) => mfa_required(challenge),
    })
}

/// Registers the passkey routes (before `/v1/sessions/{id}`).
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(begin_registration)
        .service(add)
        .service(mine)
        .service(rename)
        .service(remove)
        .service(of_user)
        .service(remove_of_user)
        .service(begin_passkey_sign_in)
        .service(sign_in_with_passkey);
}
