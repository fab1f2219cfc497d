//! Write a realistic corpus of events as kev/v1 NDJSON, for benchmarks and
//! experiments: `cargo run --release --example gen_events -- 100000 > events.ndjson`.
//!
//! Arguments: the number of events (default 100,000) and an optional seed
//! (default 42). The events are kev_testkit's standard corpus
//! (`EventGenerator::standard`, the one kev's filter tests use): last seen in
//! the three hours before 2026-11-28T10:00:00Z, about a quarter of them
//! Warnings, with the reasons and messages a busy cluster produces, and a few
//! odd ones (no type, no message, no timestamps, control characters). Each is
//! read into kev's model as the apiserver would serve it and written as a
//! record observed by a watch of cluster `prod-eu`.

use std::io::{self, BufWriter, Write};

use chrono::TimeDelta;
use kev::model::record::WatchType;
use kev::model::{Event, RecordContext, RecordView, WireEvent};
use kev_testkit::EventGenerator;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let seed: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(42);
    let generator = EventGenerator {
        seed,
        ..EventGenerator::standard()
    };
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    for (i, value) in generator.iter().take(n).enumerate() {
        let event = Event::from(serde_json::from_value::<WireEvent>(value)?);
        let context = RecordContext {
            cluster: Some("prod-eu".to_string()),
            watch_type: Some(if event.count > 1 {
                WatchType::Modified
            } else {
                WatchType::Added
            }),
            // Observed a moment after it was last seen.
            observed_at: event
                .last_seen
                .map(|t| t + TimeDelta::milliseconds(5 + (i as i64 * 7919) % 900)),
        };
        serde_json::to_writer(
            &mut out,
            &RecordView {
                event: &event,
                context: &context,
            },
        )?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
