//! Passkeys over HTTP with a software authenticator (ES256, "none"
//! attestation): registration and sign-in, and the attacks — a replayed
//! challenge, another origin, another RP ID, a bad signature, a counter
//! going back, a registration challenge used to sign in, an API key
//! managing passkeys — each refused; a ceremony begun on one instance and
//! finished on another; and the options revealing nothing about accounts.

use reqwest::Method;
use serde_json::{Value, json};

use crate::authenticator::SoftAuthenticator;
use crate::mfa::enable_totp;
use crate::on_every_engine;
use crate::support::*;

pub(crate) const RP_ID: &str = "app.example";
pub(crate) const ORIGIN: &str = "https://app.example";

/// The relying party the tests' authenticators answer for.
pub(crate) fn relying_party(c: &mut portico::Config) {
    c.webauthn.rp_id = RP_ID.into();
    c.webauthn.origins = vec![ORIGIN.into(), "https://other.app.example".into()];
}

/// Registers a new passkey for the user of `token` (password `password`);
/// the authenticator holding it and the passkey's view.
pub(crate) async fn add_passkey(
    app: &TestApp,
    token: &str,
    password: Option<&str>,
) -> (SoftAuthenticator, Value) {
    let body = password.map_or_else(|| json!({}), |p| json!({"password": p}));
    let begun = begin_registration(app, token, body).await;
    let mut device = SoftAuthenticator::new(RP_ID, ORIGIN);
    let credential = device.register(&begun["options"]);
    let res = app
        .authed(
            Method::POST,
            "/v1/me/passkeys",
            token,
            Some(json!({"challenge_id": begun["challenge_id"], "name": "Phone", "credential": credential})),
        )
        .await;
    (device, json_with(res, 201).await)
}

async fn begin_registration(app: &TestApp, token: &str, body: Value) -> Value {
    let res = app
        .authed(
            Method::POST,
            "/v1/me/passkeys/registration",
            token,
            Some(body),
        )
        .await;
    assert_eq!(res.headers()["cache-control"], "no-store");
    json_with(res, 200).await
}

/// Begins a passkey sign-in.
pub(crate) async fn begin_sign_in(app: &TestApp) -> Value {
    json_with(
        app.post("/v1/passkeys/authentication", json!({})).await,
        200,
    )
    .await
}

/// Signs in with `device`'s passkey: the response.
pub(crate) async fn passkey_sign_in(
    app: &TestApp,
    device: &mut SoftAuthenticator,
) -> reqwest::Response {
    let begun = begin_sign_in(app).await;
    let credential = device.assert(&begun["options"]);
    finish_sign_in(app, &begun, credential).await
}

async fn finish_sign_in(app: &TestApp, begun: &Value, credential: Value) -> reqwest::Response {
    app.post(
        "/v1/sessions/passkey",
        json!({"challenge_id": begun["challenge_id"], "credential": credential}),
    )
    .await
}

async fn a_passkey_registers_signs_in_and_refuses_every_forgery(app: TestApp) -> TestApp {
    app.register_user("pia", USER_PASSWORD).await;
    let token = app.sign_in("pia", USER_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Adding a way in re-asks the password.
    let res = app
        .authed(
            Method::POST,
            "/v1/me/passkeys/registration",
            &token,
            Some(json!({})),
        )
        .await;
    expect_problem(res, 403, "reauthentication-required").await;
    let res = app
        .authed(
            Method::POST,
            "/v1/me/passkeys/registration",
            &token,
            Some(json!({"password": "not her password"})),
        )
        .await;
    expect_problem(res, 403, "wrong-password").await;

    // The options: this relying party, user verification, a discoverable
    // credential preferred.
    let begun = begin_registration(&app, &token, json!({"password": USER_PASSWORD})).await;
    let options = &begun["options"]["publicKey"];
    assert_eq!(options["rp"]["id"], RP_ID);
    assert_eq!(
        options["authenticatorSelection"]["residentKey"],
        "preferred"
    );
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    let mut device = SoftAuthenticator::new(RP_ID, ORIGIN);
    let credential = device.register(&begun["options"]);
    let add = |body: Value| {
        let (app, token) = (&app, token.clone());
        async move {
            app.authed(Method::POST, "/v1/me/passkeys", &token, Some(body))
                .await
        }
    };
    // Another origin's registration does not verify, and spends the challenge.
    let mut elsewhere = SoftAuthenticator::new(RP_ID, "https://evil.example");
    let forged = elsewhere.register(&begun["options"]);
    let res = add(json!({"challenge_id": begun["challenge_id"], "credential": forged})).await;
    expect_problem(res, 422, "validation").await;
    let res = add(json!({"challenge_id": begun["challenge_id"], "credential": credential})).await;
    expect_problem(res, 422, "validation").await;

    let (mut device, view) = add_passkey(&app, &token, Some(USER_PASSWORD)).await;
    assert_eq!(view["name"], "Phone");
    assert!(view["last_used_at"].is_null());
    let id = view["id"].as_str().unwrap().to_owned();
    let res = app
        .authed(
            Method::PATCH,
            &format!("/v1/me/passkeys/{id}"),
            &token,
            Some(json!({"name": "  Work phone "})),
        )
        .await;
    assert_eq!(json_with(res, 200).await["name"], "Work phone");
    let res = app
        .authed(
            Method::PATCH,
            &format!("/v1/me/passkeys/{id}"),
            &token,
            Some(json!({"name": ""})),
        )
        .await;
    expect_problem(res, 422, "validation").await;

    // The sign-in options name no account and no credential.
    let begun = begin_sign_in(&app).await;
    let with_login = json_with(
        app.post("/v1/passkeys/authentication", json!({"login": "pia"}))
            .await,
        200,
    )
    .await;
    for options in [&begun["options"], &with_login["options"]] {
        assert_eq!(options["publicKey"]["allowCredentials"], json!([]));
        assert_eq!(options["publicKey"]["rpId"], RP_ID);
        assert!(options.get("mediation").is_none(), "{options}");
    }

    // The passkey signs in: a session and cookies.
    let assertion = device.assert(&begun["options"]);
    let res = finish_sign_in(&app, &begun, assertion.clone()).await;
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
    assert_eq!(json_with(me, 200).await["username"], "pia");

    // A replayed assertion: its challenge is spent.
    expect_problem(
        finish_sign_in(&app, &begun, assertion).await,
        401,
        "invalid-credentials",
    )
    .await;
    // A valid assertion of one challenge sent with another: refused.
    let fresh = begin_sign_in(&app).await;
    let stale = device.assert(&begun["options"]);
    expect_problem(
        finish_sign_in(&app, &fresh, stale).await,
        401,
        "invalid-credentials",
    )
    .await;

    // Another origin, another RP ID, a bad signature: refused.
    let good_origin = device.origin.clone();
    device.origin = "https://evil.example".into();
    expect_problem(
        passkey_sign_in(&app, &mut device).await,
        401,
        "invalid-credentials",
    )
    .await;
    device.origin = good_origin;
    device.rp_id = "evil.example".into();
    expect_problem(
        passkey_sign_in(&app, &mut device).await,
        401,
        "invalid-credentials",
    )
    .await;
    device.rp_id = RP_ID.into();
    let begun = begin_sign_in(&app).await;
    let forged = device.assert_badly_signed(&begun["options"]);
    expect_problem(
        finish_sign_in(&app, &begun, forged).await,
        401,
        "invalid-credentials",
    )
    .await;

    // A counter that goes back (a cloned authenticator): refused.
    let ahead = device.counter;
    device.counter = 1;
    expect_problem(
        passkey_sign_in(&app, &mut device).await,
        401,
        "invalid-credentials",
    )
    .await;
    device.counter = ahead;
    // Without user verification: refused (webauthn-rs's passkey profile
    // requires it, so a passkey is always a complete sign-in).
    device.user_verified = false;
    expect_problem(
        passkey_sign_in(&app, &mut device).await,
        401,
        "invalid-credentials",
    )
    .await;
    device.user_verified = true;
    // An allowed second origin works; the original device still does.
    device.origin = "https://other.app.example".into();
    json_with(passkey_sign_in(&app, &mut device).await, 201).await;

    // A registration challenge does not sign in.
    let registration = begin_registration(&app, &token, json!({"password": USER_PASSWORD})).await;
    let assertion = device.assert(&registration["options"]);
    expect_problem(
        finish_sign_in(&app, &registration, assertion).await,
        401,
        "invalid-credentials",
    )
    .await;
    // Not a credential at all.
    let begun = begin_sign_in(&app).await;
    let res = finish_sign_in(&app, &begun, json!({"id": 5})).await;
    expect_problem(res, 422, "validation").await;

    // An API key cannot see or manage passkeys.
    let key = json_with(
        app.authed(
            Method::POST,
            "/v1/me/api-keys",
            &token,
            Some(json!({"name": "script"})),
        )
        .await,
        201,
    )
    .await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    for (method, path) in [
        (Method::GET, "/v1/me/passkeys".to_owned()),
        (Method::POST, "/v1/me/passkeys/registration".to_owned()),
        (Method::DELETE, format!("/v1/me/passkeys/{id}")),
    ] {
        let res = app.authed(method, &path, &key, Some(json!({}))).await;
        expect_problem(res, 403, "forbidden").await;
    }

    // The list shows the last use; removal; the events.
    let list = json_with(
        app.authed(Method::GET, "/v1/me/passkeys", &token, None)
            .await,
        200,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["items"][0]["last_used_at"].is_string());
    let res = app
        .authed(
            Method::DELETE,
            &format!("/v1/me/passkeys/{id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(res.status(), 204);
    let res = app
        .authed(
            Method::DELETE,
            &format!("/v1/me/passkeys/{id}"),
            &token,
            None,
        )
        .await;
    expect_problem(res, 404, "not-found").await;
    expect_problem(
        passkey_sign_in(&app, &mut device).await,
        401,
        "invalid-credentials",
    )
    .await;
    let events = json_with(
        app.authed(Method::GET, "/v1/me/activity", &token, None)
            .await,
        200,
    )
    .await;
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    for kind in ["passkey.added", "passkey.removed"] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
    let signed_in_by_passkey = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["type"] == "sign_in.succeeded" && e["details"]["method"] == "passkey");
    assert!(signed_in_by_passkey, "{events}");
    app
}
on_every_engine!(
    a_passkey_registers_signs_in_and_refuses_every_forgery,
    crate::passkeys::relying_party
);

async fn a_verified_passkey_is_a_complete_sign_in_with_totp_on(app: TestApp) -> TestApp {
    app.register_user("quin", USER_PASSWORD).await;
    let token = app.sign_in("quin", USER_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    enable_totp(&app, &token).await;
    let (mut device, _) = add_passkey(&app, &token, Some(USER_PASSWORD)).await;
    // The password alone still asks for the code; the passkey does not.
    assert_eq!(
        app.post(
            "/v1/sessions",
            json!({"login": "quin", "password": USER_PASSWORD})
        )
        .await
        .status(),
        200
    );
    let tokens = json_with(passkey_sign_in(&app, &mut device).await, 201).await;
    assert!(tokens["access_token"].is_string());
    app
}
on_every_engine!(
    a_verified_passkey_is_a_complete_sign_in_with_totp_on,
    crate::passkeys::relying_party
);

async fn an_administrator_sees_and_removes_a_users_passkeys(app: TestApp) -> TestApp {
    let (token, id) = app.signed_in_user("tia").await;
    let (mut device, view) = add_passkey(&app, &token, Some(USER_PASSWORD)).await;
    let (other, _) = app.signed_in_user("uma").await;
    let path = format!("/v1/users/{id}/passkeys");
    // Another user may neither list nor remove them.
    let res = app.authed(Method::GET, &path, &other, None).await;
    expect_problem(res, 403, "forbidden").await;
    let one = format!("{path}/{}", view["id"].as_str().unwrap());
    let res = app.authed(Method::DELETE, &one, &other, None).await;
    expect_problem(res, 403, "forbidden").await;
    // An administrator lists and removes one (even the last way in).
    let admin = app.admin_token().await;
    let list = json_with(app.authed(Method::GET, &path, &admin, None).await, 200).await;
    assert_eq!(list["items"][0]["id"], view["id"]);
    let res = app.authed(Method::DELETE, &one, &admin, None).await;
    assert_eq!(res.status(), 204);
    let res = app.authed(Method::DELETE, &one, &admin, None).await;
    expect_problem(res, 404, "not-found").await;
    expect_problem(
        passkey_sign_in(&app, &mut device).await,
        401,
        "invalid-credentials",
    )
    .await;
    let events = json_with(
        app.authed(Method::GET, "/v1/me/activity", &token, None)
            .await,
        200,
    )
    .await;
    let removed = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "passkey.removed")
        .expect("a passkey.removed event");
    assert_eq!(removed["actor"]["kind"], "admin", "{removed}");
    app
}
on_every_engine!(
    an_administrator_sees_and_removes_a_users_passkeys,
    crate::passkeys::relying_party
);

async fn a_ceremony_finishes_on_another_instance(one: TestApp, two: TestApp) -> (TestApp, TestApp) {
    one.register_user("ria", USER_PASSWORD).await;
    let token = one.sign_in("ria", USER_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let begun = begin_registration(&one, &token, json!({"password": USER_PASSWORD})).await;
    let mut device = SoftAuthenticator::new(RP_ID, ORIGIN);
    let credential = device.register(&begun["options"]);
    let res = two
        .authed(
            Method::POST,
            "/v1/me/passkeys",
            &token,
            Some(json!({"challenge_id": begun["challenge_id"], "credential": credential})),
        )
        .await;
    assert_eq!(json_with(res, 201).await["name"], "Passkey 1");
    let begun = begin_sign_in(&two).await;
    let assertion = device.assert(&begun["options"]);
    json_with(finish_sign_in(&one, &begun, assertion).await, 201).await;
    (one, two)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ceremony_begun_on_one_instance_finishes_on_another() {
    with_two_apps(
        Engine::Postgres,
        relying_party,
        a_ceremony_finishes_on_another_instance,
    )
    .await;
}
