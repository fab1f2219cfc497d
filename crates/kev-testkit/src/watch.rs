//! The watch stream: history after a resourceVersion, then live changes.
//!
//! A watch is one long chunked response, one JSON object per line:
//! `{"type":"ADDED","object":{...}}`. A task (one per watch) replays the
//! cluster's change log after the requested resourceVersion, then sleeps on
//! the cluster's revision channel and sends each new change as it is written.
//! Without a resourceVersion (or with `"0"`), or as a streaming list
//! (`sendInitialEvents=true`), it first sends the current events as synthetic
//! `ADDED`s, as the apiserver does; a streaming list with bookmarks allowed
//! then marks the end of those with a `k8s.io/initial-events-end` `BOOKMARK`.
//! No other bookmarks are sent: events bypass the watch cache that makes them.
//!
//! The task ends when the client goes away, `timeoutSeconds` pass, the server
//! shuts down, or a scripted [`Fault`] says so. Stream faults count the events
//! sent and fire when the count is reached, including before the first event
//! (`DropAfter(0)`) and right after history (`EndAfter(n)` with `n` history
//! events), so tests never need to wait for time to pass.

use tokio::sync::watch;
use tokio::time::Instant;

use super::body::StreamWriter;
use super::cluster::{Change, ChangeType, FakeCluster, History, Stored};
use super::fault::Fault;
use super::selector::FieldSelector;
use super::signal;
use super::status::ApiStatus;

/// Where a watch starts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Start {
    /// No resourceVersion, or `"0"`: the current state as `ADDED`, then changes.
    Current,
    /// Changes after this resourceVersion.
    After(u64),
}

/// Everything a watch task needs.
pub(crate) struct WatchPlan {
    /// The events to watch; `None` for a resource the fake never changes.
    pub cluster: Option<FakeCluster>,
    /// `"ns/"` to watch one namespace, `None` for all.
    pub prefix: Option<String>,
    /// The `fieldSelector`.
    pub selector: FieldSelector,
    /// Where to start.
    pub start: Start,
    /// When `timeoutSeconds` ends the watch.
    pub deadline: Option<Instant>,
    /// A scripted stream fault, if any.
    pub fault: Option<Fault>,
    /// `sendInitialEvents=true`: after the initial `ADDED`s, a `BOOKMARK` marked
    /// `k8s.io/initial-events-end` (a streaming list).
    pub initial_events_end: bool,
    /// Server shutdown.
    pub shutdown: watch::Receiver<bool>,
}

/// Why a stream step stopped the watch.
enum Stop {
    /// End the body cleanly.
    End,
    /// Abort the connection (a [`Fault::DropAfter`]).
    Abort,
    /// The client is gone or the server is shutting down: nothing more to do.
    Gone,
}

/// Counts sent events and fires the stream fault at its count.
struct Stream {
    out: StreamWriter,
    sent: usize,
    fault: Option<Fault>,
}

impl Stream {
    /// Fire the fault if its count is reached. `Err(stop)` ends the watch.
    async fn check_fault(&mut self, shutdown: &mut watch::Receiver<bool>) -> Result<(), Stop> {
        let fires = match &self.fault {
            Some(
                Fault::DropAfter(n)
                | Fault::EndAfter(n)
                | Fault::MalformedAfter(n)
                | Fault::PauseAfter(n, _),
            ) => *n == self.sent,
            _ => false,
        };
        if !fires {
            return Ok(());
        }
        match self.fault.take() {
            Some(Fault::DropAfter(_)) => Err(Stop::Abort),
            Some(Fault::EndAfter(_)) => Err(Stop::End),
            Some(Fault::MalformedAfter(_)) => {
                let line =
                    "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Event\",\"metadata\":{\"name\":\n";
                if self.out.send(line).await {
                    Ok(())
                } else {
                    Err(Stop::Gone)
                }
            }
            Some(Fault::PauseAfter(_, gate)) => {
                tokio::select! {
                    () = gate.pass() => Ok(()),
                    () = self.out.closed() => Err(Stop::Gone),
                    () = signal::shutdown(shutdown) => Err(Stop::Gone),
                }
            }
            _ => Ok(()),
        }
    }

    async fn send_event(
        &mut self,
        kind: ChangeType,
        obj: &Stored,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<(), Stop> {
        if !self.out.send(event_line(kind.as_str(), &obj.json)).await {
            return Err(Stop::Gone);
        }
        self.sent += 1;
        self.check_fault(shutdown).await
    }
}

/// `{"type":"ADDED","object":{"kind":"Event","apiVersion":"v1",...}}` and a newline.
pub(crate) fn event_line(kind: &str, item_json: &str) -> String {
    // Stored JSON has no kind/apiVersion (list items carry none); a watch
    // event's object does, so splice them in front of the stored fields.
    let fields = item_json
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
        .unwrap_or("");
    let sep = if fields.is_empty() { "" } else { "," };
    format!(
        "{{\"type\":\"{kind}\",\"object\":{{\"kind\":\"Event\",\"apiVersion\":\"v1\"{sep}{fields}}}}}\n"
    )
}

/// The `BOOKMARK` that ends the initial events of a streaming list, shaped as
/// kube-apiserver sends it for Events: an empty Event with the annotation.
pub(crate) fn initial_events_end_line(rv: u64) -> String {
    format!(
        "{{\"type\":\"BOOKMARK\",\"object\":{{\"kind\":\"Event\",\"apiVersion\":\"v1\",\
         \"metadata\":{{\"resourceVersion\":\"{rv}\",\
         \"annotations\":{{\"k8s.io/initial-events-end\":\"true\"}}}},\
         \"involvedObject\":{{}},\"source\":{{}},\"firstTimestamp\":null,\"lastTimestamp\":null,\
         \"eventTime\":null,\"reportingComponent\":\"\",\"reportingInstance\":\"\"}}}}\n"
    )
}

/// `{"type":"ERROR","object":<Status>}` and a newline.
pub(crate) fn error_line(status: &ApiStatus) -> String {
    format!("{{\"type\":\"ERROR\",\"object\":{}}}\n", status.to_json())
}

/// Run a watch to its end, writing into `out`.
pub(crate) async fn run(plan: WatchPlan, out: StreamWriter) {
    let WatchPlan {
        cluster,
        prefix,
        selector,
        start,
        deadline,
        fault,
        initial_events_end,
        mut shutdown,
    } = plan;
    match fault {
        Some(Fault::EmptyWatch) => return,
        Some(Fault::ExpiredEvent) => {
            let status = match (&cluster, start) {
                (Some(c), Start::After(rv)) => c.expired_watch().status(rv, c.resource_version()),
                (Some(c), Start::Current) => c.expired_watch().status(0, c.resource_version()),
                (None, _) => ApiStatus::watch_expired(),
            };
            out.send(error_line(&status)).await;
            return;
        }
        _ => {}
    }
    let mut stream = Stream {
        out,
        sent: 0,
        fault,
    };
    let result = stream_events(
        cluster,
        prefix.as_deref(),
        &selector,
        (start, initial_events_end),
        deadline,
        &mut stream,
        &mut shutdown,
    )
    .await;
    // Returning drops the writer, which ends the chunked body cleanly.
    if let Err(Stop::Abort) = result {
        stream.out.abort().await;
    }
}

async fn stream_events(
    cluster: Option<FakeCluster>,
    prefix: Option<&str>,
    selector: &FieldSelector,
    (start, initial_events_end): (Start, bool),
    deadline: Option<Instant>,
    stream: &mut Stream,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), Stop> {
    stream.check_fault(shutdown).await?;
    let Some(cluster) = cluster else {
        // A resource that never changes: hold the stream open until it ends.
        return wait_for_change(None, deadline, stream, shutdown).await;
    };
    // Subscribe before reading the store, so no write is missed in between.
    let mut latest = cluster.subscribe();
    let mut cursor = match start {
        Start::After(rv) => rv,
        Start::Current => {
            let at = cluster.resource_version();
            let page = cluster.page(prefix, selector, at, None, 0, false);
            for obj in &page.items {
                stream.send_event(ChangeType::Added, obj, shutdown).await?;
            }
            if initial_events_end && !stream.out.send(initial_events_end_line(at)).await {
                return Err(Stop::Gone);
            }
            at
        }
    };
    loop {
        match cluster.history(cursor, prefix) {
            History::Expired(rv, compacted) => {
                let line = error_line(&cluster.expired_watch().status(rv, compacted));
                stream.out.send(line).await;
                return Err(Stop::End);
            }
            History::Changes(changes, up_to) => {
                for Change { kind, obj, .. } in changes {
                    if selector.matches(&obj.fields) {
                        stream.send_event(kind, &obj, shutdown).await?;
                    }
                }
                cursor = up_to;
            }
        }
        wait_for_change(Some(&mut latest), deadline, stream, shutdown).await?;
    }
}

/// Wait for the next write to the cluster, or for the watch to end.
async fn wait_for_change(
    latest: Option<&mut watch::Receiver<u64>>,
    deadline: Option<Instant>,
    stream: &Stream,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), Stop> {
    let changed = async {
        match latest {
            Some(rx) => {
                if rx.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
            None => std::future::pending::<()>().await,
        }
    };
    let timeout = async {
        match deadline {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = changed => Ok(()),
        () = timeout => Err(Stop::End),
        () = stream.out.closed() => Err(Stop::Gone),
        () = signal::shutdown(shutdown) => Err(Stop::Gone),
    }
}
