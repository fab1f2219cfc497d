//! Write a realistic corpus of events as kev/v1 NDJSON, for benchmarks and
//! experiments: `cargo run --release --example gen_events -- 100000 > events.ndjson`.
//!
//! Arguments: the number of events (default 100,000) and an optional seed
//! (default 42). The events are those of [`kev::filter::corpus`]: last seen
//! in the three hours before 2026-11-28T10:00:00Z, a quarter of them
//! Warnings, with the reasons and messages a busy cluster produces.

use std::io::{self, BufWriter, Write};

use kev::filter::corpus::{Corpus, DEFAULT_NOW};
use kev::model::RecordView;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let seed: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(42);
    let corpus = Corpus::new(seed, DEFAULT_NOW.parse()?);
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    for (event, context) in corpus.take(n) {
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
