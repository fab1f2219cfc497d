//! The checkpoint: the state file, advanced only past what every sink
//! acknowledged.
//!
//! Every item the pipeline handles gets a sequence number and an entry in
//! the [`Ledger`]: an occurrence (whether or not a sink was sent it) or the
//! end of a list. Each sink acknowledges by sequence number; once every sink
//! has acknowledged everything routed to it up to some number, the entries up
//! to there are *applied* to the [`Checkpoint`]: the occurrence joins the
//! delivered set and its position becomes the resume point (a list's items
//! mean "relist" until the list's end is applied).
//!
//! The checkpoint lives in a task of its own ([`run`]) that receives applied
//! entries and writes the state file on an interval and at the end, so
//! serializing the delivered set never stalls delivery.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::mpsc;

use super::dedupe::TTL_GRACE;
use super::state::{DeliveredEntry, State, StateError, write_atomically};
use crate::model::Position;

/// One handled item, applied once every sink has acknowledged it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// An occurrence.
    Occurrence {
        /// Event uid.
        uid: String,
        /// resourceVersion.
        resource_version: String,
        /// Its count.
        count: i64,
        /// When kev observed it (Unix seconds).
        observed_at: i64,
        /// Where it was read.
        position: Option<Position>,
        /// A DELETED notification: forget the event.
        deleted: bool,
    },
    /// The end of a list at `list_rv`.
    ListEnd {
        /// The list's resourceVersion.
        list_rv: String,
    },
}

/// Which items are acknowledged by every sink; see the module docs.
#[derive(Debug)]
pub struct Ledger {
    entries: VecDeque<(u64, Applied)>,
    /// Per sink: sequence numbers routed to it and not yet acknowledged.
    pending: Vec<VecDeque<u64>>,
    last_seq: u64,
}

impl Ledger {
    /// A ledger for `sinks` sinks.
    pub fn new(sinks: usize) -> Ledger {
        Ledger {
            entries: VecDeque::new(),
            pending: vec![VecDeque::new(); sinks],
            last_seq: 0,
        }
    }

    /// Record item `seq` (increasing), routed to the sinks in `routed`.
    pub fn record(&mut self, seq: u64, item: Applied, routed: impl IntoIterator<Item = usize>) {
        self.last_seq = seq;
        self.entries.push_back((seq, item));
        for sink in routed {
            self.pending[sink].push_back(seq);
        }
    }

    /// Sink `sink` has acknowledged everything up to `up_to`.
    pub fn acked(&mut self, sink: usize, up_to: Option<u64>) {
        let Some(up_to) = up_to else { return };
        let pending = &mut self.pending[sink];
        while pending.front().is_some_and(|s| *s <= up_to) {
            pending.pop_front();
        }
    }

    /// The highest sequence number every sink has acknowledged.
    pub fn acked_by_all(&self) -> u64 {
        self.pending
            .iter()
            .filter_map(|p| p.front().map(|s| s - 1))
            .min()
            .unwrap_or(self.last_seq)
    }

    /// Take the entries every sink has acknowledged.
    pub fn drain_acked(&mut self) -> Vec<Applied> {
        let upto = self.acked_by_all();
        let mut out = Vec::new();
        while self.entries.front().is_some_and(|(s, _)| *s <= upto) {
            if let Some((_, item)) = self.entries.pop_front() {
                out.push(item);
            }
        }
        out
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

/// The state that the file is written from.
#[derive(Debug)]
pub struct Checkpoint {
    path: PathBuf,
    state: State,
    delivered: HashMap<String, (String, i64, i64)>,
    keep_secs: i64,
    dirty: bool,
    stats: CheckpointStats,
}

impl Checkpoint {
    /// A checkpoint writing `path`, starting from `state` (loaded, or new).
    pub fn new(path: PathBuf, mut state: State) -> Checkpoint {
        let delivered = state
            .delivered
            .drain(..)
            .map(|DeliveredEntry(uid, rv, count, at)| (uid, (rv, count, at)))
            .collect();
        let keep_secs = (Duration::from_secs(state.event_ttl_seconds) + TTL_GRACE).as_secs() as i64;
        Checkpoint {
            path,
            state,
            delivered,
            keep_secs,
            dirty: true,
            stats: CheckpointStats::default(),
        }
    }

    /// Apply an acknowledged item.
    pub fn apply(&mut self, item: Applied) {
        self.dirty = true;
        match item {
            Applied::Occurrence {
                uid,
                resource_version,
                count,
                observed_at,
                position,
                deleted,
            } => {
                match position {
                    Some(Position::Watched { rv }) => self.state.resource_version = Some(rv),
                    // Part of a list: a resume must relist until its end.
                    Some(Position::Listed { .. }) => self.state.resource_version = None,
                    None => {}
                }
                if deleted {
                    self.delivered.remove(&uid);
                } else {
                    self.delivered
                        .insert(uid, (resource_version, count, observed_at));
                }
            }
            Applied::ListEnd { list_rv } => self.state.resource_version = Some(list_rv),
        }
    }

    /// The resume point so far.
    pub fn resource_version(&self) -> Option<&str> {
        self.state.resource_version.as_deref()
    }

    /// How many delivered events are remembered.
    pub fn len(&self) -> usize {
        self.delivered.len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.delivered.is_empty()
    }

    /// The file's bytes now, the delivered set pruned to the TTL.
    pub fn snapshot(&mut self) -> Vec<u8> {
        let now = Utc::now();
        let horizon = now.timestamp() - self.keep_secs;
        self.delivered.retain(|_, (_, _, at)| *at >= horizon);
        self.state.saved_at = now;
        self.state.delivered = self
            .delivered
            .iter()
            .map(|(uid, (rv, count, at))| DeliveredEntry(uid.clone(), rv.clone(), *count, *at))
            .collect();
        let bytes = self.state.to_bytes();
        self.state.delivered.clear();
        bytes
    }

    /// Write the file if anything changed since the last write.
    pub async fn write(&mut self) -> Result<(), StateError> {
        if !self.dirty {
            return Ok(());
        }
        let started = Instant::now();
        let bytes = self.snapshot();
        let entries = self.delivered.len();
        let path = self.path.clone();
        let len = bytes.len();
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
            .await
            .map_err(|e| StateError::Write {
                path: self.path.clone(),
                source: std::io::Error::other(e),
            })??;
        self.dirty = false;
        self.stats = CheckpointStats {
            writes: self.stats.writes + 1,
            last_bytes: len,
            last_write: started.elapsed(),
            last_entries: entries,
        };
        tracing::trace!(bytes = len, entries, took = ?self.stats.last_write, "state file written");
        Ok(())
    }

    /// The figures so far.
    pub fn stats(&self) -> &CheckpointStats {
        &self.stats
    }
}

/// Keep the checkpoint: apply what arrives on `applied`, write every
/// `interval` when something changed, and once more when the channel
/// closes. Returns the write figures. A failed interval write is logged and
/// retried at the next tick; a failed final write is an error.
pub async fn run(
    mut checkpoint: Checkpoint,
    mut applied: mpsc::Receiver<Vec<Applied>>,
    interval: Duration,
) -> Result<CheckpointStats, StateError> {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            batch = applied.recv() => match batch {
                Some(items) => items.into_iter().for_each(|i| checkpoint.apply(i)),
                None => break,
            },
            _ = tick.tick() => {
                if let Err(e) = checkpoint.write().await {
                    tracing::warn!("{e}; retrying at the next checkpoint");
                }
            }
        }
    }
    checkpoint.write().await?;
    Ok(checkpoint.stats().clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::state::{ClusterRecord, Selection};

    fn occ(uid: &str, rv: &str, position: Position) -> Applied {
        Applied::Occurrence {
            uid: uid.into(),
            resource_version: rv.into(),
            count: 1,
            observed_at: Utc::now().timestamp(),
            position: Some(position),
            deleted: false,
        }
    }

    #[test]
    fn entries_apply_only_once_every_sink_acknowledged() {
        let mut l = Ledger::new(2);
        l.record(
            1,
            occ("a", "1", Position::Watched { rv: "1".into() }),
            [0, 1],
        );
        l.record(2, occ("b", "2", Position::Watched { rv: "2".into() }), [0]);
        l.record(3, occ("c", "3", Position::Watched { rv: "3".into() }), []);
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
        let mut c = Checkpoint::new(PathBuf::from("unused"), state);
        c.apply(occ("a", "5", Position::Watched { rv: "5".into() }));
        assert_eq!(c.resource_version(), Some("5"));
        c.apply(occ(
            "b",
            "7",
            Position::Listed {
                list_rv: "9".into(),
            },
        ));
        assert_eq!(c.resource_version(), None);
        c.apply(Applied::ListEnd {
            list_rv: "9".into(),
        });
        assert_eq!(c.resource_version(), Some("9"));
        c.apply(Applied::Occurrence {
            uid: "a".into(),
            resource_version: "10".into(),
            count: 1,
            observed_at: 0,
            position: Some(Position::Watched { rv: "10".into() }),
            deleted: true,
        });
        assert_eq!(c.len(), 1, "a was deleted");
        let bytes = c.snapshot();
        let s = State::parse(std::path::Path::new("x"), &bytes).unwrap();
        assert_eq!(s.resource_version.as_deref(), Some("10"));
        assert_eq!(s.delivered.len(), 1);
        assert_eq!(s.delivered[0].0, "b");
    }
}
