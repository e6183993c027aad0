//! The pages behind the mail links, in a real browser: headless Chromium
//! (Debian's `chromium` and `chromium-driver`, which `make services`
//! installs) driven over WebDriver. Each mail's link opens Portico's page,
//! which completes the action through the API: the address is verified,
//! the new password signs in, the account is gone; each page says what
//! happened in plain words, is styled by its one stylesheet, offers to
//! continue, and is saved as a screenshot under `target/screenshots/`.
//! With a front-end link
//! pattern configured, the mail carries that link and the page is not served.

use std::time::Duration;

use serde_json::{Value, json};

use crate::browser::{Browser, Driver};
use crate::support::*;

impl Browser<'_> {
    /// The status line once it says something final (done or error).
    async fn outcome(&self) -> (String, String) {
        for _ in 0..100 {
            let v = self
                .call(
                    reqwest::Method::POST,
                    "/execute/sync",
                    Some(json!({"script": "var s = document.getElementById('status'); return [s.className, s.textContent];", "args": []})),
                )
                .await;
            let class = v[0].as_str().unwrap_or_default().to_owned();
            if class == "done" || class == "error" {
                return (class, v[1].as_str().unwrap_or_default().to_owned());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page never finished");
    }

    /// The page is styled by its stylesheet (under a CSP that allows no
    /// inline style), and the "Continue" link shows where it leads.
    async fn styled_with_continue(&self, href: &str) {
        let v = self
            .eval(
                "var c = getComputedStyle(document.querySelector('.card')); \
                 var n = document.getElementById('next'); \
                 return [c.borderTopLeftRadius, n.hidden, document.getElementById('continue').getAttribute('href')];",
            )
            .await;
        assert_eq!(v, json!(["12px", false, href]), "styled, continue shown");
    }
}

/// The link of the newest mail to `to`.
async fn mailed_link(app: &TestApp, to: &str) -> String {
    let token = app.last_token(to).await;
    let mails = std::fs::read_dir(&app.outbox).unwrap();
    for entry in mails {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        if let Some(line) = text.lines().find(|l| l.contains(&token)) {
            return line.trim().to_owned();
        }
    }
    panic!("no link with the token");
}

/// Where the pages lead once done, in these tests.
const CONTINUE: &str = "https://app.example/sign-in?from=portico&x=1";

async fn mail_links_complete_their_actions_in_a_browser(app: TestApp) -> TestApp {
    let driver = Driver::start().await;
    let browser = driver.browser().await;

    // Verification: the mail's link opens the page, which verifies.
    let res = app
        .post(
            "/v1/registrations",
            json!({"email": "ann@example.org", "username": "ann", "password": USER_PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let link = mailed_link(&app, "ann@example.org").await;
    assert!(link.starts_with(&app.url("/verify-email?token=")), "{link}");
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self'")
            && csp.contains("style-src 'self'")
            && csp.contains("default-src 'none'")
            && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    browser.open(&link).await;
    let (class, text) = browser.outcome().await;
    assert_eq!(class, "done", "{text}");
    assert!(text.contains("You can sign in now"), "{text}");
    browser.styled_with_continue(CONTINUE).await;
    browser.screenshot("pages-verify-done").await;
    let signed_in = app.sign_in("ann", USER_PASSWORD).await;
    // The same link again: the token is used; the page says so plainly.
    browser.open(&link).await;
    assert_eq!(
        browser.outcome().await,
        (
            "error".to_owned(),
            "This link has expired or was already used. Ask for a new one: \
             register again with the same address."
                .to_owned()
        )
    );
    browser.screenshot("pages-verify-used").await;
    // A link cut short in the mail client.
    browser.open(&link[..link.len() - 10]).await;
    let (class, text) = browser.outcome().await;
    assert_eq!(class, "error");
    assert!(text.starts_with("This link is not complete."), "{text}");
    browser.screenshot("pages-verify-cut-short").await;

    // Password reset: the form sets the new password.
    let res = app
        .post("/v1/password-resets", json!({"email": "ann@example.org"}))
        .await;
    assert_eq!(res.status(), 202);
    let link = mailed_link(&app, "ann@example.org").await;
    assert!(
        link.starts_with(&app.url("/reset-password?token=")),
        "{link}"
    );
    browser.open(&link).await;
    browser.type_into("#password", "a brand new password").await;
    browser.type_into("#again", "a brand new password").await;
    browser.screenshot("pages-reset-form").await;
    browser.click("button[type=submit]").await;
    let (class, text) = browser.outcome().await;
    assert_eq!(class, "done", "{text}");
    browser.styled_with_continue(CONTINUE).await;
    browser.screenshot("pages-reset-done").await;
    let signed_in_again = app.sign_in("ann", "a brand new password").await;
    let _ = signed_in;

    // Deletion: confirmed in a browser signed in with the session cookies.
    let token = signed_in_again["access_token"].as_str().unwrap();
    let res = app
        .authed(reqwest::Method::DELETE, "/v1/me", token, None)
        .await;
    assert_eq!(res.status(), 202);
    let link = mailed_link(&app, "ann@example.org").await;
    assert!(
        link.starts_with(&app.url("/confirm-deletion?token=")),
        "{link}"
    );
    browser.open(&app.url("/healthz")).await;
    browser.set_cookie("portico_session", token).await;
    browser
        .set_cookie(
            "portico_csrf",
            signed_in_again["csrf_token"].as_str().unwrap(),
        )
        .await;
    browser.open(&link).await;
    browser.screenshot("pages-delete-confirm").await;
    browser.click("#confirm").await;
    let (class, text) = browser.outcome().await;
    assert_eq!(class, "done", "{text}");
    browser.styled_with_continue(CONTINUE).await;
    browser.screenshot("pages-delete-done").await;
    let res = app
        .post(
            "/v1/sessions",
            json!({"login": "ann", "password": "a brand new password"}),
        )
        .await;
    assert_eq!(res.status(), 401, "the account is gone");
    browser.quit().await;
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_links_open_pages_that_complete_them() {
    with_app(
        Engine::Sqlite,
        |c| {
            fixed_port(c);
            c.mail.links.continue_to = CONTINUE.into();
        },
        mail_links_complete_their_actions_in_a_browser,
    )
    .await;
}

async fn configured_links_go_to_the_front_end(app: TestApp) -> TestApp {
    let res = app
        .post(
            "/v1/registrations",
            json!({"email": "bob@example.org", "username": "bob", "password": USER_PASSWORD}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let link = mailed_link(&app, "bob@example.org").await;
    assert!(
        link.starts_with("https://app.example/verify?token="),
        "{link}"
    );
    let res = app
        .client
        .get(app.url("/verify-email"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404, "no own page when the front end has one");
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_link_patterns_replace_the_pages() {
    with_app(
        Engine::Sqlite,
        |c| {
            fixed_port(c);
            c.mail.links.verify = "https://app.example/verify?token={token}".into();
        },
        configured_links_go_to_the_front_end,
    )
    .await;
}

async fn the_sign_in_link_signs_in_with_a_click_and_continues(app: TestApp) -> TestApp {
    let driver = Driver::start().await;
    let browser = driver.browser().await;
    app.register_user("ida", USER_PASSWORD).await;
    let me = app.url("/v1/me");
    let res = app
        .post(
            "/v1/sessions/email",
            json!({"email": "ida@example.org", "redirect_uri": me}),
        )
        .await;
    assert_eq!(res.status(), 202);
    let link = mailed_link(&app, "ida@example.org").await;
    assert!(
        link.starts_with(&app.url("/sign-in/email?token=")),
        "{link}"
    );
    // Opening the link spends nothing (a mail scanner may open it): the
    // click does.
    browser.open(&link).await;
    browser.screenshot("pages-sign-in-email").await;
    browser.open(&link).await;
    browser.click("#sign-in").await;
    let (class, text) = browser.outcome().await;
    assert_eq!(
        (class.as_str(), text.as_str()),
        ("done", "You are signed in.")
    );
    browser.screenshot("pages-sign-in-email-done").await;
    // It continues to the allowed redirect_uri, signed in by the cookie.
    let mut seen = Value::Null;
    for _ in 0..50 {
        seen = browser
            .eval("return [location.href, document.body.innerText];")
            .await;
        if seen[0] == me.as_str() && seen[1].as_str().unwrap_or_default().contains("\"ida\"") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen[0], me.as_str(), "{seen}");
    assert!(
        seen[1].as_str().unwrap().contains("\"username\":\"ida\""),
        "{seen}"
    );
    // The link again: used, and the page says so.
    browser.open(&link).await;
    browser.click("#sign-in").await;
    let (class, text) = browser.outcome().await;
    assert_eq!(class, "error");
    assert!(
        text.starts_with("This link has expired or was already used."),
        "{text}"
    );
    browser.quit().await;
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_email_sign_in_page_signs_in_and_continues() {
    with_app(
        Engine::Sqlite,
        |c| {
            fixed_port(c);
            c.oauth.redirect_allowlist = vec![format!("{}/v1/me", c.server.public_url)];
        },
        the_sign_in_link_signs_in_with_a_click_and_continues,
    )
    .await;
}
