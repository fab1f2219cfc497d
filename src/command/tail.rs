//! `kev [FLAGS] [EXPR...]`: list events, and with `-w` follow them.
//!
//! Settings → connect → resolve `--for` through discovery → the filter and
//! its field selector → (with `--state-file`) the cluster's identity, the
//! state, the resume position → a watch source, the terminal sink → the
//! pipeline.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio_util::sync::CancellationToken;

use crate::client::{Cluster, connect};
use crate::config::{Follow, StateSettings, TailSettings};
use crate::exit::Failure;
use crate::model::Clock;
use crate::pipeline::Pipeline;
use crate::pipeline::checkpoint::Checkpoint;
use crate::pipeline::dedupe::{DEFAULT_CAP, Dedupe};
use crate::pipeline::state::{ClusterRecord, DeliveredEntry, Selection, State, StateLock};
use crate::sink::TerminalSink;
use crate::source::discovery;
use crate::source::identity::identify;
use crate::source::list::ListOptions;
use crate::source::watch::{EventWatcher, Start, WatchOptions};

/// How often the state file is written while something changes.
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// Batches queued per sink.
const SINK_QUEUE: usize = 16;

/// Everything the pipeline needs, resolved against the cluster.
struct Prepared {
    cluster: Cluster,
    namespace: Option<String>,
    filter: crate::filter::Filter,
    list: ListOptions,
    dedupe: Dedupe,
    start: Start,
    /// A `--watch-only` cutoff kept by the state file.
    since: Option<chrono::DateTime<Utc>>,
    checkpoint: Option<Checkpoint>,
    /// Held for the whole run: no second kev writes this state file.
    _lock: Option<StateLock>,
}

/// Run `kev [FLAGS] [EXPR...]`.
pub async fn run(s: TailSettings, stop: CancellationToken) -> Result<(), Failure> {
    // A signal while connecting (an apiserver that does not answer) stops
    // at once: nothing has been delivered yet.
    let p = tokio::select! {
        p = prepare(&s) => p?,
        _ = stop.cancelled() => return Ok(()),
    };
    let note = match (&p.namespace, &s.state) {
        (_, Some(_)) => "No new events since the last run with this state file.".to_string(),
        (Some(ns), None) => format!("No events found in {ns} namespace."),
        (None, None) => "No events found.".to_string(),
    };
    let sink = TerminalSink::new(
        s.output.format,
        s.output.table(p.namespace.is_none()),
        Clock::System,
    )
    .empty_listing_note(Some(note));
    let pipeline = Pipeline {
        filter: Arc::new(p.filter),
        clock: Clock::System,
        // One list has each event once: only following (relists) and a
        // state file (what earlier runs delivered) need the dedupe set.
        dedupe: (s.follow != Follow::No || s.state.is_some()).then_some(p.dedupe),
        include_deleted: s.include_deleted,
        checkpoint: p.checkpoint,
        checkpoint_interval: CHECKPOINT_INTERVAL,
        sinks: vec![Box::new(sink)],
        sink_queue: SINK_QUEUE,
        cluster: None,
    };
    let mut opts = WatchOptions::new(p.list);
    opts.start = p.start;
    opts.event_ttl = s.event_ttl;
    opts.since = p.since;
    let watcher = EventWatcher::new(p.cluster.client.clone(), p.cluster.url.clone(), opts);
    let report = pipeline
        .run_watch(watcher, s.follow != Follow::No, stop)
        .await
        .map_err(Failure::runtime)?;
    tracing::debug!(?report, "done");
    drop(p._lock);
    Ok(())
}

/// Connect, resolve `--for`, build the filter and the list options, and
/// open the state file.
async fn prepare(s: &TailSettings) -> Result<Prepared, Failure> {
    crate::client::install_crypto_provider();
    let cluster = connect(&s.cluster).await.map_err(Failure::usage)?;
    let namespace = s.namespaces.resolve(&cluster.default_namespace);
    let target = match &s.filter.for_object {
        Some(spec) => Some(discovery::resolve(&cluster.client, spec).await.map_err(
            |e| match e {
                discovery::ForError::Discovery { .. } => Failure::runtime(e),
                _ => Failure::usage(e),
            },
        )?),
        None => None,
    };
    let filter = s.filter.build(target).map_err(Failure::usage)?;
    let fs = filter.field_selector().to_string();
    let list = ListOptions {
        namespace: namespace.clone(),
        field_selector: (!fs.is_empty()).then_some(fs),
        page_size: s.page_size,
        request_timeout: s.request_timeout,
    };
    tracing::debug!(field_selector = ?list.field_selector, namespace = ?namespace, "reading events");
    let mut dedupe = Dedupe::new(s.event_ttl, DEFAULT_CAP);
    let mut start = match s.follow {
        Follow::WatchOnly => Start::WatchOnly,
        Follow::No | Follow::Watch => Start::List,
    };
    let mut since = None;
    let (checkpoint, lock) = match &s.state {
        Some(st) => {
            let opened = open_state(st, &cluster, &list, &filter, s, &mut dedupe).await?;
            if s.follow != Follow::No {
                start = opened.start;
            }
            if s.follow == Follow::WatchOnly {
                since = opened.watch_only_since;
            }
            (Some(opened.checkpoint), Some(opened.lock))
        }
        None => (None, None),
    };
    Ok(Prepared {
        cluster,
        namespace,
        filter,
        list,
        dedupe,
        start,
        since,
        checkpoint,
        _lock: lock,
    })
}

/// A state file, opened.
struct OpenedState {
    checkpoint: Checkpoint,
    lock: StateLock,
    /// Where a follow starts.
    start: Start,
    /// The `--watch-only` cutoff an earlier run kept.
    watch_only_since: Option<chrono::DateTime<Utc>>,
}

/// Lock and load the state file, check it belongs to this cluster, seed the
/// dedupe set from it and choose where a follow starts.
async fn open_state(
    st: &StateSettings,
    cluster: &Cluster,
    list: &ListOptions,
    filter: &crate::filter::Filter,
    s: &TailSettings,
    dedupe: &mut Dedupe,
) -> Result<OpenedState, Failure> {
    let lock = StateLock::acquire(&st.path).map_err(Failure::usage)?;
    let identity = identify(&cluster.client, &cluster.url, list.request_timeout)
        .await
        .map_err(Failure::runtime)?;
    let record = ClusterRecord {
        server: identity.server,
        uid: identity.uid,
    };
    let filter_text = filter.to_string();
    let selection = Selection {
        namespace: list.namespace.clone(),
        field_selector: list.field_selector.clone(),
        filter: (!filter_text.is_empty()).then_some(filter_text),
    };
    let ttl_secs = s.event_ttl.as_secs();
    let fresh_start = match s.follow {
        Follow::WatchOnly => Start::WatchOnly,
        Follow::No | Follow::Watch => Start::List,
    };
    let loaded = if st.reset {
        None
    } else {
        State::load(&st.path).map_err(Failure::usage)?
    };
    let Some(mut state) = loaded else {
        return Ok(OpenedState {
            checkpoint: Checkpoint::new(st.path.clone(), State::new(record, selection, ttl_secs)),
            lock,
            start: fresh_start,
            watch_only_since: None,
        });
    };
    state
        .check_cluster(&st.path, &record)
        .map_err(Failure::usage)?;
    let now = Utc::now();
    let away = now - state.saved_at;
    if away.to_std().is_ok_and(|a| a > s.event_ttl) {
        tracing::warn!(
            since = %crate::model::time_serde::format(&state.saved_at),
            "the state file was last written {}s ago, longer than the event TTL ({}s): events created and expired in that time were never seen",
            away.num_seconds(),
            ttl_secs,
        );
    }
    dedupe.seed(
        std::mem::take(&mut state.delivered)
            .into_iter()
            .map(|DeliveredEntry(uid, rv, count, at)| (uid, rv, count, at)),
    );
    dedupe.prune(now);
    if state.selection != selection {
        tracing::warn!(
            "the state file was written for {}, and this run reads {selection}: relisting, and skipping what was already delivered",
            state.selection
        );
        state.resource_version = None;
    }
    let start = match &state.resource_version {
        Some(rv) => Start::Resume {
            resource_version: rv.clone(),
        },
        None => Start::Relist,
    };
    let watch_only_since = state.watch_only_since;
    // Keep a uid learnt before if it cannot be read now (RBAC changed).
    state.cluster = ClusterRecord {
        uid: record.uid.or(state.cluster.uid.take()),
        server: record.server,
    };
    state.selection = selection;
    state.event_ttl_seconds = ttl_secs;
    Ok(OpenedState {
        checkpoint: Checkpoint::new(st.path.clone(), state),
        lock,
        start,
        watch_only_since,
    })
}
