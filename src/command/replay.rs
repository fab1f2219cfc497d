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

use tokio_util::sync::CancellationToken;

use crate::config::ReplaySettings;
use crate::exit::Failure;
use crate::output::is_table;
use crate::pipeline::{Pipeline, Route};
use crate::sink::{Sink, SummarySink, TerminalSink};
use crate::source::replay::Replay;

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
    let inputs: Vec<Replay> = s.files.iter().map(|f| Replay::open(f)).collect();
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
