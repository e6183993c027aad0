//! `portico dump` and `portico restore`: moving every record between
//! stores through a dump document (see `runtime::dumps`).

use std::path::Path;

use runtime::dumps::{self, Compression};

use super::*;

/// The transfer service over the configured stores, and the stores' handle
/// to close.
async fn transfer(
    config: &Config,
) -> Result<(domain::Transfer, Backends), Box<dyn std::error::Error>> {
    let backends = Backends::connect(config).await?;
    let stores = backends.stores(config)?;
    Ok((
        domain::Transfer::new(stores, Arc::new(platform::SystemClock)),
        backends,
    ))
}

fn progress(verb: &'static str) -> impl Fn(u64) + Send + Sync {
    let started = std::time::Instant::now();
    move |n| {
        eprintln!(
            "{verb} {n} records ({:.0}/s)",
            n as f64 / started.elapsed().as_secs_f64().max(0.001)
        );
    }
}

/// `portico dump [--out FILE] [--zstd]`.
pub(super) async fn dump(
    config: &Config,
    out: Option<&Path>,
    zstd: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let compression = match out {
        Some(path) if !zstd => Compression::for_path(path),
        _ if zstd => Compression::Zstd,
        _ => Compression::None,
    };
    let (transfer, backends) = transfer(config).await?;
    let started = std::time::Instant::now();
    let now = time::OffsetDateTime::now_utc();
    let report = progress("dumped");
    let result = match out {
        None => dumps::write_dump(&transfer, std::io::stdout(), compression, now, &report).await,
        Some(path) => {
            // Written whole beside the target, then renamed: a dump that
            // stopped half-way never sits under the final name.
            let partial = path.with_extension(format!(
                "{}partial",
                path.extension()
                    .map(|e| format!("{}.", e.to_string_lossy()))
                    .unwrap_or_default()
            ));
            let file = std::fs::File::create(&partial)?;
            let written = dumps::write_dump(&transfer, &file, compression, now, &report).await;
            match written {
                Ok(summary) => {
                    file.sync_all()?;
                    std::fs::rename(&partial, path)?;
                    Ok(summary)
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&partial);
                    Err(e)
                }
            }
        }
    };
    backends.close().await;
    let summary = result?;
    eprintln!(
        "dumped {} records in {:.1} s: {}",
        summary.records(),
        started.elapsed().as_secs_f64(),
        summary.describe()
    );
    Ok(())
}

/// `portico restore FILE`.
pub(super) async fn restore(
    config: &Config,
    file: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let (transfer, backends) = transfer(config).await?;
    let started = std::time::Instant::now();
    let result = dumps::restore(&transfer, file, &progress("loaded")).await;
    backends.close().await;
    let summary = result?;
    eprintln!(
        "restored {} records (dump of {}, Portico {}) in {:.1} s: {}",
        summary.records(),
        summary
            .header
            .created_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        summary.header.portico,
        started.elapsed().as_secs_f64(),
        summary.describe()
    );
    Ok(())
}

/// `portico snapshot --out FILE` (SQLite only).
pub(super) async fn snapshot(
    config: &Config,
    out: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let backends = Backends::connect(config).await?;
    let started = std::time::Instant::now();
    let result = match backends.sql() {
        Some(sql) => sql
            .snapshot_into(out)
            .await
            .map_err(|e| crate::problem::error_chain(&e)),
        None => Err("no SQL store is configured; use portico dump".to_owned()),
    };
    backends.close().await;
    result?;
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "wrote {} ({} bytes) in {:.2} s",
        out.display(),
        size,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
