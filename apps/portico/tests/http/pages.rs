//! The pages behind the mail links, in a real browser: headless Chromium
//! (Debian's `chromium` and `chromium-driver`, which `make services`
//! installs) driven over WebDriver. Each mail's link opens Portico's page,
//! which completes the action through the API: the address is verified,
//! the new password signs in, the account is gone. With a front-end link
//! pattern configured, the mail carries that link and the page is not served.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::*;

/// A chromedriver on a free port, stopped on drop.
struct Driver {
    child: Child,
    base: String,
    client: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser session of a [`Driver`].
struct Browser<'d> {
    driver: &'d Driver,
    session: String,
}

impl Driver {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let child =
            Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect(
                    "chromedriver (Debian package chromium-driver; `make services` installs it)",
                );
        let driver = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
        };
        for _ in 0..100 {
            if driver
                .client
                .get(format!("{}/status", driver.base))
                .send()
                .await
                .is_ok()
            {
                return driver;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start");
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res: Value = req.send().await.unwrap().json().await.unwrap();
        assert!(
            res["value"].get("error").is_none(),
            "webdriver {path}: {res}"
        );
        res["value"].clone()
    }

    async fn browser(&self) -> Browser<'_> {
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-background-networking", "--disable-dev-shm-usage"],
            },
        }}});
        let value = self
            .call(reqwest::Method::POST, "/session", Some(caps))
            .await;
        Browser {
            driver: self,
            session: value["sessionId"].as_str().unwrap().to_owned(),
        }
    }
}

impl Browser<'_> {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.driver
            .call(method, &format!("/session/{}{path}", self.session), body)
            .await
    }

    async fn open(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    async fn element(&self, css: &str) -> String {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap()
            .to_owned()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

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

    async fn set_cookie(&self, name: &str, value: &str) {
        self.call(
            reqwest::Method::POST,
            "/cookie",
            Some(json!({"cookie": {"name": name, "value": value, "path": "/"}})),
        )
        .await;
    }

    async fn quit(self) {
        self.call(reqwest::Method::DELETE, "", None).await;
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
        csp.contains("script-src 'self'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    browser.open(&link).await;
    let (class, text) = browser.outcome().await;
    assert_eq!(class, "done", "{text}");
    let signed_in = app.sign_in("ann", USER_PASSWORD).await;
    // The same link again: the token is used.
    browser.open(&link).await;
    assert_eq!(browser.outcome().await.0, "error");

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
    browser.click("button[type=submit]").await;
    let (class, text) = browser.outcome().await;
    assert_eq!(class, "done", "{text}");
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
    browser.click("#confirm").await;
    let (class, text) = browser.outcome().await;
    assert_eq!(class, "done", "{text}");
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
        fixed_port,
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
