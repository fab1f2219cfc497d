//! The "bare serde_json parse" baseline of bench/replay.sh: read a file of
//! JSON lines line by line and parse every line, doing nothing else.
//!
//! `parse_only FILE [value|record|wire]`:
//! - `value` (default) parses each line into a `serde_json::Value`, what a
//!   generic JSON tool does: the baseline the "within 2×" compares to.
//! - `record` parses each line into kev's typed `kev::model::Record`: the
//!   floor for any kev/v1 reader, since `kev replay` must do this much too.
//! - `wire` parses each line into kev's typed `kev::model::WireEvent`: the
//!   same floor for raw Event lines (`kubectl get events -o json | jq -c '.items[]'`).
//!
//! Prints the number of lines parsed to stderr.

use std::fs::File;
use std::io::{BufRead, BufReader};

use kev::model::{Record, WireEvent};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: parse_only FILE [value|record|wire]"))?;
    let mode = args.next().unwrap_or_else(|| "value".to_string());
    if !matches!(mode.as_str(), "value" | "record" | "wire") {
        anyhow::bail!("unknown mode {mode}: value, record or wire");
    }
    let mut reader = BufReader::with_capacity(256 << 10, File::open(&path)?);
    let mut line = Vec::new();
    let mut n = 0u64;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        match mode.as_str() {
            "value" => {
                let v: serde_json::Value = serde_json::from_slice(&line)?;
                std::hint::black_box(v);
            }
            "record" => {
                let r: Record = serde_json::from_slice(&line)?;
                std::hint::black_box(r);
            }
            _ => {
                let w: WireEvent = serde_json::from_slice(&line)?;
                std::hint::black_box(w);
            }
        }
        n += 1;
    }
    eprintln!("parsed {n} lines");
    Ok(())
}
