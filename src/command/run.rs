//! `kev run --config FILE`: the daemon.
//!
//! The configuration (checked, every problem reported with its line and
//! column) → the sinks, each with its filter and buffer → connect → the
//! filter and field selector → the state file (per-sink progress) → the
//! watch → the pipeline, until a signal. `--check` stops after checking.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::cli::RunArgs;
use crate::client::{ClusterOptions, connect};
use crate::config::daemon::{BufferPolicy, DaemonConfig, SinkKind, SinkSpec};
use crate::exit::Failure;
use crate::filter::Filter;
use crate::metrics::Metrics;
use crate::model::Clock;
use crate::output::TableOptions;
use crate::pipeline::dedupe::{DEFAULT_CAP, Dedupe};
use crate::pipeline::resume::{self, ResumeError};
use crate::pipeline::router::Buffer;
use crate::pipeline::{Pipeline, Route};
use crate::sink::{Sink, TerminalSink};
use crate::source::list::ListOptions;
use crate::source::watch::{EventWatcher, Start, WatchOptions};

/// How often the state file is written while something changes.
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// Run `kev run`.
pub async fn run(args: &RunArgs, stop: CancellationToken) -> Result<(), Failure> {
    let config = DaemonConfig::load(&args.config).map_err(Failure::usage)?;
    if args.check {
        println!(
            "{}: ok ({} sink{})",
            args.config,
            config.sinks.len(),
            if config.sinks.len() == 1 { "" } else { "s" }
        );
        return Ok(());
    }
    let names: Vec<String> = config.sinks.iter().map(|s| s.name.clone()).collect();
    let metrics = Arc::new(Metrics::new());
    // Up before connecting: /healthz answers while kev waits for the cluster.
    let server = match &config.metrics {
        Some(m) => {
            let addr = m.listen.parse().map_err(|e| {
                Failure::usage(anyhow::anyhow!("metrics.listen {:?}: {e}", m.listen))
            })?;
            Some(
                crate::metrics::serve(addr, Arc::clone(&metrics), stop.clone())
                    .await
                    .map_err(|e| {
                        Failure::runtime(
                            anyhow::Error::new(e)
                                .context(format!("cannot listen on {addr} for metrics")),
                        )
                    })?,
            )
        }
        None => None,
    };
    // With leader election, wait for the lease first: a standby touches
    // no state file, sink or spool.
    let elector = match &config.leader_election {
        Some(le) => {
            let options = cluster_options(&config);
            let cluster = tokio::select! {
                c = connect(&options) => c.map_err(Failure::usage)?,
                _ = stop.cancelled() => return Ok(()),
            };
            Some(crate::lease::Elector::new(cluster.client, le))
        }
        None => None,
    };
    let lease_checkpoint = match &elector {
        Some(e) => match e.acquire(&stop).await.map_err(Failure::runtime)? {
            Some(checkpoint) => checkpoint,
            None => return Ok(()),
        },
        None => None,
    };
    // A checkpoint another replica wrote is newer than this one's own
    // state file (from before it lost the lease): start from it instead.
    let reset = args.reset_state
        || match (&lease_checkpoint, &elector) {
            (Some(c), Some(e)) => c.holder != e.identity(),
            _ => false,
        };
    let prepared = tokio::select! {
        p = prepare(&config, &names, reset, lease_checkpoint) => p?,
        _ = stop.cancelled() => return Ok(()),
    };
    // The leader renews the lease, with its checkpoint, until the pipeline
    // has stopped (then releases it); a lost lease stops the pipeline.
    let pipeline_stop = stop.child_token();
    let release = CancellationToken::new();
    let holder = elector.map(|elector| {
        let (release, lost) = (release.clone(), pipeline_stop.clone());
        let state_file = config.source.state_file.clone();
        let identity = elector.identity().to_string();
        tokio::spawn(async move {
            let checkpoint = || lease_checkpoint_of(state_file.as_deref(), &identity);
            let result = elector.hold(release, checkpoint).await;
            if result.is_err() {
                lost.cancel();
            }
            result
        })
    });
    // Opened with the state file locked: a second kev on the same state
    // file stops before it touches a sink's file or spool.
    let one_namespace = matches!(config.source.namespaces.as_slice(), [n] if n != "all");
    let routes = config
        .sinks
        .iter()
        .map(|s| route(s, !one_namespace, config.cluster.as_deref()))
        .collect::<Result<Vec<_>, _>>()?;
    let pipeline = Pipeline {
        filter: Arc::new(prepared.filter),
        clock: Clock::System,
        dedupe: Some(prepared.dedupe),
        include_deleted: false,
        checkpoint: prepared.checkpoint,
        checkpoint_interval: CHECKPOINT_INTERVAL,
        routes,
        cluster: config.cluster.clone(),
        metrics: Some(Arc::clone(&metrics)),
    };
    let mut opts = WatchOptions::new(prepared.list);
    opts.start = prepared.start;
    opts.event_ttl = config.event_ttl();
    opts.since = prepared.since;
    let watcher = EventWatcher::new(prepared.client.clone(), prepared.url.clone(), opts)
        .with_metrics(Arc::clone(&metrics));
    let report = pipeline
        .run_watch(watcher, true, pipeline_stop)
        .await
        .map_err(Failure::runtime)?;
    tracing::info!(?report, "stopped");
    drop(prepared.lock);
    if let Some(holder) = holder {
        release.cancel();
        match holder.await {
            Ok(Ok(())) => {}
            Ok(Err(lost)) => {
                return Err(Failure::runtime(anyhow::anyhow!(
                    "lost the leadership, stopped shipping: {lost}"
                )));
            }
            Err(e) => {
                return Err(Failure::runtime(anyhow::anyhow!(
                    "the lease task failed: {e}"
                )));
            }
        }
    }
    if let Some(server) = server {
        server.abort();
    }
    Ok(())
}

/// A sink from its configuration.
fn route(spec: &SinkSpec, namespace_column: bool, cluster: Option<&str>) -> Result<Route, Failure> {
    let table = TableOptions {
        namespace_column,
        ..TableOptions::default()
    };
    let sink: Box<dyn Sink> = match &spec.kind {
        SinkKind::Stdout(c) => {
            Box::new(TerminalSink::new(c.format, table, Clock::System).named(&spec.name))
        }
        SinkKind::Ndjson(c) => Box::new(c.build(&spec.name).map_err(Failure::runtime)?),
        SinkKind::Webhook(c) | SinkKind::Otlp(c) => {
            Box::new(c.build(&spec.name).map_err(Failure::runtime)?)
        }
        SinkKind::Kafka(c) => Box::new(c.build(&spec.name, cluster).map_err(Failure::runtime)?),
    };
    Ok(Route {
        sink,
        filter: spec.filter.clone(),
        buffer: Buffer {
            events: spec.buffer.events,
            drop_when_full: spec.buffer.policy == BufferPolicy::Drop,
        },
    })
}

/// With no progress to resume from, learn what the sinks already hold:
/// a Kafka sink's topic (`recover`, on by default), when it is the only
/// sink: the dedupe is shared, and what it skips, every sink skips.
async fn recover_from_sinks(config: &DaemonConfig, dedupe: &mut Dedupe) -> Result<(), Failure> {
    let kafka: Vec<(&str, &crate::sink::kafka::KafkaSinkConfig)> = config
        .sinks
        .iter()
        .filter_map(|s| match &s.kind {
            SinkKind::Kafka(c) if c.recover => Some((s.name.as_str(), &**c)),
            _ => None,
        })
        .collect();
    if kafka.is_empty() {
        return Ok(());
    }
    if config.sinks.len() != 1 {
        tracing::info!(
            "not recovering from the Kafka topic: with other sinks, what one holds another may not"
        );
        return Ok(());
    }
    if let Some((name, _)) = kafka.iter().find(|(_, c)| c.topic.contains("{{")) {
        tracing::info!(
            sink = name,
            "not recovering from Kafka: the topic is a template, so kev cannot know every topic it wrote"
        );
        return Ok(());
    }
    let window = config.event_ttl() + crate::pipeline::dedupe::TTL_GRACE;
    let mut found: Vec<crate::sink::kafka::recover::Found> = Vec::new();
    for (name, c) in kafka {
        let (name, c) = (name.to_string(), c.clone());
        let one = tokio::task::spawn_blocking(move || {
            crate::sink::kafka::recover::recover(&name, &c, window, RECOVER_DEADLINE)
        })
        .await
        .map_err(|e| Failure::runtime(anyhow::anyhow!("recovery from Kafka stopped: {e}")))?;
        match one {
            Ok(one) => found.extend(one),
            // Nothing is lost by going on: what the topic holds may be sent again.
            Err(e) => tracing::warn!(
                error = %e,
                "cannot read back what the Kafka topic holds: occurrences already in it may be sent again"
            ),
        }
    }
    dedupe.seed_recovered(found);
    dedupe.prune(chrono::Utc::now());
    Ok(())
}

/// How long recovery from a topic may take before kev starts anyway.
const RECOVER_DEADLINE: std::time::Duration = std::time::Duration::from_secs(120);

struct Prepared {
    client: kube::Client,
    url: String,
    filter: Filter,
    list: ListOptions,
    dedupe: Dedupe,
    start: Start,
    since: Option<chrono::DateTime<chrono::Utc>>,
    checkpoint: Option<crate::pipeline::checkpoint::Checkpoint>,
    /// Held for the whole run: no second kev writes this state file.
    lock: Option<crate::pipeline::state::StateLock>,
}

fn cluster_options(config: &DaemonConfig) -> ClusterOptions {
    crate::client::install_crypto_provider();
    ClusterOptions {
        kubeconfig: config.source.kubeconfig.clone(),
        context: config.source.context.clone(),
        overrides: Default::default(),
    }
}

/// The checkpoint a leader puts on its lease: its state file's position.
fn lease_checkpoint_of(
    state_file: Option<&std::path::Path>,
    holder: &str,
) -> Option<crate::lease::LeaseCheckpoint> {
    let state = crate::pipeline::state::State::load(state_file?).ok()??;
    Some(crate::lease::LeaseCheckpoint {
        resource_version: state.resource_version?,
        selection: state.selection.to_string(),
        holder: holder.to_string(),
    })
}

async fn prepare(
    config: &DaemonConfig,
    sinks: &[String],
    reset: bool,
    lease_checkpoint: Option<crate::lease::LeaseCheckpoint>,
) -> Result<Prepared, Failure> {
    let cluster = connect(&cluster_options(config))
        .await
        .map_err(Failure::usage)?;
    // One namespace is watched by itself; several, cluster-wide with a
    // filter (a field selector cannot say "one of").
    let namespaces: Vec<&String> = config
        .source
        .namespaces
        .iter()
        .filter(|n| *n != "all")
        .collect();
    let (namespace, filter) = match namespaces.as_slice() {
        [] => (None, config.filter.clone()),
        [one] => (Some((*one).clone()), config.filter.clone()),
        many => {
            let list: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
            let text = format!("namespace in ({})", list.join(", "));
            let both = if config.filter.expr().is_some() {
                format!("({text}) and ({})", config.filter)
            } else {
                text
            };
            (None, Filter::parse(&both).map_err(Failure::usage)?)
        }
    };
    let fs = filter.field_selector().to_string();
    let list = ListOptions {
        namespace,
        field_selector: (!fs.is_empty()).then_some(fs),
        page_size: 5000,
        request_timeout: config.request_timeout(),
        keep_raw: false,
    };
    let mut dedupe = Dedupe::new(config.event_ttl(), DEFAULT_CAP);
    let fresh_start = if config.source.watch_only {
        Start::WatchOnly
    } else {
        Start::List
    };
    let (checkpoint, lock, start, since, fresh) = match &config.source.state_file {
        Some(path) => {
            let r = resume::open(
                &resume::Request {
                    path,
                    reset,
                    client: &cluster.client,
                    url: &cluster.url,
                    list: &list,
                    filter: &filter,
                    fresh_start: fresh_start.clone(),
                    event_ttl: config.event_ttl(),
                    sinks,
                },
                &mut dedupe,
            )
            .await
            .map_err(|e| match e {
                ResumeError::State(e) => Failure::usage(e),
                ResumeError::Identity(e) => Failure::runtime(e),
            })?;
            let since = if config.source.watch_only {
                r.watch_only_since
            } else {
                None
            };
            (Some(r.checkpoint), Some(r.lock), r.start, since, r.fresh)
        }
        None => (None, None, fresh_start, None, true),
    };
    // A new leader without a state file of its own resumes from the
    // checkpoint the last one left on the lease, if it read the same.
    let start = match lease_checkpoint {
        Some(c) if fresh && c.selection == resume::selection(&list, &filter).to_string() => {
            tracing::info!(
                resource_version = %c.resource_version,
                from = %c.holder,
                "resuming from the checkpoint on the lease"
            );
            Start::Resume {
                resource_version: c.resource_version,
            }
        }
        Some(c) if fresh => {
            tracing::warn!(
                "the checkpoint on the lease was written for {}: not resuming from it",
                c.selection
            );
            start
        }
        _ => start,
    };
    if fresh && !config.source.watch_only {
        recover_from_sinks(config, &mut dedupe).await?;
    }
    Ok(Prepared {
        client: cluster.client,
        url: cluster.url,
        filter,
        list,
        dedupe,
        start,
        since,
        checkpoint,
        lock,
    })
}
