//! Passkeys in a real browser: headless Chromium's virtual authenticator
//! (DevTools `WebAuthn.*`) runs the browser walk-through of
//! `docs/passwordless.md` against Portico.

use reqwest::Method;
use serde_json::json;

use crate::support::*;

/// The JavaScript blocks of `docs/passwordless.md` marked as a browser
/// walk-through, in order: the test runs what the docs show.
fn documented_scripts() -> Vec<String> {
    let docs = include_str!("../../../../docs/passwordless.md");
    docs.split("<!-- browser walk-through")
        .skip(1)
        .map(|part| {
            let code = part.split_once("```js\n").expect("a js block").1;
            code.split_once("```")
                .expect("the block's end")
                .0
                .to_owned()
        })
        .collect()
}

/// Headless Chromium with its virtual authenticator (DevTools `WebAuthn.*`:
/// CTAP2, resident keys, user verification) registers a passkey and signs
/// in with it through the API from a Portico page at `http://localhost`,
/// running the docs' browser walk-through as written, so the JSON is what a
/// real browser sends; the credential is discoverable and its counter
/// moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_registers_a_passkey_and_signs_in_with_it() {
    use crate::browser::Driver;
    with_app(Engine::Sqlite, fixed_port, |app| async move {
        app.register_user("sol", USER_PASSWORD).await;
        let token = app.sign_in("sol", USER_PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let driver = Driver::start().await;
        let browser = driver.browser().await;
        // Browsers refuse an IP address as an RP ID: the page is opened
        // at localhost, which Portico chose as the RP ID.
        let origin = app.url("/").replace("127.0.0.1", "localhost");
        browser.open(&format!("{origin}admin")).await;
        browser.devtools("WebAuthn.enable", json!({})).await;
        let authenticator = browser
            .devtools(
                "WebAuthn.addVirtualAuthenticator",
                json!({"options": {
                    "protocol": "ctap2", "transport": "internal",
                    "hasResidentKey": true, "hasUserVerification": true,
                    "isUserVerified": true, "automaticPresenceSimulation": true,
                }}),
            )
            .await["authenticatorId"]
            .as_str()
            .unwrap()
            .to_owned();

        let scripts = documented_scripts();
        assert_eq!(scripts.len(), 2, "the docs' two browser blocks");
        let add = format!(
            "{}\nreturn await addPasskey(arguments[0], arguments[1]);",
            scripts[0]
        );
        let sign_in = format!("{}\nreturn await signInWithPasskey();", scripts[1]);
        let added = browser
            .eval_async(&add, json!([token, USER_PASSWORD]))
            .await;
        assert_eq!(added["status"], 201, "{added}");
        assert_eq!(added["passkey"]["name"], "This laptop");
        assert_eq!(added["sent"]["type"], "public-key");
        let stored = browser
            .devtools(
                "WebAuthn.getCredentials",
                json!({"authenticatorId": authenticator}),
            )
            .await;
        let credentials = stored["credentials"].as_array().unwrap();
        assert_eq!(credentials.len(), 1);
        assert_eq!(credentials[0]["isResidentCredential"], true, "{stored}");
        assert_eq!(credentials[0]["rpId"], "localhost");

        for round in 1..=2 {
            let signed_in = browser.eval_async(&sign_in, json!([])).await;
            assert_eq!(signed_in["status"], 201, "{signed_in}");
            assert!(signed_in["tokens"]["access_token"].is_string());
            // The cookies the sign-in set carry the page's next request.
            let me = browser
                .eval_async(
                    "return await (await fetch('/v1/me', {credentials: 'same-origin'})).json();",
                    json!([]),
                )
                .await;
            assert_eq!(me["username"], "sol", "{me}");
            assert!(signed_in["sent"]["response"]["userHandle"].is_string());
            let stored = browser
                .devtools(
                    "WebAuthn.getCredentials",
                    json!({"authenticatorId": authenticator}),
                )
                .await;
            // Chromium counts the registration as the first signature.
            assert_eq!(stored["credentials"][0]["signCount"], round + 1, "{stored}");
        }
        browser.screenshot("passkeys-chromium-signed-in").await;
        let list = app
            .authed(Method::GET, "/v1/me/passkeys", &token, None)
            .await;
        let list = json_with(list, 200).await;
        assert!(list["items"][0]["last_used_at"].is_string(), "{list}");
        browser.quit().await;
        app
    })
    .await;
}
