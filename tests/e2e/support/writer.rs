//! [`Writer`]: a thread that keeps writing events while a test starts and
//! stops kev, as a busy cluster's recorders do — creating events through
//! both API groups and updating some in place, several times — and that
//! remembers every occurrence the apiserver returned.
//!
//! The test therefore knows, at the end, exactly which `(uid,
//! resourceVersion)` pairs existed: what kev must have delivered once.
//!
//! The writer is bounded in count ([`MAX_WRITES`]) and paced ([`PACE`])
//! so that it loads the shared 2-core machine like a busy namespace, not a
//! benchmark. The pace is a wait on the stop channel: stopping it is
//! immediate, and no assertion depends on it.

use std::path::PathBuf;
use std::sync::mpsc::{RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::json;

use super::Occ;
use super::client::Admin;
use super::events::{Created, Ev, Obj, base_time, micros, secs};

/// The most writes one writer makes, whatever happens to the test.
pub const MAX_WRITES: usize = 20_000;

/// The pause between two writes.
pub const PACE: Duration = Duration::from_millis(5);

/// How many of the most recent events of a kind the updates go to: each
/// of them is updated several times, as a crash-looping pod's `BackOff` is.
const HOT: usize = 3;

/// What a write was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteKind {
    /// A core/v1 event created with `count` 1 (the legacy recorder).
    CreateCore,
    /// An events.k8s.io/v1 event created (the newer recorder).
    CreateEventsV1,
    /// A core/v1 merge patch of `count`+1 and a new `lastTimestamp`.
    PatchCount,
    /// An events.k8s.io/v1 merge patch of a new `series`.
    PatchSeries,
}

/// One write and what the apiserver answered.
#[derive(Clone, Debug)]
pub struct Written {
    /// Its namespace.
    pub namespace: String,
    /// What it was.
    pub kind: WriteKind,
    /// The apiserver's answer: uid and the new resourceVersion.
    pub created: Created,
}

impl Written {
    /// The occurrence it made.
    pub fn occ(&self) -> Occ {
        self.created.occ()
    }
}

/// A running writer; see the module docs. Stop it with [`Writer::stop`].
pub struct Writer {
    stop: Option<SyncSender<()>>,
    thread: Option<JoinHandle<Vec<Written>>>,
    count: Arc<Count>,
}

/// Writes made so far, signalled on every write and when the writer ends.
#[derive(Default)]
struct Count {
    /// (writes, ended)
    state: Mutex<(usize, bool)>,
    changed: Condvar,
}

impl Count {
    fn set(&self, writes: usize, ended: bool) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = (writes, ended);
        self.changed.notify_all();
    }
}

/// An event the writer updates, with its current count.
struct Hot {
    name: String,
    count: i64,
}

impl Writer {
    /// Start writing into `namespaces` in turn, as the admin of
    /// `kubeconfig`: creates of both kinds, and updates of both kinds of
    /// the [`HOT`] most recent events.
    pub fn start(kubeconfig: PathBuf, namespaces: &[String]) -> Writer {
        assert!(!namespaces.is_empty());
        let namespaces = namespaces.to_vec();
        let (stop, stopped) = sync_channel::<()>(1);
        let count = Arc::new(Count::default());
        let counter = Arc::clone(&count);
        let thread = std::thread::spawn(move || {
            // Said when the thread ends, by a panic too.
            struct Ended<'a>(&'a Count);
            impl Drop for Ended<'_> {
                fn drop(&mut self) {
                    let writes = self.0.state.lock().unwrap_or_else(|e| e.into_inner()).0;
                    self.0.set(writes, true);
                }
            }
            let _ended = Ended(&counter);
            let admin = Admin::new(&kubeconfig);
            let pod = Obj::pod("web");
            // Ages do not matter for -o ndjson; whole seconds after a base
            // well in the past keep every timestamp plausible and increasing.
            let start = base_time() - chrono::Duration::hours(6);
            let at = |i: usize| -> DateTime<Utc> { start + chrono::Duration::seconds(i as i64) };
            let mut core: Vec<Vec<Hot>> = namespaces.iter().map(|_| Vec::new()).collect();
            let mut v1: Vec<Vec<Hot>> = namespaces.iter().map(|_| Vec::new()).collect();
            let mut written = Vec::new();
            for i in 0..MAX_WRITES {
                let n = i % namespaces.len();
                let ns = &namespaces[n];
                let j = i / namespaces.len();
                let kind = match j % 4 {
                    0 => WriteKind::CreateCore,
                    1 => WriteKind::CreateEventsV1,
                    2 => WriteKind::PatchCount,
                    _ => WriteKind::PatchSeries,
                };
                let created = match kind {
                    WriteKind::CreateCore => {
                        let name = format!("w{j}");
                        let ev = Ev::core(&name, &pod)
                            .reason("BackOff")
                            .legacy(1, at(i), at(i));
                        core[n].push(Hot {
                            name: name.clone(),
                            count: 1,
                        });
                        admin.create(ns, &ev)
                    }
                    WriteKind::CreateEventsV1 => {
                        let name = format!("w{j}");
                        let ev = Ev::v1(&name, &pod, at(i)).reason("Pulled");
                        v1[n].push(Hot {
                            name: name.clone(),
                            count: 1,
                        });
                        admin.create(ns, &ev)
                    }
                    WriteKind::PatchCount => {
                        let hot = pick(&mut core[n], j);
                        hot.count += 1;
                        admin.patch_core(
                            ns,
                            &hot.name,
                            &json!({"count": hot.count, "lastTimestamp": secs(at(i))}),
                        )
                    }
                    WriteKind::PatchSeries => {
                        let hot = pick(&mut v1[n], j);
                        hot.count += 1;
                        admin.patch_events_v1(
                            ns,
                            &hot.name,
                            &json!({"series": {"count": hot.count, "lastObservedTime": micros(at(i))}}),
                        )
                    }
                };
                written.push(Written {
                    namespace: ns.clone(),
                    kind,
                    created,
                });
                counter.set(written.len(), false);
                match stopped.recv_timeout(PACE) {
                    Err(RecvTimeoutError::Timeout) => {}
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                }
            }
            written
        });
        Writer {
            stop: Some(stop),
            thread: Some(thread),
            count,
        }
    }

    /// Writes made so far.
    pub fn written(&self) -> usize {
        self.count.state.lock().unwrap_or_else(|e| e.into_inner()).0
    }

    /// Wait until `n` writes have been made; panics if the writer ends
    /// first or [`super::PATIENCE`] runs out.
    pub fn wait_written(&self, n: usize) {
        let deadline = Instant::now() + super::PATIENCE;
        let mut state = self.count.state.lock().unwrap_or_else(|e| e.into_inner());
        while state.0 < n {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !state.1 && !left.is_zero(),
                "waiting for {n} writes: the writer {} after {}",
                if state.1 { "ended" } else { "timed out" },
                state.0
            );
            state = self
                .count
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Panics if the writer ended before it was stopped (a write failed,
    /// or it reached [`MAX_WRITES`]): a test waiting for kev to print what
    /// it writes would otherwise wait in vain.
    pub fn assert_running(&self) {
        if self.thread.as_ref().is_some_and(|t| t.is_finished()) {
            panic!(
                "the writer ended after {} writes without being stopped (a write failed, or it reached {MAX_WRITES})",
                self.written()
            );
        }
    }

    /// Stop writing; returns every write, in order.
    pub fn stop(mut self) -> Vec<Written> {
        drop(self.stop.take());
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(written)) => written,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => Vec::new(),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // A test that failed before stopping it: stop the thread too, without
        // a second panic.
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The event an update goes to: one of the [`HOT`] most recent, in turn.
fn pick(hot: &mut [Hot], j: usize) -> &mut Hot {
    assert!(!hot.is_empty(), "an update before any create");
    let k = (j / 4) % hot.len().min(HOT);
    let i = hot.len() - 1 - k;
    &mut hot[i]
}
