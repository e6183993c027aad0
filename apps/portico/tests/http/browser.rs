//! A small WebDriver client for the browser tests: headless Chromium
//! (Debian's `chromium`, driven by `chromium-driver`) and Firefox (Debian's
//! `firefox-esr`, driven by geckodriver from crates.io), which `make
//! services` installs. Elements are found the way people and assistive
//! technology find them where it matters: form controls by their label's
//! text, buttons and links by their accessible name.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// Which browser a [`Driver`] drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Chromium through chromedriver.
    Chromium,
    /// Firefox ESR through geckodriver.
    Firefox,
}

impl Kind {
    /// The driver's program: `$CHROMEDRIVER` or `chromedriver`;
    /// `$GECKODRIVER`, else the one `make services` puts in
    /// `.services/bin`, else `geckodriver`.
    fn program(self) -> String {
        match self {
            Kind::Chromium => {
                std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into())
            }
            Kind::Firefox => std::env::var("GECKODRIVER").unwrap_or_else(|_| {
                let local = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../.services/bin/geckodriver");
                if local.exists() {
                    local.display().to_string()
                } else {
                    "geckodriver".into()
                }
            }),
        }
    }

    /// The new session's capabilities: headless, the Debian browser.
    fn capabilities(self) -> Value {
        match self {
            Kind::Chromium => {
                let binary =
                    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
                json!({"capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": binary,
                        "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                                 "--disable-background-networking", "--disable-dev-shm-usage",
                                 "--window-size=1280,1000"],
                    },
                }}})
            }
            Kind::Firefox => {
                let binary =
                    std::env::var("FIREFOX").unwrap_or_else(|_| "/usr/bin/firefox-esr".into());
                json!({"capabilities": {"alwaysMatch": {
                    "browserName": "firefox",
                    "moz:firefoxOptions": {
                        "binary": binary,
                        "args": ["-headless", "-width", "1280", "-height", "1000"],
                        "prefs": {"app.update.enabled": false, "browser.shell.checkDefaultBrowser": false},
                    },
                }}})
            }
        }
    }
}

/// A WebDriver server on a free port, stopped on drop.
pub(crate) struct Driver {
    child: Child,
    base: String,
    client: reqwest::Client,
    engine: Kind,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser session of a [`Driver`].
pub(crate) struct Browser<'d> {
    driver: &'d Driver,
    session: String,
}

impl Driver {
    /// Chromium's driver.
    pub(crate) async fn start() -> Self {
        Self::start_for(Kind::Chromium).await
    }

    /// The driver of `engine`.
    pub(crate) async fn start_for(engine: Kind) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let program = engine.program();
        let mut command = Command::new(&program);
        match engine {
            Kind::Chromium => command.arg(format!("--port={port}")),
            Kind::Firefox => command.args(["--port", &port.to_string(), "--log", "fatal"]),
        };
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{program}: {e} (`make services` installs the browsers and their drivers)")
            });
        let driver = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            engine,
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
        panic!("{program} did not start");
    }

    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let res = self.try_call(method, path, body).await;
        res.unwrap_or_else(|res| panic!("webdriver {path}: {res}"))
    }

    /// [`Driver::call`], with WebDriver's error answer as the `Err`.
    pub(crate) async fn try_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Value> {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res: Value = req.send().await.unwrap().json().await.unwrap();
        if res["value"].get("error").is_some() {
            Err(res)
        } else {
            Ok(res["value"].clone())
        }
    }

    pub(crate) async fn browser(&self) -> Browser<'_> {
        let value = self
            .call(
                reqwest::Method::POST,
                "/session",
                Some(self.engine.capabilities()),
            )
            .await;
        let browser = Browser {
            driver: self,
            session: value["sessionId"].as_str().unwrap().to_owned(),
        };
        browser
            .call(
                reqwest::Method::POST,
                "/window/rect",
                Some(json!({"width": 1280, "height": 1000})),
            )
            .await;
        browser
    }
}

impl Browser<'_> {
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        self.driver
            .call(method, &format!("/session/{}{path}", self.session), body)
            .await
    }

    pub(crate) async fn open(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    pub(crate) async fn element(&self, css: &str) -> String {
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

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.send_text(&id, text).await;
    }

    /// Types `text` into the element `id`.
    pub(crate) async fn send_text(&self, id: &str, text: &str) {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    pub(crate) async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.click_id(&id).await;
    }

    pub(crate) async fn set_cookie(&self, name: &str, value: &str) {
        self.call(
            reqwest::Method::POST,
            "/cookie",
            Some(json!({"cookie": {"name": name, "value": value, "path": "/"}})),
        )
        .await;
    }

    /// Runs `script` in the page and returns its value.
    pub(crate) async fn eval(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Runs `script` (an async function body; `arguments` holds `args`)
    /// in the page and returns what it resolves to.
    pub(crate) async fn eval_async(&self, script: &str, args: Value) -> Value {
        let wrapped = format!(
            "const done = arguments[arguments.length - 1];\n\
             (async (...arguments) => {{ {script} }})(...Array.from(arguments).slice(0, -1))\n\
             .then(done, (e) => done({{error: String(e)}}));"
        );
        self.call(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({"script": wrapped, "args": args})),
        )
        .await
    }

    /// Sends a DevTools protocol command (Chromium only).
    pub(crate) async fn devtools(&self, cmd: &str, params: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({"cmd": cmd, "params": params})),
        )
        .await
    }

    /// Saves what the browser shows as `target/screenshots/<name>.png`.
    pub(crate) async fn screenshot(&self, name: &str) {
        use base64::Engine as _;
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
    }

    pub(crate) async fn quit(self) {
        self.call(reqwest::Method::DELETE, "", None).await;
    }
}

impl Browser<'_> {
    /// The element `value` finds by `using` (`css selector`, `xpath`), or
    /// `None`.
    pub(crate) async fn find(&self, using: &str, value: &str) -> Option<String> {
        let res: Value = self
            .driver
            .client
            .post(format!(
                "{}/session/{}/element",
                self.driver.base, self.session
            ))
            .json(&json!({"using": using, "value": value}))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        res["value"]
            .as_object()
            .filter(|o| o.get("error").is_none())
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// Waits up to ten seconds for what `xpath` finds.
    pub(crate) async fn wait_xpath(&self, xpath: &str) -> String {
        for _ in 0..100 {
            if let Some(id) = self.find("xpath", xpath).await {
                return id;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let text = self.text().await;
        panic!("nothing matches {xpath} after 10 s; the page says:\n{text}");
    }

    /// The form control whose label reads `label`.
    pub(crate) async fn labelled(&self, label: &str) -> String {
        self.wait_xpath(&format!(
            "//*[@id=(//label[normalize-space()={}])[last()]/@for]",
            literal(label)
        ))
        .await
    }

    /// The XPath of the button named `name` (its text or `aria-label`).
    fn button_xpath(name: &str) -> String {
        let name = literal(name);
        format!("(//button[normalize-space()={name} or @aria-label={name}])[last()]")
    }

    /// Types `text` into the control labelled `label` (after clearing it).
    pub(crate) async fn fill(&self, label: &str, text: &str) {
        let id = self.labelled(label).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/clear"),
            Some(json!({})),
        )
        .await;
        self.send_text(&id, text).await;
    }

    /// Clicks the element `id`.
    pub(crate) async fn click_id(&self, id: &str) {
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Clicks the element the XPath finds. When the page re-rendered
    /// between finding and clicking it (WebDriver's "stale element
    /// reference"), it is found again and clicked, a few times at most.
    async fn click_xpath(&self, xpath: &str) {
        for _ in 0..5 {
            let id = self.wait_xpath(xpath).await;
            let clicked = self
                .driver
                .try_call(
                    reqwest::Method::POST,
                    &format!("/session/{}/element/{id}/click", self.session),
                    Some(json!({})),
                )
                .await;
            match clicked {
                Ok(_) => return,
                Err(e) if e["value"]["error"] == "stale element reference" => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(e) => panic!("webdriver click {xpath}: {e}"),
            }
        }
        panic!("{xpath} went stale at every click");
    }

    /// Clicks the button named `name`.
    pub(crate) async fn press(&self, name: &str) {
        self.click_xpath(&Self::button_xpath(name)).await;
    }

    /// Follows the link whose text is `text`.
    pub(crate) async fn follow(&self, text: &str) {
        self.click_xpath(&format!("(//a[normalize-space()={}])[1]", literal(text)))
            .await;
    }

    /// Picks the option `value` of the select labelled `label`.
    pub(crate) async fn choose(&self, label: &str, value: &str) {
        let id = self
            .wait_xpath(&format!(
                "//*[@id=(//label[normalize-space()={}])[last()]/@for]/option[@value={}]",
                literal(label),
                literal(value)
            ))
            .await;
        self.click_id(&id).await;
    }

    /// Makes the page prefer a dark (or light) colour scheme, as a system
    /// set to dark would (Chromium only: through its DevTools protocol).
    pub(crate) async fn prefer_dark(&self, dark: bool) {
        assert_eq!(
            self.driver.engine,
            Kind::Chromium,
            "Chromium's DevTools protocol"
        );
        let features = if dark {
            json!([{"name": "prefers-color-scheme", "value": "dark"}])
        } else {
            json!([])
        };
        self.call(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({"cmd": "Emulation.setEmulatedMedia", "params": {"features": features}})),
        )
        .await;
    }

    /// What the page shows, as text.
    pub(crate) async fn text(&self) -> String {
        self.eval("return document.body.innerText;")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits up to ten seconds until the page shows `needle`.
    pub(crate) async fn wait_text(&self, needle: &str) {
        for _ in 0..100 {
            if self.text().await.contains(needle) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let text = self.text().await;
        panic!("the page never showed {needle:?}; it says:\n{text}");
    }

    /// Sends `keys` (WebDriver key codes, such as `\u{E00C}` for Escape)
    /// to whatever has the focus.
    pub(crate) async fn keys(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|c| {
                let c = c.to_string();
                [
                    json!({"type": "keyDown", "value": c}),
                    json!({"type": "keyUp", "value": c}),
                ]
            })
            .collect();
        self.call(
            reqwest::Method::POST,
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        )
        .await;
    }
}

/// `text` as an XPath string literal.
fn literal(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else {
        let parts: Vec<String> = text.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}
