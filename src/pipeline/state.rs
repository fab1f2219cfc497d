//! The state file (`--state-file`): where to resume, and what was delivered.
//!
//! It records the cluster it belongs to, what was being read (namespace and
//! field selector), the resourceVersion a watch resumes from (none while a
//! list was only partly delivered: then kev relists), and the delivered set
//! within the event TTL — per event uid, the resourceVersion and count last
//! delivered and when kev observed it. It is written only for what every
//! sink has acknowledged, atomically: a temporary file in the same
//! directory, fsync, rename over the old one, fsync of the directory. A
//! crash leaves the old file or the new one, never half of one.
//!
//! A corrupt file, one that belongs to another cluster, or one written by a
//! newer kev is an error ([`StateError`], exit 2), never a silent reset;
//! `--reset-state` starts over explicitly. A different selection (another
//! namespace or filter) keeps the delivered set but not the position: kev
//! relists and skips what was delivered. docs/state.md documents the format.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The `kind` of a kev state file.
pub const STATE_KIND: &str = "KevState";

/// The format version this kev reads and writes.
pub const STATE_VERSION: u32 = 1;

/// Which cluster a state file belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterRecord {
    /// The apiserver URL.
    pub server: String,
    /// The `kube-system` namespace's uid, when it could be read.
    pub uid: Option<String>,
}

impl ClusterRecord {
    /// Whether `other` is the same cluster: by uid when both know it, else by URL.
    pub fn same_cluster(&self, other: &ClusterRecord) -> bool {
        match (&self.uid, &other.uid) {
            (Some(a), Some(b)) => a == b,
            _ => self.server == other.server,
        }
    }
}

impl std::fmt::Display for ClusterRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.uid {
            Some(uid) => write!(f, "{} (kube-system uid {uid})", self.server),
            None => write!(f, "{}", self.server),
        }
    }
}

/// What was being read and kept.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Selection {
    /// The namespace, `None` for all.
    pub namespace: Option<String>,
    /// The field selector sent to the apiserver.
    pub field_selector: Option<String>,
    /// The filter evaluated locally, canonically printed; `None` keeps all.
    #[serde(default)]
    pub filter: Option<String>,
}

impl std::fmt::Display for Selection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "namespace {ns:?}")?,
            None => write!(f, "all namespaces")?,
        }
        if let Some(fs) = &self.field_selector {
            write!(f, ", field selector {fs:?}")?;
        }
        if let Some(filter) = &self.filter {
            write!(f, ", filter {filter:?}")?;
        }
        Ok(())
    }
}

/// One delivered event: `[uid, resourceVersion, count, observedAt]`
/// (observedAt in Unix seconds), an array to keep 50,000 of them small.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveredEntry(pub String, pub String, pub i64, pub i64);

/// The state file's content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct State {
    /// Always [`STATE_KIND`].
    pub kind: String,
    /// The format version.
    pub version: u32,
    /// The cluster.
    pub cluster: ClusterRecord,
    /// What was read.
    pub selection: Selection,
    /// When this was written.
    pub saved_at: DateTime<Utc>,
    /// The event TTL the delivered set was pruned with, in seconds.
    pub event_ttl_seconds: u64,
    /// Where a watch resumes; `None`: relist (and skip what was delivered).
    pub resource_version: Option<String>,
    /// With `--watch-only`: events last seen before this were never wanted
    /// (a relist leaves them out).
    #[serde(default)]
    pub watch_only_since: Option<DateTime<Utc>>,
    /// The delivered set: occurrences every sink they were routed to has
    /// acknowledged.
    pub delivered: Vec<DeliveredEntry>,
    /// The sinks, by name, when this was written.
    #[serde(default)]
    pub sinks: Vec<String>,
    /// Occurrences some of their sinks acknowledged and others not yet:
    /// a restart sends them to the others only.
    #[serde(default)]
    pub partial: Vec<PartialEntry>,
}

/// `[uid, resourceVersion, count, observedAt, [sinks that acknowledged it]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialEntry(pub String, pub String, pub i64, pub i64, pub Vec<String>);

/// `[uid, resourceVersion, count, observedAt, [sinks]]` of a snapshot.
pub type SnapshotPartial = (Arc<str>, Arc<str>, i64, i64, Vec<String>);

/// What a state file is written from: the header of a [`State`] and the
/// delivered set, shared with the dedupe stage rather than copied. It
/// serializes to exactly what [`State`] reads.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Always [`STATE_KIND`].
    pub kind: &'static str,
    /// The format version.
    pub version: u32,
    /// The cluster.
    pub cluster: ClusterRecord,
    /// What was read.
    pub selection: Selection,
    /// When this was taken.
    pub saved_at: DateTime<Utc>,
    /// The event TTL, in seconds.
    pub event_ttl_seconds: u64,
    /// Where a watch resumes.
    pub resource_version: Option<String>,
    /// The `--watch-only` cutoff.
    pub watch_only_since: Option<DateTime<Utc>>,
    /// `[uid, resourceVersion, count, observedAt]` per delivered event.
    pub delivered: Vec<(Arc<str>, Arc<str>, i64, i64)>,
    /// The sinks, by name.
    pub sinks: Vec<String>,
    /// Occurrences some sinks acknowledged, with their names.
    pub partial: Vec<SnapshotPartial>,
}

impl Snapshot {
    /// Serialize.
    pub fn to_bytes(&self) -> serde_json::Result<Vec<u8>> {
        let mut v = serde_json::to_vec(self)?;
        v.push(b'\n');
        Ok(v)
    }
}

/// A state file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Not readable.
    #[error("cannot read the state file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Not JSON, or not the shape of a state file.
    #[error(
        "the state file {path} is corrupt ({reason}); move it away, or pass --reset-state to start over"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column.
        reason: String,
    },
    /// Written by a newer kev.
    #[error(
        "the state file {path} has format version {found}, newer than this kev reads ({STATE_VERSION}); use a newer kev, or pass --reset-state to start over"
    )]
    NewerVersion {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: u64,
    },
    /// Belongs to another cluster.
    #[error(
        "the state file {path} belongs to the cluster at {theirs}, not to this one at {ours}; use another --state-file, or pass --reset-state to start over"
    )]
    Foreign {
        /// The file.
        path: PathBuf,
        /// The file's cluster.
        theirs: ClusterRecord,
        /// This cluster.
        ours: ClusterRecord,
    },
    /// Another kev holds it.
    #[error("the state file {path} is in use by another kev (lock {lock} is held)")]
    Locked {
        /// The file.
        path: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// Writing failed.
    #[error("cannot write the state file {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

impl State {
    /// An empty state for `cluster` and `selection`.
    pub fn new(cluster: ClusterRecord, selection: Selection, ttl_secs: u64) -> State {
        State {
            kind: STATE_KIND.to_string(),
            version: STATE_VERSION,
            cluster,
            selection,
            saved_at: Utc::now(),
            event_ttl_seconds: ttl_secs,
            resource_version: None,
            watch_only_since: None,
            delivered: Vec::new(),
            sinks: Vec::new(),
            partial: Vec::new(),
        }
    }

    /// Parse a state file's bytes (`path` for messages).
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<State, StateError> {
        let corrupt = |reason: String| StateError::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        // Look at kind and version first, so a newer format is reported as
        // such rather than as whatever field it added.
        let head: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        let Some(obj) = head.as_object() else {
            return Err(corrupt("not a JSON object".to_string()));
        };
        match obj.get("kind").and_then(|k| k.as_str()) {
            Some(STATE_KIND) => {}
            Some(other) => {
                return Err(corrupt(format!(
                    "kind is {other:?}, not {STATE_KIND:?}: not a kev state file"
                )));
            }
            None => {
                return Err(corrupt(format!(
                    "no \"kind\": {STATE_KIND:?}: not a kev state file"
                )));
            }
        }
        match obj.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(STATE_VERSION) => {}
            Some(v) if v > u64::from(STATE_VERSION) => {
                return Err(StateError::NewerVersion {
                    path: path.to_path_buf(),
                    found: v,
                });
            }
            Some(v) => return Err(corrupt(format!("unknown version {v}"))),
            None => return Err(corrupt("no version".to_string())),
        }
        serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))
    }

    /// Read `path`; `Ok(None)` if there is no file yet.
    pub fn load(path: &Path) -> Result<Option<State>, StateError> {
        match fs::read(path) {
            Ok(bytes) => State::parse(path, &bytes).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StateError::Read {
                path: path.to_path_buf(),
                source: e,
            }),
        }
    }

    /// Check that this state belongs to `cluster`.
    pub fn check_cluster(&self, path: &Path, cluster: &ClusterRecord) -> Result<(), StateError> {
        if self.cluster.same_cluster(cluster) {
            Ok(())
        } else {
            Err(StateError::Foreign {
                path: path.to_path_buf(),
                theirs: self.cluster.clone(),
                ours: cluster.clone(),
            })
        }
    }

    /// Serialize.
    pub fn to_bytes(&self) -> serde_json::Result<Vec<u8>> {
        let mut v = serde_json::to_vec(self)?;
        v.push(b'\n');
        Ok(v)
    }
}

/// Write `bytes` to `path` atomically: temporary file, fsync, rename, fsync
/// of the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let err = |e| StateError::Write {
        path: path.to_path_buf(),
        source: e,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let write = || -> io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        // The rename is durable once the directory is.
        File::open(dir)?.sync_all()
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        err(e)
    })
}

/// An exclusive lock on a state file, held while kev runs, so two kev
/// processes never write one state file.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

impl StateLock {
    /// Take the lock beside `path` (`PATH.lock`), or fail if another process has it.
    pub fn acquire(path: &Path) -> Result<StateLock, StateError> {
        let lock = lock_path(path);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock)
            .map_err(|e| StateError::Write {
                path: lock.clone(),
                source: e,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(StateLock { _file: file }),
            Err(fs::TryLockError::WouldBlock) => Err(StateError::Locked {
                path: path.to_path_buf(),
                lock,
            }),
            Err(fs::TryLockError::Error(e)) => Err(StateError::Write {
                path: lock,
                source: e,
            }),
        }
    }
}

fn lock_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> State {
        let mut s = State::new(
            ClusterRecord {
                server: "https://127.0.0.1:6443".into(),
                uid: Some("c1".into()),
            },
            Selection::default(),
            3600,
        );
        s.resource_version = Some("42".into());
        s.delivered
            .push(DeliveredEntry("u1".into(), "40".into(), 3, 1_800_000_000));
        s
    }

    #[test]
    fn round_trip_and_atomic_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert!(State::load(&path).unwrap().is_none());
        let state = sample();
        write_atomically(&path, &state.to_bytes().unwrap()).unwrap();
        assert_eq!(State::load(&path).unwrap().unwrap(), state);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["state.json"], "no temporary file left behind");
    }

    #[test]
    fn corrupt_foreign_and_newer_files_are_errors() {
        let p = Path::new("s.json");
        for (bytes, want) in [
            (
                &b"{\"kind\":\"KevState\",\"version\":1,"[..],
                "is corrupt (EOF while parsing",
            ),
            (b"[1,2]", "not a JSON object"),
            (
                b"{\"apiVersion\":\"v1\",\"kind\":\"Config\"}",
                "not a kev state file",
            ),
            (
                b"{\"kind\":\"KevState\",\"version\":1,\"cluster\":3}",
                "is corrupt",
            ),
        ] {
            let e = State::parse(p, bytes).unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
            assert!(e.contains("--reset-state"), "{e}");
        }
        let e = State::parse(p, b"{\"kind\":\"KevState\",\"version\":2,\"new\":true}").unwrap_err();
        assert!(
            matches!(e, StateError::NewerVersion { found: 2, .. }),
            "{e}"
        );
        let other = ClusterRecord {
            server: "https://127.0.0.1:6443".into(),
            uid: Some("c2".into()),
        };
        let e = sample().check_cluster(p, &other).unwrap_err().to_string();
        assert!(
            e.contains("belongs to the cluster at https://127.0.0.1:6443 (kube-system uid c1)"),
            "{e}"
        );
        // Without a uid on one side, the URL decides.
        let by_url = ClusterRecord {
            server: "https://127.0.0.1:6443".into(),
            uid: None,
        };
        sample().check_cluster(p, &by_url).unwrap();
    }

    #[test]
    fn the_lock_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let held = StateLock::acquire(&path).unwrap();
        assert!(matches!(
            StateLock::acquire(&path),
            Err(StateError::Locked { .. })
        ));
        drop(held);
        StateLock::acquire(&path).unwrap();
    }
}
