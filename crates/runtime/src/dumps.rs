//! Dump documents on disk: `portico dump` writes one, `portico restore`
//! checks one whole and then loads it, and the backup job writes one
//! before uploading it. The records come from and go to
//! [`domain::Transfer`]; this module adds the lines, the optional zstd
//! compression and the progress.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use async_trait::async_trait;
use domain::{
    DumpError, DumpHeader, DumpLine, DumpRecord, DumpTrailer, DumpValidator, FormatError,
    LoadError, Occupied, RecordSink, Transfer,
};
use time::OffsetDateTime;

/// The four bytes every zstd frame starts with.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Records between two progress reports.
pub const PROGRESS_EVERY: u64 = 10_000;

/// Accounts a restore loads at the same time.
const CONCURRENT_ACCOUNTS: usize = 8;

/// How a dump is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain JSON lines.
    None,
    /// zstd (level 3): about a tenth of the size.
    Zstd,
}

impl Compression {
    /// zstd for a file name ending in `.zst`, none otherwise.
    pub fn for_path(path: &Path) -> Self {
        if path.extension().is_some_and(|e| e == "zst") {
            Self::Zstd
        } else {
            Self::None
        }
    }
}

/// Why a dump or restore stopped.
#[derive(Debug, thiserror::Error)]
pub enum DumpFileError {
    /// Reading or writing the file.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The document is not one this build loads, or is incomplete.
    #[error("{0}; nothing was written to the stores")]
    Format(#[from] FormatError),
    /// Reading the stores.
    #[error(transparent)]
    Dump(#[from] DumpError),
    /// The target stores are not empty.
    #[error(
        "the target stores are not empty ({}); restore only into fresh stores (a new database, MongoDB database or Redis prefix); nothing was written",
        describe(.0)
    )]
    Occupied(Occupied),
    /// A store refused a record part-way.
    #[error(
        "restore stopped at line {line} ({kind}): {source}. The stores now hold part of the dump (about {loaded} records): empty them (drop and recreate the database, MongoDB database or Redis prefix) before restoring again"
    )]
    Load {
        /// The line of the record.
        line: u64,
        /// Its kind.
        kind: &'static str,
        /// Records written before it.
        loaded: u64,
        /// What the store said.
        #[source]
        source: LoadError,
    },
    /// The stores could not be read to check they are empty.
    #[error(transparent)]
    Store(#[from] domain::StoreError),
}

fn describe(found: &Occupied) -> String {
    found
        .iter()
        .map(|(kind, n)| format!("{n} {kind}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a dump or restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Records per kind.
    pub counts: BTreeMap<String, u64>,
    /// The document's header.
    pub header: DumpHeader,
}

impl Summary {
    /// All records.
    pub fn records(&self) -> u64 {
        self.counts.values().sum()
    }

    /// `user 3, message 12, …` (kinds in dump order).
    pub fn describe(&self) -> String {
        DumpRecord::KINDS
            .iter()
            .filter_map(|k| self.counts.get(*k).map(|n| format!("{k} {n}")))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Writes lines into `out` and reports progress.
struct LineSink<'a, W: Write + Send> {
    out: W,
    written: u64,
    progress: &'a (dyn Fn(u64) + Send + Sync),
}

#[async_trait]
impl<W: Write + Send> RecordSink for LineSink<'_, W> {
    async fn put(&mut self, record: DumpRecord) -> Result<(), DumpError> {
        let sink = |e: std::io::Error| DumpError::Sink(e.to_string());
        serde_json::to_writer(&mut self.out, &record)
            .map_err(|e| DumpError::Sink(e.to_string()))?;
        self.out.write_all(b"\n").map_err(sink)?;
        self.written += 1;
        if self.written.is_multiple_of(PROGRESS_EVERY) {
            (self.progress)(self.written);
        }
        Ok(())
    }
}

/// Writes a whole dump of `transfer`'s stores into `out`: the header, every
/// record, the trailer; `progress` hears the number of records written
/// every [`PROGRESS_EVERY`].
pub async fn write_dump<W: Write + Send>(
    transfer: &Transfer,
    out: W,
    compression: Compression,
    now: OffsetDateTime,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<Summary, DumpFileError> {
    let header = DumpHeader::new(env!("CARGO_PKG_VERSION"), now);
    match compression {
        Compression::None => {
            let mut out = std::io::BufWriter::with_capacity(1 << 16, out);
            let counts = write_lines(transfer, &header, &mut out, progress).await?;
            out.flush()?;
            Ok(Summary { counts, header })
        }
        Compression::Zstd => {
            let mut encoder = zstd::Encoder::new(out, 3)?;
            let counts = {
                let mut buffered = std::io::BufWriter::with_capacity(1 << 16, &mut encoder);
                let counts = write_lines(transfer, &header, &mut buffered, progress).await?;
                buffered.flush()?;
                counts
            };
            encoder.finish()?.flush()?;
            Ok(Summary { counts, header })
        }
    }
}

async fn write_lines<W: Write + Send>(
    transfer: &Transfer,
    header: &DumpHeader,
    out: &mut W,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<BTreeMap<String, u64>, DumpFileError> {
    serde_json::to_writer(&mut *out, header).map_err(std::io::Error::from)?;
    out.write_all(b"\n")?;
    let mut sink = LineSink {
        out: &mut *out,
        written: 0,
        progress,
    };
    let counts = transfer.dump(&mut sink).await?;
    let trailer = DumpTrailer {
        counts: counts.clone(),
    };
    out.write_all(DumpLine::end(&trailer).as_bytes())?;
    out.write_all(b"\n")?;
    Ok(counts)
}

/// Opens a dump for reading, decompressing it when it is zstd.
pub fn open(path: &Path) -> Result<Box<dyn BufRead + Send>, std::io::Error> {
    let mut file = std::fs::File::open(path)?;
    let mut magic = [0u8; 4];
    let read = read_up_to(&mut file, &mut magic)?;
    let start = std::io::Cursor::new(magic[..read].to_vec()).chain(file);
    if read == 4 && magic == ZSTD_MAGIC {
        let decoder = zstd::Decoder::new(start)?;
        Ok(Box::new(BufReader::with_capacity(1 << 16, decoder)))
    } else {
        Ok(Box::new(BufReader::with_capacity(1 << 16, start)))
    }
}

fn read_up_to(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Reads the document line by line through a validator, giving each
/// record (with its line number) to `each`.
fn each_line(
    mut input: Box<dyn BufRead + Send>,
    mut each: impl FnMut(u64, DumpRecord) -> Result<(), DumpFileError>,
) -> Result<Summary, DumpFileError> {
    let mut validator = DumpValidator::default();
    let mut line = String::new();
    let mut number = 0u64;
    loop {
        line.clear();
        // A cut zstd frame reads as an error here: that is a truncated file.
        if input.read_line(&mut line)? == 0 {
            break;
        }
        number += 1;
        if let Some(record) = validator.line(line.trim_end_matches(['\n', '\r']))? {
            each(number, record)?;
        }
    }
    let (header, counts) = validator.finish()?;
    Ok(Summary { counts, header })
}

/// Reads the whole document at `path` and checks it (header, every line,
/// the trailer's counts), keeping nothing.
pub fn check(path: &Path) -> Result<Summary, DumpFileError> {
    each_line(open(path)?, |_, _| Ok(()))
}

/// Loads the dump at `path` into `transfer`'s stores: checks the whole
/// document first (nothing is written from one that is cut short or
/// corrupt), refuses stores that are not empty, then writes every record in
/// order. `progress` hears the number of records loaded every
/// [`PROGRESS_EVERY`].
pub async fn restore(
    transfer: &Transfer,
    path: &Path,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<Summary, DumpFileError> {
    let owned = path.to_owned();
    let checked = tokio::task::spawn_blocking(move || check(&owned))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
    let occupied = transfer.occupied().await?;
    if !occupied.is_empty() {
        return Err(DumpFileError::Occupied(occupied));
    }
    // The second pass reads on a blocking thread and hands records over a
    // small channel, so memory stays flat.
    let (tx, rx) = tokio::sync::mpsc::channel::<(u64, DumpRecord)>(256);
    let owned = path.to_owned();
    let reader = tokio::task::spawn_blocking(move || {
        each_line(open(&owned)?, |number, record| {
            tx.blocking_send((number, record))
                .map_err(|_| std::io::Error::other("the restore stopped"))?;
            Ok(())
        })
    });
    let records = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let loaded = transfer
        .load_all(
            Box::pin(records),
            CONCURRENT_ACCOUNTS,
            PROGRESS_EVERY,
            progress,
        )
        .await;
    let read = reader
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    loaded.map_err(|f| DumpFileError::Load {
        line: f.line,
        kind: f.kind,
        loaded: f.loaded,
        source: f.source,
    })?;
    let summary = read?;
    debug_assert_eq!(summary.counts, checked.counts);
    Ok(summary)
}
