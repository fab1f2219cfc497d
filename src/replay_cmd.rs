//! `kev replay`: the same filters and outputs over saved dumps.
//!
//! NDJSON and line-delimited JSON stream through in constant memory with
//! `-o ndjson|json|yaml`, parsed and printed on every core in blocks
//! ([`crate::source::replay_par`]) and written in input order; `-o
//! table|wide` sort by last seen, as the live listing does, and so hold the
//! selected events until the end.

use std::io::{self, Write};

use anyhow::Context;
use chrono::{DateTime, Utc};

use crate::app::{ignore_broken_pipe, make_printer};
use crate::cli::ReplayArgs;
use crate::exit::Failure;
use crate::model::Occurrence;
use crate::output::{OutputFormat, sort_by_last_seen};
use crate::select::{ForSpec, Selection};
use crate::source::replay::Replay;
use crate::source::replay_par::{ParOptions, replay_lines};

/// Run `kev replay`.
pub async fn run(args: ReplayArgs) -> Result<(), Failure> {
    tokio::task::spawn_blocking(move || replay(args))
        .await
        .map_err(|e| Failure::runtime(anyhow::anyhow!("replay task failed: {e}")))?
}

fn replay(args: ReplayArgs) -> Result<(), Failure> {
    let now: DateTime<Utc> = match &args.now {
        Some(t) => DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                Failure::usage(anyhow::anyhow!("--now {t:?}: not an RFC 3339 time: {e}"))
            })?,
        None => Utc::now(),
    };
    let namespaces = args.namespace.iter().cloned().collect();
    let selection = Selection::build(
        &args.expr,
        &args.filter,
        args.filter.for_object.as_deref().map(ForSpec::Offline),
        namespaces,
    )
    .map_err(Failure::usage)?;
    let mut inputs = Vec::with_capacity(args.files.len());
    for f in &args.files {
        inputs.push(Replay::open(f).map_err(|e| Failure::runtime(anyhow::anyhow!("{e}")))?);
    }
    let all_namespaces = args.namespace.is_none() || args.all_namespaces;
    let mut printer = make_printer(&args.output, all_namespaces);
    let sorted = matches!(args.output.output, OutputFormat::Table | OutputFormat::Wide);
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut held: Vec<Occurrence> = Vec::new();
    let mut bad: u64 = 0;
    let mut closed = false;
    // Replay has no discovery, so `--for` carries no apiVersion and the
    // compiled filter is the whole selection: use the reader's fast path,
    // which evaluates kev/v1 lines before building an Event.
    let filter = selection.filter().compiled();
    // Line-delimited inputs are parsed on every core (output order kept);
    // documents, and single-core machines, use the sequential reader.
    let par = ParOptions::for_this_machine();
    'inputs: for mut input in inputs {
        loop {
            if let Some(opts) = &par
                && let Some(lines) = input.take_lines()
            {
                // For streamed formats the workers print; for the sorted
                // table they hand the events back.
                let printers = (!sorted).then(|| {
                    (0..opts.workers)
                        .map(|_| make_printer(&args.output, all_namespaces))
                        .collect()
                });
                let mut write_failed = false;
                let result = replay_lines(lines, filter, now, opts, printers, |block| {
                    for e in &block.errors {
                        bad += 1;
                        eprintln!("kev: {e}");
                    }
                    held.append(&mut block.kept);
                    out.write_all(&block.bytes)
                        .inspect_err(|_| write_failed = true)
                });
                match result {
                    Ok(()) => break,
                    Err(e) if e.kind() == io::ErrorKind::BrokenPipe && write_failed => {
                        closed = true;
                        break 'inputs;
                    }
                    Err(e) if write_failed => {
                        return Err(Failure::runtime(
                            anyhow::Error::new(e).context("writing to stdout"),
                        ));
                    }
                    Err(e) => return Err(Failure::runtime(anyhow::Error::new(e))),
                }
            }
            let Some(item) = input.next_matching(filter, now) else {
                break;
            };
            match item {
                Ok((event, context)) => {
                    let occ = Occurrence::new(event, context);
                    if sorted {
                        held.push(occ);
                    } else if let Err(e) = printer.print_one(&mut out, &occ, now) {
                        if e.kind() == io::ErrorKind::BrokenPipe {
                            closed = true;
                            break 'inputs;
                        }
                        return Err(Failure::runtime(
                            anyhow::Error::new(e).context("writing to stdout"),
                        ));
                    }
                }
                Err(e) => {
                    bad += 1;
                    eprintln!("kev: {e}");
                }
            }
        }
    }
    if !closed {
        if sorted {
            sort_by_last_seen(&mut held);
            ignore_broken_pipe(printer.print_batch(&mut out, &held, now))
                .context("writing to stdout")
                .map_err(Failure::runtime)?;
        }
        ignore_broken_pipe(out.flush())
            .context("writing to stdout")
            .map_err(Failure::runtime)?;
    }
    if bad > 0 {
        return Err(Failure::runtime(anyhow::anyhow!(
            "{bad} malformed {} skipped (reported above)",
            if bad == 1 { "line was" } else { "lines were" }
        )));
    }
    Ok(())
}
