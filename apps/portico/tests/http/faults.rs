//! Store servers a test owns and may break: a redis-server and a PostgreSQL
//! cluster of its own (own port, own data folder, never the shared ones),
//! and a TCP proxy that can cut every connection to a server that stays up.

use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A free loopback port.
pub(crate) fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn scratch_dir(what: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("portico-{what}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// Waits until `probe` holds, or panics naming `what` after `within`.
pub(crate) async fn wait_until<F, Fut>(what: &str, within: Duration, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !probe().await {
        assert!(started.elapsed() < within, "{what} within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A redis-server of the test's own, with an append-only file synced on
/// every write, so that what it acknowledged survives `kill -9`.
pub(crate) struct RedisServer {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one on a free port and waits until it answers.
    pub(crate) async fn start() -> Self {
        let mut server = Self {
            port: free_port(),
            dir: scratch_dir("redis"),
            child: None,
        };
        server.run().await;
        server
    }

    /// `redis://127.0.0.1:<port>`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server process again, on the same port and data.
    pub(crate) async fn run(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (Debian's redis-server package) on PATH");
        self.child = Some(child);
        let port = self.port;
        wait_until(
            "redis-server answers",
            Duration::from_secs(20),
            || async move { self::redis_command(port, "PING").await.as_deref() == Some("+PONG") },
        )
        .await;
    }

    /// `kill -9`: the server is gone at once, connections break.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends one inline command and returns the first reply line.
    pub(crate) async fn command(&self, command: &str) -> Option<String> {
        redis_command(self.port, command).await
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn redis_command(port: u16, command: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    stream
        .write_all(format!("{command}\r\n").as_bytes())
        .await
        .ok()?;
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf))
        .await
        .ok()?
        .ok()?;
    let text = String::from_utf8_lossy(&buf[..n]);
    text.lines().next().map(str::to_owned)
}

/// A PostgreSQL cluster of the test's own (initdb and pg_ctl of the
/// machine's PostgreSQL), run as the `postgres` user when the test runs as
/// root, as PostgreSQL refuses to run as root.
pub(crate) struct PgServer {
    port: u16,
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
}

impl PgServer {
    /// Creates and starts a cluster on a free port.
    pub(crate) async fn start() -> Self {
        let dir = scratch_dir("pg");
        let as_postgres = running_as_root();
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(status.success(), "chown the cluster folder to postgres");
        }
        let server = Self {
            port: free_port(),
            bin: pg_bindir(),
            dir,
            as_postgres,
        };
        let data = server.data();
        server.pg(
            "initdb",
            &[
                "-D",
                data.to_str().expect("utf-8 path"),
                "-A",
                "trust",
                "-U",
                "postgres",
            ],
        );
        server.run().await;
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// `tool` of the installed PostgreSQL, as the `postgres` user when needed.
    fn command(&self, tool: &str) -> Command {
        let program = self.bin.join(tool);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        }
    }

    fn pg(&self, tool: &str, args: &[&str]) {
        let output = self
            .command(tool)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {tool}: {e}"));
        assert!(
            output.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Starts (or restarts) the server and waits until it accepts connections.
    pub(crate) async fn run(&self) {
        let data = self.data();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=on",
            self.port,
            self.dir.display()
        );
        self.pg(
            "pg_ctl",
            &[
                "-D",
                data.to_str().expect("utf-8 path"),
                "-o",
                &options,
                "-l",
                self.dir.join("log").to_str().expect("utf-8 path"),
                "-w",
                "start",
            ],
        );
    }

    /// Runs `sql` through psql as the superuser.
    pub(crate) fn sql(&self, sql: &str) {
        self.pg(
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
        );
    }

    /// `pg_ctl stop -m immediate`: the server process ends without a
    /// checkpoint, as in a crash; the next start recovers from the WAL.
    pub(crate) fn crash(&self) {
        let data = self.data();
        self.pg(
            "pg_ctl",
            &[
                "-D",
                data.to_str().expect("utf-8 path"),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.data();
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The folder of the installed PostgreSQL's server programs.
fn pg_bindir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return dir;
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL under /usr/lib/postgresql (Debian's postgresql package)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().expect("an initdb under /usr/lib/postgresql")
}

/// A TCP proxy to `upstream` on a port of its own: [`Proxy::cut`] closes
/// every connection and stops listening while the server behind stays up;
/// [`Proxy::resume`] listens again on the same port.
pub(crate) struct Proxy {
    port: u16,
    upstream: SocketAddr,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Proxy {
    /// Starts forwarding a free port to `upstream`.
    pub(crate) async fn start(upstream: SocketAddr) -> Self {
        let mut proxy = Self {
            port: free_port(),
            upstream,
            task: None,
        };
        proxy.resume().await;
        proxy
    }

    /// The port clients connect to.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Closes every forwarded connection and the listener.
    pub(crate) async fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens and forwards again.
    pub(crate) async fn resume(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("bind the proxy port");
        let upstream = self.upstream;
        self.task = Some(tokio::spawn(async move {
            // Dropping the set (when this task is aborted) aborts every
            // connection's task, which closes both sides.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                connections.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        }));
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// `host:port` of a `mongodb://host:port/…` URL (the first host).
pub(crate) fn mongodb_addr(url: &str) -> SocketAddr {
    let rest = url
        .split_once("://")
        .map_or(url, |(_, r)| r)
        .rsplit_once('@')
        .map_or_else(|| url.split_once("://").map_or(url, |(_, r)| r), |(_, h)| h);
    let host = rest
        .split(['/', ',', '?'])
        .next()
        .unwrap_or("127.0.0.1:27017");
    let host = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:27017")
    };
    std::net::ToSocketAddrs::to_socket_addrs(&host)
        .ok()
        .and_then(|mut a| a.next())
        .unwrap_or_else(|| panic!("resolve {host}"))
}
