//! Serve generated events from a fake apiserver until killed.
//!
//! For benchmarks and manual testing: `kev` and `kubectl events` can be
//! pointed at the same data with the written kubeconfig.
//!
//! ```text
//! cargo run --release --example serve_events -- --events 50000 --kubeconfig /tmp/kc
//! kubectl --kubeconfig /tmp/kc events -A
//! ```
//!
//! Once listening it prints one line, `ready <url>`, on stdout, so a script can
//! wait for it; diagnostics go to stderr (`RUST_LOG=kev=debug` logs every request).

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use chrono::Utc;
use clap::Parser;
use kev_testkit::{EventGenerator, FakeApiServer, FakeCluster};

/// Serve N generated Kubernetes Events from a fake apiserver.
#[derive(Debug, Parser)]
struct Args {
    /// How many events to serve.
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
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Where to write the kubeconfig for the server.
    #[arg(long)]
    kubeconfig: PathBuf,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let started = std::time::Instant::now();
    let events = EventGenerator::new(args.seed, Utc::now())
        .namespaces(args.namespaces)
        .nodes(args.nodes)
        .odd_events(!args.plain);
    let cluster = FakeCluster::new();
    for event in events.iter().take(args.events) {
        cluster
            .add_event(event)
            .context("storing generated events")?;
    }
    tracing::info!(events = args.events, elapsed = ?started.elapsed(), "generated");
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
    let server = FakeApiServer::bind(addr, cluster)
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
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    server.shutdown();
    Ok(())
}
