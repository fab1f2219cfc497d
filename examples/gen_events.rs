//! Write a realistic corpus of events, for benchmarks and experiments:
//! `cargo run --release --example gen_events -- 100000 > events.ndjson`.
//!
//! Arguments: the number of events (default 100,000), an optional seed
//! (default 42), and `--raw` anywhere among them. The events are
//! kev_testkit's standard corpus (`EventGenerator::standard`, the one kev's
//! filter tests use): last seen in the three hours before
//! 2026-11-28T10:00:00Z, about a quarter of them Warnings, with the reasons
//! and messages a busy cluster produces, and a few odd ones (no type, no
//! message, no timestamps, control characters).
//!
//! By default each is read into kev's model as the apiserver would serve it
//! and written as a kev/v1 record observed by a watch of cluster `prod-eu`.
//! With `--raw` the same events are written as raw core/v1 Event JSON lines,
//! the shape `kubectl get events -o json | jq -c '.items[]'` gives: each item
//! with `apiVersion` and `kind`, keys in alphabetical order (kubectl prints
//! objects with sorted keys, and jq keeps them), and no `managedFields`
//! (kubectl hides them unless `--show-managed-fields`).

use std::io::{self, BufWriter, Write};

use chrono::TimeDelta;
use kev::model::record::WatchType;
use kev::model::{Event, RecordContext, RecordView, WireEvent};
use kev_testkit::EventGenerator;
use serde_json::Value;

fn main() -> anyhow::Result<()> {
    let (flags, positional): (Vec<String>, Vec<String>) =
        std::env::args().skip(1).partition(|a| a.starts_with("--"));
    let raw = match flags.as_slice() {
        [] => false,
        [f] if f == "--raw" => true,
        other => anyhow::bail!("unknown flags {other:?}: usage: gen_events [N] [SEED] [--raw]"),
    };
    let mut args = positional.into_iter();
    let n: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let seed: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(42);
    // The standard corpus already has no managedFields; say so, since the
    // raw lines must not carry them.
    let generator = EventGenerator {
        seed,
        ..EventGenerator::standard()
    }
    .managed_fields(false);
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    for (i, value) in generator.iter().take(n).enumerate() {
        if raw {
            write_raw(&mut out, value)?;
        } else {
            write_record(&mut out, i, value)?;
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// One event as a list item of `kubectl get events -o json`.
fn write_raw(out: &mut impl Write, mut value: Value) -> anyhow::Result<()> {
    if let Value::Object(m) = &mut value {
        m.insert("apiVersion".into(), "v1".into());
        m.insert("kind".into(), "Event".into());
    }
    // serde_json's map (without `preserve_order`) writes keys sorted, as kubectl does.
    serde_json::to_writer(out, &value)?;
    Ok(())
}

/// One event as the kev/v1 record a watch of `prod-eu` would write.
fn write_record(out: &mut impl Write, i: usize, value: Value) -> anyhow::Result<()> {
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
        out,
        &RecordView {
            event: &event,
            context: &context,
        },
    )?;
    Ok(())
}
