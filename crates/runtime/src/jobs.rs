//! Background jobs: the upload sweep (hourly by default), the purge of
//! expired records, the statistics' roll-up and scheduled backups. Each runs under two leases in the durable store:
//!
//! - `<job>:period`, taken for 90 % of the interval and kept, so that of
//!   several instances waking in the same interval only one runs the job;
//!   the holder renews it each interval, and another instance takes over
//!   when it stops;
//! - `<job>:run`, held only while the job runs (also by `portico sweep`),
//!   so that a job never runs twice at once.
//!
//! Every run is logged with what it removed and counted in /metrics.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use domain::{LeaseRepository, StoreError};
use domain::{Maintenance, Uploads};
use time::OffsetDateTime;

use crate::metrics::Metrics;

/// The upload sweep's name (in leases, logs and metrics).
pub const UPLOAD_SWEEP: &str = "upload_sweep";
/// The purge's name.
pub const PURGE: &str = "purge_expired";
/// The statistics' roll-up's name.
pub const STATS_ROLLUP: &str = "stats_rollup";

/// How long a run may hold its `:run` lease before another may start.
const RUN_LEASE: time::Duration = time::Duration::minutes(30);

/// Runs `work` under the `<name>:run` lease held by `holder`; `Ok(None)`
/// when another holder is running it now.
pub async fn run_exclusive<T, F, Fut>(
    leases: &dyn LeaseRepository,
    holder: &str,
    name: &str,
    work: F,
) -> Result<Option<T>, StoreError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let lease = format!("{name}:run");
    if !leases.try_acquire(&lease, holder, now(), RUN_LEASE).await? {
        return Ok(None);
    }
    let result = work().await;
    if let Err(e) = leases.release(&lease, holder).await {
        tracing::warn!(job = name, error = %crate::error_chain(&e), "cannot release the job lease; it expires by itself");
    }
    result.map(Some)
}

fn now() -> OffsetDateTime {
    domain::truncate_to_millis(OffsetDateTime::now_utc())
}

/// Up to a tenth of `interval`, at random.
fn jitter(interval: Duration) -> Duration {
    let max = (interval / 10).as_millis().max(1);
    let random = uuid::Uuid::new_v4().as_u128() % max;
    Duration::from_millis(u64::try_from(random).unwrap_or(0))
}

/// One scheduled job: what it runs and how its result is reported.
struct Scheduled<F> {
    name: &'static str,
    interval: Duration,
    leases: Arc<dyn LeaseRepository>,
    holder: String,
    metrics: Arc<Metrics>,
    work: F,
}

impl<F, Fut> Scheduled<F>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Vec<(&'static str, u64)>, StoreError>>,
{
    async fn run_forever(self) {
        loop {
            tokio::time::sleep(jitter(self.interval)).await;
            self.tick().await;
            tokio::time::sleep(self.interval).await;
        }
    }

    async fn tick(&self) {
        let period = time::Duration::try_from(self.interval.mul_f64(0.9))
            .unwrap_or(time::Duration::minutes(1));
        let claimed = self
            .leases
            .try_acquire(
                &format!("{}:period", self.name),
                &self.holder,
                now(),
                period,
            )
            .await;
        let outcome = match claimed {
            Ok(false) => Ok(None),
            Ok(true) => {
                run_exclusive(&*self.leases, &self.holder, self.name, || (self.work)()).await
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok(Some(removed)) => {
                let total: u64 = removed.iter().map(|(_, n)| n).sum();
                tracing::info!(job = self.name, counts = ?removed, total, "job ran");
                self.metrics.job(self.name, "ok", &removed);
            }
            Ok(None) => {
                tracing::debug!(job = self.name, "another instance runs this job");
                self.metrics.job(self.name, "skipped", &[]);
            }
            Err(e) => {
                tracing::error!(job = self.name, error = %crate::error_chain(&e), "job failed; next try in one interval");
                self.metrics.job(self.name, "error", &[]);
            }
        }
    }
}

/// What a sweep removed, as metric kinds.
pub fn sweep_counts(r: domain::SweepReport) -> Vec<(&'static str, u64)> {
    vec![
        ("expired_requests", r.expired_requests),
        ("dangling_objects", r.dangling_objects),
    ]
}

/// What a purge removed, as metric kinds (every field: a new kind that is
/// not listed here does not compile).
pub fn purge_counts(r: domain::PurgeReport) -> Vec<(&'static str, u64)> {
    let domain::PurgeReport {
        sessions,
        candidates,
        one_time_tokens,
        notifications,
        rate_limit_counters,
        oauth_flows,
        passkey_challenges,
        activity_events,
        webhook_attempts,
    } = r;
    vec![
        ("sessions", sessions),
        ("candidates", candidates),
        ("one_time_tokens", one_time_tokens),
        ("notifications", notifications),
        ("rate_limit_counters", rate_limit_counters),
        ("oauth_flows", oauth_flows),
        ("passkey_challenges", passkey_challenges),
        ("activity_events", activity_events),
        ("webhook_attempts", webhook_attempts),
    ]
}

/// The scheduled jobs' services, each with its interval.
pub struct Jobs {
    /// The upload sweep.
    pub uploads: (Uploads, Duration),
    /// The purge of expired records.
    pub maintenance: (Maintenance, Duration),
    /// The statistics' roll-up.
    pub stats: (domain::Statistics, Duration),
    /// Scheduled backups, when `backups.every` is set.
    pub backups: Option<(crate::backups::BackupWriter, Duration)>,
}

/// What a roll-up counted, as metric kinds.
pub fn rollup_counts(t: domain::Totals) -> Vec<(&'static str, u64)> {
    let mut counts = vec![
        ("users_total", t.users_total),
        ("users_verified", t.users_verified),
        ("users_suspended", t.users_suspended),
    ];
    counts.extend(t.sessions_active.map(|n| ("sessions_active", n)));
    counts
}

/// Starts the jobs on the current runtime; the handles stop them when aborted.
pub fn spawn(
    leases: Arc<dyn LeaseRepository>,
    metrics: Arc<Metrics>,
    jobs: Jobs,
) -> Vec<tokio::task::JoinHandle<()>> {
    let holder = format!("instance-{}", uuid::Uuid::new_v4().simple());
    let Jobs {
        uploads: (uploads, sweep_every),
        maintenance: (maintenance, purge_every),
        stats: (stats, stats_every),
        backups,
    } = jobs;
    let mut tasks = Vec::new();
    if let Some((writer, every)) = backups {
        let backup = Scheduled {
            name: crate::backups::BACKUP,
            interval: every,
            leases: leases.clone(),
            holder: holder.clone(),
            metrics: metrics.clone(),
            work: move || {
                let writer = writer.clone();
                async move { writer.run().await.map(crate::backups::backup_counts) }
            },
        };
        tasks.push(tokio::spawn(backup.run_forever()));
    }
    let sweep = Scheduled {
        name: UPLOAD_SWEEP,
        interval: sweep_every,
        leases: leases.clone(),
        holder: holder.clone(),
        metrics: metrics.clone(),
        work: move || {
            let uploads = uploads.clone();
            async move { uploads.sweep().await.map(sweep_counts) }
        },
    };
    let purge = Scheduled {
        name: PURGE,
        interval: purge_every,
        leases: leases.clone(),
        holder: holder.clone(),
        metrics: metrics.clone(),
        work: move || {
            let maintenance = maintenance.clone();
            async move { maintenance.purge_expired().await.map(purge_counts) }
        },
    };
    let rollup = Scheduled {
        name: STATS_ROLLUP,
        interval: stats_every,
        leases,
        holder,
        metrics,
        work: move || {
            let stats = stats.clone();
            async move { stats.roll_up().await.map(rollup_counts) }
        },
    };
    tasks.extend([
        tokio::spawn(sweep.run_forever()),
        tokio::spawn(purge.run_forever()),
        tokio::spawn(rollup.run_forever()),
    ]);
    tasks
}

/// Writes the usage counters counted in memory every `interval`, and once
/// more when `stop` is notified (after the HTTP server stopped taking
/// requests), then returns. A failed write keeps its counts for the next.
pub async fn flush_usage(
    rate_limits: domain::RateLimits,
    interval: Duration,
    stop: Arc<tokio::sync::Notify>,
) {
    let mut failing = false;
    loop {
        let last = tokio::select! {
            () = tokio::time::sleep(interval) => false,
            () = stop.notified() => true,
        };
        match rate_limits.flush().await {
            Ok(written) => {
                if failing {
                    tracing::info!(written, "usage counters written again");
                }
                failing = false;
                if last {
                    tracing::info!(written, "usage counters written at shutdown");
                }
            }
            Err(e) => {
                if !failing || last {
                    tracing::warn!(error = %crate::error_chain(&e), "cannot write usage counters; keeping them for the next try");
                }
                failing = true;
            }
        }
        if last {
            return;
        }
    }
}
