//! Opening a state file: where a run resumes, and what it already delivered.
//!
//! Shared by every command that follows a cluster: lock the file, learn the
//! cluster's identity, load the state and check it belongs to this cluster,
//! seed the dedupe set with what was delivered (and what only some sinks
//! had), and choose where the watch starts: from the stored
//! resourceVersion, or a relist when there is none or the selection changed
//! (another namespace, field selector or filter: then kev relists and skips
//! what was delivered).

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::checkpoint::Checkpoint;
use super::dedupe::Dedupe;
use super::state::{
    ClusterRecord, DeliveredEntry, PartialEntry, Selection, State, StateError, StateLock,
};
use crate::filter::Filter;
use crate::source::ApiError;
use crate::source::identity::identify;
use crate::source::list::ListOptions;
use crate::source::watch::Start;

/// What to open.
pub struct Request<'a> {
    /// The state file.
    pub path: &'a Path,
    /// `--reset-state`: ignore what it holds.
    pub reset: bool,
    /// The cluster.
    pub client: &'a kube::Client,
    /// Its URL.
    pub url: &'a str,
    /// What this run reads.
    pub list: &'a ListOptions,
    /// The filter this run applies.
    pub filter: &'a Filter,
    /// Where to start without a stored position.
    pub fresh_start: Start,
    /// `--event-ttl`.
    pub event_ttl: Duration,
    /// The sinks of this run, by name, in route order.
    pub sinks: &'a [String],
}

/// An opened state file.
#[derive(Debug)]
pub struct Resume {
    /// The checkpoint to run with.
    pub checkpoint: Checkpoint,
    /// Held for the whole run: no second kev writes this state file.
    pub lock: StateLock,
    /// Where the watch starts.
    pub start: Start,
    /// The `--watch-only` cutoff an earlier run kept.
    pub watch_only_since: Option<DateTime<Utc>>,
    /// No state was loaded (a new file, or `--reset-state`).
    pub fresh: bool,
}

/// Why a state file could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// The file is unusable (corrupt, foreign, newer, locked).
    #[error(transparent)]
    State(#[from] StateError),
    /// The cluster's identity could not be read.
    #[error(transparent)]
    Identity(#[from] ApiError),
}

/// What a run reads, as a state file records it.
pub fn selection(list: &ListOptions, filter: &Filter) -> Selection {
    let filter_text = filter.to_string();
    Selection {
        namespace: list.namespace.clone(),
        field_selector: list.field_selector.clone(),
        filter: (!filter_text.is_empty()).then_some(filter_text),
    }
}

/// Open `req.path`, seeding `dedupe`; see the module docs.
pub async fn open(req: &Request<'_>, dedupe: &mut Dedupe) -> Result<Resume, ResumeError> {
    let lock = StateLock::acquire(req.path)?;
    let identity = identify(req.client, req.url, req.list.request_timeout).await?;
    let record = ClusterRecord {
        server: identity.server,
        uid: identity.uid,
    };
    let selection = selection(req.list, req.filter);
    let ttl_secs = req.event_ttl.as_secs();
    let loaded = if req.reset {
        None
    } else {
        State::load(req.path)?
    };
    let Some(mut state) = loaded else {
        let mut fresh = State::new(record, selection, ttl_secs);
        fresh.sinks = req.sinks.to_vec();
        return Ok(Resume {
            checkpoint: Checkpoint::new(req.path.to_path_buf(), fresh),
            lock,
            start: req.fresh_start.clone(),
            watch_only_since: None,
            fresh: true,
        });
    };
    state.check_cluster(req.path, &record)?;
    let now = Utc::now();
    let away = now - state.saved_at;
    if away.to_std().is_ok_and(|a| a > req.event_ttl) {
        tracing::warn!(
            since = %crate::model::time_serde::format(&state.saved_at),
            "the state file was last written {}s ago, longer than the event TTL ({}s): events created and expired in that time were never seen",
            away.num_seconds(),
            ttl_secs,
        );
    }
    // Partial deliveries are known by sink name: renumber them for this run.
    let bit = |name: &str| req.sinks.iter().position(|s| s == name).map(|i| 1u64 << i);
    let partial: Vec<_> = std::mem::take(&mut state.partial)
        .into_iter()
        .filter_map(|PartialEntry(uid, rv, count, at, had)| {
            let mask = had.iter().filter_map(|n| bit(n)).fold(0, |m, b| m | b);
            (mask != 0).then_some((uid, rv, count, at, mask))
        })
        .collect();
    dedupe.seed(
        std::mem::take(&mut state.delivered)
            .into_iter()
            .map(|DeliveredEntry(uid, rv, count, at)| (uid, rv, count, at)),
        partial,
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
    state.sinks = req.sinks.to_vec();
    Ok(Resume {
        checkpoint: Checkpoint::new(req.path.to_path_buf(), state),
        lock,
        start,
        watch_only_since,
        fresh: false,
    })
}
