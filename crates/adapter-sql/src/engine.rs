//! The two engines: pools, connection options, embedded migrations, and how
//! each stores time.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use domain::StoreError;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ColumnIndex, ConnectOptions, Decode, PgPool, Row, SqlitePool, Type};
use time::OffsetDateTime;

use crate::error::{SqlError, store};

// `SQLITE_MIGRATIONS` and `POSTGRES_MIGRATIONS`, from the files under
// `migrations/` (see build.rs).
include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// Every engine's migrations, embedded in the binary. Never edit a released
/// one: add a new file. PostgreSQL needs no table for auth changes (it has
/// LISTEN/NOTIFY), so the engines' lists differ from there on.
fn migrator(engine: &'static str) -> Migrator {
    let files = match engine {
        "sqlite" => SQLITE_MIGRATIONS,
        _ => POSTGRES_MIGRATIONS,
    };
    let migrations = files
        .iter()
        .map(|&(version, name, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(name),
                MigrationType::Simple,
                Cow::Borrowed(sql),
                false,
            )
        })
        .collect();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

/// How an engine stores an instant: SQLite as `i64` microseconds since the
/// epoch, PostgreSQL as `timestamptz` (microsecond precision on both).
pub(crate) trait DbTime: Sized {
    /// Encodes an instant.
    fn to_db(t: OffsetDateTime) -> Self;
    /// Decodes an instant.
    fn into_time(self) -> Result<OffsetDateTime, StoreError>;
}

impl DbTime for i64 {
    fn to_db(t: OffsetDateTime) -> Self {
        i64::try_from(t.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
    }
    fn into_time(self) -> Result<OffsetDateTime, StoreError> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self) * 1_000)
            .map_err(|e| StoreError::with_source("stored time out of range", e))
    }
}

impl DbTime for OffsetDateTime {
    fn to_db(t: OffsetDateTime) -> Self {
        t
    }
    fn into_time(self) -> Result<OffsetDateTime, StoreError> {
        Ok(self.to_offset(time::UtcOffset::UTC))
    }
}

/// Reads column `name` of `row`.
pub(crate) fn col<'r, T, R>(row: &'r R, name: &str) -> Result<T, StoreError>
where
    R: Row,
    T: Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
{
    row.try_get::<T, &str>(name)
        .map_err(|e| StoreError::with_source(format!("reading column {name}"), e))
}

/// Reads a time column stored as `D`.
pub(crate) fn col_time<'r, D, R>(row: &'r R, name: &str) -> Result<OffsetDateTime, StoreError>
where
    R: Row,
    D: DbTime + Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
{
    col::<D, R>(row, name)?.into_time()
}

/// Reads a nullable time column stored as `D`.
pub(crate) fn col_time_opt<'r, D, R>(
    row: &'r R,
    name: &str,
) -> Result<Option<OffsetDateTime>, StoreError>
where
    R: Row,
    D: DbTime + Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
{
    col::<Option<D>, R>(row, name)?
        .map(D::into_time)
        .transpose()
}

/// SQLite behind a connection pool. WAL mode, foreign keys on, 5 s busy timeout.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens `url`, creating the file (and its folder) if missing.
    pub(crate) async fn connect(
        url: &str,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> Result<Self, SqlError> {
        let options = if let Some(path) = url.strip_prefix("sqlite:///") {
            // The SQLAlchemy form: `sqlite:///./backend.db` is relative, `sqlite:////abs` absolute.
            SqliteConnectOptions::new().filename(path)
        } else {
            SqliteConnectOptions::from_str(url).map_err(SqlError::Connect)?
        };
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let filename = options.get_filename().to_path_buf();
        if !in_memory && let Some(dir) = filename.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| SqlError::Connect(sqlx::Error::Io(e)))?;
        }
        let options = options
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            .journal_mode(if in_memory {
                SqliteJournalMode::Memory
            } else {
                SqliteJournalMode::Wal
            })
            .synchronous(SqliteSynchronous::Normal);
        // Each connection to `:memory:` is its own database: keep exactly one.
        let size = if in_memory { 1 } else { max_connections.max(1) };
        let pool = SqlitePoolOptions::new()
            .max_connections(size)
            .acquire_timeout(acquire_timeout)
            // sqlx pings a connection on every checkout by default. A SQLite
            // connection is a file handle on a thread of ours that cannot
            // hang up, and the ping is one more hand-off to that thread for
            // every statement: it was half of the thread switches of a request.
            .test_before_acquire(false)
            .min_connections(if in_memory { 1 } else { 0 })
            .idle_timeout(if in_memory {
                None
            } else {
                Some(Duration::from_secs(600))
            })
            .max_lifetime(if in_memory {
                None
            } else {
                Some(Duration::from_secs(1800))
            })
            .connect_with(options)
            .await
            .map_err(SqlError::Connect)?;
        Ok(Self { pool })
    }

    pub(crate) async fn migrate(&self) -> Result<(), SqlError> {
        migrator("sqlite")
            .run(&self.pool)
            .await
            .map_err(SqlError::Migrate)
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(store("ping"))
    }

    /// The pool, for callers that need raw access (tests, tooling).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

/// A pooled PostgreSQL connection idle this long is pinged before it is
/// handed out again.
const PG_PING_AFTER_IDLE: Duration = Duration::from_secs(30);

/// PostgreSQL behind a connection pool.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    /// The LISTEN/NOTIFY channel of new notifications: one per schema, so
    /// that databases sharing a server do not hear each other.
    channel: std::sync::Arc<str>,
    /// The channel of changes to authentication, one per schema likewise.
    auth_channel: std::sync::Arc<str>,
}

impl PgStore {
    pub(crate) async fn connect(
        url: &str,
        max_connections: u32,
        schema: Option<&str>,
        acquire_timeout: Duration,
    ) -> Result<Self, SqlError> {
        let mut options = PgConnectOptions::from_str(url).map_err(SqlError::Connect)?;
        let mut channel = match schema {
            Some(schema) => format!("portico_notifications_{schema}"),
            None => "portico_notifications".to_owned(),
        };
        let mut auth_channel = match schema {
            Some(schema) => format!("portico_auth_{schema}"),
            None => "portico_auth".to_owned(),
        };
        // PostgreSQL channel names are identifiers: at most 63 bytes (ASCII here).
        channel.truncate(63);
        auth_channel.truncate(63);
        if let Some(schema) = schema {
            if !schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
                || schema.is_empty()
            {
                return Err(SqlError::Connect(sqlx::Error::Configuration(
                    "schema name must be [A-Za-z0-9_]+".into(),
                )));
            }
            let mut admin = options.connect().await.map_err(SqlError::Connect)?;
            sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                .execute(&mut admin)
                .await
                .map_err(SqlError::Connect)?;
            options = options.options([("search_path", schema)]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(acquire_timeout)
            // Ping only a connection that sat idle for a while (the server or
            // a proxy may have dropped it), not on every checkout: the default
            // ping is a full round trip before every statement.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PG_PING_AFTER_IDLE {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await
            .map_err(SqlError::Connect)?;
        Ok(Self {
            pool,
            channel: channel.into(),
            auth_channel: auth_channel.into(),
        })
    }

    /// The channel new notifications are announced on.
    pub(crate) fn channel(&self) -> &str {
        &self.channel
    }

    /// The channel changes to authentication are announced on.
    pub(crate) fn auth_channel(&self) -> &str {
        &self.auth_channel
    }

    pub(crate) async fn migrate(&self) -> Result<(), SqlError> {
        migrator("postgres")
            .run(&self.pool)
            .await
            .map_err(SqlError::Migrate)
    }

    pub(crate) async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(store("ping"))
    }

    /// The pool, for callers that need raw access (tests, tooling).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}
