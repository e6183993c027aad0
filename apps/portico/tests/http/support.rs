//! A real server on port 0 over an isolated database, a real HTTP client,
//! and the outbox to read mailed tokens from.

use std::future::Future;
use std::path::PathBuf;

use adapter_sql::testing::TestDatabase;
use futures::FutureExt as _;
use portico::backends::Backends;
use portico::{Application, Config};
use serde_json::{Value, json};

/// A running server and a client for it.
pub(crate) struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub(crate) base: String,
    /// A client without a cookie store.
    pub(crate) client: reqwest::Client,
    /// Where the server writes mail.
    pub(crate) outbox: PathBuf,
    /// Data folder (removed at the end).
    pub(crate) data_dir: PathBuf,
    /// The server's mail queue, to wait until mail has gone out.
    mail_queue: std::sync::Arc<dyn domain::MailQueue>,
    /// The stores the server uses, to check what it wrote.
    pub(crate) stores: domain::Stores,
    /// Every response the server sent, checked against the OpenAPI
    /// document when the test has passed.
    pub(crate) exchanges: portico::exchanges::ExchangeLog,
    pub(crate) handle: portico::startup::StopHandle,
    /// The running server; `None` once `with_app` has taken it to await it.
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// The administrator every test server is created with.
pub(crate) const ADMIN_EMAIL: &str = "root@example.org";
/// Its username.
pub(crate) const ADMIN_USERNAME: &str = "root";
/// Its password.
pub(crate) const ADMIN_PASSWORD: &str = "administrator password";

/// Which database a test runs over.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Engine {
    /// SQLite in a temporary file.
    Sqlite,
    /// A fresh schema in the test PostgreSQL server.
    Postgres,
    /// A fresh database on the test MongoDB server (`MONGODB_URL`), serving
    /// every port group.
    Mongodb,
    /// Durable records in MongoDB; sessions, tokens and counters in SQLite.
    MongodbWithSqlSessions,
    /// Durable records in PostgreSQL; sessions, tokens, candidates, counters
    /// and upload requests in Redis (`REDIS_URL`).
    PostgresWithRedis,
}

enum Database {
    Sql(TestDatabase),
    Mongo(adapter_mongo::testing::TestDatabase),
    Mixed(adapter_mongo::testing::TestDatabase, TestDatabase),
    WithRedis(TestDatabase, adapter_redis::testing::TestRedis),
}

impl Engine {
    async fn database(self) -> Database {
        match self {
            Engine::Sqlite => Database::Sql(TestDatabase::sqlite_file().await),
            Engine::Postgres => Database::Sql(TestDatabase::postgres().await),
            Engine::Mongodb => Database::Mongo(adapter_mongo::testing::TestDatabase::fresh().await),
            Engine::MongodbWithSqlSessions => Database::Mixed(
                adapter_mongo::testing::TestDatabase::fresh().await,
                TestDatabase::sqlite_file().await,
            ),
            Engine::PostgresWithRedis => Database::WithRedis(
                TestDatabase::postgres().await,
                adapter_redis::testing::TestRedis::fresh(&adapter_redis::testing::redis_url())
                    .await,
            ),
        }
    }
}

impl Database {
    fn backends(&self, config: &mut Config) -> Backends {
        match self {
            Database::Sql(db) => Backends::from_sql(db.store.clone()),
            Database::Mongo(db) => {
                use portico::config::Backend;
                config.mongodb.url = adapter_mongo::testing::mongodb_url();
                config.stores.durable = Backend::Mongodb;
                config.stores.sessions = Some(Backend::Mongodb);
                config.stores.rate_limits = Some(Backend::Mongodb);
                Backends::from_parts(None, Some(db.store.clone()), None)
            }
            Database::Mixed(mongo, sql) => {
                use portico::config::Backend;
                config.mongodb.url = adapter_mongo::testing::mongodb_url();
                config.stores.durable = Backend::Mongodb;
                config.stores.sessions = Some(Backend::Sql);
                config.stores.rate_limits = Some(Backend::Sql);
                Backends::from_parts(Some(sql.store.clone()), Some(mongo.store.clone()), None)
            }
            Database::WithRedis(sql, redis) => {
                use portico::config::Backend;
                config.redis.url = adapter_redis::testing::redis_url();
                config.stores.durable = Backend::Sql;
                config.stores.sessions = Some(Backend::Redis);
                config.stores.rate_limits = Some(Backend::Redis);
                config.stores.uploads = Some(Backend::Redis);
                Backends::from_parts(Some(sql.store.clone()), None, Some(redis.store.clone()))
            }
        }
    }

    async fn cleanup(self) {
        match self {
            Database::Sql(db) => db.cleanup().await,
            Database::Mongo(db) => db.cleanup().await,
            Database::Mixed(mongo, sql) => {
                mongo.cleanup().await;
                sql.cleanup().await;
            }
            Database::WithRedis(sql, redis) => {
                redis.cleanup().await;
                sql.cleanup().await;
            }
        }
    }
}

/// Listens on a fixed free port with the public URL to match, for tests
/// whose links (mail, provider callbacks) must lead back to the server.
pub(crate) fn fixed_port(c: &mut Config) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    c.server.listen = format!("127.0.0.1:{port}").parse().expect("address");
    c.server.public_url = format!("http://127.0.0.1:{port}");
}

/// The test configuration: port 0, a temporary data folder, an administrator.
pub(crate) fn test_config() -> Config {
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().expect("address");
    config.server.workers = 2;
    config.server.data_dir =
        std::env::temp_dir().join(format!("portico-http-{}", uuid::Uuid::new_v4().simple()));
    config.security.bootstrap_admin = Some(portico::config::BootstrapAdmin {
        email: ADMIN_EMAIL.into(),
        username: ADMIN_USERNAME.into(),
        password: ADMIN_PASSWORD.into(),
    });
    // Background jobs at random moments would race the test's own checks
    // and the schema drop; the sweep tests turn them on.
    config.jobs.enabled = false;
    // A loaded test machine must not shed the suite's own sign-ins; the
    // storm test sets its own bound.
    config.security.hash_max_wait_ms = 30_000;
    config
}

/// Starts a server over a fresh `engine` database with `tweak`ed
/// configuration, runs `test` against it, then stops the server and drops
/// the database, also when the test fails.
pub(crate) async fn with_app<F, Fut>(engine: Engine, tweak: impl FnOnce(&mut Config), test: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = TestApp>,
{
    with_prepared_app(engine, tweak, |_| async {}, test).await;
}

/// Like [`with_app`], with `prepare` given the fresh stores before the
/// server starts over them (to restore a dump into them, say).
pub(crate) async fn with_prepared_app<F, Fut, P, PFut>(
    engine: Engine,
    tweak: impl FnOnce(&mut Config),
    prepare: P,
    test: F,
) where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = TestApp>,
    P: FnOnce(domain::Stores) -> PFut,
    PFut: Future<Output = ()>,
{
    let db = engine.database().await;
    let mut config = test_config();
    tweak(&mut config);
    let backends = db.backends(&mut config);
    let prepared = std::panic::AssertUnwindSafe(prepare(backends.stores(&config).expect("stores")))
        .catch_unwind()
        .await;
    if let Err(panic) = prepared {
        db.cleanup().await;
        std::panic::resume_unwind(panic);
    }
    let mut app = TestApp::start(config, backends).await;
    let (handle, data_dir, task) = (app.handle.clone(), app.data_dir.clone(), app.task.take());
    let exchanges = app.exchanges.clone();
    let outcome = std::panic::AssertUnwindSafe(test(app)).catch_unwind().await;
    handle.stop(true).await;
    let outcome = outcome.and_then(|_app| {
        std::panic::catch_unwind(|| crate::contract::assert_documented(&exchanges.take()))
    });
    // The server task ends after its background tasks are stopped: only
    // then may the database go.
    if let Some(task) = task {
        let _ = task.await;
    }
    db.cleanup().await;
    let _ = std::fs::remove_dir_all(&data_dir);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Two server instances over one fresh PostgreSQL database, each with its
/// own connection pool as two processes would have, given to `test`;
/// stopped, and the database dropped, when it returns.
pub(crate) async fn with_two_postgres_pools<F, Fut>(test: F)
where
    F: FnOnce(TestApp, TestApp) -> Fut,
    Fut: Future<Output = (TestApp, TestApp)>,
{
    use adapter_sql::testing::TestDatabase;
    use adapter_sql::{SqlConfig, SqlStore};
    use portico::backends::Backends;

    let db = TestDatabase::postgres().await;
    let second_pool = SqlStore::connect(&SqlConfig {
        max_connections: 4,
        pg_schema: db.pg_schema().map(str::to_owned),
        ..SqlConfig::new(adapter_sql::testing::postgres_url())
    })
    .await
    .unwrap();
    let one = TestApp::start(test_config(), Backends::from_sql(db.store.clone())).await;
    let two = TestApp::start(test_config(), Backends::from_sql(second_pool.clone())).await;
    let (one, two) = test(one, two).await;
    let (d1, d2) = (one.data_dir.clone(), two.data_dir.clone());
    one.stop().await.unwrap();
    two.stop().await.unwrap();
    second_pool.close().await;
    db.cleanup().await;
    let _ = std::fs::remove_dir_all(d1);
    let _ = std::fs::remove_dir_all(d2);
}

/// Like [`with_app`], with two server instances over the one database
/// (each with its own cache, change-feed subscription and data folder).
pub(crate) async fn with_two_apps<F, Fut>(engine: Engine, tweak: impl Fn(&mut Config), test: F)
where
    F: FnOnce(TestApp, TestApp) -> Fut,
    Fut: Future<Output = (TestApp, TestApp)>,
{
    let db = engine.database().await;
    let mut apps = Vec::new();
    // One outbox: mail queued through one instance may be sent by the
    // other's worker (the queue is shared), and either reads it.
    let outbox =
        std::env::temp_dir().join(format!("portico-outbox-{}", uuid::Uuid::new_v4().simple()));
    for _ in 0..2 {
        let mut config = test_config();
        config.mail.outbox_dir = outbox.clone();
        tweak(&mut config);
        let backends = db.backends(&mut config);
        apps.push(TestApp::start(config, backends).await);
    }
    let two = apps.pop().expect("two apps");
    let one = apps.pop().expect("two apps");
    let outcome = std::panic::AssertUnwindSafe(test(one, two))
        .catch_unwind()
        .await;
    let apps = match outcome {
        Ok((one, two)) => {
            let mut exchanges = one.exchanges.take();
            exchanges.extend(two.exchanges.take());
            std::panic::catch_unwind(|| crate::contract::assert_documented(&exchanges))
                .map(|()| [one, two])
        }
        Err(panic) => Err(panic),
    };
    if let Ok(apps) = &apps {
        for app in apps {
            app.handle.stop(true).await;
        }
    }
    let panic = match apps {
        Ok(apps) => {
            for mut app in apps {
                if let Some(task) = app.task.take() {
                    let _ = task.await;
                }
                let _ = std::fs::remove_dir_all(&app.data_dir);
            }
            None
        }
        Err(panic) => Some(panic),
    };
    db.cleanup().await;
    let _ = std::fs::remove_dir_all(&outbox);
    if let Some(panic) = panic {
        std::panic::resume_unwind(panic);
    }
}

impl TestApp {
    /// Builds and spawns the server.
    pub(crate) async fn start(config: Config, backends: Backends) -> Self {
        if std::env::var_os("PORTICO_TEST_LOG").is_some() {
            // Kept for the whole test binary: the subscriber is global.
            std::mem::forget(portico::init_tracing(&config));
        }
        let stores = backends.stores(&config).expect("stores");
        let exchanges = portico::exchanges::ExchangeLog::default();
        let app =
            Application::with_backends_and_log(config.clone(), backends, Some(exchanges.clone()))
                .await
                .expect("server starts");
        let base = format!("http://{}", app.local_addr());
        let handle = app.handle();
        let mail_queue = app.mail_queue();
        let task = tokio::spawn(app.run_until_stopped());
        Self {
            base,
            client: reqwest::Client::new(),
            outbox: config.outbox_dir(),
            data_dir: config.server.data_dir.clone(),
            mail_queue,
            stores,
            exchanges,
            handle,
            task: Some(task),
        }
    }

    /// Stops the server, waiting for in-flight requests, then checks its
    /// responses against the OpenAPI document.
    pub(crate) async fn stop(self) -> std::io::Result<()> {
        self.handle.stop(true).await;
        let stopped = self.task.expect("server task").await.expect("server task");
        crate::contract::assert_documented(&self.exchanges.take());
        stopped
    }

    /// Absolute URL of `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs JSON.
    pub(crate) async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    /// Sends `method` with a bearer token and an optional JSON body.
    pub(crate) async fn authed(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.expect("request")
    }

    /// Waits until the mail worker has delivered everything queued (mail
    /// leaves the request path, so a response comes before its mail).
    pub(crate) async fn mail_settled(&self) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            if self.mail_queue.count().await.expect("mail queue") == 0 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "queued mail not delivered within 15 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// The token of the newest mail to `to` in the outbox, once queued
    /// mail has gone out.
    pub(crate) async fn last_token(&self, to: &str) -> String {
        let text = self.last_mail(to).await;
        let start = text.find("token=").expect("a link with token=") + "token=".len();
        text[start..]
            .chars()
            .take_while(|c| c.is_ascii_hexdigit())
            .collect()
    }

    /// The mails to `to` in the outbox (headers and both parts), oldest
    /// first, once queued mail has gone out.
    pub(crate) async fn mails_to(&self, to: &str) -> Vec<String> {
        self.mail_settled().await;
        let to_line = format!("To: {to}");
        let mut mails: Vec<(std::time::SystemTime, String)> = std::fs::read_dir(&self.outbox)
            .map(|dir| {
                dir.filter_map(|e| {
                    let e = e.ok()?;
                    let text = std::fs::read_to_string(e.path()).ok()?;
                    let modified = e.metadata().ok()?.modified().ok()?;
                    text.lines()
                        .any(|l| l.eq_ignore_ascii_case(&to_line))
                        .then_some((modified, text))
                })
                .collect()
            })
            .unwrap_or_default();
        mails.sort_by_key(|(at, _)| *at);
        mails.into_iter().map(|(_, text)| text).collect()
    }

    /// The newest mail to `to` in the outbox, once queued mail has gone out.
    pub(crate) async fn last_mail(&self, to: &str) -> String {
        self.mails_to(to)
            .await
            .pop()
            .unwrap_or_else(|| panic!("no mail to {to}"))
    }

    /// How many mails went to `to`, once queued mail has gone out.
    pub(crate) async fn mail_count(&self, to: &str) -> usize {
        self.mails_to(to).await.len()
    }

    /// Registers and verifies `username` (email `<username>@example.org`);
    /// returns the new user's JSON.
    pub(crate) async fn register_user(&self, username: &str, password: &str) -> Value {
        let email = format!("{username}@example.org");
        let res = self
            .post(
                "/v1/registrations",
                json!({"email": email, "username": username, "password": password}),
            )
            .await;
        assert_eq!(res.status(), 202, "register {username}");
        let token = self.last_token(&email).await;
        let res = self
            .post("/v1/registrations/verify", json!({"token": token}))
            .await;
        assert_eq!(res.status(), 201, "verify {username}");
        res.json().await.expect("user json")
    }

    /// Signs in; returns the token body.
    pub(crate) async fn sign_in(&self, login: &str, password: &str) -> Value {
        let res = self
            .post(
                "/v1/sessions",
                json!({"login": login, "password": password}),
            )
            .await;
        assert_eq!(res.status(), 201, "sign in as {login}");
        res.json().await.expect("tokens json")
    }
}

/// The password of the users the feature journeys register.
pub(crate) const USER_PASSWORD: &str = "correct horse battery";

impl TestApp {
    /// Registers, verifies and signs in `name` (password [`USER_PASSWORD`]);
    /// returns the access token and the user id.
    pub(crate) async fn signed_in_user(&self, name: &str) -> (String, String) {
        let user = self.register_user(name, USER_PASSWORD).await;
        let tokens = self.sign_in(name, USER_PASSWORD).await;
        (
            tokens["access_token"].as_str().unwrap().to_owned(),
            user["id"].as_str().unwrap().to_owned(),
        )
    }

    /// An access token of the bootstrap administrator.
    pub(crate) async fn admin_token(&self) -> String {
        self.sign_in(ADMIN_USERNAME, ADMIN_PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// Checks the status and reads the JSON body.
pub(crate) async fn json_with(res: reqwest::Response, status: u16) -> Value {
    assert_eq!(res.status(), status);
    res.json().await.expect("json body")
}

/// Reads a problem body and checks its media type, status and kind.
pub(crate) async fn expect_problem(res: reqwest::Response, status: u16, kind: &str) -> Value {
    assert_eq!(res.status(), status, "status");
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(ct, "application/problem+json");
    let body: Value = res.json().await.expect("problem json");
    assert_eq!(
        body["type"],
        format!("urn:portico:problem:{kind}"),
        "{body}"
    );
    assert_eq!(body["status"], status);
    body
}

/// Declares one `#[tokio::test]` per engine for a journey
/// `async fn(TestApp) -> TestApp`, optionally with a config tweak.
#[macro_export]
macro_rules! on_every_engine {
    ($journey:ident) => {
        $crate::on_every_engine!($journey, |_| {});
    };
    ($journey:ident, $tweak:expr) => {
        mod $journey {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::support::with_app($crate::support::Engine::Sqlite, $tweak, super::$journey)
                    .await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::support::with_app(
                    $crate::support::Engine::Postgres,
                    $tweak,
                    super::$journey,
                )
                .await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mongodb_with_sql_sessions() {
                $crate::support::with_app(
                    $crate::support::Engine::MongodbWithSqlSessions,
                    $tweak,
                    super::$journey,
                )
                .await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_with_redis() {
                $crate::support::with_app(
                    $crate::support::Engine::PostgresWithRedis,
                    $tweak,
                    super::$journey,
                )
                .await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mongodb() {
                $crate::support::with_app(
                    $crate::support::Engine::Mongodb,
                    $tweak,
                    super::$journey,
                )
                .await;
            }
        }
    };
}
