//! The server, database and store sections: where Portico listens and
//! which stores serve which port groups.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// HTTP listener settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on: `host:port` with an IP address or a host name
    /// (`localhost:8080`; a name is resolved once, at start, preferring
    /// IPv4); port 0 picks a free port.
    #[serde(deserialize_with = "listen_address")]
    pub listen: SocketAddr,
    /// The address users reach the server at; mail links are built from it.
    /// Empty means `http://<listen>`.
    pub public_url: String,
    /// Worker threads; 0 means one per CPU core.
    pub workers: usize,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// How long graceful shutdown waits for in-flight requests, in seconds.
    pub shutdown_timeout_secs: u64,
    /// The old switch for one proxy in front: the same as
    /// `trusted_proxies = 1`.
    pub trust_forwarded_for: bool,
    /// The proxies in front of the server, as a count (`1`: one load
    /// balancer) or address ranges (`["10.0.0.0/8"]`): the client IP is the
    /// first untrusted hop of `X-Forwarded-For` from the right. Unset:
    /// `X-Forwarded-For` is ignored and the peer address is the client.
    pub trusted_proxies: crate::proxies::TrustedProxies,
    /// Origins allowed to call the API from a browser (CORS). Empty: none.
    pub cors_origins: Vec<String>,
    /// Folder for local data (the default SQLite file, objects, the outbox).
    pub data_dir: PathBuf,
    /// How long a client may take to send a request's head (line and
    /// headers), in milliseconds; past it the connection closes (408).
    pub request_head_timeout_ms: u64,
    /// Seconds a request body may take before the minimum rate applies.
    pub body_grace_secs: u64,
    /// Average bytes per second a request body must keep up after the
    /// grace time, or the request fails with 408 and the connection closes.
    pub body_min_bytes_per_sec: u64,
    /// Open connections the server accepts at once (over all workers); more
    /// wait in the listen backlog. Keep it below the file-descriptor limit
    /// (`ulimit -n`) less what the stores and files need.
    pub max_connections: usize,
    /// Serve `GET /metrics`. Turn off where the port is public and scrape
    /// another way; off, it answers 404.
    pub metrics: bool,
    /// Serve `GET /metrics` on this address instead (for example a private
    /// interface); the main listener's `/metrics` then answers 404.
    pub metrics_listen: Option<SocketAddr>,
    /// Serve `GET /docs` (Swagger UI) and `GET /openapi.json`; off, both 404.
    pub docs: bool,
    /// Serve the admin console at `/admin` (it signs in users holding
    /// `console:access` and works through the API); off, it 404s.
    pub console: bool,
    /// `Strict-Transport-Security: max-age=<this>` on every response when
    /// `public_url` is https; 0 (the default) sends none.
    pub hsts_max_age_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: String::new(),
            workers: 0,
            body_limit_bytes: 64 * 1024,
            shutdown_timeout_secs: 30,
            trust_forwarded_for: false,
            trusted_proxies: crate::proxies::TrustedProxies::default(),
            cors_origins: Vec::new(),
            data_dir: PathBuf::from("data"),
            hsts_max_age_secs: 0,
            request_head_timeout_ms: 5000,
            body_grace_secs: 5,
            body_min_bytes_per_sec: 1024,
            max_connections: 800,
            metrics: true,
            metrics_listen: None,
            docs: true,
            console: true,
        }
    }
}

/// Resolves `host:port`, where `host` is an IP address (`[::1]` for IPv6)
/// or a host name, to the address to bind: a name's first IPv4 address,
/// else its first address.
pub fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!(
            "{text:?} is not host:port (for example 127.0.0.1:8080 or localhost:8080)"
        ));
    };
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(format!(
            "{text:?} is not host:port (for example 127.0.0.1:8080 or localhost:8080)"
        ));
    }
    let found: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host:?}: {e}"))?
        .collect();
    found
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| found.first())
        .copied()
        .ok_or_else(|| format!("{host:?} resolves to no address"))
}

fn listen_address<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(d)?;
    parse_listen(&text).map_err(serde::de::Error::custom)
}

/// The SQL database.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://…` or `postgres://…`; empty means `<data_dir>/portico.db`.
    pub url: String,
    /// Connection pool size; 0 picks 10.
    pub max_connections: u32,
    /// PostgreSQL schema for Portico's tables (default: the search path).
    pub pg_schema: Option<String>,
    /// How long a statement waits for a connection (opening one included)
    /// before the request answers 503, in milliseconds; 0 picks 3000.
    pub acquire_timeout_ms: u64,
}

impl DatabaseConfig {
    /// The acquire timeout in effect.
    pub fn acquire_timeout(&self) -> Duration {
        millis_or(self.acquire_timeout_ms, 3000)
    }
}

/// `ms` milliseconds, or `default` when `ms` is 0.
fn millis_or(ms: u64, default: u64) -> Duration {
    Duration::from_millis(if ms == 0 { default } else { ms })
}

/// MongoDB settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MongoDbConfig {
    /// Any MongoDB connection string (`MONGODB_URL` overrides it).
    pub url: String,
    /// Database holding Portico's collections.
    pub database: String,
    /// How long opening a connection may take, in milliseconds.
    pub connect_timeout_ms: u64,
    /// How long an operation waits for a reachable server before the
    /// request answers 503, in milliseconds (also bounds start-up).
    pub server_selection_timeout_ms: u64,
}

impl Default for MongoDbConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            database: "portico".into(),
            connect_timeout_ms: 3000,
            server_selection_timeout_ms: 3000,
        }
    }
}

/// Redis settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://`, `rediss://` or `redis-cluster://host:port?node=…`
    /// (`REDIS_URL` overrides it).
    pub url: String,
    /// Prepended to every key (letters, digits, `_`, `-`).
    pub prefix: String,
    /// Connections in the pool.
    pub pool_size: usize,
    /// How long opening a connection may take, in milliseconds.
    pub connect_timeout_ms: u64,
    /// How long a command waits for its answer (also while reconnecting)
    /// before the request answers 503, in milliseconds.
    pub command_timeout_ms: u64,
    /// Longest pause between reconnection attempts, in milliseconds. The
    /// client reconnects by itself with exponential backoff up to this.
    pub reconnect_max_delay_ms: u64,
}

impl Default for RedisConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            prefix: "portico".into(),
            pool_size: 4,
            connect_timeout_ms: 3000,
            command_timeout_ms: 3000,
            reconnect_max_delay_ms: 2000,
        }
    }
}

/// A backend that can serve a port group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The SQL database of `[database]`.
    Sql,
    /// The MongoDB database of `[mongodb]`.
    Mongodb,
    /// The Redis server or cluster of `[redis]`.
    Redis,
}

/// Which backend serves each port group: `sql`, `mongodb` or `redis`. The
/// groups other than `durable` follow `durable` unless set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoresConfig {
    /// Users, roles, content sessions, notifications, payments.
    pub durable: Backend,
    /// Auth sessions, refresh tokens, single-use tokens, registration candidates.
    pub sessions: Option<Backend>,
    /// Rate-limit and usage counters.
    pub rate_limits: Option<Backend>,
    /// Upload requests (short-lived; Redis suits them).
    pub uploads: Option<Backend>,
    /// Longest any one store call may take, in milliseconds, whatever the
    /// driver does (a server that accepts and never answers): past it the
    /// request answers 503 `store-unavailable`. A safety net behind the
    /// drivers' own timeouts, long enough for a background purge of many rows.
    pub call_timeout_ms: u64,
}

impl Default for StoresConfig {
    fn default() -> Self {
        Self {
            durable: Backend::Sql,
            sessions: None,
            rate_limits: None,
            uploads: None,
            call_timeout_ms: 30_000,
        }
    }
}

impl StoresConfig {
    /// The backend of the sessions group.
    pub fn sessions(&self) -> Backend {
        self.sessions.unwrap_or(self.durable)
    }
    /// The backend of the rate-limit group.
    pub fn rate_limits(&self) -> Backend {
        self.rate_limits.unwrap_or(self.durable)
    }
    /// The backend of the uploads group.
    pub fn uploads(&self) -> Backend {
        self.uploads.unwrap_or(self.durable)
    }
}
