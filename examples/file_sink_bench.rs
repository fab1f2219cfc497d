//! How many events a second the NDJSON file sink writes to a local file,
//! driven by the router as `kev run` drives it (a bounded queue, a task,
//! ticks on the sink's interval):
//!
//! ```text
//! cargo run --release --example file_sink_bench -- DIR [EVENTS] [BATCH] [POLICY...]
//! ```
//!
//! EVENTS (default 1,000,000) realistic records — kev_testkit's standard
//! corpus read into kev's model as a watch of `prod-eu` would deliver it,
//! about 1 KiB each as kev/v1 — go in batches of BATCH (default 500) to a
//! file sink on `DIR/events-POLICY.ndjson` (removed afterwards), once per
//! fsync POLICY (default `never interval`). The time runs from the first
//! batch queued to the sink's close, its last acknowledgement; the sink
//! encodes every record itself (no parallel encoder). Best of three runs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::TimeDelta;
use kev::metrics::SinkMetrics;
use kev::model::record::WatchType;
use kev::model::{Event, Occurrence, RecordContext, WireEvent};
use kev::pipeline::router::{Buffer, Sent, SinkHandle};
use kev::sink::file::FsyncPolicy;
use kev::sink::{Batch, Delivery, FileSinkConfig};
use kev_testkit::EventGenerator;
use tokio_util::sync::CancellationToken;

/// Distinct records generated; the run cycles through them.
const POOL: usize = 100_000;

fn pool() -> anyhow::Result<Vec<Arc<Occurrence>>> {
    EventGenerator::standard()
        .iter()
        .take(POOL)
        .enumerate()
        .map(|(i, v)| {
            let event = Event::from(serde_json::from_value::<WireEvent>(v)?);
            let context = RecordContext {
                cluster: Some("prod-eu".to_string()),
                watch_type: Some(if event.count > 1 {
                    WatchType::Modified
                } else {
                    WatchType::Added
                }),
                observed_at: event
                    .last_seen
                    .map(|t| t + TimeDelta::milliseconds(5 + (i as i64 * 7919) % 900)),
            };
            Ok(Arc::new(Occurrence::new(event, context)))
        })
        .collect()
}

/// One run: the time to write `events` and close, and the file's size.
async fn run(
    config: &FileSinkConfig,
    pool: &[Arc<Occurrence>],
    events: usize,
    batch: usize,
) -> anyhow::Result<(Duration, u64)> {
    let _ = std::fs::remove_file(&config.path);
    let sink = config.build("bench")?;
    let start = Instant::now();
    let mut handle = SinkHandle::spawn(
        Box::new(sink),
        Buffer {
            events: 8 * batch,
            drop_when_full: false,
        },
        SinkMetrics::default(),
        CancellationToken::new(),
    );
    let mut seq = 0u64;
    while (seq as usize) < events {
        let n = batch.min(events - seq as usize);
        let deliveries = (0..n)
            .map(|_| {
                seq += 1;
                Delivery {
                    seq,
                    occurrence: pool[(seq as usize - 1) % pool.len()].clone(),
                }
            })
            .collect();
        let queued = handle
            .send(Batch {
                deliveries,
                listing: false,
                encoded: None,
            })
            .await;
        if queued != Sent::Queued {
            bail!("the sink stopped");
        }
    }
    handle.finish();
    let acked = handle.join().await?;
    let took = start.elapsed();
    if acked.up_to != Some(seq) {
        bail!("acknowledged {:?} of {seq}", acked.up_to);
    }
    let size = std::fs::metadata(&config.path)?.len();
    std::fs::remove_file(&config.path)?;
    Ok((took, size))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .context("usage: file_sink_bench DIR [EVENTS] [BATCH] [POLICY...]")?;
    let events: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let batch: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(500);
    let mut policies = Vec::new();
    for p in args {
        policies.push(match p.as_str() {
            "never" => FsyncPolicy::Never,
            "batch" => FsyncPolicy::Batch,
            "interval" => FsyncPolicy::Interval,
            other => bail!("{other:?}: never, batch or interval"),
        });
    }
    if policies.is_empty() {
        policies = vec![FsyncPolicy::Never, FsyncPolicy::Interval];
    }
    let pool = pool()?;
    println!(
        "{:<10} {:>10} {:>7} {:>10} {:>9} {:>14} {:>9}",
        "fsync", "events", "batch", "MiB", "seconds", "events/s", "MiB/s"
    );
    for policy in policies {
        let config =
            FileSinkConfig::new(format!("{dir}/events-{}.ndjson", policy.as_str())).fsync(policy);
        let mut best: Option<(Duration, u64)> = None;
        for _ in 0..3 {
            let r = run(&config, &pool, events, batch).await?;
            if best.is_none_or(|b| r.0 < b.0) {
                best = Some(r);
            }
        }
        let (took, size) = best.context("three runs")?;
        let secs = took.as_secs_f64();
        let mib = size as f64 / f64::from(1 << 20);
        println!(
            "{:<10} {:>10} {:>7} {:>10.1} {:>9.3} {:>14.0} {:>9.1}",
            policy.as_str(),
            events,
            batch,
            mib,
            secs,
            events as f64 / secs,
            mib / secs
        );
    }
    Ok(())
}
