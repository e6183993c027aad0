//! The work every instance runs beside its requests: the notification
//! feed's fan-out, the listener that keeps cached principals current, the
//! follower of the runtime settings, the mail worker, the keyring file's watcher, the usage-counter writer, and
//! (when `jobs.enabled`) the upload sweep, the purge and the statistics'
//! roll-up under leases.

use std::sync::Arc;

use crate::config::Config;
use crate::services::Runtime;

/// The running background tasks of one [`Runtime`].
pub struct Background {
    /// The feed listeners, the mail worker, the watcher and the jobs.
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The usage-counter writer: told to stop, it writes what is left, then ends.
    usage: (Arc<tokio::sync::Notify>, tokio::task::JoinHandle<()>),
}

impl Runtime {
    /// Spawns the background work on the current tokio runtime.
    pub fn spawn_background(&self, config: &Config) -> Background {
        let mut tasks = vec![
            tokio::spawn(self.live.clone().run()),
            tokio::spawn(crate::principals::run(
                self.principals.clone(),
                self.auth_changes.clone(),
            )),
            tokio::spawn(crate::settings::follow(
                self.settings.clone(),
                self.principals.changes(),
                std::time::Duration::from_millis(config.settings.poll_interval_ms),
            )),
            tokio::spawn(crate::mail_worker::run(
                self.mail.clone(),
                self.mail_wake.clone(),
                std::time::Duration::from_millis(config.mail.poll_interval_ms.max(10)),
                self.metrics.clone(),
            )),
            tokio::spawn(crate::webhooks::run(
                self.webhook_dispatch.clone(),
                self.webhook_wake.clone(),
                std::time::Duration::from_millis(config.webhooks.poll_interval_ms.max(10)),
                self.metrics.clone(),
            )),
        ];
        if let Some(keyring) = &self.keyring {
            tasks.push(tokio::spawn(keyring.clone().watch()));
        }
        if let Some(keys) = &self.jwt_keys {
            tasks.push(tokio::spawn(keys.clone().watch()));
        }
        if config.jobs.enabled {
            let secs = std::time::Duration::from_secs;
            tasks.extend(crate::jobs::spawn(
                self.leases.clone(),
                self.metrics.clone(),
                crate::jobs::Jobs {
                    uploads: (
                        self.uploads.clone(),
                        secs(config.uploads.sweep_interval_secs),
                    ),
                    maintenance: (
                        self.maintenance.clone(),
                        secs(config.jobs.purge_interval_secs),
                    ),
                    stats: (self.stats.clone(), secs(config.jobs.stats_interval_secs)),
                    backups: config
                        .backups
                        .interval()
                        .ok()
                        .flatten()
                        .map(|every| (self.backups.clone(), every)),
                },
            ));
        }
        let stop = Arc::new(tokio::sync::Notify::new());
        let usage = (
            stop.clone(),
            tokio::spawn(crate::jobs::flush_usage(
                self.rate_limits.clone(),
                std::time::Duration::from_millis(config.rate_limits.usage_flush_ms.max(10)),
                stop,
            )),
        );
        Background { tasks, usage }
    }
}

impl Background {
    /// Writes the usage counted since the last flush, then stops every task
    /// and waits until they are gone, so nothing uses the stores after
    /// this returns. Call it once no request counts any more.
    pub async fn stop(self) {
        let (stop_usage, usage) = self.usage;
        stop_usage.notify_one();
        let _ = usage.await;
        for task in &self.tasks {
            task.abort();
        }
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
