//! The `portico` binary: `config`, `migrate`, `admin create`, and a server
//! started over the database the command line prepared.

use std::process::{Command, Stdio};

use portico::backends::Backends;
use serde_json::json;

use crate::support::*;

pub(crate) fn portico(data_dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portico"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORTICO_SERVER__DATA_DIR", data_dir)
        .env("PORTICO_LOG__LEVEL", "warn")
        .current_dir(data_dir.parent().unwrap());
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_create_prints_a_one_time_password_that_signs_in() {
    let dir = std::env::temp_dir().join(format!("portico-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();

    let out = portico(&dir)
        .env(
            "PORTICO_MAIL__SMTP_URL",
            "smtp://me:hunter2@relay.example.org:587",
        )
        .arg("config")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("listen = \"127.0.0.1:8080\""), "{text}");
    assert!(text.contains("me:[redacted]@relay"), "{text}");
    assert!(!text.contains("hunter2"));

    let out = portico(&dir).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    // Every migration file of the engine, applied and named.
    let migrations = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../crates/adapter-sql/migrations/sqlite"
    );
    let files = std::fs::read_dir(migrations).unwrap().count();
    assert!(
        text.contains(&format!("applied {files} migration(s)")),
        "{files} files: {text}"
    );
    assert!(text.contains("6 identity links"), "{text}");
    assert!(text.contains("8 suspension"), "{text}");
    assert!(text.contains("9 plans"), "{text}");
    let out = portico(&dir).arg("migrate").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("the schema is current"), "{text}");

    let out = portico(&dir)
        .args([
            "admin",
            "create",
            "--email",
            "ops@example.org",
            "--username",
            "ops",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let password = text
        .lines()
        .find_map(|l| l.strip_prefix("one-time password: "))
        .unwrap_or_else(|| panic!("no password in {text}"))
        .to_owned();
    assert_eq!(password.len(), 32);

    // Run twice: nothing changes. A mismatching username is refused.
    let out = portico(&dir)
        .args([
            "admin",
            "create",
            "--email",
            "ops@example.org",
            "--username",
            "ops",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("already an administrator"));
    let out = portico(&dir)
        .args([
            "admin",
            "create",
            "--email",
            "ops@example.org",
            "--username",
            "other",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());

    // A password from stdin for a second administrator.
    let mut child = portico(&dir)
        .args([
            "admin",
            "create",
            "--email",
            "two@example.org",
            "--username",
            "two",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"piped in password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("one-time password"));

    // A server over that data folder lets both sign in as administrators.
    let mut config = test_config();
    config.security.bootstrap_admin = None;
    config.server.data_dir = dir.clone();
    let backends = Backends::connect(&config).await.unwrap();
    let app = TestApp::start(config, backends).await;
    for (login, pw) in [
        ("ops", password.as_str()),
        ("two@example.org", "piped in password"),
    ] {
        let t = app.sign_in(login, pw).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let res = app
            .authed(reqwest::Method::GET, "/v1/users", &t, None)
            .await;
        assert_eq!(res.status(), 200, "{login} is an administrator");
    }
    let res = app
        .post(
            "/v1/sessions",
            json!({"login": "ops", "password": "wrong password"}),
        )
        .await;
    assert_eq!(res.status(), 401);
    app.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `portico sweep` removes a dangling object from the local store and says
/// what it removed; it refuses while another holder runs the sweep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sweep_runs_once_on_demand_and_respects_the_lease() {
    let dir = std::env::temp_dir().join(format!("portico-cli-{}", uuid::Uuid::new_v4().simple()));
    let objects = dir.join("objects/stray");
    std::fs::create_dir_all(&objects).unwrap();
    std::fs::write(objects.join("old.bin"), b"junk").unwrap();

    let out = portico(&dir)
        .env("PORTICO_UPLOADS__DANGLING_GRACE_SECS", "0")
        .arg("sweep")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("0 expired upload requests and 1 dangling objects removed"),
        "{text}"
    );
    assert!(!objects.join("old.bin").exists());

    // Someone else holds the run lease: the command says so and fails.
    let db = adapter_sql::SqlStore::connect(&adapter_sql::SqlConfig::new(format!(
        "sqlite:///{}",
        dir.join("portico.db").display()
    )))
    .await
    .unwrap();
    let leases = db.stores().leases;
    let now = domain::truncate_to_millis(time::OffsetDateTime::now_utc());
    assert!(
        leases
            .try_acquire(
                "upload_sweep:run",
                "another-instance",
                now,
                time::Duration::minutes(5)
            )
            .await
            .unwrap()
    );
    let out = portico(&dir).arg("sweep").output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("another instance is running the upload sweep"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_log_pipe_neither_breaks_requests_nor_blocks_sigterm_and_data_stays_private() {
    // The data folder is created by the server (as `data` is on a first run).
    let dir = std::env::temp_dir()
        .join(format!("portico-cli-{}", uuid::Uuid::new_v4().simple()))
        .join("data");
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    let port = crate::faults::free_port();
    // `portico serve 2>&1 | head -2`: both outputs go to a pipe whose reader
    // is gone.
    let mut child = portico(&dir)
        .env("PORTICO_LOG__LEVEL", "info")
        .env("PORTICO_SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    drop(child.stderr.take());
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/healthz");
    crate::faults::wait_until(
        "the server answers",
        std::time::Duration::from_secs(30),
        || async { client.get(&url).send().await.is_ok() },
    )
    .await;
    for _ in 0..50 {
        let res = client.get(&url).send().await.expect("an answer");
        assert_eq!(res.status(), 200);
    }
    // A registration writes a mail with a raw token into the outbox.
    let res = client
        .post(format!("http://127.0.0.1:{port}/v1/registrations"))
        .json(&json!({"email": "eve@example.org", "username": "eve", "password": "correct horse battery"}))
        .send()
        .await
        .expect("an answer");
    assert_eq!(res.status(), 202);
    // The mail worker writes it just after the answer.
    let outbox = dir.join("outbox");
    crate::faults::wait_until(
        "the verification mail",
        std::time::Duration::from_secs(10),
        || async { std::fs::read_dir(&outbox).is_ok_and(|mut d| d.next().is_some()) },
    )
    .await;
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = std::time::Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        if started.elapsed() > std::time::Duration::from_secs(40) {
            let _ = child.kill();
            panic!("SIGTERM did not stop the server");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
    // Nothing in the data folder is readable by other users, whatever the
    // umask the server was started with.
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700, "data folder");
    let mut files = vec![dir.join("portico.db")];
    files.extend(
        std::fs::read_dir(dir.join("outbox"))
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    assert!(files.len() >= 2, "a database and a mail: {files:?}");
    for file in files {
        assert_eq!(mode(&file) & 0o077, 0, "{} is private", file.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `portico keys rotate` adds a key to the 0600 keyring file, re-seals the
/// stored TOTP secrets under it, and a server started afterwards still
/// checks codes; `keys reseal` then finds nothing left to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_reseals_totp_secrets_and_sign_in_still_works() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = std::env::temp_dir().join(format!("portico-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let start = || {
        let mut config = test_config();
        config.security.bootstrap_admin = None;
        config.server.data_dir = dir.clone();
        async move {
            let backends = Backends::connect(&config).await.unwrap();
            TestApp::start(config, backends).await
        }
    };
    let app = start().await;
    let (token, _) = app.signed_in_user("ann").await;
    let (secret, _) = crate::mfa::enable_totp(&app, &token).await;
    app.stop().await.unwrap();

    let keyring = dir.join("encryption.keys");
    let mode = std::fs::metadata(&keyring).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "keyring mode {mode:o}");
    let ids = |text: &str| -> Vec<String> {
        text.lines()
            .map(|l| l.split(':').next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&std::fs::read_to_string(&keyring).unwrap()), ["k1"]);

    let out = portico(&dir).args(["keys", "rotate"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("added key k2"), "{text}");
    assert!(text.contains("re-sealed 1 of 1 TOTP secrets"), "{text}");
    assert_eq!(
        ids(&std::fs::read_to_string(&keyring).unwrap()),
        ["k1", "k2"]
    );
    let mode = std::fs::metadata(&keyring).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "keyring mode after rotation {mode:o}");

    let db = adapter_sql::SqlStore::connect(&adapter_sql::SqlConfig::new(format!(
        "sqlite:///{}",
        dir.join("portico.db").display()
    )))
    .await
    .unwrap();
    let factors = db.stores().mfa.list_after(None, 10).await.unwrap();
    assert_eq!(factors.len(), 1);
    assert_eq!(factors[0].secret.key_id(), "k2");
    assert!(!factors[0].secret.as_str().contains(&secret));
    db.close().await;

    let out = portico(&dir).args(["keys", "reseal"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(text.contains("re-sealed 0 of 1 TOTP secrets"), "{text}");

    let app = start().await;
    let mfa_token = crate::mfa::challenge(&app, "ann").await;
    let res = app
        .post(
            "/v1/sessions/mfa",
            json!({"mfa_token": mfa_token, "code": crate::mfa::totp_code(&secret, 1)}),
        )
        .await;
    assert_eq!(res.status(), 201);
    app.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `portico openapi` prints the document the server serves, with the
/// configured public URL as its server, without touching a database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_prints_the_served_document() {
    let dir = std::env::temp_dir().join(format!("portico-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = portico(&dir)
        .env("PORTICO_SERVER__PUBLIC_URL", "https://api.example")
        .arg("openapi")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // Flags beat the environment.
    let out = portico(&dir)
        .args([
            "config",
            "--listen",
            "0.0.0.0:9999",
            "--data-dir",
            "/srv/portico",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("listen = \"0.0.0.0:9999\""), "{text}");
    assert!(text.contains("data_dir = \"/srv/portico\""), "{text}");
    assert_eq!(doc["servers"], json!([{"url": "https://api.example"}]));
    assert_eq!(doc["paths"]["/v1/me"]["get"]["operationId"], "me_read");
    assert!(!dir.join("portico.db").exists(), "a database was created");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Hardening finding 9: after `portico keys rotate`, a TOTP sign-in on an
/// instance that was not restarted answered 500 ("sealed under key k2,
/// which the keyring does not hold"), and a provider sign-in there sealed
/// under the old key. A running instance picks up the new keyring file;
/// `portico keys retire <id>` removes a key once nothing is sealed under it
/// (and refuses while something is, or for the current key).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_instance_follows_a_key_rotation_and_retire_checks_first() {
    let dir = std::env::temp_dir().join(format!("portico-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = test_config();
    config.security.bootstrap_admin = None;
    config.server.data_dir = dir.clone();
    let backends = Backends::connect(&config).await.unwrap();
    let app = TestApp::start(config, backends).await;
    let (ann, _) = app.signed_in_user("ann").await;
    let (ann_secret, _) = crate::mfa::enable_totp(&app, &ann).await;
    let run = |args: &[&str]| {
        let out = portico(&dir).args(args).output().unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (ok, text) = run(&["keys", "retire", "k1"]);
    assert!(!ok && text.contains("current key"), "{text}");

    let (ok, text) = run(&["keys", "rotate"]);
    assert!(ok, "{text}");
    // The running instance checks the re-sealed secret: no restart.
    let mfa_token = crate::mfa::challenge(&app, "ann").await;
    let res = app
        .post(
            "/v1/sessions/mfa",
            json!({"mfa_token": mfa_token, "code": crate::mfa::totp_code(&ann_secret, 1)}),
        )
        .await;
    assert_eq!(res.status(), 201, "TOTP sign-in after a rotation");

    // A key added to the file by hand: the instance seals under it soon.
    let keyring = dir.join("encryption.keys");
    let mut text = std::fs::read_to_string(&keyring).unwrap();
    text.push_str(&format!("k3:{}\n", "ab".repeat(32)));
    std::fs::write(&keyring, text).unwrap();
    let (bob, _) = app.signed_in_user("bob").await;
    let db = adapter_sql::SqlStore::connect(&adapter_sql::SqlConfig::new(format!(
        "sqlite:///{}",
        dir.join("portico.db").display()
    )))
    .await
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        // Each enrolment seals a new secret with the current key.
        let res = app
            .authed(
                reqwest::Method::POST,
                "/v1/me/mfa/totp",
                &bob,
                Some(json!({"password": USER_PASSWORD})),
            )
            .await;
        assert_eq!(res.status(), 201);
        let factors = db.stores().mfa.list_after(None, 10).await.unwrap();
        if factors.iter().any(|f| f.secret.key_id() == "k3") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still sealing under an old key"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // ann's secret is still under k2: k2 cannot go yet.
    let (ok, text) = run(&["keys", "retire", "k2"]);
    assert!(!ok && text.contains("1 TOTP secret"), "{text}");
    let (ok, text) = run(&["keys", "reseal"]);
    assert!(ok, "{text}");
    for id in ["k1", "k2"] {
        let (ok, text) = run(&["keys", "retire", id]);
        assert!(ok, "{text}");
        assert!(text.contains(&format!("retired key {id}")), "{text}");
    }
    let ids: Vec<String> = std::fs::read_to_string(&keyring)
        .unwrap()
        .lines()
        .map(|l| l.split(':').next().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["k3"]);
    let (ok, text) = run(&["keys", "retire", "k9"]);
    assert!(!ok && text.contains("no key k9"), "{text}");
    db.close().await;
    app.stop().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Each command's help lists only the flags that apply to it, and a flag
/// that does not apply is refused; `--listen` takes host names.
#[test]
fn each_command_takes_only_its_own_flags() {
    let dir = std::env::temp_dir().join(format!("portico-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let help = |args: &[&str]| {
        let out = portico(&dir).args(args).arg("--help").output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let serve = help(&["serve"]);
    assert!(
        serve.contains("--listen") && serve.contains("--data-dir"),
        "{serve}"
    );
    let migrate = help(&["migrate"]);
    assert!(
        !migrate.contains("--listen") && migrate.contains("--data-dir"),
        "{migrate}"
    );
    let admin = help(&["admin", "create"]);
    assert!(
        !admin.contains("--listen") && admin.contains("--data-dir"),
        "{admin}"
    );
    let openapi = help(&["openapi"]);
    assert!(
        !openapi.contains("--listen") && !openapi.contains("--data-dir"),
        "{openapi}"
    );
    let out = portico(&dir)
        .args(["migrate", "--listen", "127.0.0.1:1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = portico(&dir)
        .args(["config", "--listen", "localhost:9998"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("listen = \"127.0.0.1:9998\""), "{text}");
    let out = portico(&dir)
        .args(["serve", "--listen", "localhost"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        !out.status.success() && err.contains("not host:port"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A first start says where things are (API, docs, data folder, outbox,
/// stores, CORS), warns about a look-alike variable, leads `/` to the
/// docs, and says at debug level why a browser's preflight was refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_up_log_says_where_things_are() {
    let dir = std::env::temp_dir()
        .join(format!("portico-cli-{}", uuid::Uuid::new_v4().simple()))
        .join("data");
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    let log_path = dir.parent().unwrap().join("server.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let port = crate::faults::free_port();
    let mut child = portico(&dir)
        .env("PORTICO_LOG__LEVEL", "debug")
        .env("PORTICO_SERVER_CORS_ORIGINS", "http://localhost:5173")
        .arg("serve")
        .args(["--listen", &format!("localhost:{port}")])
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    crate::faults::wait_until(
        "the server answers",
        std::time::Duration::from_secs(30),
        || async { client.get(format!("{base}/healthz")).send().await.is_ok() },
    )
    .await;
    let res = client.get(format!("{base}/")).send().await.unwrap();
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(res.headers()["location"], "/docs/");
    let res = client
        .request(reqwest::Method::OPTIONS, format!("{base}/v1/sessions"))
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(!res.headers().contains_key("access-control-allow-origin"));
    let text = || std::fs::read_to_string(&log_path).unwrap();
    crate::faults::wait_until(
        "the preflight's log line",
        std::time::Duration::from_secs(10),
        || async { text().contains("CORS preflight refused") },
    )
    .await;
    let _ = child.kill();
    let _ = child.wait();
    let text = text();
    let data = std::path::absolute(&dir).unwrap();
    for expected in [
        format!("API at {base}/v1, its docs at {base}/docs"),
        format!("admin console at {base}/admin (for accounts holding console:access)"),
        format!(
            "data folder {}; mail is written as files to {}",
            data.display(),
            data.join("outbox").display()
        ),
        "stores: durable, sessions, rate_limits, uploads in sqlite:///".to_owned(),
        "CORS: browsers on other origins may not call the API".to_owned(),
        "PORTICO_SERVER_CORS_ORIGINS is ignored".to_owned(),
        "(PORTICO_SERVER__CORS_ORIGINS)".to_owned(),
        "origin=\"http://localhost:5173\"".to_owned(),
    ] {
        assert!(text.contains(&expected), "{expected:?} not in:\n{text}");
    }
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}
