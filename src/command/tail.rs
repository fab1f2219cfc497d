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
use crate::config::ShipTo;
use crate::config::{Follow, TailSettings};
use crate::exit::Failure;
use crate::model::Clock;
use crate::model::owned::OwnedSet;
use crate::pipeline::checkpoint::Checkpoint;
use crate::pipeline::dedupe::{DEFAULT_CAP, Dedupe};
use crate::pipeline::state::StateLock;
use crate::pipeline::{Pipeline, Route, resume};
use crate::sink::{Sink, TerminalSink};
use crate::source::discovery;
use crate::source::list::ListOptions;
use crate::source::tree::OwnerTracker;
use crate::source::watch::{EventWatcher, Start, WatchOptions};

/// How often the state file is written while something changes.
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

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
    /// `--tree`: traces new children before the filter sees their events.
    tracker: Option<OwnerTracker>,
    /// Held for the whole run: no second kev writes this state file.
    _lock: Option<StateLock>,
}

/// The sinks' names, as the state file records their progress.
fn sink_names(s: &TailSettings) -> Vec<String> {
    if s.ship.is_empty() {
        vec!["stdout".to_string()]
    } else {
        ShipTo::names(&s.ship)
    }
}

/// The sinks: the caller's own (`kev top`), the summary, the terminal, or
/// `--to-file`/`--to-webhook`'s.
fn routes(
    s: &TailSettings,
    namespace_column: bool,
    cluster_column: bool,
    note: String,
    own: Option<Box<dyn Sink>>,
    tree: Option<&Arc<OwnedSet>>,
) -> Result<Vec<Route>, Failure> {
    if let Some(sink) = own {
        return Ok(vec![Route::to(sink)]);
    }
    if s.output.summary {
        let mut columns = s.output.summary_columns(namespace_column);
        columns.cluster = cluster_column;
        // --tree knows each object's owners: workloads named exactly.
        let owners = tree.map(|set| {
            let mut owners = crate::incident::Owners::default();
            for (uid, kind, name, owner) in set.links() {
                owners.insert(uid, kind, name, owner);
            }
            owners
        });
        let sink = crate::sink::SummarySink::new(s.output.format, columns, Clock::System, owners)
            .empty_note(Some(note));
        return Ok(vec![Route::to(Box::new(sink))]);
    }
    if s.ship.is_empty() {
        let mut table = s.output.table(namespace_column);
        table.cluster_column = cluster_column;
        let mut sink =
            TerminalSink::new(s.output.format, table, Clock::System).empty_listing_note(Some(note));
        if let Some(set) = tree {
            sink = sink.with_paths(Arc::clone(set));
        }
        return Ok(vec![Route::to(Box::new(sink))]);
    }
    let mut routes = Vec::new();
    for (to, name) in s.ship.iter().zip(ShipTo::names(&s.ship)) {
        let sink: Box<dyn Sink> = match to {
            ShipTo::File(c) => Box::new(c.build(&name).map_err(Failure::runtime)?),
            ShipTo::Webhook(c) => Box::new(c.build(&name).map_err(Failure::runtime)?),
        };
        routes.push(Route::to(sink));
    }
    Ok(routes)
}

/// Several clusters (`--context a,b`, `--all-contexts`): one watch per
/// context, merged by the pipeline; `--for` resolved offline (kubectl's
/// built-in names, or a Kind), one filter for all. A cluster that fails is
/// one line on stderr, the others go on, and the exit code is 1.
async fn run_many(
    s: TailSettings,
    contexts: Vec<String>,
    own: Option<Box<dyn Sink>>,
    stop: CancellationToken,
) -> Result<(), Failure> {
    crate::client::install_crypto_provider();
    let filter = s.filter.build_offline().map_err(Failure::usage)?;
    let fs = filter.field_selector().to_string();
    let mut sources = Vec::new();
    let mut namespaces = std::collections::BTreeSet::new();
    for ctx in &contexts {
        let cluster = connect(&crate::client::ClusterOptions {
            kubeconfig: s.cluster.kubeconfig.clone(),
            context: Some(ctx.clone()),
            overrides: s.cluster.overrides.clone(),
        })
        .await
        .map_err(Failure::usage)?;
        let namespace = s.namespaces.resolve(&cluster.default_namespace);
        namespaces.insert(namespace.clone());
        let list = ListOptions {
            namespace,
            field_selector: (!fs.is_empty()).then(|| fs.clone()),
            page_size: s.page_size,
            request_timeout: s.request_timeout,
            keep_raw: s.output.format.prints_objects(),
        };
        let mut opts = WatchOptions::new(list);
        opts.start = match s.follow {
            Follow::WatchOnly => Start::WatchOnly,
            _ => Start::List,
        };
        opts.event_ttl = s.event_ttl;
        sources.push((
            ctx.clone(),
            EventWatcher::new(cluster.client, cluster.url, opts),
        ));
    }
    // NAMESPACE when any cluster reads all of them, or they read different ones.
    let namespace_column = namespaces.len() > 1 || namespaces.contains(&None);
    let routes = routes(
        &s,
        namespace_column,
        true,
        "No events found.".to_string(),
        own,
        None,
    )?;
    let pipeline = Pipeline {
        filter: Arc::new(filter),
        clock: Clock::System,
        dedupe: (s.follow != Follow::No).then(|| Dedupe::new(s.event_ttl, DEFAULT_CAP)),
        include_deleted: s.include_deleted,
        checkpoint: None,
        checkpoint_interval: CHECKPOINT_INTERVAL,
        routes,
        cluster: None,
        metrics: None,
    };
    let (report, failures) = pipeline
        .run_watch_many(
            sources,
            s.follow != Follow::No,
            s.follow == Follow::WatchOnly,
            stop,
        )
        .await
        .map_err(Failure::runtime)?;
    tracing::debug!(?report, "done");
    if !failures.is_empty() {
        let names: Vec<&str> = failures.iter().map(|(n, _)| n.as_str()).collect();
        return Err(Failure::runtime(anyhow::anyhow!(
            "{} of {} contexts failed (reported above): {}",
            failures.len(),
            contexts.len(),
            names.join(", ")
        )));
    }
    Ok(())
}

/// Run `kev [FLAGS] [EXPR...]`.
pub async fn run(s: TailSettings, stop: CancellationToken) -> Result<(), Failure> {
    run_into(s, None, stop).await
}

/// Run it into `own` sink instead of the ones the settings name (`kev top`).
pub(crate) async fn run_into(
    s: TailSettings,
    own: Option<Box<dyn Sink>>,
    stop: CancellationToken,
) -> Result<(), Failure> {
    // Following into a pipe whose reader has gone (`kev -A -w | head -1`):
    // stop now, not at the next event's write.
    if own.is_none() && s.ship.is_empty() && s.follow != Follow::No {
        let token = stop.clone();
        crate::output::stdout::on_reader_gone(move || {
            tracing::debug!("stdout's reader has gone: stopping");
            token.cancel();
        });
    }
    let contexts = match &s.contexts {
        crate::config::Contexts::One => None,
        crate::config::Contexts::Named(names) => Some(names.clone()),
        crate::config::Contexts::All => {
            Some(crate::client::context_names(&s.cluster).map_err(Failure::usage)?)
        }
    };
    if let Some(contexts) = contexts {
        if contexts.is_empty() {
            return Err(Failure::usage(anyhow::anyhow!(
                "--all-contexts: the kubeconfig has no contexts"
            )));
        }
        return run_many(s, contexts, own, stop).await;
    }
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
    // Opened with the state file locked, as kev run does.
    let tree = p.tracker.as_ref().map(|t| Arc::clone(t.set()));
    let routes = routes(&s, p.namespace.is_none(), false, note, own, tree.as_ref())?;
    let pipeline = Pipeline {
        filter: Arc::new(p.filter),
        clock: Clock::System,
        // One list has each event once: only following (relists) and a
        // state file (what earlier runs delivered) need the dedupe set.
        dedupe: (s.follow != Follow::No || s.state.is_some()).then_some(p.dedupe),
        include_deleted: s.include_deleted,
        checkpoint: p.checkpoint,
        checkpoint_interval: CHECKPOINT_INTERVAL,
        routes,
        cluster: None,
        metrics: None,
    };
    let mut opts = WatchOptions::new(p.list);
    opts.start = p.start;
    opts.event_ttl = s.event_ttl;
    opts.since = p.since;
    let mut watcher = EventWatcher::new(p.cluster.client.clone(), p.cluster.url.clone(), opts);
    if let Some(t) = p.tracker {
        watcher = watcher.with_tracker(t);
    }
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
    let (filter, tracker) = match (&target, s.filter.tree) {
        (Some(target), true) => {
            let Some(ns) = namespace.clone() else {
                return Err(Failure::usage(anyhow::anyhow!(
                    "--tree needs the object's namespace: give -n NAMESPACE instead of -A"
                )));
            };
            let set = Arc::new(OwnedSet::new(target.to_string()));
            let tracker = OwnerTracker::start(
                cluster.client.clone(),
                &cluster.url,
                &ns,
                target,
                Arc::clone(&set),
                s.request_timeout,
            )
            .await
            .map_err(|e| {
                Failure::runtime(
                    anyhow::Error::new(e)
                        .context(format!("--tree: cannot read what {target} owns")),
                )
            })?;
            let filter = s.filter.build_owned(set).map_err(Failure::usage)?;
            (filter, Some(tracker))
        }
        _ => (s.filter.build(target).map_err(Failure::usage)?, None),
    };
    let fs = filter.field_selector().to_string();
    let list = ListOptions {
        namespace: namespace.clone(),
        field_selector: (!fs.is_empty()).then_some(fs),
        page_size: s.page_size,
        request_timeout: s.request_timeout,
        keep_raw: s.output.format.prints_objects(),
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
            let opened = resume::open(
                &resume::Request {
                    path: &st.path,
                    reset: st.reset,
                    client: &cluster.client,
                    url: &cluster.url,
                    list: &list,
                    filter: &filter,
                    fresh_start: start.clone(),
                    event_ttl: s.event_ttl,
                    sinks: &sink_names(s),
                },
                &mut dedupe,
            )
            .await
            .map_err(resume_failure)?;
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
        tracker,
        _lock: lock,
    })
}

/// A state file that cannot be used is a usage error (exit 2); a cluster
/// that cannot be reached is a runtime failure.
fn resume_failure(e: resume::ResumeError) -> Failure {
    match e {
        resume::ResumeError::State(e) => Failure::usage(e),
        resume::ResumeError::Identity(e) => Failure::runtime(e),
    }
}
