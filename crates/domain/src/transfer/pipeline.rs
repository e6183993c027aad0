//! Loading a whole dump with several accounts at once: the records of one
//! user (the account and what follows it up to the next account) form a
//! unit loaded in order by its own [`DumpLoader`]; up to `concurrency`
//! units load at the same time. Records outside any account (settings,
//! plans, roles, activity, statistics) wait for every unit before them and
//! load alone, and a unit holding a payment waits for the units before it
//! (a dump puts a payment after every user it names).

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::{DumpRecord, LoadError, Transfer};

/// Why loading stopped.
#[derive(Debug, thiserror::Error)]
#[error("line {line} ({kind}): {source}")]
pub struct LoadFailure {
    /// The line of the record that failed.
    pub line: u64,
    /// Its kind.
    pub kind: &'static str,
    /// Records written before the failure (about: units run at once).
    pub loaded: u64,
    /// What the store said.
    #[source]
    pub source: LoadError,
}

type Unit = Vec<(u64, DumpRecord)>;

/// A unit's outcome: records written, or where and why it stopped.
type UnitResult = Result<u64, (u64, &'static str, LoadError)>;

impl Transfer {
    async fn load_unit(&self, unit: Unit) -> UnitResult {
        let mut loader = self.loader();
        let mut last = (0, "user");
        for (line, record) in &unit {
            last = (*line, record.kind());
            loader
                .load(record)
                .await
                .map_err(|e| (*line, record.kind(), e))?;
        }
        loader.finish().await.map_err(|e| (last.0, last.1, e))?;
        Ok(unit.len() as u64)
    }

    /// Loads every record `records` yields (with its line number), in dump
    /// order, into stores that should be empty, up to `concurrency`
    /// accounts at a time; `progress` hears the number loaded about every
    /// `every` records. Returns the number loaded.
    pub async fn load_all<S>(
        &self,
        records: S,
        concurrency: usize,
        every: u64,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<u64, LoadFailure>
    where
        S: futures::Stream<Item = (u64, DumpRecord)> + Unpin,
    {
        let concurrency = concurrency.max(1);
        let mut records = records;
        let mut running = FuturesUnordered::new();
        let mut unit: Unit = Vec::new();
        let mut loaded = 0u64;
        let mut reported = 0u64;
        let fail = |(line, kind, source): (u64, &'static str, LoadError), loaded| LoadFailure {
            line,
            kind,
            loaded,
            source,
        };
        loop {
            let next = records.next().await;
            let starts_unit = matches!(next, None | Some((_, DumpRecord::User(_))));
            let global = matches!(
                next,
                Some((
                    _,
                    DumpRecord::Settings(_)
                        | DumpRecord::Plan(_)
                        | DumpRecord::Role(_)
                        | DumpRecord::Webhook(_)
                        | DumpRecord::Activity(_)
                        | DumpRecord::DayStats(_)
                ))
            );
            if (starts_unit || global) && !unit.is_empty() {
                let done = std::mem::take(&mut unit);
                let barrier = done
                    .iter()
                    .any(|(_, r)| matches!(r, DumpRecord::Payment(_)));
                while running.len() >= concurrency || (barrier && !running.is_empty()) {
                    let result: Option<UnitResult> = running.next().await;
                    if let Some(result) = result {
                        loaded += result.map_err(|e| fail(e, loaded))?;
                    }
                }
                running.push(self.load_unit(done));
            }
            if global || next.is_none() {
                while let Some(result) = running.next().await {
                    let result: UnitResult = result;
                    loaded += result.map_err(|e| fail(e, loaded))?;
                }
            }
            match next {
                None => break,
                Some(item) if global => {
                    loaded += self
                        .load_unit(vec![item])
                        .await
                        .map_err(|e| fail(e, loaded))?;
                }
                Some(item) => unit.push(item),
            }
            if loaded >= reported + every {
                reported = loaded;
                progress(loaded);
            }
        }
        Ok(loaded)
    }
}
