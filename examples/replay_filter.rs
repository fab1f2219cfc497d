//! `kev replay FILE -o ndjson -- EXPR` through the library alone: read with
//! [`kev::source::replay::Replay`], filter with [`kev::filter::Filter`],
//! write the kept events as kev/v1 NDJSON to stdout.
//!
//! bench/replay.sh uses it as a stand-in until the `kev replay` subcommand
//! exists, so the figures measure the same work: `replay_filter FILE NOW EXPR...`
//! (NOW is the RFC 3339 time ages are measured from).

use std::io::{self, BufWriter, Write};

use chrono::{DateTime, Utc};
use kev::filter::{Filter, Sugar};
use kev::model::RecordView;
use kev::source::replay::Replay;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, now, exprs @ ..] = args.as_slice() else {
        anyhow::bail!("usage: replay_filter FILE NOW EXPR...");
    };
    let now: DateTime<Utc> = now.parse()?;
    let filter =
        Filter::build(exprs, &Sugar::default()).map_err(|e| anyhow::anyhow!("{}", e.render()))?;
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let (mut kept, mut bad) = (0u64, 0u64);
    let mut replay = Replay::open(path);
    let keep = |ev: &dyn kev::model::EventView| filter.matches_fields(ev, now);
    while let Some(item) = replay.next_matching(&keep) {
        match item {
            Ok((event, context)) => {
                let record = RecordView {
                    event: &event,
                    context: &context,
                };
                serde_json::to_writer(&mut out, &record)?;
                out.write_all(b"\n")?;
                kept += 1;
            }
            Err(e) => {
                eprintln!("{e}");
                bad += 1;
            }
        }
    }
    out.flush()?;
    eprintln!("kept {kept} events, {bad} bad lines");
    if bad > 0 {
        std::process::exit(1);
    }
    Ok(())
}
