//! `kev replay FILE... [-- EXPR...]`: the same filters and outputs over
//! saved dumps.
//!
//! Settings → the inputs → the terminal sink (sorting everything for
//! `-o table|wide`, streaming otherwise) → the pipeline, which hands the
//! filter to the reader as its prefilter and the sink's encoder to the
//! parallel reader. Malformed lines are reported as they are met; if there
//! were any, the exit code is 1.

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
    let mut inputs = Vec::with_capacity(s.files.len());
    for f in &s.files {
        inputs.push(Replay::open(f).map_err(Failure::runtime)?);
    }
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
    if report.skipped > 0 {
        let n = report.skipped;
        return Err(Failure::runtime(anyhow::anyhow!(
            "{n} malformed {} skipped (reported above)",
            if n == 1 { "line was" } else { "lines were" }
        )));
    }
    Ok(())
}
