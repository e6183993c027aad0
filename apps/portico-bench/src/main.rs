//! `portico-bench`: what `make bench` needs besides the server and the load
//! generator.
//!
//! - `seed-users --count N`: N verified users written through the configured
//!   adapter (the same configuration as `portico`: `DATABASE_URL`,
//!   `PORTICO_STORES__*`, …), many at a time, all with one password hash.
//! - `seed-notifications --user ID --count N`: N notifications for one user.
//! - `hash-time`: the raw argon2id rate at the configured parameters on this
//!   thread, the baseline of the login scenario.
//! - `webhooks --count N`: webhook delivery throughput to a local receiver.

mod conversations;
mod webhooks;

use std::sync::Arc;
use std::time::Instant;

use clap::{Parser, Subcommand};
use domain::Stores;
use domain::*;
use futures::StreamExt;
use portico::Config;
use portico::backends::Backends;
use time::OffsetDateTime;

/// Seeding and baselines for the benchmarks.
#[derive(Debug, Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Writes N verified users `seed<i>` (password `bench password`).
    SeedUsers {
        /// How many.
        #[arg(long)]
        count: u64,
    },
    /// Writes N notifications for one user.
    SeedNotifications {
        /// The user's id.
        #[arg(long)]
        user: uuid::Uuid,
        /// How many.
        #[arg(long)]
        count: u64,
    },
    /// Prints the time of one argon2id hash at the configured parameters
    /// (median of `--runs`) and the resulting hashes per second on one core.
    HashTime {
        /// Hashes to time.
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// Seeds a conversation of N messages (and 99 small ones) and times
    /// posting, the newest 50 messages and the conversation list; prints
    /// `messages post/s newest50/s list/s`.
    Conversations {
        /// Messages in the measured conversation.
        #[arg(long, default_value_t = 1_000)]
        messages: u64,
    },
    /// Publishes N webhook events and delivers them to a local receiver;
    /// prints `published publish_secs delivered deliver_secs failed`.
    Webhooks {
        /// How many events.
        #[arg(long, default_value_t = 10_000)]
        count: u64,
    },
}

/// Writes at most this many records at once.
const CONCURRENCY: usize = 64;

async fn stores(config: &Config) -> Result<(Backends, Stores), Box<dyn std::error::Error>> {
    let backends = Backends::connect(config).await?;
    let stores = backends.stores(config)?;
    Ok((backends, stores))
}

fn user(
    i: u64,
    hash: &PasswordHash,
    now: OffsetDateTime,
) -> Result<User, Box<dyn std::error::Error>> {
    Ok(User::new_verified(
        UserId::from_uuid(uuid::Uuid::now_v7()),
        Email::parse(&format!("seed{i}@bench.example.org"))?,
        Username::parse(&format!("seed{i}"))?,
        hash.clone(),
        now,
    ))
}

fn notification(user_id: UserId, i: u64, now: OffsetDateTime) -> Notification {
    Notification {
        id: NotificationId::from_uuid(uuid::Uuid::now_v7()),
        user_id,
        content_session_id: None,
        conversation_id: None,
        message_id: None,
        task_id: None,
        kind: "bench".into(),
        toast_message: Some(format!("notification {i}")),
        image: None,
        urgency: Urgency::Normal,
        persistent: false,
        seen_at: None,
        response_data: None,
        created_at: now,
        expires_at: None,
    }
}

/// Runs `write(i)` for i in 0..count, [`CONCURRENCY`] at a time, printing progress.
async fn write_all<F, Fut>(
    what: &str,
    count: u64,
    write: F,
) -> Result<(), Box<dyn std::error::Error>>
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let started = Instant::now();
    let step = (count / 10).max(1);
    let mut done = 0u64;
    let mut writes = futures::stream::iter(0..count)
        .map(&write)
        .buffer_unordered(CONCURRENCY);
    while let Some(result) = writes.next().await {
        result?;
        done += 1;
        if done.is_multiple_of(step) || done == count {
            eprintln!(
                "seeded {done}/{count} {what} ({:.0}/s)",
                done as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let config = Config::load(None, std::env::vars())?;
    let s = &config.security;
    let params = platform::Argon2Params {
        memory_kib: s.argon2_memory_kib,
        iterations: s.argon2_iterations,
        parallelism: s.argon2_parallelism,
    };
    match cli.command {
        Command::SeedUsers { count } => {
            let hasher = platform::Argon2Hasher::new(params)?;
            let hash = hasher
                .hash(&Password::new("bench password".to_owned())?)
                .await?;
            let (backends, stores) = stores(&config).await?;
            let users = stores.users.clone();
            let now = truncate_to_millis(OffsetDateTime::now_utc());
            write_all("users", count, |i| {
                let users = users.clone();
                let u = user(i, &hash, now).map_err(|e| e.to_string());
                async move {
                    let u = u?;
                    match users.create(&u).await {
                        // A rerun over the same store: the user is there.
                        Ok(())
                        | Err(InsertUserError::EmailTaken | InsertUserError::UsernameTaken) => {
                            Ok(())
                        }
                        Err(e) => Err(e.to_string()),
                    }
                }
            })
            .await?;
            backends.close().await;
        }
        Command::SeedNotifications { user, count } => {
            let (backends, stores) = stores(&config).await?;
            let notifications: Arc<dyn NotificationRepository> = stores.notifications.clone();
            let user_id = UserId::from_uuid(user);
            write_all("notifications", count, |i| {
                let notifications = notifications.clone();
                let n = notification(user_id, i, truncate_to_millis(OffsetDateTime::now_utc()));
                async move { notifications.create(&n).await.map_err(|e| e.to_string()) }
            })
            .await?;
            backends.close().await;
        }
        Command::Webhooks { count } => webhooks::run(config, count).await?,
        Command::Conversations { messages } => {
            let hasher = platform::Argon2Hasher::new(params)?;
            let hash = hasher
                .hash(&Password::new("bench password".to_owned())?)
                .await?;
            conversations::run(config, messages, hash).await?
        }
        Command::HashTime { runs } => {
            // The raw computation: the argon2 crate alone, one reused buffer,
            // no allocation, threads or PHC formatting.
            let p = argon2::Params::new(
                params.memory_kib,
                params.iterations,
                params.parallelism,
                None,
            )
            .map_err(|e| e.to_string())?;
            let mut memory = vec![argon2::Block::default(); p.block_count()];
            let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p);
            let mut out = [0u8; 32];
            let mut times = Vec::with_capacity(runs);
            for _ in 0..runs.max(1) {
                let started = Instant::now();
                argon
                    .hash_password_into_with_memory(
                        b"bench password",
                        b"bench salt 16 by",
                        &mut out,
                        &mut memory,
                    )
                    .map_err(|e| e.to_string())?;
                times.push(started.elapsed().as_secs_f64());
            }
            times.sort_by(f64::total_cmp);
            let median = times[times.len() / 2];
            println!(
                "argon2id m={} KiB t={} p={}: {:.2} ms per hash, {:.1} hashes/s on one core",
                params.memory_kib,
                params.iterations,
                params.parallelism,
                median * 1000.0,
                1.0 / median
            );
        }
    }
    Ok(())
}
