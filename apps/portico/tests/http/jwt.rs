//! JWT access tokens over HTTP (`tokens.access_format = "jwt"`): the token
//! a sign-in answers is checked by an independent implementation (the
//! `jose` library, with the published JWK Set) as another service would;
//! Portico accepts it, and refuses it at once after a sign-out, a refresh
//! or a lock while the signature alone still verifies until `exp` (the
//! documented bound); `portico keys rotate --jwt` signs new tokens with a
//! new key and keeps the old key published, so old tokens stay valid.

use std::process::Command;

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_every_engine;
use crate::support::*;

/// The claims when `jose` accepts `token` against the server's JWK Set,
/// or its reason for refusing.
fn independent_check(app: &TestApp, token: &str) -> Result<Value, String> {
    let idp = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.services/idp");
    assert!(
        idp.join("node_modules/jose").is_dir(),
        "jose is missing from {}: run `make services`",
        idp.display()
    );
    let out = Command::new("node")
        .arg("verify-jwt.mjs")
        .arg(app.url("/.well-known/jwks.json"))
        .arg(&app.base)
        .arg(token)
        .current_dir(&idp)
        .output()
        .expect("node runs");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("claims JSON"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn jwt_config(c: &mut portico::Config) {
    c.tokens.access_format = portico::config::AccessFormat::Jwt;
}

async fn me(app: &TestApp, token: &str) -> u16 {
    app.authed(Method::GET, "/v1/me", token, None)
        .await
        .status()
        .as_u16()
}

async fn jwts_verify_independently_and_end_at_portico_with_their_session(app: TestApp) -> TestApp {
    let user = app.register_user("jay", USER_PASSWORD).await;
    let res = app
        .post(
            "/v1/sessions",
            json!({"login": "jay", "password": USER_PASSWORD}),
        )
        .await;
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("portico_session="))
        .expect("the session cookie");
    let signed_in = json_with(res, 201).await;
    let jwt = signed_in["access_token"].as_str().unwrap().to_owned();
    assert_eq!(jwt.split('.').count(), 3, "{jwt}");
    // The cookie keeps the opaque token (it lives as long as the session).
    assert!(!cookie.contains(&jwt));
    let expires = time::OffsetDateTime::parse(
        signed_in["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let left = expires - time::OffsetDateTime::now_utc();
    assert!(
        left <= time::Duration::seconds(300) && left > time::Duration::seconds(290),
        "{left}"
    );

    // Another service, with the published keys alone.
    let checked = independent_check(&app, &jwt).expect("jose accepts the token");
    let (header, claims) = (&checked["header"], &checked["payload"]);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], "j1");
    assert_eq!(claims["iss"], app.base.as_str());
    assert_eq!(claims["sub"], user["id"]);
    assert_eq!(claims["sid"], signed_in["session"]["id"]);
    assert_eq!(claims["roles"], json!(["user"]));
    assert_eq!(claims["plan"], "free");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    assert!(claims["jti"].is_string());
    let jwks: Value = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kty"], "OKP");
    assert_eq!(jwks["keys"][0]["crv"], "Ed25519");

    // Portico accepts it, and a tampered one is refused everywhere.
    assert_eq!(me(&app, &jwt).await, 200);
    let mut parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].replacen('e', "f", 1);
    let tampered = parts.join(".");
    assert_eq!(me(&app, &tampered).await, 401);
    assert!(independent_check(&app, &tampered).is_err());

    // A refresh: the new JWT works; the old one ends at Portico at once.
    let res = app
        .post(
            "/v1/sessions/refresh",
            json!({"refresh_token": signed_in["refresh_token"]}),
        )
        .await;
    let refreshed = json_with(res, 201).await;
    let jwt2 = refreshed["access_token"].as_str().unwrap().to_owned();
    assert_eq!(me(&app, &jwt2).await, 200);
    assert_eq!(me(&app, &jwt).await, 401);

    // A sign-out: refused at Portico at once, while the signature alone
    // still verifies until `exp`, the bound other services live with.
    let res = app
        .authed(Method::DELETE, "/v1/sessions/current", &jwt2, None)
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(me(&app, &jwt2).await, 401);
    assert!(independent_check(&app, &jwt2).is_ok());

    // A lock by an administrator ends the user's JWTs at Portico.
    let jwt3 = app.sign_in("jay", USER_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(me(&app, &jwt3).await, 200);
    let admin = app.admin_token().await;
    let res = app
        .authed(
            Method::PATCH,
            &format!("/v1/users/{}", user["id"].as_str().unwrap()),
            &admin,
            Some(json!({"locked": true})),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(me(&app, &jwt3).await, 401);
    app
}
on_every_engine!(
    jwts_verify_independently_and_end_at_portico_with_their_session,
    super::jwt_config
);

async fn a_rotation_signs_with_the_new_key_and_old_tokens_stay_valid(app: TestApp) -> TestApp {
    app.register_user("kay", USER_PASSWORD).await;
    let old = app.sign_in("kay", USER_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(["keys", "rotate", "--jwt"])
        .env("PORTICO_SERVER__DATA_DIR", &app.data_dir)
        .env("PORTICO_LOG__LEVEL", "warn")
        .output()
        .expect("portico runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("added JWT key j2"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The running server follows the file within seconds.
    let mut new = String::new();
    for _ in 0..50 {
        new = app.sign_in("kay", USER_PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        if independent_check(&app, &new).is_ok_and(|c| c["header"]["kid"] == "j2") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        independent_check(&app, &new).unwrap()["header"]["kid"],
        "j2"
    );
    // The old key is still published, and its token still valid.
    assert_eq!(
        independent_check(&app, &old).unwrap()["header"]["kid"],
        "j1"
    );
    assert_eq!(me(&app, &old).await, 200);
    assert_eq!(me(&app, &new).await, 200);
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_keeps_old_tokens_valid() {
    with_app(
        Engine::Sqlite,
        jwt_config,
        a_rotation_signs_with_the_new_key_and_old_tokens_stay_valid,
    )
    .await;
}

async fn opaque_tokens_by_default_and_an_empty_key_set(app: TestApp) -> TestApp {
    app.register_user("lee", USER_PASSWORD).await;
    let token = app.sign_in("lee", USER_PASSWORD).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(token.len(), 64);
    let res = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["cache-control"], "public, max-age=60");
    assert_eq!(json_with(res, 200).await, json!({"keys": []}));
    // A JWT is not accepted while JWTs are off.
    assert_eq!(
        me(&app, "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln").await,
        401
    );
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_opaque_by_default() {
    with_app(
        Engine::Sqlite,
        |_| {},
        opaque_tokens_by_default_and_an_empty_key_set,
    )
    .await;
}
