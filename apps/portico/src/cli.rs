//! The command line: `serve` (default), `migrate`, `admin create`, `keys`,
//! `config`, `openapi`, `sweep`, `dump`, `restore` and `snapshot`.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use domain::AdminBootstrap;
use domain::{Email, Password, TokenGenerator, Username};

use crate::backends::Backends;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::startup::Application;
use runtime::Runtime;

#[path = "cli_keys.rs"]
mod keys;
use keys::{reseal, retire_key, rotate_jwt_keys, rotate_keys};
#[path = "cli_transfer.rs"]
mod transfer;
use transfer::{dump, restore, snapshot};

/// Portico: the backend core for apps with user accounts.
///
/// With no command it serves, as `portico serve` does.
#[derive(Debug, Parser)]
#[command(
    name = "portico",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// Configuration file (TOML). Default: `portico.toml` when it exists.
    #[arg(long, global = true, env = "PORTICO_CONFIG")]
    pub config: Option<PathBuf>,
    /// The server's flags, when no command is given.
    #[command(flatten)]
    pub serve: ServeArgs,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `--listen`, for the commands that serve or show the configuration.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on, `host:port` (`127.0.0.1:8080`, `localhost:8080`,
    /// `0.0.0.0:8080`; `server.listen`); beats the file and the environment.
    #[arg(long, value_name = "ADDR", value_parser = runtime::config::parse_listen)]
    pub listen: Option<std::net::SocketAddr>,
    /// The data folder.
    #[command(flatten)]
    pub data: DataDirArg,
}

/// `--data-dir`, for the commands that use the data folder.
#[derive(Debug, Clone, Default, Args)]
pub struct DataDirArg {
    /// Folder for the SQLite database, keys, outbox and objects
    /// (`server.data_dir`); beats the file and the environment.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// What `portico` can do: serve, migrate, and administration commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(DataDirArg),
    /// Administrator accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The keyring that seals secrets at rest (TOTP secrets).
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print the effective configuration, secrets redacted.
    Config(ServeArgs),
    /// Print the OpenAPI document (what `/openapi.json` serves), for client
    /// generators and linters; needs no database.
    Openapi,
    /// Run the upload sweep once, now: delete expired upload requests with
    /// their objects, and objects no request references. Waits for nothing:
    /// if another instance is sweeping at this moment, says so and exits 1.
    Sweep(DataDirArg),
    /// Write every record of every store as a dump document (one JSON
    /// object per line; zstd-compressed with `--zstd` or an `--out` ending
    /// in `.zst`), while the server keeps serving. Counts per kind go to
    /// standard error.
    Dump {
        /// The file to write (default: standard output). Written to a
        /// temporary file beside it and renamed when complete.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Compress with zstd.
        #[arg(long)]
        zstd: bool,
        /// The data folder.
        #[command(flatten)]
        data: DataDirArg,
    },
    /// SQLite only: write a consistent copy of the database file while the
    /// server serves (`VACUUM INTO`), much faster than a dump; it restores
    /// only into SQLite (put it in place of `portico.db`, the server
    /// stopped).
    Snapshot {
        /// The file to write (must not exist).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// The data folder.
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Load a dump into the configured stores, which must be empty: the
    /// whole file is checked first (version, every line, the counts), so a
    /// truncated or newer dump writes nothing.
    Restore {
        /// The dump (plain or zstd).
        file: PathBuf,
        /// The data folder.
        #[command(flatten)]
        data: DataDirArg,
    },
}

/// `portico admin …`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an administrator, or grant `admin` to the existing user with
    /// this email and username. A new account gets a generated one-time
    /// password, printed once, unless `--password-stdin` is given.
    Create {
        /// Email address.
        #[arg(long)]
        email: String,
        /// Username of the account.
        #[arg(long)]
        username: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// The data folder.
        #[command(flatten)]
        data: DataDirArg,
    },
}

/// `portico keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new current key to `<data_dir>/encryption.keys` (old keys stay,
    /// to open what they sealed), then re-seal every stored secret under it.
    /// With `--jwt`, add a new JWT signing key to `<data_dir>/jwt.keys`
    /// instead (older keys stay published until their tokens expire, then
    /// leave the file at a later rotation). Running instances that share
    /// the file follow it within seconds.
    Rotate {
        /// Rotate the JWT signing keys, not the encryption keys.
        #[arg(long)]
        jwt: bool,
        /// The data folder.
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Re-seal every stored secret that is not under the current key (after
    /// a new key was added to `security.encryption_keys`, or to finish an
    /// interrupted rotation).
    Reseal(DataDirArg),
    /// Remove an old key from `<data_dir>/encryption.keys`. Refused for the
    /// current key, and while any stored secret is still sealed under it
    /// (run `portico keys reseal` first).
    Retire {
        /// The key's id (`k1`, …), as the file lists it.
        id: String,
        /// The data folder.
        #[command(flatten)]
        data: DataDirArg,
    },
}

impl Command {
    /// The `--listen` and `--data-dir` this command was given.
    fn overrides(&self) -> ServeArgs {
        match self {
            Command::Serve(a) | Command::Config(a) => a.clone(),
            Command::Migrate(d)
            | Command::Sweep(d)
            | Command::Dump { data: d, .. }
            | Command::Restore { data: d, .. }
            | Command::Snapshot { data: d, .. }
            | Command::Admin(AdminCommand::Create { data: d, .. })
            | Command::Keys(
                KeysCommand::Rotate { data: d, .. }
                | KeysCommand::Reseal(d)
                | KeysCommand::Retire { data: d, .. },
            ) => ServeArgs {
                listen: None,
                data: d.clone(),
            },
            Command::Openapi => ServeArgs::default(),
        }
    }
}

/// Runs the command; the error is printed by `main`.
pub async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = Config::load(cli.config.as_deref(), std::env::vars())?;
    let command = cli.command.unwrap_or(Command::Serve(cli.serve));
    let given = command.overrides();
    if let Some(listen) = given.listen {
        config.server.listen = listen;
    }
    if let Some(dir) = given.data.data_dir {
        config.server.data_dir = dir;
    }
    let warnings = config.warnings(std::env::vars());
    if !matches!(command, Command::Serve(_)) {
        for w in &warnings {
            eprintln!("warning: {w}");
        }
    }
    if !matches!(command, Command::Config(_) | Command::Openapi) {
        private_files(&config.server.data_dir)?;
    }
    match command {
        Command::Serve(_) => {
            let _log = crate::init_tracing(&config);
            for w in &warnings {
                tracing::warn!("{w}");
            }
            // The User-Agent rules compile while the stores connect.
            adapter_uap::UapDevices::warm();
            let app = Application::build(config).await?;
            app.run_until_stopped().await?;
        }
        Command::Migrate(_) => {
            let backends = Backends::connect(&config).await?;
            let url = crate::config::redact_url(&config.database_url());
            match backends.migrated() {
                [] => println!("{url}: the schema is current; nothing to apply"),
                applied => {
                    println!("{url}: applied {} migration(s):", applied.len());
                    for m in applied {
                        println!("  {m}");
                    }
                }
            }
            backends.close().await;
        }
        Command::Config(_) => print!("{}", config.to_redacted_toml()),
        Command::Openapi => println!(
            "{}",
            serde_json::to_string_pretty(&crate::openapi::document_for(&config.public_url()))?
        ),
        Command::Sweep(_) => sweep(&config).await?,
        Command::Dump { out, zstd, .. } => dump(&config, out.as_deref(), zstd).await?,
        Command::Restore { file, .. } => restore(&config, &file).await?,
        Command::Snapshot { out, .. } => snapshot(&config, &out).await?,
        Command::Admin(AdminCommand::Create {
            email,
            username,
            password_stdin,
            ..
        }) => admin_create(&config, &email, &username, password_stdin).await?,
        Command::Keys(KeysCommand::Rotate { jwt: true, .. }) => rotate_jwt_keys(&config)?,
        Command::Keys(KeysCommand::Rotate { jwt: false, .. }) => {
            rotate_keys(&config)?;
            reseal(&config).await?;
        }
        Command::Keys(KeysCommand::Reseal(_)) => reseal(&config).await?,
        Command::Keys(KeysCommand::Retire { id, .. }) => retire_key(&config, &id).await?,
    }
    Ok(())
}

/// Everything the process creates is private to its user (umask 077: files
/// 0600, folders 0700): the data folder holds the SQLite database, mailed
/// tokens in the outbox and the signing key. The data folder itself is
/// created 0700, and an existing one is made 0700.
fn private_files(data_dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data_dir)?;
    std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700))
}

async fn sweep(config: &Config) -> Result<(), Box<dyn std::error::Error>> {
    let backends = Backends::connect(config).await?;
    let state = &Runtime::build(config, &backends, Arc::new(Metrics::default()))?;
    let holder = format!("cli-{}", uuid::Uuid::new_v4().simple());
    let started = std::time::Instant::now();
    let outcome =
        crate::jobs::run_exclusive(&*state.leases, &holder, crate::jobs::UPLOAD_SWEEP, || {
            state.uploads.sweep()
        })
        .await;
    backends.close().await;
    match outcome.map_err(|e| crate::problem::error_chain(&e))? {
        Some(report) => {
            println!(
                "swept in {:.1} s: {} expired upload requests and {} dangling objects removed",
                started.elapsed().as_secs_f64(),
                report.expired_requests,
                report.dangling_objects
            );
            Ok(())
        }
        None => {
            Err("another instance is running the upload sweep right now; try again later".into())
        }
    }
}

async fn admin_create(
    config: &Config,
    email: &str,
    username: &str,
    password_stdin: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let email = Email::parse(email).map_err(|e| format!("--email: {e}"))?;
    let username = Username::parse(username).map_err(|e| format!("--username: {e}"))?;
    let (password, generated) = if password_stdin {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            eprint!("password: ");
        }
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        (
            Password::new(line).map_err(|e| format!("password: {e}"))?,
            false,
        )
    } else {
        // 128 bits from the OS RNG, as 32 hex characters.
        let token = platform::OsRandomTokens.generate();
        let text: String = token.expose().chars().take(32).collect();
        (Password::new(text)?, true)
    };
    let backends = Backends::connect(config).await?;
    let services = Runtime::build(config, &backends, Arc::new(Metrics::default()))?;
    services.prepare(config).await?;
    let outcome = services
        .admin
        .ensure_admin(email, username, &password)
        .await;
    backends.close().await;
    match outcome.map_err(|e| crate::problem::error_chain(&e))? {
        AdminBootstrap::Created(user) => {
            println!(
                "created administrator {} <{}> ({})",
                user.username, user.email, user.id
            );
            if generated {
                println!("one-time password: {}", password.expose());
                println!("sign in and change it with PATCH /v1/me {{\"password\": {{…}}}}");
            }
        }
        AdminBootstrap::Promoted(user) => {
            println!(
                "granted admin to {} <{}> ({}); password unchanged",
                user.username, user.email, user.id
            );
        }
        AdminBootstrap::AlreadyAdmin(user) => {
            println!(
                "{} <{}> is already an administrator; nothing changed",
                user.username, user.email
            );
        }
    }
    Ok(())
}
