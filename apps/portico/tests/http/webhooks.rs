//! Outgoing webhooks through the API, to a receiver on this machine: made
//! and managed by `webhooks:write` only, signed so that the Standard
//! Webhooks reference library (`standardwebhooks`, npm) verifies them,
//! retried with the same `webhook-id` after a failure, logged, sent again
//! by a restarted server, and refused toward loopback, private and
//! link-local destinations unless configured.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use adapter_sql::testing::TestDatabase;
use portico::backends::Backends;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::faults::wait_until;
use crate::support::{Engine, TestApp, expect_problem, json_with, test_config, with_app};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HashMap<String, String>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
    fn payload(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

/// A webhook receiver: answers 500 to the first `fail_first` requests,
/// 204 to the rest, and keeps every request.
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(listener: TcpListener, fail_first: usize) -> Self {
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let seen = got.clone();
        let task = tokio::spawn(async move {
            let failures = Arc::new(std::sync::atomic::AtomicUsize::new(fail_first));
            while let Ok((mut socket, _)) = listener.accept().await {
                let (seen, failures) = (seen.clone(), failures.clone());
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut socket).await else {
                        return;
                    };
                    seen.lock().unwrap().push(request);
                    let fail = failures
                        .fetch_update(
                            std::sync::atomic::Ordering::SeqCst,
                            std::sync::atomic::Ordering::SeqCst,
                            |n| n.checked_sub(1),
                        )
                        .is_ok();
                    let status = if fail {
                        "500 Internal Server Error"
                    } else {
                        "204 No Content"
                    };
                    let answer = format!(
                        "HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                });
            }
        });
        Self { port, got, task }
    }

    async fn on_free_port(fail_first: usize) -> Self {
        Self::start(TcpListener::bind("127.0.0.1:0").await.unwrap(), fail_first).await
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `count` requests of `event_type` have come.
    async fn wait_for(&self, event_type: &str, count: usize) -> Vec<Received> {
        let of_type = || {
            self.got()
                .into_iter()
                .filter(|r| r.payload()["type"] == event_type)
                .collect::<Vec<_>>()
        };
        wait_until(
            &format!("{count} {event_type} deliveries"),
            Duration::from_secs(30),
            || async { of_type().len() >= count },
        )
        .await;
        of_type()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0_u8; 4096];
    let header_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let headers: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    while buf.len() < header_end + length {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(Received {
        headers,
        body: String::from_utf8_lossy(&buf[header_end..header_end + length]).to_string(),
    })
}

/// Verifies `request` with the Standard Webhooks reference library, as a
/// receiver would; the payload it accepted, or why it refused.
fn verify(secret: &str, request: &Received) -> Result<Value, String> {
    let idp = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.services/idp");
    assert!(
        idp.join("node_modules/standardwebhooks").is_dir(),
        "the standardwebhooks package is installed by scripts/services.sh"
    );
    let mut child = Command::new("node")
        .arg("verify-webhook.mjs")
        .args([
            secret,
            request.header("webhook-id"),
            request.header("webhook-timestamp"),
            request.header("webhook-signature"),
        ])
        .current_dir(&idp)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(request.body.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().expect("node ends");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("the payload as JSON"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).to_string())
    }
}

fn fast_loopback(c: &mut portico::Config) {
    c.webhooks.allow_loopback = true;
    c.webhooks.first_retry_ms = 300;
    c.webhooks.poll_interval_ms = 100;
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    json_with(
        app.authed(Method::POST, "/v1/webhooks", token, Some(body))
            .await,
        201,
    )
    .await
}

async fn deliveries_journey(app: TestApp) -> TestApp {
    let receiver = Receiver::on_free_port(1).await;
    let root = app.admin_token().await;
    let (ann, _) = app.signed_in_user("ann").await;
    // Without webhooks:write: 403, nothing made.
    let body = json!({"url": receiver.url(), "events": ["user.created"]});
    expect_problem(
        app.authed(Method::POST, "/v1/webhooks", &ann, Some(body.clone()))
            .await,
        403,
        "forbidden",
    )
    .await;
    expect_problem(
        app.authed(Method::GET, "/v1/webhooks", &ann, None).await,
        403,
        "forbidden",
    )
    .await;

    let made = create(
        &app,
        &root,
        json!({
            "url": receiver.url(),
            "events": ["user.created", "role.granted", "user.created"],
            "description": "CRM sync",
        }),
    )
    .await;
    let id = made["id"].as_str().unwrap().to_owned();
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(made["events"], json!(["user.created", "role.granted"]));
    // Listed and read without the secret.
    let listed = json_with(
        app.authed(Method::GET, "/v1/webhooks", &root, None).await,
        200,
    )
    .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let one = json_with(
        app.authed(Method::GET, &format!("/v1/webhooks/{id}"), &root, None)
            .await,
        200,
    )
    .await;
    assert_eq!(one["description"], "CRM sync");
    assert_eq!(one["enabled"], true);
    assert!(one.get("secret").is_none() && !listed.to_string().contains(&secret));

    // An account is made: the first delivery fails (500), the retry lands,
    // both with the same webhook-id; the reference library accepts it.
    let (_, bob_id) = app.signed_in_user("bob").await;
    let got = receiver.wait_for("user.created", 2).await;
    let (failed, landed) = (&got[0], &got[1]);
    assert_eq!(failed.header("webhook-id"), landed.header("webhook-id"));
    assert!(landed.header("webhook-id").starts_with("msg_"));
    assert_eq!(landed.header("content-type"), "application/json");
    let payload = verify(&secret, landed).expect("standardwebhooks verifies the delivery");
    assert_eq!(payload["type"], "user.created");
    assert_eq!(payload["data"]["user_id"], bob_id.as_str());
    assert!(payload["timestamp"].as_str().unwrap().ends_with('Z'));
    // The same library refuses a changed body, another secret and a bare id.
    let mut tampered = landed.clone();
    tampered.body = tampered
        .body
        .replace(&bob_id, &uuid::Uuid::nil().to_string());
    assert!(verify(&secret, &tampered).is_err());
    let other = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    assert!(verify(other, landed).is_err());

    // A role granted to bob: role.granted, with the role.
    let grant = app
        .authed(
            Method::PUT,
            &format!("/v1/users/{bob_id}/roles/admin"),
            &root,
            None,
        )
        .await;
    assert!(grant.status().is_success(), "{}", grant.status());
    let granted = receiver.wait_for("role.granted", 1).await;
    let payload = verify(&secret, &granted[0]).unwrap();
    assert_eq!(payload["data"]["role"], "admin");
    assert_eq!(payload["data"]["user_id"], bob_id.as_str());

    // The delivery log: the failure, then the success, newest first.
    let log = json_with(
        app.authed(
            Method::GET,
            &format!("/v1/webhooks/{id}/deliveries?limit=100"),
            &root,
            None,
        )
        .await,
        200,
    )
    .await;
    let bob_created: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["event_id"] == failed.header("webhook-id"))
        .collect();
    assert_eq!(bob_created.len(), 2, "{log}");
    assert_eq!(
        (&bob_created[0]["attempt"], &bob_created[0]["status"]),
        (&json!(2), &json!(204))
    );
    assert_eq!(
        (&bob_created[1]["attempt"], &bob_created[1]["status"]),
        (&json!(1), &json!(500))
    );
    assert_eq!(bob_created[1]["error"], "answered 500");
    expect_problem(
        app.authed(
            Method::GET,
            &format!("/v1/webhooks/{id}/deliveries?limit=0"),
            &root,
            None,
        )
        .await,
        422,
        "validation",
    )
    .await;

    // The test event, to this endpoint only.
    let sent = json_with(
        app.authed(
            Method::POST,
            &format!("/v1/webhooks/{id}/test"),
            &root,
            None,
        )
        .await,
        202,
    )
    .await;
    let tested = receiver.wait_for("webhook.test", 1).await;
    assert_eq!(tested[0].header("webhook-id"), sent["event_id"]);
    verify(&secret, &tested[0]).unwrap();

    // Changed: only what is given; turned off, the test is refused.
    let changed = json_with(
        app.authed(
            Method::PATCH,
            &format!("/v1/webhooks/{id}"),
            &root,
            Some(json!({"events": ["user.deleted"], "description": null, "enabled": false})),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(changed["events"], json!(["user.deleted"]));
    assert_eq!(changed["description"], Value::Null);
    assert_eq!(changed["url"], receiver.url());
    assert_eq!(changed["enabled"], false);
    expect_problem(
        app.authed(
            Method::POST,
            &format!("/v1/webhooks/{id}/test"),
            &root,
            None,
        )
        .await,
        409,
        "conflict",
    )
    .await;
    // Bad input is named.
    for (body, field) in [
        (json!({"url": receiver.url(), "events": []}), "events"),
        (
            json!({"url": receiver.url(), "events": ["user.exploded"]}),
            "events",
        ),
        (
            json!({"url": "ftp://example.org/", "events": ["user.created"]}),
            "url",
        ),
        (
            json!({"url": "http://example.org/", "events": ["user.created"]}),
            "url",
        ),
    ] {
        let problem = expect_problem(
            app.authed(Method::POST, "/v1/webhooks", &root, Some(body))
                .await,
            422,
            "validation",
        )
        .await;
        assert!(problem["errors"].get(field).is_some(), "{problem}");
    }
    // The secret cannot be set: an unknown field, named.
    let problem = expect_problem(
        app.authed(
            Method::PATCH,
            &format!("/v1/webhooks/{id}"),
            &root,
            Some(json!({"secret": "mine"})),
        )
        .await,
        422,
        "validation",
    )
    .await;
    assert!(problem["errors"].get("secret").is_some(), "{problem}");

    // Deleted: gone, with its log.
    let deleted = app
        .authed(Method::DELETE, &format!("/v1/webhooks/{id}"), &root, None)
        .await;
    assert_eq!(deleted.status(), 204);
    for path in [
        format!("/v1/webhooks/{id}"),
        format!("/v1/webhooks/{id}/deliveries"),
    ] {
        expect_problem(
            app.authed(Method::GET, &path, &root, None).await,
            404,
            "not-found",
        )
        .await;
    }
    app
}

crate::on_every_engine!(deliveries_journey, super::fast_loopback);

/// Without `allow_loopback` and `allow_private`, destinations on this
/// machine, its network, link-local addresses (cloud metadata) and names
/// for loopback are refused when set; the address a name resolves to is
/// checked again when sending (the transport's own tests).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_destinations_are_refused_unless_configured() {
    with_app(
        Engine::Sqlite,
        |_| {},
        |app| async move {
            let root = app.admin_token().await;
            for url in [
                "http://127.0.0.1:9000/hook",
                "https://127.0.0.1/hook",
                "https://[::1]/hook",
                "https://localhost/hook",
                "https://localhost./hook",
                "https://169.254.169.254/latest/meta-data",
                "https://[::ffff:169.254.169.254]/",
                "https://10.1.2.3/hook",
                "https://192.168.0.10/hook",
                "https://[fd00::1]/hook",
                "https://0.0.0.0/hook",
            ] {
                let problem = expect_problem(
                    app.authed(
                        Method::POST,
                        "/v1/webhooks",
                        &root,
                        Some(json!({"url": url, "events": ["user.created"]})),
                    )
                    .await,
                    422,
                    "validation",
                )
                .await;
                assert!(problem["errors"].get("url").is_some(), "{url}: {problem}");
            }
            // A public https destination is accepted.
            create(
                &app,
                &root,
                json!({"url": "https://hooks.example.com/x", "events": ["user.created"]}),
            )
            .await;
            app
        },
    )
    .await;
}

async fn attempts(app: &TestApp, token: &str, id: &str) -> Value {
    let path = format!("/v1/webhooks/{id}/deliveries");
    json_with(app.authed(Method::GET, &path, token, None).await, 200).await["items"].clone()
}

/// An event queued by a server that stopped before it could deliver it is
/// delivered by the next server over the same database, with the same
/// `webhook-id`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_delivers_what_was_queued() {
    let db = TestDatabase::postgres().await;
    let mut config = test_config();
    fast_loopback(&mut config);
    config.webhooks.first_retry_ms = 1500;
    // A port nothing listens on yet: the first attempt is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/hook");

    let first = TestApp::start(config.clone(), Backends::from_sql(db.store.clone())).await;
    let root = first.admin_token().await;
    let made = create(
        &first,
        &root,
        json!({"url": url, "events": ["user.created"]}),
    )
    .await;
    let (id, secret) = (
        made["id"].as_str().unwrap().to_owned(),
        made["secret"].as_str().unwrap().to_owned(),
    );
    let (_, carol) = first.signed_in_user("carol").await;
    // The first attempt fails; the server stops before the retry.
    wait_until("the first attempt", Duration::from_secs(20), || async {
        !attempts(&first, &root, &id)
            .await
            .as_array()
            .unwrap()
            .is_empty()
    })
    .await;
    let logged = attempts(&first, &root, &id).await;
    let event_id = logged[0]["event_id"].as_str().unwrap().to_owned();
    assert_eq!(logged[0]["status"], Value::Null);
    first.stop().await.unwrap();

    let receiver = Receiver::start(TcpListener::bind(("127.0.0.1", port)).await.unwrap(), 0).await;
    // A new process has its own connection pool (the first server's may
    // hold connections made on its worker runtimes, which ended with it).
    let pool = adapter_sql::SqlStore::connect(&adapter_sql::SqlConfig {
        max_connections: 4,
        pg_schema: db.pg_schema().map(str::to_owned),
        ..adapter_sql::SqlConfig::new(adapter_sql::testing::postgres_url())
    })
    .await
    .unwrap();
    let second = TestApp::start(config, Backends::from_sql(pool)).await;
    let got = receiver.wait_for("user.created", 1).await;
    assert_eq!(got[0].header("webhook-id"), event_id);
    let payload = verify(&secret, &got[0]).unwrap();
    assert_eq!(payload["data"]["user_id"], carol.as_str());
    second.stop().await.unwrap();
    db.cleanup().await;
}

/// Two instances over one database, each with its worker (and, as
/// instances sharing a database must, one keyring): every event is
/// delivered once, whichever instance queued it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_deliver_each_event_once() {
    let shared = |c: &mut portico::Config| {
        fast_loopback(c);
        c.security.encryption_keys = format!("k1:{}", "5a".repeat(32)).into();
    };
    crate::support::with_two_apps(Engine::Postgres, shared, |one, two| async move {
        let receiver = Receiver::on_free_port(0).await;
        let root = one.admin_token().await;
        let made = create(
            &one,
            &root,
            json!({"url": receiver.url(), "events": ["user.created"]}),
        )
        .await;
        let id = made["id"].as_str().unwrap().to_owned();
        let mut sent = Vec::new();
        for i in 0..30 {
            let app = if i % 2 == 0 { &one } else { &two };
            let path = format!("/v1/webhooks/{id}/test");
            let answer = json_with(app.authed(Method::POST, &path, &root, None).await, 202).await;
            sent.push(answer["event_id"].as_str().unwrap().to_owned());
        }
        receiver.wait_for("webhook.test", 30).await;
        // Time for a second delivery of any of them to arrive.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut got: Vec<String> = receiver
            .got()
            .iter()
            .map(|r| r.header("webhook-id").to_owned())
            .collect();
        got.sort();
        sent.sort();
        assert_eq!(got, sent, "each event once");
        (one, two)
    })
    .await;
}
