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
pub mod resume;
pub mod router;
pub mod state;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::filter::Filter;
use crate::metrics::{Metrics, SinkMetrics};
use crate::model::{Clock, EventView, Occurrence, Position, RecordContext, WatchType};
use crate::output::sort_by_last_seen;
use crate::sink::{Batch, Delivery, Sink, SinkError};
use crate::source::ApiError;
use crate::source::replay::parallel::{ParOptions, replay_lines};
use crate::source::replay::{Prefilter, Replay, ReplayError};
use crate::source::watch::{EventWatcher, Update, WatchStats};
use checkpoint::MAX_SINKS;
use checkpoint::{Applied, Checkpoint, CheckpointStats, Ledger};
use dedupe::{Dedupe, DedupeStats, Verdict};
use router::{Buffer, Sent, SinkHandle};
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
    /// The sinks, each with its filter and buffer.
    pub routes: Vec<Route>,
    /// The cluster label copied into every record.
    pub cluster: Option<String>,
    /// The daemon's metrics, if it serves them.
    pub metrics: Option<Arc<Metrics>>,
}

/// A sink with what it is sent: its own filter (ANDed with the
/// pipeline's) and its buffer.
pub struct Route {
    /// The sink.
    pub sink: Box<dyn Sink>,
    /// Its own filter.
    pub filter: Option<Filter>,
    /// Its buffer and what happens when it is full.
    pub buffer: Buffer,
}

impl Route {
    /// `sink`, sent everything the pipeline keeps, with the default buffer.
    pub fn to(sink: Box<dyn Sink>) -> Route {
        Route {
            sink,
            filter: None,
            buffer: Buffer::default(),
        }
    }
}

/// What a run did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Occurrences handed to the sinks.
    pub delivered: u64,
    /// Malformed inputs skipped (replay), each reported on stderr.
    pub skipped: u64,
    /// Of those, inputs nothing of which could be read (replay: a missing
    /// file, a directory).
    pub unreadable: u64,
    /// The dedupe stage's counters.
    pub dedupe: DedupeStats,
    /// The watch's counters.
    pub watch: Option<WatchStats>,
    /// The state file's figures.
    pub checkpoint: Option<CheckpointStats>,
    /// Per sink (in route order): occurrences dropped because its buffer was full.
    pub dropped: Vec<u64>,
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
    #[error("reading the dumps")]
    Replay(#[source] std::io::Error),
    /// One of kev's own tasks failed (a bug).
    #[error("internal error: the {task} task failed")]
    Internal {
        /// Which task.
        task: &'static str,
        /// How.
        #[source]
        source: tokio::task::JoinError,
    },
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
    /// `--watch-only` started watching at `rv`; events last seen before
    /// `since` are not wanted.
    Positioned { rv: String, since: DateTime<Utc> },
    /// A malformed input, reported and counted.
    Skipped(ReplayError),
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

/// What the dedupe stage said of one occurrence.
enum Admission {
    /// New: the shared uid and resourceVersion the dedupe set remembers,
    /// and the sinks that already have it (a restart's partial delivery).
    New(Arc<str>, Arc<str>, u64),
    /// New, with no dedupe set (replay), or a DELETED notification.
    Unchecked,
    /// Delivered before.
    Repeat,
}

/// The pipeline task's state while it runs.
struct Run {
    sinks: Vec<SinkHandle>,
    /// Each sink's own filter.
    filters: Vec<Option<Filter>>,
    /// `Some` with a state file: the ledger of acknowledgements and the checkpoint.
    ledger: Option<(Ledger, Checkpoint)>,
    seq: u64,
    report: Report,
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
        // Whatever ended the pipeline (a sink that failed or closed) ends
        // the source too, even if it is waiting for a quiet cluster.
        stop.cancel();
        match source.await {
            Ok(Ok(stats)) => {
                if let Ok(r) = &mut report {
                    r.watch = Some(stats);
                }
                report
            }
            // The source's error is the cause; a sink error after it is not.
            Ok(Err(e)) => Err(e.into()),
            Err(e) => Err(PipelineError::Internal {
                task: "watch",
                source: e,
            }),
        }
    }

    /// Run over several clusters at once (`--context a,b`, `--all-contexts`):
    /// each `(label, watcher)` is read concurrently, its records labelled
    /// with its cluster. The first listings of all are merged into one
    /// listing, sorted by last seen across clusters; then updates are
    /// interleaved as they arrive. A cluster whose source fails (unreachable,
    /// forbidden) is logged in one line at once and the others go on; the
    /// failures are returned with the report. No checkpoint: a state file
    /// belongs to one cluster.
    pub async fn run_watch_many(
        mut self,
        sources: Vec<(String, EventWatcher)>,
        follow: bool,
        watch_only: bool,
        stop: CancellationToken,
    ) -> Result<(Report, Vec<(String, ApiError)>), PipelineError> {
        self.checkpoint = None;
        self.dedupe = self.dedupe.take().map(Dedupe::by_cluster);
        let (tx, rx) = mpsc::channel(SOURCE_QUEUE);
        let merge = tokio::spawn(merge_sources(sources, follow, watch_only, tx, stop.clone()));
        let report = self.drive(rx, stop.clone()).await;
        stop.cancel();
        match merge.await {
            Ok(failures) => report.map(|r| (r, failures)),
            Err(e) => Err(PipelineError::Internal {
                task: "watch",
                source: e,
            }),
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
        let encoder = match self.routes.as_slice() {
            [only] if only.filter.is_none() => only.sink.encoder(),
            _ => None,
        };
        let source_stop = stop.clone();
        let source = tokio::task::spawn_blocking(move || {
            replay_source(inputs, &keep, encoder, &tx, &source_stop)
        });
        let report = self.drive(rx, stop.clone()).await;
        stop.cancel();
        match source.await {
            Ok(Ok(())) => report,
            Ok(Err(e)) => Err(PipelineError::Replay(e)),
            Err(e) => Err(PipelineError::Internal {
                task: "replay",
                source: e,
            }),
        }
    }

    /// The pipeline task: route what the source sends until it ends, then
    /// finish the sinks and the checkpoint.
    async fn drive(
        mut self,
        mut rx: mpsc::Receiver<Msg>,
        stop: CancellationToken,
    ) -> Result<Report, PipelineError> {
        let mut filters = Vec::with_capacity(self.routes.len());
        let sinks: Vec<SinkHandle> = self
            .routes
            .drain(..)
            .take(MAX_SINKS)
            .map(|r| {
                filters.push(r.filter);
                let counters = match &self.metrics {
                    Some(m) => m.sink(r.sink.name()),
                    None => SinkMetrics::default(),
                };
                SinkHandle::spawn(r.sink, r.buffer, counters, stop.clone())
            })
            .collect();
        if self.checkpoint.is_some() && self.dedupe.is_none() {
            // The dedupe set holds what was delivered; a checkpoint needs one.
            self.dedupe = Some(Dedupe::new(Duration::from_secs(3600), dedupe::DEFAULT_CAP));
        }
        let ledger = self
            .checkpoint
            .take()
            .map(|cp| (Ledger::new(sinks.len()), cp));
        // At most one snapshot waits for the writer: a slow disk skips
        // checkpoints, it does not queue them.
        let (snapshot_tx, writer) = match &ledger {
            Some((_, cp)) => {
                let (tx, rx) = mpsc::channel(1);
                let task = tokio::spawn(checkpoint::run_writer(
                    cp.path().to_path_buf(),
                    rx,
                    self.metrics.clone(),
                ));
                (Some(tx), Some(task))
            }
            None => (None, None),
        };
        let mut run = Run {
            sinks,
            filters,
            ledger,
            seq: 0,
            report: Report::default(),
        };
        let mut tick = tokio::time::interval(self.checkpoint_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut poll = tokio::time::interval(ACK_POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut result: Result<(), PipelineError> = Ok(());
        loop {
            let checkpoint_due = tokio::select! {
                msg = rx.recv() => match msg {
                    Some(m) => {
                        if !self.handle(m, &mut run, &stop).await {
                            // The sinks are gone: nothing more can be delivered.
                            break;
                        }
                        false
                    }
                    None => break,
                },
                _ = poll.tick(), if run.ledger.is_some() => false,
                _ = tick.tick(), if run.ledger.is_some() => true,
            };
            self.apply_acks(&mut run, None);
            if checkpoint_due
                && let (Some((l, cp)), Some(d), Some(tx)) =
                    (&mut run.ledger, &mut self.dedupe, &snapshot_tx)
                && cp.is_dirty(l)
                && let Ok(permit) = tx.try_reserve()
            {
                d.prune(Utc::now());
                permit.send((cp.snapshot(d, l), false));
            }
        }
        drop(rx);
        // Let each sink deliver its queue and close. Once a stop is asked
        // for (now or while waiting), only for so long: a sink stuck on a
        // blocked terminal or a dead endpoint must not hold the exit; what
        // it did not acknowledge is not in the checkpoint and is delivered
        // again next time.
        run.report.dropped = run.sinks.iter().map(|s| s.counters.dropped.get()).collect();
        let mut sinks = std::mem::take(&mut run.sinks);
        for s in &mut sinks {
            s.finish();
        }
        let acks: Vec<_> = sinks.iter().map(SinkHandle::acks).collect();
        let names: Vec<String> = sinks.iter().map(|s| s.name.clone()).collect();
        let joined = futures::future::join_all(sinks.into_iter().map(SinkHandle::join));
        tokio::pin!(joined);
        let outcomes = tokio::select! {
            o = &mut joined => Some(o),
            _ = stop.cancelled() => tokio::time::timeout(DRAIN_DEADLINE, &mut joined).await.ok(),
        };
        match outcomes {
            Some(outcomes) => {
                if let Some(Err(e)) = outcomes.into_iter().find(Result::is_err) {
                    result = Err(e.into());
                }
            }
            None => tracing::warn!(
                sinks = ?names,
                "stopping: the sinks did not finish within {:.1}s; what they did not acknowledge will be delivered again",
                DRAIN_DEADLINE.as_secs_f64()
            ),
        }
        self.apply_acks(&mut run, Some(&acks));
        if let (Some((l, cp)), Some(d), Some(tx)) = (&mut run.ledger, &self.dedupe, &snapshot_tx) {
            // The final checkpoint, whatever was written before.
            let _ = tx.send((cp.snapshot(d, l), true)).await;
        }
        drop(snapshot_tx);
        if let Some(task) = writer {
            match task.await {
                Ok(Ok(stats)) => run.report.checkpoint = Some(stats),
                Ok(Err(e)) => {
                    if result.is_ok() {
                        result = Err(e.into());
                    }
                }
                Err(e) => {
                    if result.is_ok() {
                        result = Err(PipelineError::Internal {
                            task: "state file writer",
                            source: e,
                        });
                    }
                }
            }
        }
        if let Some(d) = &self.dedupe {
            run.report.dedupe = d.stats().clone();
        }
        result.map(|()| run.report)
    }

    /// Apply what every sink has acknowledged to the checkpoint (from the
    /// running sinks, or from their last published acknowledgements).
    fn apply_acks(
        &mut self,
        run: &mut Run,
        last: Option<&[tokio::sync::watch::Receiver<crate::sink::Acked>]>,
    ) {
        let (Some((ledger, cp)), Some(d)) = (&mut run.ledger, &mut self.dedupe) else {
            return;
        };
        match last {
            Some(acks) => {
                for (i, a) in acks.iter().enumerate() {
                    ledger.acked(i, a.borrow().up_to);
                }
            }
            None => {
                for (i, s) in run.sinks.iter().enumerate() {
                    ledger.acked(i, s.acked().up_to);
                }
            }
        }
        for item in ledger.drain_acked() {
            cp.apply(item, d);
        }
    }

    /// Handle one message; `false` when the sinks are gone.
    async fn handle(&mut self, msg: Msg, run: &mut Run, stop: &CancellationToken) -> bool {
        let (mut items, kind, encoded) = match msg {
            Msg::Batch {
                items,
                kind,
                encoded,
            } => (items, kind, encoded),
            Msg::ListEnd { list_rv } => {
                run.seq += 1;
                if let Some((l, _)) = &mut run.ledger {
                    l.record(run.seq, Applied::ListEnd { list_rv }, []);
                }
                return true;
            }
            Msg::Positioned { rv, since } => {
                run.seq += 1;
                if let Some((l, cp)) = &mut run.ledger {
                    cp.set_watch_only_since(since);
                    l.record(run.seq, Applied::ListEnd { list_rv: rv }, []);
                }
                return true;
            }
            Msg::Skipped(what) => {
                run.report.skipped += 1;
                run.report.unreadable += u64::from(what.is_input_error());
                let what = what.to_string();
                // Replay's report of a malformed line, in the form users
                // grep for (FILE:LINE: reason): on stderr, or kept for
                // after the view while kev top owns the terminal.
                crate::tui::log::report(&format!("kev: {}", crate::escape::escape(&what)));
                return true;
            }
        };
        let now = self.clock.now();
        if let Some(m) = &self.metrics
            && kind != BatchKind::Replay
        {
            m.events_received.inc_by(items.len() as u64);
        }
        let coalesced_before = self.dedupe.as_ref().map_or(0, |d| d.stats().coalesced);
        if matches!(kind, BatchKind::Listing | BatchKind::Relist) {
            // Lists have no order in history; kubectl's is by last seen.
            // Sorted before numbering, so sequence numbers follow delivery.
            sort_by_last_seen(&mut items);
        }
        let n_sinks = run.sinks.len();
        let mut per_sink: Vec<Vec<Delivery>> = vec![Vec::new(); n_sinks];
        // (seq, item, routed mask) for the ledger, once the sends are done.
        let mut records: Vec<(u64, Applied, u64)> = Vec::new();
        let mut dropped = false;
        for occ in items {
            run.seq += 1;
            let deleted = occ.context.watch_type == Some(WatchType::Deleted);
            let observed = occ.context.observed_at.unwrap_or(now);
            let admission = match &mut self.dedupe {
                None => Admission::Unchecked,
                Some(d) if deleted => {
                    // It cannot come back.
                    let key = d.key(occ.context.cluster.as_deref(), &occ.event.uid);
                    d.forget(&key);
                    Admission::Unchecked
                }
                Some(d) => {
                    let key = d.key(occ.context.cluster.as_deref(), &occ.event.uid);
                    let verdict = d.admit(
                        &key,
                        &occ.event.resource_version,
                        occ.event.count,
                        observed,
                        kind == BatchKind::Relist,
                    );
                    match verdict {
                        Verdict::New(uid, rv) => Admission::New(uid, rv, 0),
                        // Before a restart some sinks had it: the others get it.
                        Verdict::Partial(uid, rv, had) => Admission::New(uid, rv, had),
                        Verdict::Repeat => Admission::Repeat,
                    }
                }
            };
            let wanted = !matches!(admission, Admission::Repeat)
                && (!deleted || self.include_deleted)
                && (kind == BatchKind::Replay || self.filter.matches(&occ.event, now));
            let had = match &admission {
                Admission::New(_, _, had) => *had,
                _ => 0,
            };
            let mut routed = 0u64;
            if wanted {
                for (i, f) in run.filters.iter().enumerate() {
                    if had & (1 << i) == 0 && f.as_ref().is_none_or(|f| f.matches(&occ.event, now))
                    {
                        routed |= 1 << i;
                    }
                }
            }
            if routed != (1u64 << n_sinks).wrapping_sub(1) || n_sinks == 0 {
                dropped = true;
            }
            if run.ledger.is_some() {
                let (uid, rv) = match &admission {
                    Admission::New(uid, rv, _) => (uid.clone(), rv.clone()),
                    Admission::Unchecked | Admission::Repeat => (
                        Arc::from(occ.event.uid.as_str()),
                        Arc::from(occ.event.resource_version.as_str()),
                    ),
                };
                records.push((
                    run.seq,
                    Applied::Occurrence {
                        uid,
                        version: dedupe::Version {
                            resource_version: rv,
                            count: occ.event.count,
                            observed_at: observed.timestamp(),
                        },
                        position: occ.position.clone(),
                        deleted,
                        delivered: routed != 0,
                    },
                    routed,
                ));
            }
            if routed != 0 {
                run.report.delivered += 1;
                let occurrence = Arc::new(occ);
                for (i, batch) in per_sink.iter_mut().enumerate() {
                    if routed & (1 << i) != 0 {
                        batch.push(Delivery {
                            seq: run.seq,
                            occurrence: Arc::clone(&occurrence),
                        });
                    }
                }
            }
        }
        if let (Some(m), Some(d)) = (&self.metrics, &self.dedupe) {
            m.coalesced.inc_by(d.stats().coalesced - coalesced_before);
            m.dedupe_size(d.len());
        }
        let mut encoded = if dropped || n_sinks != 1 {
            None
        } else {
            encoded
        };
        let mut refused = 0u64;
        let mut gone = false;
        for (i, (s, deliveries)) in run.sinks.iter().zip(per_sink).enumerate() {
            if deliveries.is_empty() && kind != BatchKind::Listing {
                continue;
            }
            let batch = Batch {
                deliveries,
                listing: kind == BatchKind::Listing,
                encoded: encoded.take(),
            };
            let sent = tokio::select! {
                biased;
                sent = s.send(batch) => sent,
                // Stopping while a sink's queue is full: what is not queued
                // is not acknowledged, so the checkpoint does not cover it.
                _ = stop.cancelled() => Sent::Gone,
            };
            match sent {
                Sent::Queued => {}
                // Dropped for this sink: it is not waited for.
                Sent::Dropped => refused |= 1 << i,
                Sent::Gone => gone = true,
            }
        }
        if let Some((l, _)) = &mut run.ledger {
            for (seq, item, routed) in records {
                let routed = routed & !refused;
                l.record(seq, item, (0..n_sinks).filter(|i| routed & (1 << i) != 0));
            }
        }
        !gone
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
    loop {
        let update = tokio::select! {
            _ = stop.cancelled() => break,
            u = watcher.next() => u?,
        };
        let now = Some(Utc::now());
        let msgs = match update {
            Update::Listed {
                events,
                raw,
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
                let mut raw = raw.into_iter();
                let items = events
                    .into_iter()
                    .map(|event| Occurrence {
                        event,
                        context: context.clone(),
                        position: Some(position.clone()),
                        raw: raw.next(),
                    })
                    .collect();
                let kind = if relist {
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
            Update::Positioned { rv, since } => vec![Msg::Positioned { rv, since }],
            Update::Changed {
                event,
                raw,
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
                    raw,
                }],
                kind: BatchKind::Live,
                encoded: None,
            }],
        };
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

/// Several watch sources as one; see [`Pipeline::run_watch_many`].
async fn merge_sources(
    sources: Vec<(String, EventWatcher)>,
    follow: bool,
    watch_only: bool,
    tx: mpsc::Sender<Msg>,
    stop: CancellationToken,
) -> Vec<(String, ApiError)> {
    let mut rxs = Vec::new();
    let mut tasks = Vec::new();
    for (label, watcher) in sources {
        let (stx, srx) = mpsc::channel(SOURCE_QUEUE);
        let task_label = label.clone();
        let task_stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let r = watch_source(watcher, follow, Some(task_label.clone()), stx, task_stop).await;
            if let Err(e) = &r {
                tracing::error!(
                    "context {task_label:?}: {}; the other clusters go on",
                    crate::client::one_line(e)
                );
            }
            (task_label, r)
        }));
        rxs.push((label, srx));
    }
    // The first listings, merged: one table over all clusters.
    if !watch_only {
        let mut listing = Vec::new();
        let mut early = Vec::new();
        for (_, rx) in &mut rxs {
            loop {
                match rx.recv().await {
                    Some(Msg::Batch {
                        items,
                        kind: BatchKind::Listing,
                        ..
                    }) => listing.extend(items),
                    Some(Msg::ListEnd { .. }) | None => break,
                    Some(other) => early.push(other),
                }
            }
        }
        let first = Msg::Batch {
            items: listing,
            kind: BatchKind::Listing,
            encoded: None,
        };
        for m in std::iter::once(first).chain(early) {
            if tx.send(m).await.is_err() {
                break;
            }
        }
    }
    // Then whatever comes, from whichever cluster.
    let mut all = futures::stream::select_all(
        rxs.into_iter()
            .map(|(_, rx)| tokio_stream::wrappers::ReceiverStream::new(rx)),
    );
    while let Some(m) = futures::StreamExt::next(&mut all).await {
        // Positions are per cluster: nothing resumes from them here.
        if matches!(m, Msg::ListEnd { .. } | Msg::Positioned { .. }) {
            continue;
        }
        if tx.send(m).await.is_err() {
            break;
        }
    }
    let mut failures = Vec::new();
    for t in tasks {
        if let Ok((label, Err(e))) = t.await {
            failures.push((label, e));
        }
    }
    failures
}

/// The replay source stopped because the pipeline did (a signal, or
/// stdout closed): not an error.
#[derive(Debug)]
struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the pipeline stopped")
    }
}

impl std::error::Error for Stopped {}

fn is_stopped(e: &std::io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<Stopped>())
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
    match replay_inputs(inputs, keep, encoder, tx, stop) {
        Err(e) if is_stopped(&e) => Ok(()),
        other => other,
    }
}

fn replay_inputs(
    inputs: Vec<Replay>,
    keep: &Prefilter<'_>,
    encoder: Option<crate::sink::Encoder>,
    tx: &mpsc::Sender<Msg>,
    stop: &CancellationToken,
) -> std::io::Result<()> {
    let par = ParOptions::for_this_machine();
    let send = |m: Msg| {
        if stop.is_cancelled() {
            return Err(std::io::Error::other(Stopped));
        }
        tx.blocking_send(m)
            .map_err(|_| std::io::Error::other(Stopped))
    };
    let send_batch = |items: Vec<Occurrence>, encoded: Option<Vec<u8>>| {
        if items.is_empty() {
            return Ok(());
        }
        send(Msg::Batch {
            items,
            kind: BatchKind::Replay,
            encoded,
        })
    };
    for mut input in inputs {
        let mut batch: Vec<Occurrence> = Vec::new();
        loop {
            if let Some(opts) = &par
                && let Some(lines) = input.take_lines()
            {
                // What the sequential reader read first goes first.
                send_batch(std::mem::take(&mut batch), None)?;
                replay_lines(lines, keep, opts, encoder.as_deref(), |block| {
                    for e in block.errors.drain(..) {
                        send(Msg::Skipped(e))?;
                    }
                    // A block the encoder failed on goes to the sink as
                    // events, whose printing reports the failure.
                    let encoded = (encoder.is_some() && !block.encode_failed)
                        .then(|| std::mem::take(&mut block.bytes));
                    send_batch(std::mem::take(&mut block.kept), encoded)
                })?;
                break;
            }
            let Some(item) = input.next_matching(keep) else {
                break;
            };
            match item {
                Ok((event, context)) => {
                    batch.push(Occurrence::new(event, context));
                    if batch.len() >= REPLAY_BATCH {
                        send_batch(std::mem::take(&mut batch), None)?;
                    }
                }
                Err(e) => send(Msg::Skipped(e))?,
            }
        }
        send_batch(batch, None)?;
    }
    Ok(())
}
