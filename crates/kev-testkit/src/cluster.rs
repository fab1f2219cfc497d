//! The fake cluster's state: a versioned store of core/v1 Event objects.
//!
//! A real apiserver keeps objects in etcd, a multi-version store: every write
//! takes the next cluster-wide revision (the `resourceVersion`), a list can be
//! served "as of" an older revision until compaction removes it, and a watch
//! replays every change after a given revision. Clients depend on all three
//! (paged lists at one snapshot, resuming watches, `410 Gone` after
//! compaction), so [`FakeCluster`] models them the same way, on a much smaller
//! scale:
//!
//! - every object key (`namespace/name`, etcd's key order) keeps its versions,
//!   including deletions as tombstones, until [`FakeCluster::compact_to`];
//! - a change log (the watch history) holds one entry per write, also pruned by
//!   compaction;
//! - a `tokio::sync::watch` channel carries the latest revision so that active
//!   watches wake up on every write.
//!
//! With an event TTL ([`FakeCluster::with_event_ttl`]) events also expire as
//! kube-apiserver's `--event-ttl` makes them: etcd attaches a lease to every
//! event write, and when the lease runs out the key is deleted, which
//! watches see as a `DELETED` with a new revision. Here a queue ordered by
//! deadline (one entry per write, so expiry never scans the store) is
//! drained by [`FakeCluster::expire_now`]: the server calls it on a coarse
//! tick and before every events request, and tests call it themselves with a
//! [`Clock::manual`] they move, so that nothing waits for real time.
//!
//! The cluster also has an identity: the uid of its `kube-system` namespace
//! ([`FakeCluster::with_cluster_uid`]), which is what clients use to tell
//! clusters apart.
//!
//! `FakeCluster` is a cheap handle (`Clone` shares the same state), usable from
//! sync and async code alike: tests mutate events from a plain `#[test]` while
//! the server streams them on its own runtime.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Map, Value, json};
use tokio::sync::watch;

use super::clock::Clock;
use super::selector::{FieldSelector, Fields};
use super::status::ApiStatus;

/// The resourceVersion of an empty [`FakeCluster::new`]; the first write gets the next one.
///
/// Starting above zero keeps `"0"` (a special value meaning "any version" to
/// the apiserver) distinct from every real revision.
pub const INITIAL_RESOURCE_VERSION: u64 = 1000;

/// The uid of the `kube-system` namespace of a cluster not given one
/// ([`FakeCluster::with_cluster_uid`]).
pub const DEFAULT_CLUSTER_UID: &str = "3f6c1a52-8e0d-4b7a-9c21-5d4e6f708192";

/// How a watch from a compacted (too old) resourceVersion fails.
///
/// Real apiservers differ by whether the watch cache serves the resource and
/// by version. Events bypass the cache, so the default is what etcd-served
/// watches do (checked against kube-apiserver 1.36).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ExpiredWatch {
    /// `200 OK` and a stream whose only line is an `ERROR` watch event carrying a
    /// 410 `Expired` Status, `The resourceVersion for the provided watch is too
    /// old.`; then the stream ends. (etcd-served watches, as for events.)
    #[default]
    ErrorEvent,
    /// The same, worded as the watch cache words it: `too old resource version:
    /// R (C)`.
    CacheErrorEvent,
    /// `410 Gone` with a Status body (`too old resource version: R (C)`) before any
    /// stream starts, as older apiservers answer from the watch cache.
    HttpGone,
}

impl ExpiredWatch {
    /// The Status this mode reports for a watch from `requested` with history
    /// compacted up to `compacted`.
    pub fn status(self, requested: u64, compacted: u64) -> ApiStatus {
        match self {
            ExpiredWatch::ErrorEvent => ApiStatus::watch_expired(),
            ExpiredWatch::CacheErrorEvent | ExpiredWatch::HttpGone => {
                ApiStatus::too_old_resource_version(requested, compacted)
            }
        }
    }
}

/// Why a change to the store was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// An event with this namespace and name already exists.
    #[error("events \"{name}\" already exists in namespace \"{namespace}\"")]
    AlreadyExists {
        /// The event's namespace.
        namespace: String,
        /// The event's name.
        name: String,
    },
    /// No live event has this namespace and name.
    #[error("events \"{name}\" not found in namespace \"{namespace}\"")]
    NotFound {
        /// The namespace looked in.
        namespace: String,
        /// The name looked for.
        name: String,
    },
    /// The value is not an object, or an update changed its namespace or name.
    #[error("invalid event: {0}")]
    Invalid(String),
}

/// The type of one change in the watch history, as a watch event names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeType {
    /// The object was created.
    Added,
    /// The object was updated in place (a new resourceVersion).
    Modified,
    /// The object was deleted; the object carries its last state.
    Deleted,
}

impl ChangeType {
    /// The watch event `type`: `ADDED`, `MODIFIED` or `DELETED`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
        }
    }
}

/// One stored version of an object, shared between the store, the log and responses.
#[derive(Debug)]
pub(crate) struct Stored {
    /// `namespace/name`: the store key, in etcd's order.
    pub key: String,
    /// The object serialized once, without `kind`/`apiVersion` (list items
    /// carry neither), because lists and watches send it many times.
    pub json: Arc<str>,
    /// Its field-selector values.
    pub fields: Fields,
}

impl Stored {
    fn new(key: String, value: &Value) -> Arc<Self> {
        Arc::new(Stored {
            key,
            json: value.to_string().into(),
            fields: Fields::of(value),
        })
    }

    /// The object as stored (without `kind`/`apiVersion`).
    pub fn value(&self) -> Value {
        // The text was serialized from a `Value` by this module: it parses.
        serde_json::from_str(&self.json).unwrap_or(Value::Null)
    }

    /// The object as a GET or a watch event shows it: with `kind` and `apiVersion`.
    pub fn with_type_meta(&self) -> Value {
        let mut out = Map::new();
        out.insert("kind".into(), "Event".into());
        out.insert("apiVersion".into(), "v1".into());
        if let Value::Object(fields) = self.value() {
            out.extend(fields);
        }
        Value::Object(out)
    }
}

/// One version of one key: the object, or `None` once deleted.
#[derive(Debug)]
struct Version {
    rv: u64,
    obj: Option<Arc<Stored>>,
}

/// One entry of the watch history.
#[derive(Clone, Debug)]
pub(crate) struct Change {
    /// The revision this change created.
    pub rv: u64,
    /// What happened.
    pub kind: ChangeType,
    /// The object after the change (for a deletion: its last state at the deletion's revision).
    pub obj: Arc<Stored>,
}

/// One page of a list, taken under the store lock.
#[derive(Debug, Default)]
pub(crate) struct Page {
    /// The items, in key order.
    pub items: Vec<Arc<Stored>>,
    /// Whether more matching items follow the last one.
    pub more: bool,
    /// How many matching items follow (only counted when asked).
    pub remaining: u64,
}

/// What a watch gets on each wake-up.
#[derive(Debug)]
pub(crate) enum History {
    /// The changes after the cursor, and the revision they run up to.
    Changes(Vec<Change>, u64),
    /// The cursor is older than the compaction point: `(cursor, compacted)`.
    Expired(u64, u64),
}

/// When one write of one key expires. Entries are never removed when the key is
/// written again: an entry whose version is no longer the key's live one is stale
/// and skipped when it comes due.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Expiry {
    at: DateTime<Utc>,
    rv: u64,
    key: String,
}

#[derive(Debug)]
struct Store {
    rv: u64,
    compacted: u64,
    expired_watch: ExpiredWatch,
    objects: BTreeMap<String, Vec<Version>>,
    log: VecDeque<Change>,
    clock: Clock,
    /// How long an event lives after its last write; `None`: forever.
    ttl: Option<TimeDelta>,
    /// The TTL deadlines, soonest first.
    expiry: BinaryHeap<Reverse<Expiry>>,
    /// How many events have expired so far.
    expired: u64,
    /// The uid of the `kube-system` namespace.
    cluster_uid: String,
    /// When the cluster was made (the namespace's creationTimestamp).
    created: DateTime<Utc>,
}

impl Store {
    fn live(&self, key: &str) -> Option<&Arc<Stored>> {
        self.objects
            .get(key)
            .and_then(|versions| versions.last())
            .and_then(|v| v.obj.as_ref())
    }

    /// The object at `key` as of revision `at`, if it existed then.
    fn at(versions: &[Version], at: u64) -> Option<&Arc<Stored>> {
        let idx = versions.partition_point(|v| v.rv <= at);
        idx.checked_sub(1).and_then(|i| versions[i].obj.as_ref())
    }

    fn write(&mut self, kind: ChangeType, key: String, mut value: Value) -> Arc<Stored> {
        self.rv += 1;
        let rv = self.rv;
        if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), rv.to_string().into());
        }
        if let Some(ttl) = self.ttl
            && kind != ChangeType::Deleted
        {
            self.expiry.push(Reverse(Expiry {
                at: deadline(self.clock.now(), ttl),
                rv,
                key: key.clone(),
            }));
        }
        let obj = Stored::new(key.clone(), &value);
        let versions = self.objects.entry(key).or_default();
        let stored = (kind != ChangeType::Deleted).then(|| obj.clone());
        versions.push(Version { rv, obj: stored });
        self.log.push_back(Change {
            rv,
            kind,
            obj: obj.clone(),
        });
        obj
    }

    /// Delete every event whose TTL ran out by `at`; returns how many.
    fn expire(&mut self, at: DateTime<Utc>) -> usize {
        let mut expired = 0;
        while self.expiry.peek().is_some_and(|Reverse(e)| e.at <= at) {
            let Some(Reverse(due)) = self.expiry.pop() else {
                break;
            };
            let current = self
                .objects
                .get(&due.key)
                .and_then(|versions| versions.last())
                .filter(|v| v.rv == due.rv)
                .and_then(|v| v.obj.as_ref())
                .map(|obj| obj.value());
            if let Some(value) = current {
                self.write(ChangeType::Deleted, due.key, value);
                expired += 1;
            }
        }
        self.expired += expired as u64;
        expired
    }

    fn compact_to(&mut self, to: u64) {
        let to = to.min(self.rv);
        if to <= self.compacted {
            return;
        }
        self.compacted = to;
        while self.log.front().is_some_and(|c| c.rv <= to) {
            self.log.pop_front();
        }
        self.objects.retain(|_, versions| {
            // Keep the newest version at or before `to` (the state as of the
            // compaction point) and everything after it.
            let idx = versions.partition_point(|v| v.rv <= to);
            if idx >= 2 {
                versions.drain(..idx - 1);
            }
            if versions
                .first()
                .is_some_and(|v| v.rv <= to && v.obj.is_none())
            {
                versions.remove(0);
            }
            !versions.is_empty()
        });
    }
}

struct Inner {
    store: Mutex<Store>,
    latest: watch::Sender<u64>,
}

/// The fake cluster's events: a handle to a shared, versioned store.
///
/// Every write (add, update, bump, delete) takes the next resourceVersion, is
/// appended to the watch history and wakes every active watch. Objects are
/// stored as JSON [`Value`]s; `kind` and `apiVersion` are stripped on the way in
/// and put back where a real apiserver shows them (watch events, GET), not in
/// list items.
#[derive(Clone)]
pub struct FakeCluster {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FakeCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let store = self.lock();
        f.debug_struct("FakeCluster")
            .field("resource_version", &store.rv)
            .field("compacted", &store.compacted)
            .field("keys", &store.objects.len())
            .finish()
    }
}

impl Default for FakeCluster {
    fn default() -> Self {
        Self::new()
    }
}

impl From<Vec<Value>> for FakeCluster {
    /// A cluster holding these events; see [`FakeCluster::with_events`].
    fn from(events: Vec<Value>) -> Self {
        FakeCluster::new().with_events(events)
    }
}

impl FakeCluster {
    /// An empty cluster at resourceVersion [`INITIAL_RESOURCE_VERSION`].
    pub fn new() -> Self {
        Self::starting_at(INITIAL_RESOURCE_VERSION)
    }

    /// An empty cluster whose current resourceVersion is `rv`.
    pub fn starting_at(rv: u64) -> Self {
        let (latest, _) = watch::channel(rv);
        FakeCluster {
            inner: Arc::new(Inner {
                store: Mutex::new(Store {
                    rv,
                    compacted: 0,
                    expired_watch: ExpiredWatch::default(),
                    objects: BTreeMap::new(),
                    log: VecDeque::new(),
                    clock: Clock::system(),
                    ttl: None,
                    expiry: BinaryHeap::new(),
                    expired: 0,
                    cluster_uid: DEFAULT_CLUSTER_UID.to_owned(),
                    created: Utc::now(),
                }),
                latest,
            }),
        }
    }

    /// Tell time by `clock` (default: [`Clock::system`]): event TTLs, the
    /// `creationTimestamp` filled into new events and [`FakeCluster::bump_event`]
    /// all read it. Set it before adding events.
    #[must_use]
    pub fn with_clock(self, clock: Clock) -> Self {
        {
            let mut store = self.lock();
            store.created = clock.now();
            store.clock = clock;
        }
        self
    }

    /// The clock the cluster tells time by.
    pub fn clock(&self) -> Clock {
        self.lock().clock.clone()
    }

    /// Expire events `ttl` after their last write (add, update or bump), as
    /// kube-apiserver's `--event-ttl` does (default there: one hour; here: never).
    ///
    /// An expired event is deleted: it leaves lists and GETs, and every open
    /// watch gets a `DELETED` for it with a new resourceVersion. Events already
    /// stored get `ttl` from now. Expiry happens in [`FakeCluster::expire_now`],
    /// which a running [`crate::FakeApiServer`] calls about once a second and
    /// before every events request.
    #[must_use]
    pub fn with_event_ttl(self, ttl: Duration) -> Self {
        {
            let mut store = self.lock();
            let ttl = TimeDelta::from_std(ttl).unwrap_or(TimeDelta::MAX);
            let at = deadline(store.clock.now(), ttl);
            store.ttl = Some(ttl);
            let live: Vec<Reverse<Expiry>> = store
                .objects
                .iter()
                .filter_map(|(key, versions)| {
                    let v = versions.last()?;
                    v.obj.as_ref().map(|_| {
                        Reverse(Expiry {
                            at,
                            rv: v.rv,
                            key: key.clone(),
                        })
                    })
                })
                .collect();
            store.expiry.extend(live);
        }
        self
    }

    /// The event TTL, if events expire.
    pub fn event_ttl(&self) -> Option<Duration> {
        self.lock().ttl.and_then(|t| t.to_std().ok())
    }

    /// Expire every event whose TTL has run out by the cluster's clock; returns
    /// how many were deleted. Cheap when nothing is due (one look at the
    /// soonest deadline).
    pub fn expire_now(&self) -> usize {
        let at = self.lock().clock.now();
        self.expire_at(at)
    }

    /// Expire every event whose TTL has run out by `at`; returns how many.
    pub fn expire_at(&self, at: DateTime<Utc>) -> usize {
        let mut store = self.lock();
        if store.ttl.is_none() {
            return 0;
        }
        let expired = store.expire(at);
        let rv = store.rv;
        drop(store);
        if expired > 0 {
            self.notify(rv);
        }
        expired
    }

    /// How many events have expired since the cluster was made.
    pub fn expired_count(&self) -> u64 {
        self.lock().expired
    }

    /// How many TTL deadlines are queued, stale ones included (for memory checks).
    pub fn pending_expiries(&self) -> usize {
        self.lock().expiry.len()
    }

    /// Give the cluster this identity: the `metadata.uid` of its `kube-system`
    /// namespace (default [`DEFAULT_CLUSTER_UID`]).
    #[must_use]
    pub fn with_cluster_uid(self, uid: &str) -> Self {
        self.lock().cluster_uid = uid.to_owned();
        self
    }

    /// The cluster's identity: the uid of its `kube-system` namespace.
    pub fn cluster_uid(&self) -> String {
        self.lock().cluster_uid.clone()
    }

    /// The `kube-system` Namespace as a GET returns it; `None` for any other
    /// name (the fake has no other namespaces to show).
    pub fn namespace(&self, name: &str) -> Option<Value> {
        if name != "kube-system" {
            return None;
        }
        let store = self.lock();
        Some(json!({
            "kind": "Namespace",
            "apiVersion": "v1",
            "metadata": {
                "name": name,
                "uid": store.cluster_uid,
                "resourceVersion": "1",
                "creationTimestamp": format_time(store.created),
                "labels": {"kubernetes.io/metadata.name": name},
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }))
    }

    /// Add `events` in order (see [`FakeCluster::add_event`]) and return the cluster.
    ///
    /// # Panics
    ///
    /// If two events share a namespace and name, or one is not a JSON object:
    /// fixtures like that are a bug in the test, reported where it is made.
    #[must_use]
    pub fn with_events(self, events: impl IntoIterator<Item = Value>) -> Self {
        for event in events {
            if let Err(err) = self.add_event(event) {
                panic!("FakeCluster::with_events: {err}");
            }
        }
        self
    }

    /// Make watches from a compacted resourceVersion fail this way (default:
    /// [`ExpiredWatch::ErrorEvent`]).
    #[must_use]
    pub fn with_expired_watch(self, mode: ExpiredWatch) -> Self {
        self.lock().expired_watch = mode;
        self
    }

    /// Change how watches from a compacted resourceVersion fail, at runtime.
    pub fn set_expired_watch(&self, mode: ExpiredWatch) {
        self.lock().expired_watch = mode;
    }

    /// How watches from a compacted resourceVersion fail.
    pub fn expired_watch(&self) -> ExpiredWatch {
        self.lock().expired_watch
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave the store half-written
        // in a way that matters to a test double; keep serving.
        self.inner
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn notify(&self, rv: u64) {
        self.inner.latest.send_replace(rv);
    }

    /// Store a new event (an `ADDED` change) and return it as stored.
    ///
    /// Like the apiserver, the store assigns `metadata.resourceVersion` (any
    /// given one is replaced) and fills in what is missing: `metadata.uid`
    /// (derived from the revision), `metadata.creationTimestamp` (now),
    /// `metadata.namespace` (the involved object's, else `default`) and
    /// `metadata.name` (`<involved object name>.<hex revision>`, as recorders name
    /// events).
    pub fn add_event(&self, event: Value) -> Result<Value, StoreError> {
        let mut event = event;
        let obj = event
            .as_object_mut()
            .ok_or_else(|| StoreError::Invalid("not a JSON object".into()))?;
        obj.remove("kind");
        obj.remove("apiVersion");
        let involved_ns = str_at(&event, &["involvedObject", "namespace"]).map(str::to_owned);
        let involved_name = str_at(&event, &["involvedObject", "name"]).map(str::to_owned);

        let mut store = self.lock();
        let now = store.clock.now();
        let rv = store.rv + 1;
        let meta = metadata_mut(&mut event)?;
        if !meta.get("namespace").is_some_and(non_empty_str) {
            let ns = involved_ns.unwrap_or_else(|| "default".into());
            meta.insert("namespace".into(), ns.into());
        }
        if !meta.get("name").is_some_and(non_empty_str) {
            let base = involved_name.unwrap_or_else(|| "event".into());
            meta.insert("name".into(), format!("{base}.{rv:016x}").into());
        }
        if !meta.get("uid").is_some_and(non_empty_str) {
            meta.insert("uid".into(), fake_uid(rv).into());
        }
        if !meta.get("creationTimestamp").is_some_and(non_empty_str) {
            meta.insert("creationTimestamp".into(), format_time(now).into());
        }
        let (namespace, name) = namespace_name(&event);
        let key = object_key(&namespace, &name);
        if store.live(&key).is_some() {
            return Err(StoreError::AlreadyExists { namespace, name });
        }
        let stored = store.write(ChangeType::Added, key, event);
        let rv = store.rv;
        drop(store);
        self.notify(rv);
        Ok(stored.with_type_meta())
    }

    /// Add several events in order; stops at the first error.
    pub fn add_events(
        &self,
        events: impl IntoIterator<Item = Value>,
    ) -> Result<Vec<Value>, StoreError> {
        events.into_iter().map(|e| self.add_event(e)).collect()
    }

    /// Change a live event in place with `edit` (a `MODIFIED` change with a new
    /// resourceVersion) and return it as stored.
    ///
    /// `edit` must not change `metadata.namespace` or `metadata.name`.
    pub fn update_event(
        &self,
        namespace: &str,
        name: &str,
        edit: impl FnOnce(&mut Value),
    ) -> Result<Value, StoreError> {
        let mut store = self.lock();
        let key = object_key(namespace, name);
        let current = store.live(&key).ok_or_else(|| not_found(namespace, name))?;
        let mut value = current.value();
        edit(&mut value);
        let Some(obj) = value.as_object_mut() else {
            return Err(StoreError::Invalid(
                "edit made the event not an object".into(),
            ));
        };
        obj.remove("kind");
        obj.remove("apiVersion");
        if namespace_name(&value) != (namespace.to_owned(), name.to_owned()) {
            return Err(StoreError::Invalid(
                "edit changed the namespace or name".into(),
            ));
        }
        let stored = store.write(ChangeType::Modified, key, value);
        let rv = store.rv;
        drop(store);
        self.notify(rv);
        Ok(stored.with_type_meta())
    }

    /// Record one more occurrence of an event now (by the cluster's clock); see
    /// [`FakeCluster::bump_event_at`].
    pub fn bump_event(&self, namespace: &str, name: &str) -> Result<Value, StoreError> {
        let now = self.lock().clock.now();
        self.bump_event_at(namespace, name, now)
    }

    /// Record one more occurrence of an event at `at`, as the recorders do.
    ///
    /// An event with a `series` (the events.k8s.io recorder) gets
    /// `series.count + 1` and `series.lastObservedTime = at`; any other (the
    /// legacy recorder) gets `count + 1` and `lastTimestamp = at`. Either way a
    /// `MODIFIED` change with a new resourceVersion.
    pub fn bump_event_at(
        &self,
        namespace: &str,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<Value, StoreError> {
        self.update_event(namespace, name, |event| bump(event, at))
    }

    /// Delete a live event (a `DELETED` change) and return its last state, which
    /// carries the deletion's resourceVersion as a watch shows it.
    pub fn delete_event(&self, namespace: &str, name: &str) -> Result<Value, StoreError> {
        let mut store = self.lock();
        let key = object_key(namespace, name);
        let current = store.live(&key).ok_or_else(|| not_found(namespace, name))?;
        let value = current.value();
        let stored = store.write(ChangeType::Deleted, key, value);
        let rv = store.rv;
        drop(store);
        self.notify(rv);
        Ok(stored.with_type_meta())
    }

    /// A live event, as a GET returns it (with `kind` and `apiVersion`).
    pub fn get_event(&self, namespace: &str, name: &str) -> Option<Value> {
        self.expire_now();
        let store = self.lock();
        store
            .live(&object_key(namespace, name))
            .map(|s| s.with_type_meta())
    }

    /// Every live event in key order (namespace, then name), as a GET returns each.
    pub fn events(&self) -> Vec<Value> {
        self.expire_now();
        let store = self.lock();
        store
            .objects
            .values()
            .filter_map(|versions| versions.last().and_then(|v| v.obj.as_ref()))
            .map(|s| s.with_type_meta())
            .collect()
    }

    /// How many events are live.
    pub fn len(&self) -> usize {
        self.expire_now();
        let store = self.lock();
        store
            .objects
            .values()
            .filter(|versions| versions.last().is_some_and(|v| v.obj.is_some()))
            .count()
    }

    /// Whether no event is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The current resourceVersion: that of the latest write.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    /// The compaction point: history at or before it is gone (0: nothing compacted).
    pub fn compacted(&self) -> u64 {
        self.lock().compacted
    }

    /// Compact history up to the current resourceVersion, as etcd compaction does:
    /// afterwards only a watch from the current resourceVersion (or a fresh list)
    /// works; older ones get `410 Gone`.
    pub fn compact(&self) {
        let mut store = self.lock();
        let rv = store.rv;
        store.compact_to(rv);
    }

    /// Compact history up to `rv` (capped at the current resourceVersion).
    ///
    /// Watches from a resourceVersion below `rv`, lists at an exact
    /// resourceVersion below it and continue tokens taken before it fail with
    /// `410 Gone` / reason `Expired`.
    pub fn compact_to(&self, rv: u64) {
        self.lock().compact_to(rv);
    }

    /// A receiver of the latest resourceVersion, updated on every write.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.latest.subscribe()
    }

    /// The state needed to start a list or watch: `(current rv, compacted, mode)`.
    pub(crate) fn versions(&self) -> (u64, u64, ExpiredWatch) {
        let store = self.lock();
        (store.rv, store.compacted, store.expired_watch)
    }

    /// One page of the events visible at revision `at`, in key order.
    ///
    /// `prefix` restricts keys to one namespace (`"ns/"`); `from` resumes at a
    /// key (a continue token's start); `limit` 0 means no limit. Remaining items are counted only when
    /// `count_remaining` (the apiserver reports the count only without selectors).
    pub(crate) fn page(
        &self,
        prefix: Option<&str>,
        selector: &FieldSelector,
        at: u64,
        from: Option<&str>,
        limit: usize,
        count_remaining: bool,
    ) -> Page {
        let store = self.lock();
        let lower = match (from, prefix) {
            (Some(from), _) => Bound::Included(from),
            (None, Some(prefix)) => Bound::Included(prefix),
            (None, None) => Bound::Unbounded,
        };
        let mut page = Page::default();
        let range = store
            .objects
            .range::<str, _>((lower, Bound::Unbounded))
            .take_while(|(key, _)| prefix.is_none_or(|p| key.starts_with(p)))
            .filter_map(|(_, versions)| Store::at(versions, at))
            .filter(|obj| selector.matches(&obj.fields));
        for obj in range {
            if limit == 0 || page.items.len() < limit {
                page.items.push(obj.clone());
            } else {
                page.more = true;
                if !count_remaining {
                    break;
                }
                page.remaining += 1;
            }
        }
        page
    }

    /// The changes after revision `cursor` in `prefix`'s namespace (all if `None`).
    pub(crate) fn history(&self, cursor: u64, prefix: Option<&str>) -> History {
        let store = self.lock();
        if cursor < store.compacted {
            return History::Expired(cursor, store.compacted);
        }
        let start = store.log.partition_point(|c| c.rv <= cursor);
        let changes = store
            .log
            .range(start..)
            .filter(|c| prefix.is_none_or(|p| c.obj.key.starts_with(p)))
            .cloned()
            .collect();
        History::Changes(changes, store.rv)
    }
}

/// `ttl` after `now`, or the end of time for a TTL too long to add.
fn deadline(now: DateTime<Utc>, ttl: TimeDelta) -> DateTime<Utc> {
    now.checked_add_signed(ttl)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The store key of an event: `namespace/name`, whose byte order is etcd's
/// (`/registry/events/<namespace>/<name>`), so lists come out in the same order.
pub(crate) fn object_key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// The key prefix of one namespace.
pub(crate) fn namespace_prefix(namespace: &str) -> String {
    format!("{namespace}/")
}

fn not_found(namespace: &str, name: &str) -> StoreError {
    StoreError::NotFound {
        namespace: namespace.into(),
        name: name.into(),
    }
}

fn non_empty_str(v: &Value) -> bool {
    v.as_str().is_some_and(|s| !s.is_empty())
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(v, |v, key| v.get(key))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn metadata_mut(event: &mut Value) -> Result<&mut Map<String, Value>, StoreError> {
    let obj = event
        .as_object_mut()
        .ok_or_else(|| StoreError::Invalid("not a JSON object".into()))?;
    let meta = obj.entry("metadata").or_insert_with(|| json!({}));
    meta.as_object_mut()
        .ok_or_else(|| StoreError::Invalid("metadata is not an object".into()))
}

fn namespace_name(event: &Value) -> (String, String) {
    let get = |field| str_at(event, &["metadata", field]).unwrap_or("").to_owned();
    (get("namespace"), get("name"))
}

/// A UUID-shaped uid derived from a revision, so that runs are reproducible.
fn fake_uid(rv: u64) -> String {
    format!("00000000-0000-4000-8000-{:012x}", rv & 0xffff_ffff_ffff)
}

/// A `metav1.Time`: RFC 3339 in whole seconds.
pub(crate) fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A `metav1.MicroTime`: RFC 3339 with exactly six fractional digits.
pub(crate) fn format_micro_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn bump(event: &mut Value, at: DateTime<Utc>) {
    let Some(obj) = event.as_object_mut() else {
        return;
    };
    if let Some(series) = obj.get_mut("series").and_then(Value::as_object_mut) {
        let count = series.get("count").and_then(Value::as_i64).unwrap_or(1);
        series.insert("count".into(), (count + 1).into());
        series.insert("lastObservedTime".into(), format_micro_time(at).into());
        return;
    }
    let count = obj.get("count").and_then(Value::as_i64).unwrap_or(1);
    obj.insert("count".into(), (count + 1).into());
    obj.insert("lastTimestamp".into(), format_time(at).into());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ns: &str, name: &str) -> Value {
        json!({"metadata": {"namespace": ns, "name": name}, "reason": "R"})
    }

    #[test]
    fn snapshots_survive_later_writes_until_compaction() {
        let c = FakeCluster::new();
        c.add_event(ev("a", "1")).unwrap();
        let snap = c.resource_version();
        c.add_event(ev("a", "2")).unwrap();
        c.delete_event("a", "1").unwrap();
        let all = FieldSelector::default();
        let names = |at| {
            c.page(None, &all, at, None, 0, false)
                .items
                .iter()
                .map(|s| s.key.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(snap), ["a/1"]);
        assert_eq!(names(c.resource_version()), ["a/2"]);
        c.compact();
        assert_eq!(names(c.resource_version()), ["a/2"]);
        assert!(matches!(c.history(snap, None), History::Expired(..)));
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn events_expire_ttl_after_their_last_write() {
        let clock = Clock::manual(t("2026-11-28T10:00:00Z"));
        let c = FakeCluster::new()
            .with_clock(clock.clone())
            .with_event_ttl(Duration::from_secs(60));
        c.add_event(ev("a", "1")).unwrap();
        clock.advance(Duration::from_secs(30));
        c.add_event(ev("a", "2")).unwrap();
        // Written again at 10:00:30: lives until 10:01:30, like "2".
        c.bump_event("a", "1").unwrap();
        let before = c.resource_version();
        clock.set(t("2026-11-28T10:01:29Z"));
        assert_eq!(c.expire_now(), 0, "the first write's deadline is stale");
        assert_eq!(c.len(), 2);
        clock.set(t("2026-11-28T10:01:30Z"));
        assert_eq!(c.expire_now(), 2);
        assert!(c.is_empty() && c.get_event("a", "1").is_none());
        assert_eq!((c.expired_count(), c.pending_expiries()), (2, 0));
        // Watches see a DELETED per event, each at a new revision.
        let History::Changes(changes, up_to) = c.history(before, None) else {
            panic!("not compacted")
        };
        let deleted: Vec<_> = changes
            .iter()
            .map(|ch| (ch.kind, ch.obj.key.as_str(), ch.rv))
            .collect();
        assert_eq!(
            deleted,
            [
                (ChangeType::Deleted, "a/2", before + 1),
                (ChangeType::Deleted, "a/1", before + 2)
            ]
        );
        assert_eq!(up_to, before + 2);
        assert_eq!(
            changes[0].obj.value()["metadata"]["resourceVersion"],
            (before + 1).to_string()
        );
        // A deleted event leaves nothing to expire; a new one starts afresh.
        c.add_event(ev("a", "1")).unwrap();
        assert_eq!(c.expire_now(), 0);
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn reads_expire_lazily_and_a_late_ttl_covers_stored_events() {
        let clock = Clock::manual(t("2026-11-28T10:00:00Z"));
        let c = FakeCluster::new().with_clock(clock.clone());
        c.add_event(ev("a", "1")).unwrap();
        clock.advance(Duration::from_secs(3600));
        assert_eq!(c.expire_now(), 0, "no TTL, no expiry");
        let c = c.with_event_ttl(Duration::from_secs(10));
        assert_eq!(c.event_ttl(), Some(Duration::from_secs(10)));
        clock.advance(Duration::from_secs(10));
        // No explicit expire_now: the read expires first.
        assert!(c.get_event("a", "1").is_none());
        assert_eq!(c.expired_count(), 1);
        // Deleted by hand before its deadline: nothing left to expire.
        c.add_event(ev("a", "2")).unwrap();
        c.delete_event("a", "2").unwrap();
        clock.advance(Duration::from_secs(10));
        assert_eq!(c.expire_now(), 0);
    }

    /// A server that keeps writing under a TTL, compacting now and then as
    /// etcd does, holds a bounded store: about `rate * ttl` live events, and
    /// history and deadlines for about a TTL's worth of writes.
    #[test]
    fn memory_stays_bounded_under_a_ttl() {
        let clock = Clock::manual(t("2026-11-28T10:00:00Z"));
        let c = FakeCluster::new()
            .with_clock(clock.clone())
            .with_event_ttl(Duration::from_secs(60));
        let (rate, mut made) = (100, 0u64);
        let mut compact_at = c.resource_version();
        for second in 1..=300u64 {
            for i in 0..rate {
                if i % 5 == 4 && made > 10 {
                    // One write in five bumps a recent event, as recorders do.
                    let _ = c.bump_event("a", &(made - 3).to_string());
                } else {
                    made += 1;
                    c.add_event(ev("a", &made.to_string())).unwrap();
                }
            }
            clock.advance(Duration::from_secs(1));
            c.expire_now();
            if second % 30 == 0 {
                c.compact_to(compact_at);
                compact_at = c.resource_version();
            }
        }
        let live = c.len();
        assert!((4000..=6000).contains(&live), "{live} live");
        let store = c.lock();
        let writes_per_ttl = 60 * rate as usize;
        assert!(
            store.objects.len() < 3 * writes_per_ttl,
            "{}",
            store.objects.len()
        );
        assert!(store.log.len() < 3 * writes_per_ttl, "{}", store.log.len());
        assert!(
            store.expiry.len() < 2 * writes_per_ttl,
            "{}",
            store.expiry.len()
        );
        assert!(store.expired > 15_000, "{}", store.expired);
    }

    #[test]
    fn cluster_identity() {
        let c = FakeCluster::new();
        assert_eq!(c.cluster_uid(), DEFAULT_CLUSTER_UID);
        let c = c.with_cluster_uid("uid-1");
        let ns = c.namespace("kube-system").unwrap();
        assert_eq!(ns["metadata"]["uid"], "uid-1");
        assert_eq!(ns["kind"], "Namespace");
        assert!(c.namespace("default").is_none());
    }

    #[test]
    fn bump_follows_the_recorder_that_wrote_the_event() {
        let at = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut legacy = json!({"count": 3});
        bump(&mut legacy, at);
        assert_eq!(
            legacy,
            json!({"count": 4, "lastTimestamp": "2026-01-02T03:04:05Z"})
        );
        let mut series = json!({"series": {"count": 2}});
        bump(&mut series, at);
        assert_eq!(
            series,
            json!({"series": {"count": 3, "lastObservedTime": "2026-01-02T03:04:05.123456Z"}})
        );
    }
}
