//! `kev top [FLAGS] [EXPR...]`: the live view.
//!
//! Settings → the live model and its sink → the source (kev's follow, or
//! kev replay's reader over `--file`) as a task → the view, until `q`.
//! Then the source is stopped, the terminal is restored, and the logs
//! captured meanwhile go to stderr.

use std::io::IsTerminal;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::{TopSettings, TopSource};
use crate::exit::Failure;
use crate::incident::live::Live;
use crate::sink::live::{LiveSink, Shared};
use crate::tui::run::Msg;
use crate::tui::{App, log};

/// Run `kev top`.
pub async fn run(s: TopSettings, stop: CancellationToken) -> Result<(), Failure> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(Failure::usage(anyhow::anyhow!(
            "kev top is a full-screen view and needs a terminal; for a one-off ranked list, use `kev --summary` (or `kev replay FILE --summary`)"
        )));
    }
    let shared = Shared::new(Live::new().forgetting_after(s.event_ttl), s.clock);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let wake = tx.clone();
    let sink = LiveSink::new(
        std::sync::Arc::clone(&shared),
        Box::new(move || {
            let _ = wake.send(Msg::Data);
        }),
    );
    let source_stop = stop.child_token();
    let done = tx.clone();
    let (done_note, source) = match s.source {
        TopSource::Cluster(t) => {
            let stop = source_stop.clone();
            (
                "the watch ended",
                tokio::spawn(async move {
                    let r = super::tail::run_into(*t, Some(Box::new(sink)), stop).await;
                    let _ = done.send(Msg::Source(said(&r)));
                    r
                }),
            )
        }
        TopSource::Files(r) => {
            let stop = source_stop.clone();
            (
                "all input read",
                tokio::spawn(async move {
                    let r = super::replay::run_into(*r, Some(Box::new(sink)), stop).await;
                    let _ = done.send(Msg::Source(said(&r)));
                    r
                }),
            )
        }
    };
    let app = App::new(shared, s.title);
    let outcome = crate::tui::run::run(app, tx, rx, stop.clone(), done_note).await;
    // The terminal is restored here; stop the source and say what it logged.
    source_stop.cancel();
    let result = match tokio::time::timeout(Duration::from_secs(2), source).await {
        Ok(Ok(r)) => r,
        Ok(Err(join)) => Err(Failure::runtime(anyhow::anyhow!(
            "the source failed: {join}"
        ))),
        // Still stopping (a request in flight): nothing more to say.
        Err(_) => Ok(()),
    };
    let logged = log::take();
    if !logged.is_empty() {
        eprint!("{logged}");
    }
    outcome.map_err(|e| {
        Failure::runtime(anyhow::Error::new(e).context("cannot drive the terminal"))
    })?;
    result
}

/// What a source's end says to the view.
fn said(r: &Result<(), Failure>) -> Option<(String, u8)> {
    r.as_ref().err().map(|f| (f.to_string(), f.code))
}
