//! `kev replay FILE... [-- EXPR...]`: the same filters and outputs over
//! saved dumps.
//!
//! Settings → the inputs → the terminal sink (sorting everything for
//! `-o table|wide`, streaming otherwise), or with `--summary` the summary
//! sink → the pipeline, which hands the
//! filter to the reader as its prefilter and the sink's encoder to the
//! parallel reader. Malformed lines, and inputs that cannot be read (a
//! missing file, a directory), are reported as they are met and the other
//! inputs are still read; if there were any, the exit code is 1.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio_util::sync::CancellationToken;

use crate::config::ReplaySettings;
use crate::exit::Failure;
use crate::output::is_table;
use crate::pipeline::{Pipeline, Route};
use crate::sink::{Sink, SummarySink, TerminalSink};
use crate::source::replay::Replay;

/// Inputs at least this large in all get a progress bar.
const PROGRESS_FROM_BYTES: u64 = 32 << 20;

/// A progress bar of the bytes read, on stderr (indicatif), cleared once
/// everything is read, before the results are printed.
struct Progress {
    read: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Progress {
    fn start(files: &[String]) -> Option<Progress> {
        use std::io::IsTerminal;
        if !std::io::stderr().is_terminal() || files.iter().any(|f| f == "-") {
            return None;
        }
        let total: u64 = files
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum();
        if total < PROGRESS_FROM_BYTES {
            return None;
        }
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(total),
            indicatif::ProgressDrawTarget::stderr_with_hz(4),
        );
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "reading {bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        let read = Arc::new(AtomicU64::new(0));
        let seen = Arc::clone(&read);
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_millis(100));
            loop {
                every.tick().await;
                let n = seen.load(Ordering::Relaxed);
                bar.set_position(n.min(total));
                if n >= total {
                    bar.finish_and_clear();
                    break;
                }
            }
        });
        Some(Progress { read, task })
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Run `kev replay`.
pub async fn run(s: ReplaySettings, stop: CancellationToken) -> Result<(), Failure> {
    run_into(s, None, stop).await
}

/// Run it into `own` sink instead of the terminal (`kev top --file`).
pub(crate) async fn run_into(
    s: ReplaySettings,
    own: Option<Box<dyn Sink>>,
    stop: CancellationToken,
) -> Result<(), Failure> {
    // Opened here, read in turn: one that cannot be opened is reported
    // when its turn comes, as its only item.
    // A long replay read for a person: progress on stderr (not for kev
    // top, which owns the terminal, and never when stderr is not one).
    let progress = if own.is_none() {
        Progress::start(&s.files)
    } else {
        None
    };
    let inputs: Vec<Replay> = s
        .files
        .iter()
        .map(|f| match &progress {
            Some(p) => Replay::open_counting(f, Arc::clone(&p.read)),
            None => Replay::open(f),
        })
        .collect();
    let sink: Box<dyn Sink> = if let Some(sink) = own {
        sink
    } else if s.output.summary {
        Box::new(SummarySink::new(
            s.output.format,
            s.output.summary_columns(s.namespace_column),
            s.clock,
            None,
        ))
    } else {
        Box::new(
            TerminalSink::new(s.output.format, s.output.table(s.namespace_column), s.clock)
                .sort_until_close(is_table(s.output.format)),
        )
    };
    let pipeline = Pipeline {
        filter: Arc::new(s.filter),
        clock: s.clock,
        dedupe: None,
        include_deleted: false,
        checkpoint: None,
        checkpoint_interval: std::time::Duration::from_secs(1),
        routes: vec![Route::to(sink)],
        cluster: None,
        metrics: None,
    };
    let report = pipeline
        .run_replay(inputs, stop)
        .await
        .map_err(Failure::runtime)?;
    let lines = report.skipped - report.unreadable;
    let unreadable = report.unreadable;
    let what = match (unreadable, lines) {
        (0, 0) => return Ok(()),
        (0, n) => malformed(n),
        (n, 0) => unread(n),
        (i, n) => format!("{} and {}", unread(i), malformed(n)),
    };
    Err(Failure::runtime(anyhow::anyhow!("{what} (reported above)")))
}

fn malformed(n: u64) -> String {
    let what = if n == 1 { "line was" } else { "lines were" };
    format!("{n} malformed {what} skipped")
}

fn unread(n: u64) -> String {
    let what = if n == 1 { "input" } else { "inputs" };
    format!("{n} {what} could not be read")
}
