//! Sign-in through identity providers over HTTP, against the real OpenID
//! Connect providers `make services` starts (oauth2-mock-server on
//! 127.0.0.1:9400, and on 9401 one that signs with a key it does not
//! publish): the whole flow authorize → provider → callback → exchange →
//! `/v1/me`, account links, the second factor after a provider sign-in, and
//! every refusal (tampered or replayed state, wrong nonce, audience or
//! expiry, unknown signing key, a return address off the allow-list, an
//! expired or reused exchange code).
//!
//! The test provider picks who signs in, and how its ID token misbehaves,
//! from the client id: `<mode>~<subject>~<email>` (see
//! `scripts/test-idp/idp.mjs`).

use portico::Config;
use portico::config::OAuthProviderConfig;
use reqwest::Method;
use serde_json::{Value, json};

use crate::on_every_engine;
use crate::support::*;

/// The front-end address every flow returns to.
pub(crate) const APP: &str = "https://app.example/signed-in";

fn issuer() -> String {
    std::env::var("OIDC_ISSUER").unwrap_or_else(|_| "http://127.0.0.1:9400".into())
}

fn rogue_issuer() -> String {
    std::env::var("OIDC_ROGUE_ISSUER").unwrap_or_else(|_| "http://127.0.0.1:9401".into())
}

fn oidc(client_id: &str, issuer: String) -> OAuthProviderConfig {
    OAuthProviderConfig {
        display_name: format!("Test {client_id}"),
        issuer,
        client_id: client_id.into(),
        ..OAuthProviderConfig::default()
    }
}

/// Providers for every scenario, a fixed port (the callback URL is under
/// the public URL, which must be known before the server starts) and the
/// allow-list.
pub(crate) fn providers(c: &mut Config) {
    fixed_port(c);
    c.oauth.redirect_allowlist = vec![APP.into()];
    let p = &mut c.oauth.providers;
    p.insert("corp".into(), oidc("ok~alice~alice@idp.test", issuer()));
    p.insert(
        "unverified".into(),
        oidc("unverified~uma~uma@idp.test", issuer()),
    );
    p.insert(
        "nonce".into(),
        oidc("wrong-nonce~nina~nina@idp.test", issuer()),
    );
    p.insert("aud".into(), oidc("wrong-aud~abe~abe@idp.test", issuer()));
    p.insert("expired".into(), oidc("expired~eve~eve@idp.test", issuer()));
    p.insert("rogue".into(), oidc("ok~rob~rob@idp.test", rogue_issuer()));
    // Nothing listens on port 9 (discard): discovery fails at once.
    p.insert(
        "down".into(),
        oidc("ok~dan~dan@idp.test", "http://127.0.0.1:9".into()),
    );
    p.insert(
        "ann-idp".into(),
        oidc("ok~ann-sub~ann@example.org", issuer()),
    );
    let mut by_email = oidc("ok~ann-sub2~ann@example.org", issuer());
    by_email.link_by_verified_email = true;
    p.insert("trusting".into(), by_email);
    // A plain OAuth 2.0 provider (explicit endpoints, identity from the
    // userinfo endpoint), as GitHub is configured.
    let base = issuer();
    p.insert(
        "plain".into(),
        OAuthProviderConfig {
            display_name: "Plain OAuth".into(),
            authorize_url: format!("{base}/authorize"),
            token_url: format!("{base}/token"),
            userinfo_url: format!("{base}/userinfo"),
            subject_field: "id".into(),
            client_id: "ok~alice-plain~alice@idp.test".into(),
            ..OAuthProviderConfig::default()
        },
    );
}

/// A browser: a client with its own cookie jar that shows redirects
/// instead of following them.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("client")
}

/// A flow stopped at the provider's redirect back: the browser that
/// started it and the callback URL.
pub(crate) struct Flow {
    pub(crate) browser: reqwest::Client,
    pub(crate) callback: String,
}

pub(crate) fn location(res: &reqwest::Response) -> String {
    assert_eq!(res.status(), 302, "expected a redirect");
    res.headers()["location"].to_str().unwrap().to_owned()
}

pub(crate) fn query(url: &str, key: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).expect("url");
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Starts a sign-in at `provider` in a new browser; the callback URL the
/// provider sends the browser to.
pub(crate) async fn callback_url(app: &TestApp, provider: &str) -> Flow {
    let browser = browser();
    let res = browser
        .get(app.url(&format!("/v1/oauth/{provider}/authorize")))
        .query(&[("redirect_uri", APP)])
        .send()
        .await
        .unwrap();
    let at_provider = location(&res);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(at_provider.starts_with(&issuer()) || at_provider.starts_with(&rogue_issuer()));
    for key in ["state", "code_challenge"] {
        assert!(query(&at_provider, key).is_some(), "{key} in {at_provider}");
    }
    // A nonce is OpenID Connect's; a plain OAuth 2.0 flow has none.
    assert_eq!(
        query(&at_provider, "nonce").is_some(),
        provider != "plain",
        "{at_provider}"
    );
    assert_eq!(
        query(&at_provider, "code_challenge_method").as_deref(),
        Some("S256")
    );
    let back = location(&browser.get(&at_provider).send().await.unwrap());
    assert!(
        back.starts_with(&app.url(&format!("/v1/oauth/{provider}/callback"))),
        "{back}"
    );
    Flow {
        browser,
        callback: back,
    }
}

/// Where the callback sends the browser that started the flow.
pub(crate) async fn finish(flow: &Flow) -> String {
    let back = location(&flow.browser.get(&flow.callback).send().await.unwrap());
    assert!(back.starts_with(APP), "{back}");
    back
}

/// A whole sign-in at `provider`: the exchange code, or the `error` kind.
pub(crate) async fn sign_in_code(app: &TestApp, provider: &str) -> Result<String, String> {
    let back = finish(&callback_url(app, provider).await).await;
    assert!(!back.contains("access_token"), "a token in a URL: {back}");
    match (query(&back, "code"), query(&back, "error")) {
        (Some(code), None) => Ok(code),
        (None, Some(error)) => Err(error),
        _ => panic!("neither code nor error: {back}"),
    }
}

pub(crate) async fn exchange(app: &TestApp, code: &str) -> reqwest::Response {
    app.post("/v1/oauth/exchange", json!({"code": code})).await
}

/// Signs in through `provider`; the access token.
pub(crate) async fn provider_token(app: &TestApp, provider: &str) -> String {
    let code = sign_in_code(app, provider).await.expect("a code");
    let body = json_with(exchange(app, &code).await, 201).await;
    body["access_token"].as_str().unwrap().to_owned()
}

pub(crate) async fn me(app: &TestApp, token: &str) -> Value {
    json_with(app.authed(Method::GET, "/v1/me", token, None).await, 200).await
}

pub(crate) async fn links(app: &TestApp, token: &str) -> Vec<String> {
    let body = json_with(
        app.authed(Method::GET, "/v1/me/providers", token, None)
            .await,
        200,
    )
    .await;
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["provider"].as_str().unwrap().to_owned())
        .collect()
}

/// Starts linking `provider` for the signed-in `token` (whose account
/// has [`USER_PASSWORD`], or no password when `password` is `None`) in a
/// new browser; the flow stopped at the provider's redirect back.
pub(crate) async fn start_link(
    app: &TestApp,
    token: &str,
    provider: &str,
    password: Option<&str>,
) -> Flow {
    let browser = browser();
    let mut body = json!({"redirect_uri": APP});
    if let Some(p) = password {
        body["password"] = json!(p);
    }
    let res = browser
        .post(app.url(&format!("/v1/me/providers/{provider}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let url = json_with(res, 200).await["authorize_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let callback = location(&browser.get(&url).send().await.unwrap());
    Flow { browser, callback }
}

/// Links `provider` to the signed-in `token`'s account; where the flow
/// returned to.
async fn link(app: &TestApp, token: &str, provider: &str, password: Option<&str>) -> String {
    finish(&start_link(app, token, provider, password).await).await
}

async fn provider_journey(app: TestApp) -> TestApp {
    let listed = json_with(
        app.client
            .get(app.url("/v1/oauth/providers"))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .contains(&json!({"name": "corp", "display_name": "Test ok~alice~alice@idp.test"}))
    );

    // First sign-in: a new, verified user without a password.
    let code = sign_in_code(&app, "corp").await.expect("a code");
    let res = exchange(&app, &code).await;
    assert!(res.headers().get("set-cookie").is_some(), "session cookies");
    let token = json_with(res, 201).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let user = me(&app, &token).await;
    assert_eq!(user["email"], "alice@idp.test");
    assert_eq!(user["username"], "alice");
    assert_eq!(user["profile"]["full_name"], "Test alice");
    assert_eq!(user["verified"], true);
    assert_eq!(
        user["origin"],
        json!({"kind": "provider", "provider": "corp"})
    );
    // The code works once.
    expect_problem(exchange(&app, &code).await, 400, "invalid-token").await;
    let res = exchange(&app, "not a code").await;
    expect_problem(res, 422, "validation").await;

    // Again: the same user, found by (provider, subject).
    let again = provider_token(&app, "corp").await;
    assert_eq!(me(&app, &again).await["id"], user["id"]);
    assert_eq!(links(&app, &token).await, vec!["corp"]);

    // The only way to sign in stays.
    let res = app
        .authed(Method::DELETE, "/v1/me/providers/corp", &token, None)
        .await;
    expect_problem(res, 409, "conflict").await;

    // Link a plain OAuth 2.0 provider, then the first link may go.
    assert_eq!(
        link(&app, &token, "plain", None).await,
        format!("{APP}?linked=plain")
    );
    assert_eq!(links(&app, &token).await, vec!["corp", "plain"]);
    let res = app
        .authed(
            Method::POST,
            "/v1/me/providers/plain",
            &token,
            Some(json!({"redirect_uri": APP})),
        )
        .await;
    expect_problem(res, 409, "already-exists").await;
    let export = json_with(
        app.authed(Method::GET, "/v1/me/export", &token, None).await,
        200,
    )
    .await;
    let exported = export["user"]["auth_providers"].as_array().unwrap();
    assert_eq!(exported.len(), 2);
    assert_eq!(exported[1]["subject"], "alice-plain");
    assert!(
        !export.to_string().contains("k1:"),
        "sealed tokens exported"
    );
    let res = app
        .authed(Method::DELETE, "/v1/me/providers/corp", &token, None)
        .await;
    assert_eq!(res.status(), 204);
    let res = app
        .authed(Method::DELETE, "/v1/me/providers/corp", &token, None)
        .await;
    expect_problem(res, 404, "not-found").await;
    let res = app
        .authed(Method::DELETE, "/v1/me/providers/plain", &token, None)
        .await;
    expect_problem(res, 409, "conflict").await;
    // Signing in through the plain provider finds the same user.
    let plain = provider_token(&app, "plain").await;
    assert_eq!(me(&app, &plain).await["id"], user["id"]);
    // The unlinked identity is a stranger now: a new account would need
    // the address, which alice's account holds.
    assert_eq!(
        sign_in_code(&app, "corp").await,
        Err("account_exists".to_owned())
    );

    // Provider tokens are stored sealed.
    let uid = domain::UserId::from_uuid(user["id"].as_str().unwrap().parse().unwrap());
    let stored = app.stores.identity_links.list_for_user(uid).await.unwrap();
    let sealed = stored[0].tokens.as_ref().expect("tokens stored");
    assert!(
        !sealed.as_str().contains("eyJ"),
        "a readable token: {}",
        sealed.as_str()
    );
    app
}

on_every_engine!(provider_journey, super::providers);

async fn refused_provider_answers(app: TestApp) -> TestApp {
    // A return address off the allow-list never reaches the provider.
    for bad in [
        "https://evil.example/signed-in",
        "https://app.example/signed-in.evil.example",
        "https://app.example/signed-in#x",
    ] {
        let res = browser()
            .get(app.url("/v1/oauth/corp/authorize"))
            .query(&[("redirect_uri", bad)])
            .send()
            .await
            .unwrap();
        let body = expect_problem(res, 422, "validation").await;
        assert!(body["errors"]["redirect_uri"].is_array(), "{body}");
    }
    let res = browser()
        .get(app.url("/v1/oauth/nope/authorize"))
        .query(&[("redirect_uri", APP)])
        .send()
        .await
        .unwrap();
    expect_problem(res, 404, "not-found").await;
    // An unreachable provider is a 502, not a hang.
    let res = browser()
        .get(app.url("/v1/oauth/down/authorize"))
        .query(&[("redirect_uri", APP)])
        .send()
        .await
        .unwrap();
    expect_problem(res, 502, "provider-unavailable").await;

    // A tampered state names no flow; the real one still works, once.
    let flow = callback_url(&app, "corp").await;
    let state = query(&flow.callback, "state").unwrap();
    let mut forged = state.clone().into_bytes();
    forged[3] = if forged[3] == b'a' { b'b' } else { b'a' };
    let tampered = flow
        .callback
        .replace(&state, std::str::from_utf8(&forged).unwrap());
    let res = flow.browser.get(&tampered).send().await.unwrap();
    expect_problem(res, 400, "invalid-token").await;
    let back = finish(&flow).await;
    assert!(query(&back, "code").is_some(), "{back}");
    let res = flow.browser.get(&flow.callback).send().await.unwrap();
    expect_problem(res, 400, "invalid-token").await;
    // A state of one provider's flow is not accepted at another's callback.
    let other = callback_url(&app, "corp").await;
    let res = other
        .browser
        .get(
            other
                .callback
                .replace("/v1/oauth/corp/callback", "/v1/oauth/plain/callback"),
        )
        .send()
        .await
        .unwrap();
    expect_problem(res, 400, "invalid-token").await;

    // ID tokens failing a check: nobody signs in, nobody is created.
    for (provider, why) in [
        ("nonce", "a nonce not of this flow"),
        ("aud", "another audience"),
        ("expired", "an expired token"),
        ("rogue", "a key the provider does not publish"),
    ] {
        assert_eq!(
            sign_in_code(&app, provider).await,
            Err("provider_rejected".to_owned()),
            "{why}"
        );
    }
    assert_eq!(
        sign_in_code(&app, "unverified").await,
        Err("email_unverified".to_owned())
    );
    let admin = app.admin_token().await;
    let users = json_with(
        app.authed(Method::GET, "/v1/users", &admin, None).await,
        200,
    )
    .await;
    assert_eq!(users["items"].as_array().unwrap().len(), 2, "{users}");

    // An exchange code expires (here after a second).
    let code = sign_in_code(&app, "corp").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    expect_problem(exchange(&app, &code).await, 400, "invalid-token").await;
    app
}

on_every_engine!(refused_provider_answers, |c: &mut portico::Config| {
    super::providers(c);
    c.oauth.exchange_ttl_secs = 1;
});

async fn provider_sign_in_asks_for_the_second_factor(app: TestApp) -> TestApp {
    let (token, id) = app.signed_in_user("ann").await;
    // An account with a password: a first sign-in with its address through
    // a provider that may not link by email is refused…
    assert_eq!(
        sign_in_code(&app, "ann-idp").await,
        Err("account_exists".to_owned())
    );
    // …one that may links it…
    let linked = provider_token(&app, "trusting").await;
    assert_eq!(me(&app, &linked).await["id"].as_str(), Some(id.as_str()));
    // …and the owner links the other one.
    assert_eq!(
        link(&app, &token, "ann-idp", Some(USER_PASSWORD)).await,
        format!("{APP}?linked=ann-idp")
    );
    assert_eq!(links(&app, &token).await, vec!["ann-idp", "trusting"]);

    let (secret, _) = crate::mfa::enable_totp(&app, &token).await;
    let code = sign_in_code(&app, "ann-idp").await.unwrap();
    let res = exchange(&app, &code).await;
    assert!(
        res.headers().get("set-cookie").is_none(),
        "a cookie before the code"
    );
    let body = json_with(res, 200).await;
    assert_eq!(body["mfa_required"], true);
    let res = app
        .post(
            "/v1/sessions/mfa",
            json!({"mfa_token": body["mfa_token"], "code": crate::mfa::totp_code(&secret, 1)}),
        )
        .await;
    let session = json_with(res, 201).await;
    let t = session["access_token"].as_str().unwrap();
    assert_eq!(me(&app, t).await["id"].as_str(), Some(id.as_str()));
    app
}

on_every_engine!(
    provider_sign_in_asks_for_the_second_factor,
    super::providers
);
