//! Devices: a sign-in's User-Agent, parsed, in the session lists (the
//! user's own and an administrator's) and in the activity log, and the
//! "new sign-in" mail for a device kind the user has not used lately; and
//! where an account came from (its `origin`).

use reqwest::Method;
use serde_json::{Value, json};

use crate::on_every_engine;
use crate::support::*;

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

async fn sign_in_from(app: &TestApp, login: &str, user_agent: &str) -> String {
    let res = app
        .client
        .post(app.url("/v1/sessions"))
        .header("user-agent", user_agent)
        .json(&json!({"login": login, "password": USER_PASSWORD}))
        .send()
        .await
        .expect("request");
    json_with(res, 201).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The mails to `to` that announce a new sign-in.
async fn new_sign_in_mails(app: &TestApp, to: &str) -> usize {
    app.mails_to(to)
        .await
        .iter()
        .filter(|m| m.contains("Subject: New sign-in to your account"))
        .count()
}

async fn the_device_is_shown_and_a_new_kind_is_mailed(app: TestApp) -> TestApp {
    let admin = app.admin_token().await;
    let user = app.register_user("dev", USER_PASSWORD).await;
    let id = user["id"].as_str().unwrap().to_owned();
    let email = "dev@example.org";
    let firefox = sign_in_from(&app, "dev", FIREFOX).await;
    assert_eq!(new_sign_in_mails(&app, email).await, 0, "a first sign-in");
    sign_in_from(&app, "dev", &FIREFOX.replace("133.0", "134.0")).await;
    assert_eq!(new_sign_in_mails(&app, email).await, 0, "a known kind");
    sign_in_from(&app, "dev", IPHONE).await;
    assert_eq!(new_sign_in_mails(&app, email).await, 1, "a new kind");
    let mail = app.last_mail(email).await;
    for part in [
        "Mobile Safari 17.5 on iOS 17.5 (mobile)",
        "IP address: 127.0.0.1",
    ] {
        assert!(mail.contains(part), "{mail}");
    }

    let own = json_with(
        app.authed(Method::GET, "/v1/sessions", &firefox, None)
            .await,
        200,
    )
    .await;
    let theirs = json_with(
        app.authed(
            Method::GET,
            &format!("/v1/users/{id}/sessions"),
            &admin,
            None,
        )
        .await,
        200,
    )
    .await;
    for list in [&own, &theirs] {
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 3, "{list}");
        assert_eq!(
            items[0]["device"],
            json!({"type": "mobile", "browser": "Mobile Safari", "browser_version": "17.5",
                   "os": "iOS", "os_version": "17.5", "user_agent": IPHONE})
        );
        let oldest = &items[2];
        assert_eq!(oldest["device"]["type"], "desktop");
        assert_eq!(oldest["device"]["browser"], "Firefox");
        assert_eq!(oldest["device"]["browser_version"], "133.0");
        assert_eq!(oldest["device"]["os"], "Linux");
        assert_eq!(oldest["device"]["os_version"], Value::Null);
        assert_eq!(oldest["ip"], "127.0.0.1");
        assert!(oldest["last_used_at"].is_string() && oldest["created_at"].is_string());
    }
    assert_eq!(own["items"][2]["current"], true);

    let log = json_with(
        app.authed(
            Method::GET,
            "/v1/me/activity?type=sign_in.succeeded",
            &firefox,
            None,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(log["items"][0]["device"]["browser"], "Mobile Safari");
    assert_eq!(log["items"][2]["device"]["browser"], "Firefox");
    app
}

on_every_engine!(the_device_is_shown_and_a_new_kind_is_mailed);

/// `mail.new_device_alerts = false` sends none; a sign-in without a
/// User-Agent is an `other` device.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_alerts_when_turned_off_and_no_header_is_another_device() {
    with_app(
        Engine::Sqlite,
        |c| c.mail.new_device_alerts = false,
        |app| async move {
            app.register_user("quiet", USER_PASSWORD).await;
            sign_in_from(&app, "quiet", FIREFOX).await;
            sign_in_from(&app, "quiet", IPHONE).await;
            assert_eq!(new_sign_in_mails(&app, "quiet@example.org").await, 0);
            let token = app.sign_in("quiet", USER_PASSWORD).await["access_token"]
                .as_str()
                .unwrap()
                .to_owned();
            let list = json_with(
                app.authed(Method::GET, "/v1/sessions", &token, None).await,
                200,
            )
            .await;
            assert_eq!(list["items"][0]["device"]["type"], "other");
            assert_eq!(list["items"][0]["device"]["browser"], "Other");
            assert_eq!(list["items"][0]["device"]["user_agent"], "");
            app
        },
    )
    .await;
}

/// A registration keeps its IP and User-Agent from the request to the
/// verified account; the bootstrap administrator says so; the export
/// carries it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_says_where_it_came_from() {
    with_app(
        Engine::Sqlite,
        |_| {},
        |app| async move {
            let res = app
                .client
                .post(app.url("/v1/registrations"))
                .header("user-agent", FIREFOX)
                .json(&json!({"email": "ori@example.org", "username": "ori",
                              "password": USER_PASSWORD}))
                .send()
                .await
                .expect("request");
            assert_eq!(res.status(), 202);
            let token = app.last_token("ori@example.org").await;
            let user = json_with(
                app.post("/v1/registrations/verify", json!({"token": token}))
                    .await,
                201,
            )
            .await;
            let origin = json!({"kind": "registration", "ip": "127.0.0.1", "user_agent": FIREFOX});
            assert_eq!(user["origin"], origin);
            let id = user["id"].as_str().unwrap();
            let admin = app.admin_token().await;
            let seen = json_with(
                app.authed(Method::GET, &format!("/v1/users/{id}"), &admin, None)
                    .await,
                200,
            )
            .await;
            assert_eq!(seen["origin"], origin);
            let me = json_with(app.authed(Method::GET, "/v1/me", &admin, None).await, 200).await;
            assert_eq!(me["origin"]["kind"], "bootstrap");
            let ori = sign_in_from(&app, "ori", FIREFOX).await;
            let export = json_with(
                app.authed(Method::GET, "/v1/me/export", &ori, None).await,
                200,
            )
            .await;
            assert_eq!(export["user"]["origin"], origin);
            app
        },
    )
    .await;
}
