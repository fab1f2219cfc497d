//! Events per second through the Kafka sink alone, to a real broker
//! (`scripts/kafka.sh up`, then `eval "$(scripts/kafka.sh env)"`): what
//! the sink sustains when nothing else (an apiserver, the pipeline) shares
//! the machine with it and the broker. `bench/fleet.sh` measures the whole
//! path from the apiserver.
//!
//! ```text
//! cargo run --release --example kafka_throughput -- [EVENTS] [COMPRESSION...]
//! cargo run --release --example kafka_throughput -- 200000 zstd lz4 none
//! ```
//!
//! Realistic generated events are read into kev's model first (not timed);
//! the sink (the defaults: acks all, idempotent, `compression` as given) is
//! then sent them in batches of 1,000, as the pipeline's router would, and
//! closed. The time is from the first send to the end of `close`, when the
//! broker has acknowledged every message. A fresh topic per run; median of
//! 3 runs; kev's CPU time over the runs from getrusage.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kev::model::Occurrence;
use kev::sink::kafka::KafkaSinkConfig;

#[path = "support/sink_bench.rs"]
mod sink_bench;
use sink_bench::occurrences;

const RUNS: usize = 3;

/// User plus system CPU time of this process so far.
fn cpu() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let t = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    t(usage.ru_utime) + t(usage.ru_stime)
}

async fn run_once(brokers: &str, compression: &str, occs: &[Arc<Occurrence>]) -> Duration {
    let topic = format!(
        "kev-bench-{compression}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let config: KafkaSinkConfig = serde_norway::from_str(&format!(
        "{{brokers: [\"{brokers}\"], topic: {topic}, compression: {compression}}}"
    ))
    .expect("a kafka sink configuration");
    let mut sink = config
        .build("bench", Some("bench"))
        .expect("the sink builds");
    let started = Instant::now();
    sink_bench::send_all(&mut sink, occs).await;
    started.elapsed()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let events: usize = args
        .next()
        .map(|a| a.parse().expect("EVENTS is a number"))
        .unwrap_or(200_000);
    let mut codecs: Vec<String> = args.collect();
    if codecs.is_empty() {
        codecs = vec!["zstd".into(), "lz4".into(), "none".into()];
    }
    let brokers = std::env::var("KEV_KAFKA_BOOTSTRAP")
        .expect("KEV_KAFKA_BOOTSTRAP: start a broker with scripts/kafka.sh up and eval \"$(scripts/kafka.sh env)\"");
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
        "{events} events, {:.0} bytes per kev/v1 record on average, to {brokers}; median of {RUNS}",
        record_bytes as f64 / events as f64
    );
    runtime.block_on(async {
        for codec in &codecs {
            let mut times = Vec::new();
            let cpu_before = cpu();
            for _ in 0..RUNS {
                times.push(run_once(&brokers, codec, &occs).await);
            }
            let cpu_per_run = (cpu() - cpu_before) / RUNS as u32;
            times.sort();
            let median = times[RUNS / 2];
            println!(
                "{codec:>6}: {:>8.0} events/s  ({:.3}s for {events}; fastest {:.0}/s; kev CPU {:.2}s per run, {:.1} µs per event)",
                events as f64 / median.as_secs_f64(),
                median.as_secs_f64(),
                events as f64 / times[0].as_secs_f64(),
                cpu_per_run.as_secs_f64(),
                cpu_per_run.as_secs_f64() * 1e6 / events as f64,
            );
        }
    });
}
