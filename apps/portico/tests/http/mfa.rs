//! The second factor over HTTP: enrolment, confirmation, the two-step
//! sign-in with a TOTP code and with backup codes, replays refused, new
//! backup codes, turning it off.

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_every_engine;
use crate::support::*;

/// The code of the time step `offset` steps from now, for a base32 secret.
pub(crate) fn totp_code(secret: &str, offset: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .expect("base32 secret");
    let totp = totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 0, 30, bytes);
    let now = time::OffsetDateTime::now_utc().unix_timestamp() + offset * 30;
    totp.generate(u64::try_from(now).unwrap())
}

/// A six-digit code other than `code`.
fn other_code(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 500_000) % 1_000_000)
}

/// Enrols and confirms TOTP for the signed-in `token`; returns the secret
/// and the backup codes.
pub(crate) async fn enable_totp(app: &TestApp, token: &str) -> (String, Vec<String>) {
    let res = app
        .authed(
            Method::POST,
            "/v1/me/mfa/totp",
            token,
            Some(json!({"password": USER_PASSWORD})),
        )
        .await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    let enrolment = json_with(res, 201).await;
    let secret = enrolment["secret"].as_str().unwrap().to_owned();
    let uri = enrolment["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Portico:"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    // Read now, so that a cached principal holds "off" until the change.
    assert_eq!(mfa_of(app, token).await["totp"], false);
    let res = app
        .authed(
            Method::POST,
            "/v1/me/mfa/totp/confirm",
            token,
            Some(json!({"code": totp_code(&secret, 0)})),
        )
        .await;
    let codes = json_with(res, 200).await["backup_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

async fn mfa_of(app: &TestApp, token: &str) -> Value {
    json_with(app.authed(Method::GET, "/v1/me", token, None).await, 200).await["mfa"].clone()
}

/// The password step of a TOTP user: 200, a challenge, no cookie.
pub(crate) async fn challenge(app: &TestApp, login: &str) -> String {
    let res = app
        .post(
            "/v1/sessions",
            json!({"login": login, "password": USER_PASSWORD}),
        )
        .await;
    assert!(
        res.headers().get("set-cookie").is_none(),
        "a cookie before the second factor"
    );
    let body = json_with(res, 200).await;
    assert_eq!(body["mfa_required"], true);
    assert_eq!(body["methods"], json!(["totp", "backup_code"]));
    assert!(body.get("access_token").is_none(), "{body}");
    body["mfa_token"].as_str().unwrap().to_owned()
}

async fn second_step(app: &TestApp, body: Value) -> reqwest::Response {
    app.post("/v1/sessions/mfa", body).await
}

async fn totp_journey(app: TestApp) -> TestApp {
    let (token, _) = app.signed_in_user("ann").await;
    let res = app
        .authed(
            Method::POST,
            "/v1/me/mfa/totp",
            &token,
            Some(json!({"password": "not the password"})),
        )
        .await;
    expect_problem(res, 403, "wrong-password").await;
    // A confirmation with nothing pending is a conflict.
    let res = app
        .authed(
            Method::POST,
            "/v1/me/mfa/totp/confirm",
            &token,
            Some(json!({"code": "123456"})),
        )
        .await;
    expect_problem(res, 409, "conflict").await;
    let res = app
        .authed(
            Method::POST,
            "/v1/me/mfa/totp",
            &token,
            Some(json!({"password": USER_PASSWORD})),
        )
        .await;
    let secret = json_with(res, 201).await["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        mfa_of(&app, &token).await,
        json!({"totp": false, "backup_codes_left": 0})
    );
    for (code, status, kind) in [
        ("12ab56", 422, "validation"),
        (
            other_code(&totp_code(&secret, 0)).as_str(),
            403,
            "wrong-code",
        ),
    ] {
        let res = app
            .authed(
                Method::POST,
                "/v1/me/mfa/totp/confirm",
                &token,
                Some(json!({"code": code})),
            )
            .await;
        expect_problem(res, status, kind).await;
    }
    // Restarting the enrolment replaces the pending secret.
    let (secret, backup) = enable_totp(&app, &token).await;
    assert_eq!(
        mfa_of(&app, &token).await,
        json!({"totp": true, "backup_codes_left": 10})
    );
    // The export lists the factor, never its secret or codes.
    let res = app.authed(Method::GET, "/v1/me/export", &token, None).await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        !text.contains(&secret) && !text.contains(&backup[0]),
        "a secret in the export"
    );
    let export: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(export["mfa"]["kind"], "totp");
    assert_eq!(export["mfa"]["backup_codes_left"], 10);
    assert!(export["mfa"]["confirmed_at"].is_string());
    let res = app
        .authed(
            Method::POST,
            "/v1/me/mfa/totp",
            &token,
            Some(json!({"password": USER_PASSWORD})),
        )
        .await;
    expect_problem(res, 409, "conflict").await;

    // Sign-in now takes two steps.
    let mfa_token = challenge(&app, "ann").await;
    for body in [
        json!({"mfa_token": mfa_token, "code": "123456", "backup_code": backup[0]}),
        json!({"mfa_token": mfa_token}),
        json!({"mfa_token": mfa_token, "code": "12345"}),
    ] {
        expect_problem(second_step(&app, body).await, 422, "validation").await;
    }
    let mut tampered = mfa_token.clone().into_bytes();
    tampered[0] = if tampered[0] == b'a' { b'b' } else { b'a' };
    let tampered = String::from_utf8(tampered).unwrap();
    let code = totp_code(&secret, 1);
    let res = second_step(&app, json!({"mfa_token": tampered, "code": code})).await;
    expect_problem(res, 400, "invalid-token").await;
    let res = second_step(&app, json!({"mfa_token": mfa_token, "code": code})).await;
    assert!(res.headers().get("set-cookie").is_some(), "session cookie");
    let session = json_with(res, 201).await;
    let access = session["access_token"].as_str().unwrap();
    assert_eq!(mfa_of(&app, access).await["totp"], true);
    // The token completed its sign-in; a second use is refused.
    let res = second_step(&app, json!({"mfa_token": mfa_token, "code": code})).await;
    expect_problem(res, 400, "invalid-token").await;

    // The same code in a new sign-in is a replay.
    let mfa_token = challenge(&app, "ann").await;
    let res = second_step(&app, json!({"mfa_token": mfa_token, "code": code})).await;
    expect_problem(res, 403, "wrong-code").await;
    let res = second_step(
        &app,
        json!({"mfa_token": mfa_token, "backup_code": backup[0].to_uppercase()}),
    )
    .await;
    json_with(res, 201).await;
    let mfa_token = challenge(&app, "ann").await;
    let res = second_step(
        &app,
        json!({"mfa_token": mfa_token, "backup_code": backup[0]}),
    )
    .await;
    expect_problem(res, 403, "wrong-code").await;
    assert_eq!(mfa_of(&app, &token).await["backup_codes_left"], 9);

    // New backup codes need the password and a code; the old set is void.
    let res = app
        .authed(
            Method::POST,
            "/v1/me/mfa/backup-codes",
            &token,
            Some(json!({"password": USER_PASSWORD, "code": backup[1]})),
        )
        .await;
    let fresh: Vec<String> = json_with(res, 201).await["backup_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fresh.len(), 10);
    assert!(fresh.iter().all(|c| !backup.contains(c)));
    assert_eq!(mfa_of(&app, &token).await["backup_codes_left"], 10);
    let off = |code: &str| json!({"password": USER_PASSWORD, "code": code});
    let res = app
        .authed(
            Method::DELETE,
            "/v1/me/mfa/totp",
            &token,
            Some(off(&backup[2])),
        )
        .await;
    expect_problem(res, 403, "wrong-code").await;
    let res = app
        .authed(
            Method::DELETE,
            "/v1/me/mfa/totp",
            &token,
            Some(json!({"password": "not the password", "code": fresh[0]})),
        )
        .await;
    expect_problem(res, 403, "wrong-password").await;
    let res = app
        .authed(
            Method::DELETE,
            "/v1/me/mfa/totp",
            &token,
            Some(off(&fresh[0])),
        )
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        mfa_of(&app, &token).await,
        json!({"totp": false, "backup_codes_left": 0})
    );
    let res = app
        .authed(
            Method::DELETE,
            "/v1/me/mfa/totp",
            &token,
            Some(off(&fresh[1])),
        )
        .await;
    expect_problem(res, 409, "conflict").await;
    // The password alone signs in again.
    app.sign_in("ann", USER_PASSWORD).await;
    app
}
on_every_engine!(totp_journey);

/// A guesser who knows the password cannot buy new code tries by signing
/// in again: wrong codes and passwords share one lockout.
async fn code_guessing_locks_the_account(app: TestApp) -> TestApp {
    let (token, _) = app.signed_in_user("bob").await;
    let (secret, _) = enable_totp(&app, &token).await;
    let wrong = other_code(&totp_code(&secret, 0));
    let mut guesses = 0;
    let locked = loop {
        let res = app
            .post(
                "/v1/sessions",
                json!({"login": "bob", "password": USER_PASSWORD}),
            )
            .await;
        if res.status() == 423 {
            break res;
        }
        let mfa_token = json_with(res, 200).await["mfa_token"]
            .as_str()
            .unwrap()
            .to_owned();
        guesses += 1;
        assert!(guesses <= 5, "still guessing after {guesses} codes");
        let res = second_step(&app, json!({"mfa_token": mfa_token, "code": wrong})).await;
        if res.status() == 423 {
            break res;
        }
        expect_problem(res, 403, "wrong-code").await;
    };
    assert!(locked.headers().get("retry-after").is_some());
    expect_problem(locked, 423, "locked-out").await;
    app
}
on_every_engine!(code_guessing_locks_the_account);

/// An administrator removes the second factor of a user who lost it; a
/// user without `users:write` cannot.
async fn an_administrator_removes_a_lost_second_factor(app: TestApp) -> TestApp {
    let (token, id) = app.signed_in_user("cyd").await;
    enable_totp(&app, &token).await;
    let path = format!("/v1/users/{id}/mfa");
    let res = app.authed(Method::DELETE, &path, &token, None).await;
    expect_problem(res, 403, "forbidden").await;
    let admin = app.admin_token().await;
    let res = app.authed(Method::DELETE, &path, &admin, None).await;
    assert_eq!(res.status(), 204);
    let res = app.authed(Method::DELETE, &path, &admin, None).await;
    expect_problem(res, 404, "not-found").await;
    app.sign_in("cyd", USER_PASSWORD).await;
    app
}
on_every_engine!(an_administrator_removes_a_lost_second_factor);
