//! What remembering delivered events costs: the dedupe set's memory per
//! entry, and a state-file checkpoint's size and write time, for N events
//! inside the TTL (default 50,000).
//!
//! ```text
//! cargo run --release --example state_cost -- 50000
//! ```
//!
//! Entries look like real ones: a UUID uid, a 7-digit resourceVersion.
//! Memory is the process's RSS growth while the set is filled (glibc
//! malloc, so it includes allocator overhead); a write is what the
//! checkpoint task does every second while events arrive: serialize, write
//! a temporary file, fsync, rename, fsync the directory. Median of 11.

use std::time::{Duration, Instant};

use chrono::Utc;
use kev::pipeline::checkpoint::{self, Applied, Checkpoint};
use kev::pipeline::dedupe::{Dedupe, Verdict, Version};
use kev::pipeline::state::{ClusterRecord, Selection, State};

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<u64>().ok())
            })
        })
        .map_or(0, |kib| kib * 1024)
}

fn uid(i: u64) -> String {
    let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        x >> 32,
        (x >> 16) & 0xffff,
        i & 0xfff,
        (x >> 4) & 0xfff,
        i * 7919
    )
}

fn main() -> anyhow::Result<()> {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(50_000);
    let now = Utc::now();

    let before = rss_bytes();
    let mut d = Dedupe::new(Duration::from_secs(3600), usize::MAX);
    for i in 0..n {
        // Admitted, then acknowledged by the sink: what a delivered event costs.
        if let Verdict::New(uid, rv) = d.admit(&uid(i), &(1_000_000 + i).to_string(), 1, now, false)
        {
            d.ack(
                &uid,
                Version {
                    resource_version: rv,
                    count: 1,
                    observed_at: now.timestamp(),
                },
            );
        }
    }
    let grown = rss_bytes().saturating_sub(before);
    println!(
        "dedupe (delivered) set: {n} entries, {:.1} MiB, {} bytes per entry",
        grown as f64 / (1 << 20) as f64,
        grown / n.max(1)
    );

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("state.json");
    let state = State::new(
        ClusterRecord {
            server: "https://127.0.0.1:6443".into(),
            uid: Some(uid(u64::MAX)),
        },
        Selection::default(),
        3600,
    );
    let mut cp = Checkpoint::new(path.clone(), state);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut takes, mut writes) = (Vec::new(), Vec::new());
    for i in 0..11 {
        // A change, so every round really writes.
        cp.apply(
            Applied::ListEnd {
                list_rv: (2_000_000 + i).to_string(),
            },
            &mut d,
        );
        // What the pipeline does (take the snapshot) and what the writer
        // task does (serialize, write, fsync, rename).
        let t = Instant::now();
        let snapshot = cp.snapshot(&d, &mut checkpoint::Ledger::new(1));
        takes.push(t.elapsed());
        let t = Instant::now();
        runtime.block_on(checkpoint::write(path.clone(), snapshot))?;
        writes.push(t.elapsed());
    }
    takes.sort();
    let times = &mut writes;
    times.sort();
    let size = std::fs::metadata(&path)?.len();
    println!(
        "checkpoint: {n} entries, {:.2} MB file; snapshot on the pipeline {:.2} ms, write in the writer task {:.1} ms (medians of 11; write min {:.1}, max {:.1})",
        size as f64 / 1e6,
        takes[5].as_secs_f64() * 1e3,
        times[5].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3,
        times[10].as_secs_f64() * 1e3,
    );
    Ok(())
}
