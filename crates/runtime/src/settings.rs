//! Keeping this instance's runtime settings current: a change made here is
//! in force at once (the domain applies it); one made by another instance
//! is announced on the auth-change feed, which wakes this task to read the
//! record again, and the task also reads it on a timer, so a lost
//! announcement delays a change by one poll interval at most.

use std::time::Duration;

use domain::{AuthChange, Settings};
use tokio::sync::broadcast::error::RecvError;

/// Follows changes to the settings until the task is aborted: `changes`
/// is what the principal cache passes on from the feed.
pub async fn follow(
    settings: Settings,
    mut changes: tokio::sync::broadcast::Receiver<AuthChange>,
    poll: Duration,
) {
    let mut tick = tokio::time::interval(poll.max(Duration::from_millis(50)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            change = changes.recv() => match change {
                Ok(AuthChange::Settings | AuthChange::Everyone) | Err(RecvError::Lagged(_)) => {}
                Ok(_) => continue,
                // The cache is gone: the runtime is stopping.
                Err(RecvError::Closed) => return,
            },
        }
        match settings.refresh().await {
            Ok(changed) => {
                if changed {
                    tracing::info!(
                        version = settings.live().current().version,
                        "runtime settings changed"
                    );
                }
                if failing {
                    tracing::info!("runtime settings readable again");
                    failing = false;
                }
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %crate::error_chain(&e), "cannot read the runtime settings; keeping the values in force");
                    failing = true;
                }
            }
        }
    }
}
