//! Write through the NDJSON file sink as fast as possible, until killed:
//! the process tests/file_sink.rs kills with SIGKILL mid-write, sends
//! SIGHUP to (external rotation) and runs out of file size.
//!
//! ```text
//! cargo run --example file_sink_writer -- [--fsync never|batch|interval]
//!     [--encoded] [--record-bytes N] [--batch N] [--batches N] PATH...
//! ```
//!
//! Every batch (`--batch`, default 256 records) goes to one `FileSink` per
//! PATH, all in this one process (they all reopen on one SIGHUP). Records
//! are kev_testkit's standard corpus with messages padded to about
//! `--record-bytes` (default 16 KiB), so a batch is a few MiB and a kill
//! is likely to land inside its write. `--encoded` encodes the batch once
//! with the sink's encoder, as the parallel replay reader does, so the loop
//! is almost nothing but writes. Before each batch it prints `writing N`,
//! after it `wrote N`, on stdout. `--batches` stops after that many (default:
//! never).

use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, bail};
use kev::model::record::WatchType;
use kev::model::{Event, Occurrence, RecordContext, WireEvent};
use kev::sink::file::FsyncPolicy;
use kev::sink::{Batch, Delivery, FileSinkConfig, Sink};
use kev_testkit::EventGenerator;

struct Args {
    fsync: FsyncPolicy,
    encoded: bool,
    record_bytes: usize,
    batch: usize,
    batches: Option<u64>,
    paths: Vec<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        fsync: FsyncPolicy::Never,
        encoded: false,
        record_bytes: 16 * 1024,
        batch: 256,
        batches: None,
        paths: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--fsync" => {
                args.fsync = match value()?.as_str() {
                    "never" => FsyncPolicy::Never,
                    "batch" => FsyncPolicy::Batch,
                    "interval" => FsyncPolicy::Interval,
                    other => bail!("--fsync {other:?}: never, batch or interval"),
                }
            }
            "--encoded" => args.encoded = true,
            "--record-bytes" => args.record_bytes = value()?.parse()?,
            "--batch" => args.batch = value()?.parse()?,
            "--batches" => args.batches = Some(value()?.parse()?),
            flag if flag.starts_with("--") => bail!("unknown flag {flag}"),
            path => args.paths.push(path.to_string()),
        }
    }
    if args.paths.is_empty() {
        bail!(
            "usage: file_sink_writer [--fsync POLICY] [--encoded] [--record-bytes N] [--batch N] [--batches N] PATH..."
        );
    }
    Ok(args)
}

/// `n` realistic occurrences with messages padded to about `bytes`.
fn occurrences(n: usize, bytes: usize) -> anyhow::Result<Vec<Arc<Occurrence>>> {
    EventGenerator::standard()
        .iter()
        .take(n)
        .map(|v| {
            let mut event = Event::from(serde_json::from_value::<WireEvent>(v)?);
            let mut message = event.message.take().unwrap_or_default();
            while message.len() < bytes {
                message.push_str(" | padding: the quick brown fox jumps over the lazy dog");
            }
            event.message = Some(message);
            let context = RecordContext {
                cluster: Some("prod-eu".to_string()),
                watch_type: Some(WatchType::Modified),
                observed_at: event.last_seen,
            };
            Ok(Arc::new(Occurrence::new(event, context)))
        })
        .collect()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let mut sinks = Vec::new();
    for (i, path) in args.paths.iter().enumerate() {
        let config = FileSinkConfig::new(path).fsync(args.fsync);
        sinks.push(config.build(&format!("file-{i}"))?);
    }
    let pool = occurrences(args.batch, args.record_bytes)?;
    let encoded = match (args.encoded, sinks[0].encoder()) {
        (true, Some(encode)) => {
            let mut bytes = Vec::new();
            for occ in &pool {
                encode(occ, &mut bytes)?;
            }
            Some(bytes)
        }
        _ => None,
    };
    let mut stdout = std::io::stdout().lock();
    let mut seq = 0u64;
    let mut n = 0u64;
    let mut last_tick = std::time::Instant::now();
    while args.batches.is_none_or(|max| n < max) {
        n += 1;
        let deliveries: Vec<Delivery> = pool
            .iter()
            .map(|occ| {
                seq += 1;
                Delivery {
                    seq,
                    occurrence: occ.clone(),
                }
            })
            .collect();
        // Every sink's batch ready before saying so: what follows `writing`
        // is the sinks' own work.
        let batches: Vec<Batch> = sinks
            .iter()
            .map(|_| Batch {
                deliveries: deliveries.clone(),
                listing: false,
                encoded: encoded.clone(),
            })
            .collect();
        writeln!(stdout, "writing {n}")?;
        stdout.flush()?;
        for (sink, batch) in sinks.iter_mut().zip(batches) {
            sink.send(batch).await?;
        }
        writeln!(stdout, "wrote {n}")?;
        stdout.flush()?;
        // Tick as the router would: on each sink's interval.
        if let Some(every) = sinks[0].tick_every()
            && last_tick.elapsed() >= every
        {
            last_tick = std::time::Instant::now();
            for sink in &mut sinks {
                sink.tick().await?;
            }
        }
        // Let the SIGHUP listeners run (one thread, and the loop never waits).
        tokio::task::yield_now().await;
    }
    for sink in &mut sinks {
        sink.close().await?;
    }
    Ok(())
}
