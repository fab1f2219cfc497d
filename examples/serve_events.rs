//! Serve generated events from a fake apiserver until stopped, optionally
//! writing more at a steady rate.
//!
//! For benchmarks and manual testing: `kev` and `kubectl events` can be
//! pointed at the same data with the written kubeconfig.
//!
//! ```text
//! cargo run --release --example serve_events -- --events 50000 --kubeconfig /tmp/kc
//! kubectl --kubeconfig /tmp/kc events -A
//! ```
//!
//! Load mode, for memory and soak benchmarks: `--rate N` keeps writing N
//! events per second (in 10 ms ticks, so the writes are spread smoothly),
//! of which `--update-percent P` percent update a recent event (count + 1,
//! a new lastTimestamp, as the legacy recorder PATCHes a repeating event)
//! and the rest create new ones; `--event-ttl 1h` expires events an hour
//! after their last write, as kube-apiserver's `--event-ttl` does, and
//! watches see the DELETEDs; `--duration SECS` stops after that long. The
//! server compacts its history every `--compaction-interval` seconds
//! (keeping about one interval of it, as the apiserver's etcd compaction
//! does), so with a TTL its memory stays bounded by about rate × TTL events.
//!
//! ```text
//! serve_events --events 10000 --rate 1000 --update-percent 30 --event-ttl 10m \
//!     --duration 600 --kubeconfig /tmp/kc
//! ```
//!
//! Once listening it prints one line, `ready <url>`, on stdout, so a script can
//! wait for it; diagnostics go to stderr (`RUST_LOG=kev_testkit=debug` logs
//! every request). When it stops (at `--duration`, Ctrl-C or SIGTERM) it
//! prints one summary line on stderr:
//! `serve_events: ran 600.0s: created 480000 (+10000 initial), updated 120000,
//! expired 420000; 70000 live at resourceVersion 620000`.

use std::collections::VecDeque;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use clap::Parser;
use kev_testkit::{EventGenerator, Events, FakeApiServer, FakeCluster, StoreError};
use serde_json::Value;

/// Serve generated Kubernetes Events from a fake apiserver.
#[derive(Debug, Parser)]
struct Args {
    /// How many events to serve from the start.
    #[arg(long, default_value_t = 50_000)]
    events: usize,
    /// How many namespaces the events spread over.
    #[arg(long, default_value_t = 50)]
    namespaces: usize,
    /// How many nodes the events mention.
    #[arg(long, default_value_t = 20)]
    nodes: usize,
    /// Seed of the generator (same seed, same events).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Leave out the generator's odd events (no type, no message, no
    /// timestamps, control characters in messages), e.g. to compare kev's
    /// output with kubectl's, which prints control characters as they are.
    #[arg(long)]
    plain: bool,
    /// Keep writing this many events per second (creates, and updates per
    /// --update-percent), spread over 10 ms ticks; 0: serve the initial
    /// events only.
    #[arg(long, default_value_t = 0)]
    rate: u32,
    /// Percentage (0-100) of the writes that update a recent event (count + 1
    /// and a new lastTimestamp) instead of creating one.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    update_percent: u8,
    /// Expire events this long after their last write, like kube-apiserver's
    /// --event-ttl: 90s, 10m, 1h, 3d, 1h30m. Default: never.
    #[arg(long, value_parser = parse_ttl)]
    event_ttl: Option<Duration>,
    /// Stop after this many seconds. Default: run until Ctrl-C or SIGTERM.
    #[arg(long)]
    duration: Option<u64>,
    /// Compact the watch history every this many seconds, keeping about one
    /// interval of it (kube-apiserver compacts etcd every 5 minutes); 0: never.
    #[arg(long, default_value_t = 60)]
    compaction_interval: u64,
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Where to write the kubeconfig for the server.
    #[arg(long)]
    kubeconfig: PathBuf,
}

fn parse_ttl(text: &str) -> Result<Duration, String> {
    kev::filter::duration::parse_duration(text)
        .filter(|&secs| secs > 0)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("expected a duration such as 90s, 10m, 1h or 3d, not {text:?}"))
}

/// How often the load loop writes.
const TICK: Duration = Duration::from_millis(10);

/// How many recently created events updates choose from.
const RECENT: usize = 4096;

/// What the load loop has done.
#[derive(Debug, Default)]
struct Counts {
    created: u64,
    updated: u64,
    failed: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let started = Instant::now();
    let mut events = EventGenerator::new(args.seed, Utc::now())
        .namespaces(args.namespaces)
        .nodes(args.nodes)
        .odd_events(!args.plain)
        .iter();
    let mut cluster = FakeCluster::new();
    if let Some(ttl) = args.event_ttl {
        cluster = cluster.with_event_ttl(ttl);
    }
    for event in events.by_ref().take(args.events) {
        cluster
            .add_event(event)
            .context("storing generated events")?;
    }
    tracing::info!(events = args.events, elapsed = ?started.elapsed(), "generated");
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let server = FakeApiServer::bind(addr, cluster.clone())
        .await
        .with_context(|| format!("binding {addr}"))?;
    server
        .write_kubeconfig(&args.kubeconfig)
        .with_context(|| format!("writing {}", args.kubeconfig.display()))?;
    eprintln!(
        "serving {} events at {}; kubeconfig {}",
        args.events,
        server.url(),
        args.kubeconfig.display()
    );
    let mut stdout = std::io::stdout();
    writeln!(stdout, "ready {}", server.url())?;
    stdout.flush()?;

    let running = Instant::now();
    let mut counts = Counts::default();
    let stop_after = async {
        match args.duration {
            Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = load(&cluster, &mut events, &args, &mut counts) => {}
        () = stop_after => {}
        result = tokio::signal::ctrl_c() => result.context("waiting for Ctrl-C")?,
        () = terminated() => {}
    }
    server.shutdown();
    // Expire what is due first, so that the counts agree with each other.
    cluster.expire_now();
    eprintln!(
        "serve_events: ran {:.1}s: created {} (+{} initial), updated {}, expired {}{}; {} live at resourceVersion {}",
        running.elapsed().as_secs_f64(),
        counts.created,
        args.events,
        counts.updated,
        cluster.expired_count(),
        match counts.failed {
            0 => String::new(),
            n => format!(", {n} writes failed"),
        },
        cluster.len(),
        cluster.resource_version(),
    );
    Ok(())
}

/// Write `args.rate` events a second until stopped, and compact now and then.
/// Never returns on its own (without a rate it only compacts).
async fn load(cluster: &FakeCluster, events: &mut Events, args: &Args, counts: &mut Counts) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let start = Instant::now();
    let compaction = Duration::from_secs(args.compaction_interval);
    let (mut compacted_at, mut compact_to) = (start, cluster.resource_version());
    let mut recent: VecDeque<(String, String)> = VecDeque::with_capacity(RECENT);
    let mut rng = args.seed ^ 0x5eed;
    let mut written: u64 = 0;
    loop {
        tick.tick().await;
        // Writes due by now at the rate, so a late tick catches up.
        let due = u64::try_from(start.elapsed().as_micros() * u128::from(args.rate) / 1_000_000)
            .unwrap_or(u64::MAX);
        while written < due {
            written += 1;
            let update = next_random(&mut rng) % 100 < u64::from(args.update_percent);
            if update && write_update(cluster, &mut recent, &mut rng) {
                counts.updated += 1;
                continue;
            }
            match cluster.add_event(events.next_at(Utc::now())) {
                Ok(stored) => {
                    counts.created += 1;
                    if recent.len() == RECENT {
                        recent.pop_front();
                    }
                    recent.push_back(key(&stored));
                }
                Err(err) => {
                    counts.failed += 1;
                    tracing::warn!(%err, "cannot store a generated event");
                }
            }
        }
        if !compaction.is_zero() && compacted_at.elapsed() >= compaction {
            // Keep about one interval of history, as etcd compaction does.
            cluster.compact_to(compact_to);
            compact_to = cluster.resource_version();
            compacted_at = Instant::now();
        }
    }
}

/// Bump a random recent event; `false` if there is none left to bump.
fn write_update(
    cluster: &FakeCluster,
    recent: &mut VecDeque<(String, String)>,
    rng: &mut u64,
) -> bool {
    while !recent.is_empty() {
        let i = (next_random(rng) % recent.len() as u64) as usize;
        let (namespace, name) = &recent[i];
        match cluster.bump_event_at(namespace, name, Utc::now()) {
            Ok(_) => return true,
            // Expired since: forget it and pick another.
            Err(StoreError::NotFound { .. }) => {
                recent.swap_remove_back(i);
            }
            Err(err) => {
                tracing::warn!(%err, "cannot update an event");
                return false;
            }
        }
    }
    false
}

fn key(event: &Value) -> (String, String) {
    let meta = |field: &str| {
        event["metadata"][field]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    (meta("namespace"), meta("name"))
}

/// SplitMix64 step: enough to pick which writes update and what.
fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Resolves on SIGTERM (never where there is no such signal).
async fn terminated() {
    #[cfg(unix)]
    if let Ok(mut sigterm) =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        sigterm.recv().await;
        return;
    }
    std::future::pending::<()>().await;
}
