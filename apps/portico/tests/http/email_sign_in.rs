//! Sign-in by a mailed link and code over HTTP: the same answer for an
//! unknown address (and no mail), the code and the link each working once
//! and voiding the other, five wrong codes voiding the flow, the second
//! factor still asked, the per-address mail limit, the address marked
//! verified, and bad bodies refused. (Expiry after ten minutes is the
//! domain's test, on a fake clock.)

use reqwest::Method;
use serde_json::{Value, json};

use crate::mfa::{enable_totp, totp_code};
use crate::on_every_engine;
use crate::support::*;

const APP: &str = "https://app.example/signed-in";

impl TestApp {
    /// Asks for a sign-in mail to `email`; the `flow_id`.
    pub(crate) async fn ask_email_sign_in(&self, email: &str) -> String {
        let res = self
            .post("/v1/sessions/email", json!({"email": email}))
            .await;
        assert_eq!(res.headers()["cache-control"], "no-store");
        let flow = json_with(res, 202).await["flow_id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(flow.len(), 64, "{flow}");
        flow
    }

    /// The link token and code of the newest sign-in mail to `to`.
    pub(crate) async fn sign_in_mail(&self, to: &str) -> (String, String) {
        let text = self.last_mail(to).await;
        let subject = text
            .lines()
            .find_map(|l| l.strip_prefix("Subject: Your sign-in code: "))
            .expect("a sign-in mail");
        let start = text.find("token=").expect("a link with token=") + "token=".len();
        let token: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_hexdigit() || *c == '.')
            .collect();
        (token, subject.trim().to_owned())
    }
}

/// A six-digit code other than `code`.
fn wrong(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

async fn verify(app: &TestApp, body: Value) -> reqwest::Response {
    app.post("/v1/sessions/email/verify", body).await
}

async fn the_code_and_the_link_each_sign_in_once(app: TestApp) -> TestApp {
    app.register_user("eve", USER_PASSWORD).await;
    let before = app.mail_count("eve@example.org").await;

    // An unknown address: the same answer, no mail, nothing to use.
    let flow = app.ask_email_sign_in("nobody@example.org").await;
    assert_eq!(app.mail_count("nobody@example.org").await, 0);
    let res = verify(&app, json!({"flow_id": flow, "code": "123456"})).await;
    expect_problem(res, 400, "invalid-token").await;

    // The code signs in (a session and cookies); then neither works again.
    let flow = app.ask_email_sign_in("Eve@Example.org").await;
    assert_eq!(app.mail_count("eve@example.org").await, before + 1);
    let (link, code) = app.sign_in_mail("eve@example.org").await;
    assert_eq!(code.len(), 6);
    let res = verify(&app, json!({"flow_id": flow, "code": code})).await;
    assert!(res.headers().get("set-cookie").is_some());
    let tokens = json_with(res, 201).await;
    let me = app
        .authed(
            Method::GET,
            "/v1/me",
            tokens["access_token"].as_str().unwrap(),
            None,
        )
        .await;
    assert_eq!(json_with(me, 200).await["username"], "eve");
    let res = verify(&app, json!({"flow_id": flow, "code": code})).await;
    expect_problem(res, 400, "invalid-token").await;
    let res = verify(&app, json!({"token": link})).await;
    expect_problem(res, 400, "invalid-token").await;

    // The link signs in; then the code does not.
    let flow = app.ask_email_sign_in("eve@example.org").await;
    let (link, code) = app.sign_in_mail("eve@example.org").await;
    json_with(verify(&app, json!({"token": link})).await, 201).await;
    let res = verify(&app, json!({"token": link})).await;
    expect_problem(res, 400, "invalid-token").await;
    let res = verify(&app, json!({"flow_id": flow, "code": code})).await;
    expect_problem(res, 400, "invalid-token").await;
    app
}
on_every_engine!(the_code_and_the_link_each_sign_in_once);

async fn five_wrong_codes_void_the_flow(app: TestApp) -> TestApp {
    let fay = app.register_user("fay", USER_PASSWORD).await;
    let flow = app.ask_email_sign_in("fay@example.org").await;
    let (link, code) = app.sign_in_mail("fay@example.org").await;
    for _ in 0..5 {
        let res = verify(&app, json!({"flow_id": flow, "code": wrong(&code)})).await;
        expect_problem(res, 400, "invalid-token").await;
    }
    let res = verify(&app, json!({"flow_id": flow, "code": code})).await;
    expect_problem(res, 400, "invalid-token").await;
    let res = verify(&app, json!({"token": link})).await;
    expect_problem(res, 400, "invalid-token").await;
    // Each wrong code is in the activity log as a failed sign-in.
    let admin = app.admin_token().await;
    let id = fay["id"].as_str().unwrap().to_owned();
    let res = app
        .authed(
            Method::GET,
            &format!("/v1/activity?user_id={id}"),
            &admin,
            None,
        )
        .await;
    let events = json_with(res, 200).await;
    let reasons: Vec<_> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "sign_in.failed")
        .map(|e| {
            e["details"]["reason"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(reasons, ["code"; 5], "{events}");
    app
}
on_every_engine!(five_wrong_codes_void_the_flow);

async fn the_second_factor_is_still_asked(app: TestApp) -> TestApp {
    app.register_user("gus", USER_PASSWORD).await;
    let signed_in = app.sign_in("gus", USER_PASSWORD).await;
    let (secret, _) = enable_totp(&app, signed_in["access_token"].as_str().unwrap()).await;
    let flow = app.ask_email_sign_in("gus@example.org").await;
    let (_, code) = app.sign_in_mail("gus@example.org").await;
    let res = verify(&app, json!({"flow_id": flow, "code": code})).await;
    assert!(res.headers().get("set-cookie").is_none());
    let challenge = json_with(res, 200).await;
    assert_eq!(challenge["mfa_required"], true);
    let res = app
        .post(
            "/v1/sessions/mfa",
            json!({"mfa_token": challenge["mfa_token"], "code": totp_code(&secret, 1)}),
        )
        .await;
    json_with(res, 201).await;
    app
}
on_every_engine!(the_second_factor_is_still_asked);

async fn bad_requests_are_refused_and_mail_is_limited_per_address(app: TestApp) -> TestApp {
    app.register_user("hal", USER_PASSWORD).await;
    for (body, field) in [
        (json!({"email": "not an address"}), "email"),
        (
            json!({"email": "hal@example.org", "redirect_uri": "https://evil.example/"}),
            "redirect_uri",
        ),
    ] {
        let res = app.post("/v1/sessions/email", body).await;
        let problem = expect_problem(res, 422, "validation").await;
        assert!(problem["errors"][field].is_array(), "{problem}");
    }
    let t = "ab".repeat(32);
    for (body, field) in [
        (
            json!({"flow_id": t, "code": "123456", "token": format!("{t}.{t}")}),
            "token",
        ),
        (json!({"flow_id": t}), "code"),
        (json!({"code": "123456"}), "flow_id"),
        (json!({"flow_id": t, "code": "12345"}), "code"),
        (json!({"flow_id": "x", "code": "123456"}), "flow_id"),
        (json!({"token": t}), "token"),
    ] {
        let res = verify(&app, body.clone()).await;
        let problem = expect_problem(res, 422, "validation").await;
        assert!(problem["errors"][field].is_array(), "{body}: {problem}");
    }
    // An allowed redirect_uri goes into the link of Portico's page.
    let res = app
        .post(
            "/v1/sessions/email",
            json!({"email": "hal@example.org", "redirect_uri": APP}),
        )
        .await;
    json_with(res, 202).await;
    let mail = app.last_mail("hal@example.org").await;
    assert!(
        mail.contains("/sign-in/email?token=")
            && mail.contains("redirect_uri=https%3A%2F%2Fapp.example%2Fsigned-in"),
        "{mail}"
    );
    // Three sign-in mails an hour per address: the fourth request is
    // answered the same and sends nothing.
    let before = app.mail_count("hal@example.org").await;
    for _ in 0..3 {
        app.ask_email_sign_in("hal@example.org").await;
    }
    assert_eq!(app.mail_count("hal@example.org").await, before + 2);
    app
}
on_every_engine!(
    bad_requests_are_refused_and_mail_is_limited_per_address,
    |c: &mut portico::Config| c.oauth.redirect_allowlist = vec![super::APP.into()]
);

async fn an_operator_turns_it_off_at_runtime(app: TestApp) -> TestApp {
    app.register_user("ivy", USER_PASSWORD).await;
    let flow = app.ask_email_sign_in("ivy@example.org").await;
    let (link, code) = app.sign_in_mail("ivy@example.org").await;
    let admin = app.admin_token().await;
    let res = app
        .authed(
            Method::PATCH,
            "/v1/settings",
            &admin,
            Some(json!({"mail.sign_in": false})),
        )
        .await;
    assert_eq!(res.status(), 200);
    let res = app
        .post("/v1/sessions/email", json!({"email": "ivy@example.org"}))
        .await;
    let problem = expect_problem(res, 403, "forbidden").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("mail.sign_in"),
        "{problem}"
    );
    for body in [
        json!({"flow_id": flow, "code": code}),
        json!({"token": link}),
    ] {
        let res = verify(&app, body).await;
        expect_problem(res, 403, "forbidden").await;
    }
    let res = app
        .authed(
            Method::PATCH,
            "/v1/settings",
            &admin,
            Some(json!({"mail.sign_in": true})),
        )
        .await;
    assert_eq!(res.status(), 200);
    json_with(verify(&app, json!({"token": link})).await, 201).await;
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runtime_setting_turns_it_off() {
    with_app(Engine::Sqlite, |_| {}, an_operator_turns_it_off_at_runtime).await;
}
