//! The pipeline: source → dedupe → filter → router → sinks, with the
//! checkpoint fed by the sinks' acknowledgements.
//!
//! ```text
//!  source task ──msgs──► pipeline task ──batches──► sink task (one per sink)
//!  (watch | replay)      dedupe, filter,            send, flush, close;
//!   bounded channel      sequence numbers,          acknowledgements ──┐
//!                        ledger                                        │
//!                          └──applied──► checkpoint task (state file) ◄┘
//! ```
//!
//! Every channel is bounded, so a slow sink slows the source instead of
//! growing memory. One [`CancellationToken`] stops everything: a signal, or a
//! sink that closed (stdout went away). On stop the source stops reading,
//! what it already handed over is still routed, the sinks deliver their
//! queues and close, and the checkpoint is written one last time with what
//! every sink acknowledged.
//!
//! The commands build a [`Pipeline`] from resolved settings and call
//! [`Pipeline::run_watch`] or [`Pipeline::run_replay`].

pub mod checkpoint;
pub mod dedupe;
pub mod router;
pub mod state;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::filter::Filter;
use crate::model::{Clock, EventView, Occurrence, Position, RecordContext, WatchType};
use crate::output::sort_by_last_seen;
use crate::sink::{Batch, Delivery, Sink, SinkError};
use crate::source::ApiError;
use crate::source::replay::parallel::{ParOptions, replay_lines};
use crate::source::replay::{Prefilter, Replay};
use crate::source::watch::{EventWatcher, Update, WatchStats};
use checkpoint::{Applied, Checkpoint, CheckpointStats, Ledger};
use dedupe::{Dedupe, DedupeStats, Verdict};
use router::SinkHandle;
use state::StateError;

/// How many messages the source may be ahead of the pipeline.
const SOURCE_QUEUE: usize = 64;

/// Occurrences per batch from the sequential replay reader.
const REPLAY_BATCH: usize = 1024;

/// How often acknowledgements are collected when nothing else happens.
const ACK_POLL: Duration = Duration::from_millis(100);

/// How long the sinks may take to finish after a stop signal, so kev exits
/// within two seconds of SIGTERM whatever a sink is waiting for.
const DRAIN_DEADLINE: Duration = Duration::from_millis(1000);

/// The stages and sinks of one run; see the module docs.
pub struct Pipeline {
    /// The filter every occurrence must match (evaluated here for the
    /// watch; handed to the replay reader as its prefilter).
    pub filter: Arc<Filter>,
    /// "Now" for the filter's relative times.
    pub clock: Clock,
    /// The delivered set (live sources); `None` delivers repeats too (replay).
    pub dedupe: Option<Dedupe>,
    /// Deliver DELETED notifications too (`--include-deleted`).
    pub include_deleted: bool,
    /// The state file, if any.
    pub checkpoint: Option<Checkpoint>,
    /// How often the state file is written when something changed.
    pub checkpoint_interval: Duration,
    /// The sinks.
    pub sinks: Vec<Box<dyn Sink>>,
    /// Queue length per sink, in batches.
    pub sink_queue: usize,
    /// The cluster label copied into every record.
    pub cluster: Option<String>,
}

/// What a run did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Occurrences handed to the sinks.
    pub delivered: u64,
    /// Malformed inputs skipped (replay), each reported on stderr.
    pub skipped: u64,
    /// The dedupe stage's counters.
    pub dedupe: DedupeStats,
    /// The watch's counters.
    pub watch: Option<WatchStats>,
    /// The state file's figures.
    pub checkpoint: Option<CheckpointStats>,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The apiserver refused or failed for good.
    #[error(transparent)]
    Source(#[from] ApiError),
    /// A sink failed.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// The state file could not be written.
    #[error(transparent)]
    State(#[from] StateError),
    /// Reading a dump failed.
    #[error("reading the dumps: {0}")]
    Replay(#[source] std::io::Error),
}

/// What sources hand the pipeline.
enum Msg {
    Batch {
        items: Vec<Occurrence>,
        kind: BatchKind,
        /// The items as the single sink encodes them (parallel replay).
        encoded: Option<Vec<u8>>,
    },
    /// The end of a list: a watch may resume from `list_rv` once all
    /// before it is delivered.
    ListEnd { list_rv: String },
    /// A malformed input, reported and counted.
    Skipped(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BatchKind {
    /// The initial listing: sorted, and printed as one table.
    Listing,
    /// A relist after expiry: sorted, only what was not delivered before.
    Relist,
    /// Watch notifications as they arrive.
    Live,
    /// Replayed records, already filtered by the reader.
    Replay,
}

impl Pipeline {
    /// Follow `watcher` (or, if `follow` is false, take its first listing
    /// and end) until it fails or `stop` is cancelled.
    pub async fn run_watch(
        self,
        watcher: EventWatcher,
        follow: bool,
        stop: CancellationToken,
    ) -> Result<Report, PipelineError> {
        let (tx, rx) = mpsc::channel(SOURCE_QUEUE);
        let source = tokio::spawn(watch_source(
            watcher,
            follow,
            self.cluster.clone(),
            tx,
            stop.clone(),
        ));
        let mut report = self.drive(rx, stop.clone()).await;
        let source = match source.await {
            Ok(r) => r,
            Err(e) => Err(ApiError::Malformed {
                verb: "watch",
                reason: format!("the watch task failed: {e}"),
            }),
        };
        match source {
            Ok(stats) => {
                if let Ok(r) = &mut report {
                    r.watch = Some(stats);
                }
                report
            }
            // The source's error is the cause; a sink error after it is not.
            Err(e) => Err(e.into()),
        }
    }

    /// Replay `inputs` in order until they end or `stop` is cancelled.
    pub async fn run_replay(
        self,
        inputs: Vec<Replay>,
        stop: CancellationToken,
    ) -> Result<Report, PipelineError> {
        let (tx, rx) = mpsc::channel(SOURCE_QUEUE);
        let filter = Arc::clone(&self.filter);
        let now = self.clock.now();
        let keep = move |ev: &dyn EventView| filter.matches_fields(ev, now);
        // Parallel encoding only helps a single sink that encodes records
        // one by one (not a table).
        let encoder = match self.sinks.as_slice() {
            [only] => only.encoder(),
            _ => None,
        };
        let source_stop = stop.clone();
        let source = tokio::task::spawn_blocking(move || {
            replay_source(inputs, &keep, encoder, &tx, &source_stop)
        });
        let report = self.drive(rx, stop).await;
        match source.await {
            Ok(Ok(())) => report,
            Ok(Err(e)) => Err(PipelineError::Replay(e)),
            Err(e) => Err(PipelineError::Replay(std::io::Error::other(e))),
        }
    }

    /// The pipeline task: route what the source sends until it ends, then
    /// finish the sinks and the checkpoint.
    async fn drive(
        mut self,
        mut rx: mpsc::Receiver<Msg>,
        stop: CancellationToken,
    ) -> Result<Report, PipelineError> {
        let queue = self.sink_queue;
        let mut sinks: Vec<SinkHandle> = self
            .sinks
            .drain(..)
            .map(|s| SinkHandle::spawn(s, queue, stop.clone()))
            .collect();
        let mut ledger = self.checkpoint.as_ref().map(|_| Ledger::new(sinks.len()));
        let mut checkpoint = self.checkpoint.take();
        // At most one snapshot waits for the writer: a slow disk skips
        // checkpoints, it does not queue them.
        let (snapshot_tx, writer) = match &checkpoint {
            Some(cp) => {
                let (tx, rx) = mpsc::channel(1);
                let task = tokio::spawn(checkpoint::run_writer(cp.path().to_path_buf(), rx));
                (Some(tx), Some(task))
            }
            None => (None, None),
        };
        let mut tick = tokio::time::interval(self.checkpoint_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut report = Report::default();
        let mut seq = 0u64;
        let mut poll = tokio::time::interval(ACK_POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut result: Result<(), PipelineError> = Ok(());
        loop {
            let (msg, checkpoint_due) = tokio::select! {
                msg = rx.recv() => match msg {
                    Some(m) => (Some(m), false),
                    None => break,
                },
                _ = poll.tick(), if ledger.is_some() => (None, false),
                _ = tick.tick(), if checkpoint.is_some() => (None, true),
            };
            if let Some(msg) = msg
                && !self
                    .handle(msg, &mut seq, &mut ledger, &sinks, &mut report, &stop)
                    .await
            {
                // The sinks are gone: nothing more can be delivered.
                break;
            }
            if let (Some(l), Some(cp), Some(d)) = (&mut ledger, &mut checkpoint, &mut self.dedupe) {
                collect_acks(l, &sinks);
                for item in l.drain_acked() {
                    cp.apply(item, d);
                }
                if checkpoint_due
                    && cp.is_dirty()
                    && let Some(tx) = &snapshot_tx
                    && let Ok(permit) = tx.try_reserve()
                {
                    d.prune(Utc::now());
                    permit.send((cp.snapshot(d), false));
                }
            }
        }
        drop(rx);
        // Let each sink deliver its queue and close. When stopping, only for
        // so long: a sink stuck on a blocked terminal or a dead endpoint
        // must not hold the exit; what it did not acknowledge is not in the
        // checkpoint and is delivered again next time.
        for s in &mut sinks {
            s.finish();
        }
        let acks: Vec<_> = sinks.iter().map(SinkHandle::acks).collect();
        let names: Vec<String> = sinks.iter().map(|s| s.name.clone()).collect();
        let joined = futures::future::join_all(sinks.into_iter().map(SinkHandle::join));
        let outcomes = if stop.is_cancelled() {
            match tokio::time::timeout(DRAIN_DEADLINE, joined).await {
                Ok(outcomes) => outcomes,
                Err(_) => {
                    tracing::warn!(
                        sinks = ?names,
                        "stopping: the sinks did not finish within {:.1}s; what they did not acknowledge will be delivered again",
                        DRAIN_DEADLINE.as_secs_f64()
                    );
                    Vec::new()
                }
            }
        } else {
            joined.await
        };
        for o in outcomes {
            if let Err(e) = o
                && result.is_ok()
            {
                result = Err(e.into());
            }
        }
        if let (Some(l), Some(cp), Some(d), Some(tx)) =
            (&mut ledger, &mut checkpoint, &mut self.dedupe, &snapshot_tx)
        {
            for (i, a) in acks.iter().enumerate() {
                l.acked(i, a.borrow().up_to);
            }
            for item in l.drain_acked() {
                cp.apply(item, d);
            }
            // The final checkpoint, whatever was written before.
            let _ = tx.send((cp.snapshot(d), true)).await;
        }
        drop(snapshot_tx);
        if let Some(task) = writer {
            match task.await {
                Ok(Ok(stats)) => report.checkpoint = Some(stats),
                Ok(Err(e)) => {
                    if result.is_ok() {
                        result = Err(e.into());
                    }
                }
                Err(e) => {
                    if result.is_ok() {
                        result = Err(PipelineError::Replay(std::io::Error::other(e)));
                    }
                }
            }
        }
        if let Some(d) = &self.dedupe {
            report.dedupe = d.stats().clone();
        }
        result.map(|()| report)
    }

    /// Handle one message; `false` when the sinks are gone.
    async fn handle(
        &mut self,
        msg: Msg,
        seq: &mut u64,
        ledger: &mut Option<Ledger>,
        sinks: &[SinkHandle],
        report: &mut Report,
        stop: &CancellationToken,
    ) -> bool {
        let (mut items, kind, encoded) = match msg {
            Msg::Batch {
                items,
                kind,
                encoded,
            } => (items, kind, encoded),
            Msg::ListEnd { list_rv } => {
                *seq += 1;
                if let Some(l) = ledger {
                    l.record(*seq, Applied::ListEnd { list_rv }, []);
                }
                return true;
            }
            Msg::Skipped(what) => {
                report.skipped += 1;
                eprintln!("kev: {}", crate::escape::escape(&what));
                return true;
            }
        };
        let now = self.clock.now();
        if matches!(kind, BatchKind::Listing | BatchKind::Relist) {
            // Lists have no order in history; kubectl's is by last seen.
            sort_by_last_seen(&mut items);
        }
        if kind == BatchKind::Relist
            && let Some(d) = &mut self.dedupe
        {
            d.retain_listed(items.iter().map(|o| o.event.uid.as_str()));
        }
        let all_sinks: Vec<usize> = (0..sinks.len()).collect();
        let mut deliveries = Vec::with_capacity(items.len());
        let mut dropped = false;
        for occ in items {
            *seq += 1;
            let deleted = occ.context.watch_type == Some(WatchType::Deleted);
            let observed = occ.context.observed_at.unwrap_or(now);
            let admitted = match &mut self.dedupe {
                None => Some(None),
                Some(d) if deleted => {
                    d.forget(&occ.event.uid);
                    Some(None)
                }
                Some(d) => match d.admit(
                    &occ.event.uid,
                    &occ.event.resource_version,
                    occ.event.count,
                    observed,
                    kind == BatchKind::Relist,
                ) {
                    Verdict::New(uid, rv) => Some(Some((uid, rv))),
                    Verdict::Repeat => None,
                },
            };
            let fresh = admitted.is_some();
            let wanted = fresh
                && (!deleted || self.include_deleted)
                && (kind == BatchKind::Replay || self.filter.matches(&occ.event, now));
            if let Some(l) = ledger {
                let routed: &[usize] = if wanted { &all_sinks } else { &[] };
                let (uid, rv) = admitted.flatten().unwrap_or_else(|| {
                    (
                        Arc::from(occ.event.uid.as_str()),
                        Arc::from(occ.event.resource_version.as_str()),
                    )
                });
                l.record(
                    *seq,
                    Applied::Occurrence {
                        uid,
                        version: dedupe::Version {
                            resource_version: rv,
                            count: occ.event.count,
                            observed_at: observed.timestamp(),
                        },
                        position: occ.position.clone(),
                        deleted,
                    },
                    routed.iter().copied(),
                );
            }
            if wanted {
                deliveries.push(Delivery {
                    seq: *seq,
                    occurrence: Arc::new(occ),
                });
            } else {
                dropped = true;
            }
        }
        if deliveries.is_empty() && kind != BatchKind::Listing {
            return true;
        }
        report.delivered += deliveries.len() as u64;
        let batch = Batch {
            deliveries,
            listing: kind == BatchKind::Listing,
            encoded: if dropped || sinks.len() != 1 {
                None
            } else {
                encoded
            },
        };
        for s in sinks {
            let sent = tokio::select! {
                biased;
                ok = s.send(batch.clone()) => ok,
                // Stopping while a sink's queue is full: what is not queued
                // is not acknowledged, so the checkpoint does not cover it.
                _ = stop.cancelled() => false,
            };
            if !sent {
                return false;
            }
        }
        true
    }
}

fn collect_acks(ledger: &mut Ledger, sinks: &[SinkHandle]) {
    for (i, s) in sinks.iter().enumerate() {
        ledger.acked(i, s.acked().up_to);
    }
}

/// The watch source task: updates → messages, until the watcher fails
/// for good, the listing is done (`follow` false), or `stop`.
async fn watch_source(
    mut watcher: EventWatcher,
    follow: bool,
    cluster: Option<String>,
    tx: mpsc::Sender<Msg>,
    stop: CancellationToken,
) -> Result<WatchStats, ApiError> {
    let mut first = true;
    loop {
        let update = tokio::select! {
            _ = stop.cancelled() => break,
            u = watcher.next() => u?,
        };
        let now = Some(Utc::now());
        let msgs = match update {
            Update::Listed {
                events,
                list_rv,
                relist,
            } => {
                let context = RecordContext {
                    cluster: cluster.clone(),
                    watch_type: relist.then_some(WatchType::Added),
                    observed_at: now,
                };
                let position = Position::Listed {
                    list_rv: Arc::from(list_rv.as_str()),
                };
                let items = events
                    .into_iter()
                    .map(|event| Occurrence {
                        event,
                        context: context.clone(),
                        position: Some(position.clone()),
                    })
                    .collect();
                let kind = if relist || !first {
                    BatchKind::Relist
                } else {
                    BatchKind::Listing
                };
                vec![
                    Msg::Batch {
                        items,
                        kind,
                        encoded: None,
                    },
                    Msg::ListEnd { list_rv },
                ]
            }
            Update::Changed {
                event,
                watch_type,
                rv,
            } => vec![Msg::Batch {
                items: vec![Occurrence {
                    event: *event,
                    context: RecordContext {
                        cluster: cluster.clone(),
                        watch_type: Some(watch_type),
                        observed_at: now,
                    },
                    position: Some(Position::Watched { rv: Arc::from(rv) }),
                }],
                kind: BatchKind::Live,
                encoded: None,
            }],
        };
        first = false;
        for m in msgs {
            if tx.send(m).await.is_err() {
                return Ok(watcher.stats().clone());
            }
        }
        if !follow {
            break;
        }
    }
    Ok(watcher.stats().clone())
}

/// The replay source (a blocking thread): every input in order, line-
/// delimited ones on every core, as messages.
fn replay_source(
    inputs: Vec<Replay>,
    keep: &Prefilter<'_>,
    encoder: Option<crate::sink::Encoder>,
    tx: &mpsc::Sender<Msg>,
    stop: &CancellationToken,
) -> std::io::Result<()> {
    let par = ParOptions::for_this_machine();
    let gone = || std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the pipeline stopped");
    let send = |m: Msg| tx.blocking_send(m).map_err(|_| gone());
    for mut input in inputs {
        let mut batch: Vec<Occurrence> = Vec::new();
        loop {
            if stop.is_cancelled() {
                return Ok(());
            }
            if let Some(opts) = &par
                && let Some(lines) = input.take_lines()
            {
                // What the sequential reader read first goes first.
                if !batch.is_empty()
                    && send(Msg::Batch {
                        items: std::mem::take(&mut batch),
                        kind: BatchKind::Replay,
                        encoded: None,
                    })
                    .is_err()
                {
                    return Ok(());
                }
                let result = replay_lines(lines, keep, opts, encoder.as_deref(), |block| {
                    for e in block.errors.drain(..) {
                        send(Msg::Skipped(e.to_string()))?;
                    }
                    let items = std::mem::take(&mut block.kept);
                    let encoded = encoder.is_some().then(|| std::mem::take(&mut block.bytes));
                    if !items.is_empty() {
                        send(Msg::Batch {
                            items,
                            kind: BatchKind::Replay,
                            encoded,
                        })?;
                    }
                    if stop.is_cancelled() {
                        return Err(gone());
                    }
                    Ok(())
                });
                match result {
                    Ok(()) => break,
                    // Stopped (a signal, or stdout closed): not an error.
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
            let Some(item) = input.next_matching(keep) else {
                break;
            };
            match item {
                Ok((event, context)) => {
                    batch.push(Occurrence::new(event, context));
                    if batch.len() >= REPLAY_BATCH
                        && send(Msg::Batch {
                            items: std::mem::take(&mut batch),
                            kind: BatchKind::Replay,
                            encoded: None,
                        })
                        .is_err()
                    {
                        return Ok(());
                    }
                }
                Err(e) => {
                    if send(Msg::Skipped(e.to_string())).is_err() {
                        return Ok(());
                    }
                }
            }
        }
        if !batch.is_empty()
            && send(Msg::Batch {
                items: batch,
                kind: BatchKind::Replay,
                encoded: None,
            })
            .is_err()
        {
            return Ok(());
        }
    }
    Ok(())
}
