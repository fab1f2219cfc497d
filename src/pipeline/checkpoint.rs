//! The checkpoint: the state file, advanced only past what every sink
//! acknowledged.
//!
//! Every item the pipeline handles gets a sequence number and an entry in
//! the [`Ledger`]: an occurrence (whether or not a sink was sent it) or the
//! end of a list. Each sink acknowledges by sequence number; once every sink
//! has acknowledged everything routed to it up to some number, the entries up
//! to there are *applied* ([`Checkpoint::apply`]): the occurrence is marked
//! delivered in the dedupe set (which thereby is the delivered set — there is
//! no second copy) and its position becomes the resume point (a list's items
//! mean "relist" until the list's end is applied).
//!
//! Writing is kept off the pipeline's path: on an interval the pipeline takes
//! a [`Snapshot`] (the header and shared references to the delivered
//! entries, a few milliseconds for 50,000 events) and hands it to the writer
//! task ([`run_writer`]), which serializes it and writes the file atomically.
//! A snapshot is taken only when the writer is free, so a slow disk delays
//! checkpoints, never delivery.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::mpsc;

use super::dedupe::{Dedupe, Version};
use super::state::{STATE_KIND, STATE_VERSION, Snapshot, State, StateError, write_atomically};
use crate::model::Position;

/// One handled item, applied once every sink has acknowledged it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// An occurrence.
    Occurrence {
        /// Event uid (shared with the dedupe set).
        uid: Arc<str>,
        /// The version.
        version: Version,
        /// Where it was read.
        position: Option<Position>,
        /// A DELETED notification (the dedupe set has already forgotten it).
        deleted: bool,
        /// Routed to a sink. An occurrence the filter dropped still moves
        /// the resume position but is not delivered: with another filter a
        /// later relist may deliver it.
        delivered: bool,
    },
    /// The end of a list at `list_rv`.
    ListEnd {
        /// The list's resourceVersion.
        list_rv: String,
    },
}

/// One ledger entry: an item, the sinks it was routed to, and those that
/// have acknowledged it (bit `i` for sink `i`; at most 64 sinks).
#[derive(Debug)]
struct Entry {
    seq: u64,
    item: Applied,
    routed: u64,
    acked: u64,
}

/// Which items are acknowledged by the sinks they were routed to; see the
/// module docs.
#[derive(Debug)]
pub struct Ledger {
    /// Contiguous by sequence number: every item and marker gets one.
    entries: VecDeque<Entry>,
    /// Per sink: sequence numbers routed to it and not yet acknowledged.
    pending: Vec<VecDeque<u64>>,
    /// Per sink: the highest acknowledgement seen (an item recorded after
    /// its sink already acknowledged past it is not pending).
    acked_up_to: Vec<Option<u64>>,
    /// Some sink acknowledged something since the last snapshot (per-sink
    /// progress, which the state file keeps, changed).
    changed: bool,
}

/// The most sinks a ledger tracks (one bit each).
pub const MAX_SINKS: usize = 64;

impl Ledger {
    /// A ledger for `sinks` sinks (at most [`MAX_SINKS`]).
    pub fn new(sinks: usize) -> Ledger {
        Ledger {
            entries: VecDeque::new(),
            pending: vec![VecDeque::new(); sinks],
            acked_up_to: vec![None; sinks],
            changed: false,
        }
    }

    /// Record item `seq` (one more than the last), routed to the sinks in `routed`.
    pub fn record(&mut self, seq: u64, item: Applied, routed: impl IntoIterator<Item = usize>) {
        let mut entry = Entry {
            seq,
            item,
            routed: 0,
            acked: 0,
        };
        for sink in routed {
            entry.routed |= 1 << sink;
            if self.acked_up_to[sink].is_some_and(|a| a >= seq) {
                entry.acked |= 1 << sink;
            } else {
                self.pending[sink].push_back(seq);
            }
        }
        self.entries.push_back(entry);
    }

    /// Sink `sink` has acknowledged everything up to `up_to`.
    pub fn acked(&mut self, sink: usize, up_to: Option<u64>) {
        let Some(up_to) = up_to else { return };
        if self.acked_up_to[sink].is_some_and(|a| a >= up_to) {
            return;
        }
        self.acked_up_to[sink] = Some(up_to);
        let first = self.entries.front().map_or(0, |e| e.seq);
        let pending = &mut self.pending[sink];
        while let Some(&seq) = pending.front() {
            if seq > up_to {
                break;
            }
            pending.pop_front();
            self.changed = true;
            if let Some(e) = seq
                .checked_sub(first)
                .and_then(|i| self.entries.get_mut(i as usize))
            {
                e.acked |= 1 << sink;
            }
        }
    }

    /// Take, in order, the entries acknowledged by every sink they were
    /// routed to.
    pub fn drain_acked(&mut self) -> Vec<Applied> {
        let mut out = Vec::new();
        while self.entries.front().is_some_and(|e| e.acked == e.routed) {
            if let Some(e) = self.entries.pop_front() {
                out.push(e.item);
            }
        }
        out
    }

    /// Occurrences some but not all of their sinks have acknowledged: a
    /// restart sends them only to the others.
    pub fn partial(&self) -> impl Iterator<Item = (&Arc<str>, &Version, u64)> {
        self.entries.iter().filter_map(|e| match &e.item {
            Applied::Occurrence {
                uid,
                version,
                deleted: false,
                delivered: true,
                ..
            } if e.acked != 0 && e.acked != e.routed => Some((uid, version, e.acked)),
            _ => None,
        })
    }
}

/// The state file's header and resume point, kept by the pipeline.
#[derive(Debug)]
pub struct Checkpoint {
    path: PathBuf,
    header: State,
    dirty: bool,
}

impl Checkpoint {
    /// A checkpoint writing `path`, with `state`'s cluster, selection, TTL
    /// and resume point (its delivered entries belong in the dedupe set).
    pub fn new(path: PathBuf, mut state: State) -> Checkpoint {
        state.delivered = Vec::new();
        state.partial = Vec::new();
        Checkpoint {
            path,
            header: state,
            dirty: true,
        }
    }

    /// Where the state file is.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Apply an acknowledged item: mark it delivered in `dedupe`, move the
    /// resume point.
    pub fn apply(&mut self, item: Applied, dedupe: &mut Dedupe) {
        self.dirty = true;
        match item {
            Applied::Occurrence {
                uid,
                version,
                position,
                deleted,
                delivered,
            } => {
                match position {
                    Some(Position::Watched { rv }) => {
                        self.header.resource_version = Some(rv.to_string())
                    }
                    // Part of a list: a resume must relist until its end.
                    Some(Position::Listed { .. }) => self.header.resource_version = None,
                    None => {}
                }
                if delivered && !deleted {
                    dedupe.ack(&uid, version);
                }
            }
            Applied::ListEnd { list_rv } => self.header.resource_version = Some(list_rv),
        }
    }

    /// The resume point so far.
    pub fn resource_version(&self) -> Option<&str> {
        self.header.resource_version.as_deref()
    }

    /// Keep the `--watch-only` cutoff, so a later run's relist leaves out
    /// what was never wanted.
    pub fn set_watch_only_since(&mut self, since: chrono::DateTime<Utc>) {
        if self.header.watch_only_since.is_none() {
            self.header.watch_only_since = Some(since);
            self.dirty = true;
        }
    }

    /// Whether something changed since the last snapshot: an item applied,
    /// or a sink's progress on items others have not acknowledged yet.
    pub fn is_dirty(&self, ledger: &Ledger) -> bool {
        self.dirty || ledger.changed
    }

    /// Take a snapshot of the header, `dedupe`'s delivered set and the
    /// occurrences `ledger` knows some sinks acknowledged.
    pub fn snapshot(&mut self, dedupe: &Dedupe, ledger: &mut Ledger) -> Snapshot {
        self.dirty = false;
        ledger.changed = false;
        let h = &self.header;
        Snapshot {
            kind: STATE_KIND,
            version: STATE_VERSION,
            cluster: h.cluster.clone(),
            selection: h.selection.clone(),
            saved_at: Utc::now(),
            event_ttl_seconds: h.event_ttl_seconds,
            resource_version: h.resource_version.clone(),
            watch_only_since: h.watch_only_since,
            delivered: dedupe
                .acked()
                .map(|(uid, v)| {
                    (
                        uid.clone(),
                        v.resource_version.clone(),
                        v.count,
                        v.observed_at,
                    )
                })
                .collect(),
            sinks: h.sinks.clone(),
            partial: ledger
                .partial()
                .map(|(uid, v, mask)| {
                    let names = (0..h.sinks.len())
                        .filter(|i| mask & (1 << i) != 0)
                        .map(|i| h.sinks[i].clone())
                        .collect();
                    (
                        uid.clone(),
                        v.resource_version.clone(),
                        v.count,
                        v.observed_at,
                        names,
                    )
                })
                .collect(),
        }
    }
}

/// Figures about the state file's writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckpointStats {
    /// Files written.
    pub writes: u64,
    /// Size of the last one.
    pub last_bytes: usize,
    /// Time the last write took (serialize, write, fsync, rename).
    pub last_write: Duration,
    /// Entries in the last one.
    pub last_entries: usize,
}

/// Serialize `snapshot` and write it to `path` atomically.
pub async fn write(path: PathBuf, snapshot: Snapshot) -> Result<(usize, Duration), StateError> {
    let started = Instant::now();
    let err_path = path.clone();
    tokio::task::spawn_blocking(move || {
        let bytes = snapshot.to_bytes().map_err(|e| StateError::Write {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        write_atomically(&path, &bytes).map(|()| bytes.len())
    })
    .await
    .map_err(|e| StateError::Write {
        path: err_path,
        source: std::io::Error::other(e),
    })?
    .map(|len| (len, started.elapsed()))
}

/// The writer task: write each snapshot that arrives; the last one's error
/// (the final checkpoint) is returned, earlier ones are logged and the next
/// snapshot tries again.
pub async fn run_writer(
    path: PathBuf,
    mut snapshots: mpsc::Receiver<(Snapshot, bool)>,
    metrics: Option<std::sync::Arc<crate::metrics::Metrics>>,
) -> Result<CheckpointStats, StateError> {
    let mut stats = CheckpointStats::default();
    while let Some((snapshot, last)) = snapshots.recv().await {
        let entries = snapshot.delivered.len();
        match write(path.clone(), snapshot).await {
            Ok((bytes, took)) => {
                stats = CheckpointStats {
                    writes: stats.writes + 1,
                    last_bytes: bytes,
                    last_write: took,
                    last_entries: entries,
                };
                tracing::trace!(bytes, entries, ?took, "state file written");
                if let Some(m) = &metrics {
                    m.checkpoint_written();
                }
            }
            Err(e) if last => return Err(e),
            Err(e) => tracing::warn!("{e}; retrying at the next checkpoint"),
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::dedupe::Verdict;
    use crate::pipeline::state::{ClusterRecord, Selection};

    fn occ(d: &mut Dedupe, uid: &str, rv: &str, position: Position) -> Applied {
        let Verdict::New(uid, rv) = d.admit(uid, rv, 1, Utc::now(), false) else {
            panic!("new")
        };
        Applied::Occurrence {
            uid,
            version: Version {
                resource_version: rv,
                count: 1,
                observed_at: Utc::now().timestamp(),
            },
            position: Some(position),
            deleted: false,
            delivered: true,
        }
    }

    #[test]
    fn entries_apply_only_once_every_sink_acknowledged() {
        let mut d = Dedupe::new(Duration::from_secs(3600), 10);
        let mut l = Ledger::new(2);
        l.record(
            1,
            occ(&mut d, "a", "1", Position::Watched { rv: "1".into() }),
            [0, 1],
        );
        l.record(
            2,
            occ(&mut d, "b", "2", Position::Watched { rv: "2".into() }),
            [0],
        );
        l.record(
            3,
            occ(&mut d, "c", "3", Position::Watched { rv: "3".into() }),
            [],
        );
        assert!(l.drain_acked().is_empty());
        l.acked(0, Some(2));
        assert!(l.drain_acked().is_empty(), "sink 1 has not acknowledged 1");
        l.acked(1, Some(1));
        let got = l.drain_acked();
        assert_eq!(got.len(), 3, "2 and 3 were not routed to sink 1: {got:?}");
    }

    #[test]
    fn a_partial_list_means_relist_and_its_end_means_resume() {
        let state = State::new(
            ClusterRecord {
                server: "s".into(),
                uid: None,
            },
            Selection::default(),
            3600,
        );
        let mut d = Dedupe::new(Duration::from_secs(3600), 10);
        let mut c = Checkpoint::new(PathBuf::from("unused"), state);
        let a = occ(&mut d, "a", "5", Position::Watched { rv: "5".into() });
        c.apply(a, &mut d);
        assert_eq!(c.resource_version(), Some("5"));
        let b = occ(
            &mut d,
            "b",
            "7",
            Position::Listed {
                list_rv: "9".into(),
            },
        );
        let unacked = occ(
            &mut d,
            "x",
            "8",
            Position::Listed {
                list_rv: "9".into(),
            },
        );
        c.apply(b, &mut d);
        assert_eq!(c.resource_version(), None);
        c.apply(
            Applied::ListEnd {
                list_rv: "9".into(),
            },
            &mut d,
        );
        assert_eq!(c.resource_version(), Some("9"));
        d.forget("a");
        c.apply(
            Applied::Occurrence {
                uid: Arc::from("a"),
                version: Version {
                    resource_version: Arc::from("10"),
                    count: 1,
                    observed_at: 0,
                },
                position: Some(Position::Watched { rv: "10".into() }),
                deleted: true,
                delivered: true,
            },
            &mut d,
        );
        let bytes = c.snapshot(&d, &mut Ledger::new(1)).to_bytes().unwrap();
        let s = State::parse(std::path::Path::new("x"), &bytes).unwrap();
        assert_eq!(s.resource_version.as_deref(), Some("10"));
        let uids: Vec<&str> = s.delivered.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            uids,
            ["b"],
            "a was deleted, x never acknowledged: {unacked:?}"
        );
        assert!(!c.is_dirty(&Ledger::new(1)));
    }
}
