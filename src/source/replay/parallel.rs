//! Line-delimited replay across cores: the same answers as
//! [`Replay::next_matching`](super::Replay::next_matching), in the
//! same order, with parsing, filtering and printing spread over threads.
//!
//! Parsing each line is nearly all the work of `kev replay` on an NDJSON
//! dump, and lines are independent, so the input is cut into blocks of whole
//! lines and the blocks are handled side by side:
//!
//! ```text
//!   reader thread ──blocks──▶ workers (N) ──results──▶ caller's thread
//!   (decompressed input,      parse, filter,          puts blocks back in
//!    cut at newlines)         print into a buffer      input order, writes
//!        ▲                                                  │
//!        └──────────── emptied buffers (tokens) ────────────┘
//! ```
//!
//! Memory stays bounded: a block can only be read once an emptied buffer
//! comes back, so at most a fixed number of blocks (of about
//! [`ParOptions::block_bytes`] each, or one line if that is longer) exist at
//! any time, however far one block's worker falls behind the others.
//!
//! Workers number lines from 1 within their block, since only the caller's
//! thread, taking blocks in order, knows how many lines came before; it
//! shifts the line numbers of the block's errors when the block comes up.
//! An overlong line is skipped by the reader without being held (the same
//! message as the sequential reader's), and a read error ends the input
//! after the lines before it, as it does there.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use super::{Lines, Prefilter, ReplayError, filter_line, too_long};
use crate::model::Occurrence;

/// Encodes a kept occurrence as the sink will write it, handed to the
/// workers by the pipeline so encoding is spread over the cores too.
pub type Encode<'a> = dyn Fn(&Occurrence, &mut Vec<u8>) -> io::Result<()> + Send + Sync + 'a;

/// Default block size: large enough that handing a block between threads
/// costs nothing next to parsing it, small enough that a few in flight per
/// worker stay a few MiB.
pub const DEFAULT_BLOCK_BYTES: usize = 1 << 20;

/// How to split the work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParOptions {
    /// Worker threads parsing blocks (the reader and the caller's thread
    /// come on top, but mostly wait).
    pub workers: usize,
    /// How many bytes of input a block holds, rounded to whole lines.
    pub block_bytes: usize,
}

impl ParOptions {
    /// One worker per core, or `None` on a single core, where the
    /// sequential reader is as fast and simpler.
    pub fn for_this_machine() -> Option<ParOptions> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        (cores > 1).then_some(ParOptions {
            workers: cores,
            block_bytes: DEFAULT_BLOCK_BYTES,
        })
    }

    /// Blocks that may exist at once: each worker's, a few queued for the
    /// workers, a few finished ones waiting for their turn.
    fn in_flight(&self) -> usize {
        2 * self.workers.max(1) + 2
    }
}

/// What one block of lines gave, handed to the caller's sink in input order.
#[derive(Debug, Default)]
pub struct Block {
    /// The kept events, encoded, when the workers had an encoder.
    pub bytes: Vec<u8>,
    /// The kept events.
    pub kept: Vec<Occurrence>,
    /// The block's malformed lines, in order, with their line numbers in
    /// the input.
    pub errors: Vec<ReplayError>,
    /// The encoder failed on one of the kept events (a `--template` that
    /// does not render for it): [`Block::bytes`] is incomplete, and the
    /// caller prints [`Block::kept`] itself, so the failure is reported as
    /// it is without the workers.
    pub encode_failed: bool,
}

/// What ended a block besides its lines.
#[derive(Debug)]
enum After {
    /// The next line was longer than the limit (`total` bytes or more) and
    /// was skipped.
    TooLong(usize),
    /// Reading failed: the input ends here. `skipped_line` when it failed
    /// while skipping an overlong line, which then counts as read (as in
    /// the sequential reader).
    ReadFailed(io::Error, bool),
}

/// A block of whole lines for a worker.
struct Job {
    index: u64,
    data: Vec<u8>,
    bytes: Vec<u8>,
    after: Option<After>,
}

/// A worker's answer for one block.
struct Done {
    index: u64,
    /// The input buffer, returned for reuse.
    data: Vec<u8>,
    /// Lines in `data` (the `after` line not included).
    lines: u64,
    block: Block,
    after: Option<After>,
    /// The worker panicked on this block.
    panicked: bool,
}

/// Replay the rest of a line-delimited input on `opts.workers` threads,
/// passing each block's result to `sink` in input order (errors carry their
/// true line numbers). The kept events are in [`Block::kept`]; with an
/// `encode`r they are also encoded, in order, into [`Block::bytes`].
///
/// Returns the first error of `sink`, which stops reading, or an error if a
/// worker panicked. Read errors of the input are not errors here: like the
/// sequential reader, they end the input with one [`ReplayError`].
pub fn replay_lines(
    lines: Lines,
    keep: &Prefilter<'_>,
    opts: &ParOptions,
    encode: Option<&Encode<'_>>,
    mut sink: impl FnMut(&mut Block) -> io::Result<()>,
) -> io::Result<()> {
    let Lines {
        name,
        reader,
        line: mut base,
        max_line,
    } = lines;
    let block_bytes = opts.block_bytes.max(1);
    let workers = opts.workers.max(1);
    let in_flight = ParOptions {
        workers,
        block_bytes,
    }
    .in_flight();
    std::thread::scope(|s| {
        // Tokens: emptied (input, output) buffer pairs. The reader needs one
        // per block, and they come back only once the block is written.
        let (token_tx, token_rx) = sync_channel::<(Vec<u8>, Vec<u8>)>(in_flight);
        for _ in 0..in_flight {
            // Cannot fail: the channel has room for every token and the
            // receiver is alive.
            let _ = token_tx.send((Vec::new(), Vec::new()));
        }
        // Shared by the workers, and owned by them only: once they have all
        // stopped (the caller's end went away), the reader's next send fails
        // and it stops too, rather than waiting for a receiver forever.
        let (job_tx, job_rx) = sync_channel::<Job>(workers);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (done_tx, done_rx) = sync_channel::<Done>(in_flight);
        s.spawn(move || read_blocks(reader, max_line, block_bytes, &token_rx, &job_tx));
        for _ in 0..workers {
            let done_tx = done_tx.clone();
            let (job_rx, name) = (Arc::clone(&job_rx), name.as_str());
            s.spawn(move || work(&job_rx, &done_tx, encode, name, max_line, keep));
        }
        // The workers hold the only senders: when they are all done, `recv`
        // ends; and the only job receivers.
        drop(done_tx);
        drop(job_rx);

        let mut next = 0u64;
        let mut waiting: BTreeMap<u64, Done> = BTreeMap::new();
        loop {
            let mut done = match waiting.remove(&next) {
                Some(d) => d,
                None => match done_rx.recv() {
                    Ok(d) if d.index == next => d,
                    Ok(d) => {
                        waiting.insert(d.index, d);
                        continue;
                    }
                    // Every block was handed out and written.
                    Err(_) => return Ok(()),
                },
            };
            next += 1;
            if done.panicked {
                return Err(io::Error::other(format!(
                    "{name}: internal error: a replay worker panicked"
                )));
            }
            for e in &mut done.block.errors {
                e.line = e.line.map(|l| base + l);
            }
            match done.after.take() {
                None => {}
                Some(After::TooLong(total)) => {
                    done.lines += 1;
                    done.block.errors.push(ReplayError::new(
                        &name,
                        Some(base + done.lines),
                        too_long(total, max_line),
                    ));
                }
                Some(After::ReadFailed(e, skipped_line)) => {
                    done.lines += u64::from(skipped_line);
                    done.block.errors.push(ReplayError::new(
                        &name,
                        Some(base + done.lines + 1),
                        format!("read error: {e}"),
                    ));
                }
            }
            base += done.lines;
            sink(&mut done.block)?;
            let mut bytes = std::mem::take(&mut done.block.bytes);
            bytes.clear();
            // Hand the buffers back; this lets the reader read one more block.
            // It fails only when the reader has finished, which is fine.
            let _ = token_tx.try_send((done.data, bytes));
        }
        // Leaving the scope drops the channels' ends held here, which stops
        // the reader (no more tokens) and the workers (nowhere to send).
    })
}

/// The reader thread: cut the input into blocks of whole lines.
fn read_blocks(
    mut reader: Box<dyn BufRead + Send>,
    max_line: usize,
    block_bytes: usize,
    tokens: &Receiver<(Vec<u8>, Vec<u8>)>,
    jobs: &SyncSender<Job>,
) {
    // The partial line at the end of the last block, which starts the next.
    let mut carry: Vec<u8> = Vec::new();
    for index in 0u64.. {
        let Ok((mut data, bytes)) = tokens.recv() else {
            return; // the consumer stopped
        };
        data.clear();
        data.extend_from_slice(&carry);
        carry.clear();
        let mut after = None;
        let mut last = false;
        loop {
            let before = data.len();
            match (&mut reader)
                .take(block_bytes as u64)
                .read_to_end(&mut data)
            {
                Ok(n) if n < block_bytes => {
                    // The end of the input; its last line may lack a newline.
                    last = true;
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    // A partial last line is dropped, as the sequential
                    // reader drops it.
                    let end = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                    data.truncate(end);
                    after = Some(After::ReadFailed(e, false));
                    last = true;
                    break;
                }
            }
            // Where the unfinished last line starts. Only the new bytes need
            // a look: the carry, or earlier rounds of this loop, had no newline.
            let start = data[before..]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| before + i + 1);
            let partial = data.len() - start;
            if partial > max_line {
                // Too long whatever follows: skip the rest without holding it.
                data.truncate(start);
                match reader.skip_until(b'\n') {
                    Ok(skipped) => after = Some(After::TooLong(partial + skipped)),
                    Err(e) => {
                        after = Some(After::ReadFailed(e, true));
                        last = true;
                    }
                }
                break;
            }
            if start > 0 {
                carry.extend_from_slice(&data[start..]);
                data.truncate(start);
                break;
            }
            // One line longer than a block, still within the limit: read on.
        }
        let job = Job {
            index,
            data,
            bytes,
            after,
        };
        if jobs.send(job).is_err() || last {
            return;
        }
    }
}

/// A worker thread: parse, filter and encode blocks until there are none.
fn work(
    jobs: &Mutex<Receiver<Job>>,
    done: &SyncSender<Done>,
    encode: Option<&Encode<'_>>,
    name: &str,
    max_line: usize,
    keep: &Prefilter<'_>,
) {
    loop {
        // Holding the lock while waiting is fine: whoever holds it takes
        // the next block, and the others would wait for a block anyway.
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(Job {
            index,
            data,
            bytes,
            after,
        }) = job
        else {
            return; // the reader is done
        };
        // A panic (a bug) must not leave the caller waiting for this block
        // forever: report it as the block's result instead.
        let result = catch_unwind(AssertUnwindSafe(|| {
            run_block(&data, bytes, encode, name, max_line, keep)
        }));
        let (lines, block, panicked) = match result {
            Ok((lines, block)) => (lines, block, false),
            Err(_) => (0, Block::default(), true),
        };
        let answer = Done {
            index,
            data,
            lines,
            block,
            after,
            panicked,
        };
        if done.send(answer).is_err() {
            return; // the caller stopped
        }
    }
}

/// Parse, filter and encode one block; lines are numbered from 1.
fn run_block(
    data: &[u8],
    bytes: Vec<u8>,
    encode: Option<&Encode<'_>>,
    name: &str,
    max_line: usize,
    keep: &Prefilter<'_>,
) -> (u64, Block) {
    let mut block = Block {
        bytes,
        ..Block::default()
    };
    let mut rest = data;
    let mut line_no = 0u64;
    while !rest.is_empty() {
        // `skip_until` on a slice finds the newline with std's fast memchr.
        let mut cursor = rest;
        let len = match cursor.skip_until(b'\n') {
            Ok(n) => n,
            Err(_) => rest.len(), // reading a slice cannot fail
        };
        let (line, tail) = rest.split_at(len);
        rest = tail;
        line_no += 1;
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        if content.len() > max_line {
            block.errors.push(ReplayError::new(
                name,
                Some(line_no),
                too_long(line.len(), max_line),
            ));
            continue;
        }
        filter_line(name, line_no, content, keep, |item| match item {
            Ok((event, context)) => {
                let occ = Occurrence::new(event, context);
                if let Some(encode) = encode
                    && !block.encode_failed
                    && encode(&occ, &mut block.bytes).is_err()
                {
                    // Writing to a Vec cannot fail: the encoder itself
                    // failed, and the caller prints this block instead.
                    block.encode_failed = true;
                }
                block.kept.push(occ);
            }
            Err(e) => block.errors.push(e),
        });
    }
    (line_no, block)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;
    use chrono::{DateTime, Utc};

    use crate::filter::Filter;
    use crate::model::EventView;
    use crate::model::RecordView;
    use crate::output::{OutputFormat, TableOptions, printer};
    use crate::source::replay::Replay;
    use crate::testdata;

    const MAX_LINE: usize = 3000;

    /// kev/v1 records and raw events (a quarter, in both API versions'
    /// shapes) with, sprinkled in, a compact list, blank and CRLF lines,
    /// malformed lines, overlong lines (short and block-sized) and a last
    /// line without a newline.
    fn mixed_input() -> Vec<u8> {
        let mut out = Vec::new();
        let corpus = testdata::corpus().zip(testdata::raw_corpus());
        for (i, ((e, c), raw)) in corpus.take(3000).enumerate() {
            match i % 8 {
                1 => serde_json::to_writer(&mut out, &raw),
                5 => serde_json::to_writer(&mut out, &testdata::as_events_v1(raw)),
                _ => serde_json::to_writer(
                    &mut out,
                    &RecordView {
                        event: &e,
                        context: &c,
                    },
                ),
            }
            .unwrap();
            out.extend_from_slice(match i % 7 {
                0 => b"\r\n",
                1 => b"\n\n",
                _ => b"\n",
            });
            match i % 97 {
                3 => out.extend_from_slice(b"{not json\n"),
                5 => out.extend_from_slice(b"{\"kind\":\"Pod\",\"metadata\":{}}\n"),
                7 => out.extend_from_slice(b"{\"schema\":\"kev/v1\",\"uid\":5}\n"),
                11 => {
                    let raw = serde_json::json!({
                        "kind": "Event",
                        "metadata": {"name": format!("raw-{i}"), "namespace": "default", "uid": format!("u{i}")},
                        "type": "Warning", "reason": "BackOff", "message": "m",
                        "involvedObject": {"kind": "Pod", "name": "p"},
                        "lastTimestamp": "2026-11-28T09:00:00Z", "count": 2,
                    });
                    let list = serde_json::json!({"kind": "EventList", "items": [raw.clone(), {"kind": "Node"}, raw]});
                    serde_json::to_writer(&mut out, &list).unwrap();
                    out.push(b'\n');
                }
                13 => {
                    out.extend_from_slice(&vec![b'x'; MAX_LINE + 1]);
                    out.push(b'\n');
                }
                17 => {
                    out.extend_from_slice(&vec![b'{'; 5 * MAX_LINE]);
                    out.extend_from_slice(b"\r\n");
                }
                19 => out.extend_from_slice(b"\xff\xfe\n   \n"),
                _ => {}
            }
        }
        out.extend_from_slice(b"{\"truncated\": ");
        out
    }

    /// Errors as printed, and the output, from the sequential reader.
    fn sequential(
        bytes: &[u8],
        filter: &Filter,
        now: DateTime<Utc>,
        format: OutputFormat,
    ) -> (Vec<String>, Vec<u8>, Vec<Occurrence>) {
        let mut r = Replay::from_reader("dump", io::Cursor::new(bytes.to_vec()))
            .with_max_line_bytes(MAX_LINE);
        let mut p = printer(format, TableOptions::default());
        let (mut errors, mut out, mut kept) = (Vec::new(), Vec::new(), Vec::new());
        let keep = |ev: &dyn EventView| filter.matches_fields(ev, now);
        while let Some(item) = r.next_matching(&keep) {
            match item {
                Ok((event, context)) => {
                    let occ = Occurrence::new(event, context);
                    p.print_one(&mut out, &occ, now).unwrap();
                    kept.push(occ);
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        (errors, out, kept)
    }

    /// The same through the parallel reader (after the first line, which
    /// format detection reads).
    fn parallel(
        bytes: &[u8],
        filter: &Filter,
        now: DateTime<Utc>,
        format: Option<OutputFormat>,
        opts: &ParOptions,
    ) -> (Vec<String>, Vec<u8>, Vec<Occurrence>) {
        let mut r = Replay::from_reader("dump", io::Cursor::new(bytes.to_vec()))
            .with_max_line_bytes(MAX_LINE);
        let (mut errors, mut out, mut kept) = (Vec::new(), Vec::new(), Vec::new());
        let mut handed_over = false;
        let keep = |ev: &dyn EventView| filter.matches_fields(ev, now);
        loop {
            if let Some(lines) = r.take_lines() {
                let encode = format.map(|f| {
                    move |occ: &Occurrence, out: &mut Vec<u8>| {
                        printer(f, TableOptions::default()).print_one(out, occ, now)
                    }
                });
                let encode: Option<&Encode<'_>> = encode.as_ref().map(|e| e as &Encode<'_>);
                replay_lines(lines, &keep, opts, encode, |b| {
                    errors.extend(b.errors.iter().map(ToString::to_string));
                    out.extend_from_slice(&b.bytes);
                    if format.is_none() {
                        kept.append(&mut b.kept);
                    }
                    Ok(())
                })
                .unwrap();
                handed_over = true;
                break;
            }
            let Some(item) = r.next_matching(&keep) else {
                break;
            };
            let mut p = format.map(|f| printer(f, TableOptions::default()));
            match item {
                Ok((event, context)) => {
                    let occ = Occurrence::new(event, context);
                    match p.as_mut() {
                        Some(p) => p.print_one(&mut out, &occ, now).unwrap(),
                        None => kept.push(occ),
                    }
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        assert!(handed_over, "a line-delimited input goes parallel");
        (errors, out, kept)
    }

    #[test]
    fn parallel_output_and_errors_are_the_sequential_ones() {
        let now = testdata::now();
        let input = mixed_input();
        for (expr, format) in [
            (
                r#"type=Warning reason=~"^(BackOff|Failed)""#,
                OutputFormat::Ndjson,
            ),
            ("", OutputFormat::Ndjson),
            ("kind=Pod age<1h", OutputFormat::Json),
            ("type=Normal", OutputFormat::Yaml),
        ] {
            let f = Filter::parse(expr).unwrap();
            let (want_errors, want_out, want_kept) = sequential(&input, &f, now, format);
            assert!(want_errors.len() > 100, "{}", want_errors.len());
            assert!(
                want_errors.iter().any(|e| e.contains("line too long")),
                "{want_errors:?}"
            );
            assert!(!want_kept.is_empty(), "{expr}");
            // Tiny blocks (many in flight, lines longer than a block),
            // one worker, and the default.
            for opts in [
                ParOptions {
                    workers: 3,
                    block_bytes: 700,
                },
                ParOptions {
                    workers: 1,
                    block_bytes: 4096,
                },
                ParOptions {
                    workers: 2,
                    block_bytes: DEFAULT_BLOCK_BYTES,
                },
            ] {
                let (errors, out, _) = parallel(&input, &f, now, Some(format), &opts);
                assert_eq!(errors, want_errors, "{expr} {opts:?}");
                assert!(out == want_out, "{expr} {opts:?}: output differs");
                let (errors, _, kept) = parallel(&input, &f, now, None, &opts);
                assert_eq!(errors, want_errors, "{expr} {opts:?}");
                assert_eq!(kept, want_kept, "{expr} {opts:?}");
            }
        }
    }

    #[test]
    fn gzip_and_corrupt_gzip() {
        let now = testdata::now();
        let f = Filter::parse("").unwrap();
        let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(&mixed_input()).unwrap();
        let gz = enc.finish().unwrap();
        let opts = ParOptions {
            workers: 2,
            block_bytes: 1000,
        };
        for bytes in [gz.clone(), gz[..gz.len() / 2].to_vec()] {
            let want = sequential(&bytes, &f, now, OutputFormat::Ndjson);
            let got = parallel(&bytes, &f, now, Some(OutputFormat::Ndjson), &opts);
            assert_eq!(got.0, want.0);
            assert!(got.1 == want.1, "output differs");
        }
        let truncated = sequential(&gz[..gz.len() / 2], &f, now, OutputFormat::Ndjson);
        assert!(
            truncated.0.last().unwrap().contains("read error"),
            "{:?}",
            truncated.0.last()
        );
    }

    #[test]
    fn a_failing_sink_stops_the_reader() {
        // Every thread must wind down (no hang) whenever the sink fails:
        // at once, or with blocks queued and waiting everywhere.
        let now = testdata::now();
        let f = Filter::parse("").unwrap();
        let input = mixed_input();
        for workers in [1, 3] {
            for fail_at in [1, 3] {
                let mut r = Replay::from_reader("dump", io::Cursor::new(input.clone()));
                let keep = |ev: &dyn EventView| f.matches_fields(ev, now);
                assert!(r.next_matching(&keep).is_some());
                let lines = r.take_lines().unwrap();
                let opts = ParOptions {
                    workers,
                    block_bytes: 500,
                };
                let encode = |occ: &Occurrence, out: &mut Vec<u8>| {
                    printer(OutputFormat::Ndjson, TableOptions::default()).print_one(out, occ, now)
                };
                let mut calls = 0;
                let e = replay_lines(lines, &keep, &opts, Some(&encode), |_| {
                    calls += 1;
                    if calls == fail_at {
                        Err(io::ErrorKind::BrokenPipe.into())
                    } else {
                        Ok(())
                    }
                })
                .unwrap_err();
                assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
                assert_eq!(calls, fail_at);
            }
        }
    }
}
