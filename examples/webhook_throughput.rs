//! Events per second through the webhook sink, with batching, to a local
//! HTTP receiver (kev_testkit's, answering 200 and keeping no bodies).
//!
//! ```text
//! cargo run --release --example webhook_throughput -- [EVENTS] [FORMAT...]
//! cargo run --release --example webhook_throughput -- 200000 json ndjson
//! cargo run --release --example webhook_throughput -- 200000 ndjson+spool
//! ```
//!
//! Formats: `json`, `ndjson`, `loki`, `elasticsearch`, `splunk`; a `+spool`
//! suffix puts a disk spool (fsynced per batch) in front. Realistic
//! generated events are read into kev's model first (not timed); the sink
//! is then sent them in batches of 1,000, as the pipeline's router would,
//! with the default batch settings (500 records or 1 MiB), and closed. The
//! time is from the first send to the end of `close`, when the receiver has
//! answered every request. Median of 5 runs per format.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kev::model::Occurrence;
use kev::sink::webhook::{FormatName, WebhookSinkConfig};
use kev_testkit::Receiver;

#[path = "support/sink_bench.rs"]
mod sink_bench;
use sink_bench::occurrences;

const RUNS: usize = 5;

async fn run_once(
    receiver: &Receiver,
    format: FormatName,
    spool: Option<&std::path::Path>,
    occs: &[Arc<Occurrence>],
) -> (Duration, u64) {
    let mut config = WebhookSinkConfig::new(receiver.url()).format(format);
    if let Some(dir) = spool {
        let _ = std::fs::remove_dir_all(dir);
        config = config.spool(dir, 1 << 30);
    }
    let mut sink = config.build("bench").expect("the sink builds");
    let (requests_before, _) = receiver.totals();
    let started = Instant::now();
    sink_bench::send_all(&mut sink, occs).await;
    let elapsed = started.elapsed();
    let stats = sink.stats().snapshot();
    assert_eq!(stats.sent, occs.len() as u64, "everything delivered");
    (elapsed, receiver.totals().0 - requests_before)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let events: usize = args
        .next()
        .map(|a| a.parse().expect("EVENTS is a number"))
        .unwrap_or(200_000);
    let mut formats: Vec<String> = args.collect();
    if formats.is_empty() {
        formats = vec!["json".into(), "ndjson".into()];
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let occs = occurrences(events);
    let record_bytes: usize = occs
        .iter()
        .map(|o| serde_json::to_vec(&o.record()).map_or(0, |v| v.len()))
        .sum();
    println!(
        "{events} events, {:.0} bytes per kev/v1 record on average; batches of 500 / 1MiB; median of {RUNS}",
        record_bytes as f64 / events as f64
    );
    let dir = tempfile::tempdir().expect("a temporary directory");
    runtime.block_on(async {
        let receiver = Receiver::start().await;
        receiver.keep_bodies(false);
        for name in &formats {
            let (base, spooled) = match name.strip_suffix("+spool") {
                Some(b) => (b, true),
                None => (name.as_str(), false),
            };
            let format = match base {
                "json" => FormatName::Json,
                "ndjson" => FormatName::Ndjson,
                "loki" => FormatName::Loki,
                "elasticsearch" => FormatName::Elasticsearch,
                "splunk" => FormatName::Splunk,
                other => panic!("unknown format {other}"),
            };
            let spool = spooled.then(|| dir.path().join("spool"));
            let mut times = Vec::new();
            let mut requests = 0;
            for _ in 0..RUNS {
                let (t, r) = run_once(&receiver, format, spool.as_deref(), &occs).await;
                times.push(t);
                requests = r;
            }
            times.sort();
            let median = times[RUNS / 2];
            println!(
                "{name:>22}: {:>9.0} events/s  ({:.3}s for {events}, {requests} requests; fastest {:.0}/s)",
                events as f64 / median.as_secs_f64(),
                median.as_secs_f64(),
                events as f64 / times[0].as_secs_f64(),
            );
        }
    });
}
