//! Realistic, reproducible core/v1 Events for tests, benchmarks and examples.
//!
//! One generator for everything that needs realistic events: the fake
//! apiserver's fixtures, kev's filter differential test and its replay
//! tests (which convert the JSON to kev's model), the filter benchmark, and
//! the example programs behind `bench/*.sh`.
//!
//! The mix follows what a busy cluster's event stream looks like: mostly
//! Normal pod lifecycle events from the kubelet and the scheduler
//! (Scheduled, Pulling, Pulled, Created, Started, Killing), controller events
//! (SuccessfulCreate, ScalingReplicaSet, SuccessfulRescale, Completed),
//! node conditions, and about a quarter Warnings (BackOff, Failed,
//! Unhealthy, FailedScheduling, FailedMount, Evicted, ProvisioningFailed,
//! ...), picked by weight, with messages worded as the components word them
//! and Warnings that repeat (`count` > 1, first and last timestamps apart).
//! Namespaces are weighted too (`kube-system` and `payments` are busy,
//! `staging` is not).
//!
//! Two recorders write them, as in a real cluster. About two thirds come from
//! the legacy (core/v1) recorder: `source`, `count`,
//! `firstTimestamp`/`lastTimestamp` in whole seconds, `eventTime: null`, and
//! for some (old clients) empty reporting fields. The rest come from the
//! events.k8s.io recorder: `eventTime` in microseconds, `series` when
//! repeated, `action`, null legacy timestamps and an empty `source`. Events
//! carry `managedFields` (often the bulk of a real event's bytes) unless
//! [`EventGenerator::managed_fields`] turns them off.
//!
//! A few events in a thousand are odd on purpose ([`EventGenerator::odd_events`],
//! on by default): no `type`, no `message`, no timestamps at all (not even
//! `metadata.creationTimestamp`, which [`crate::FakeCluster`] then fills in
//! as the apiserver would), or a message with terminal escapes, a carriage
//! return and non-ASCII text.
//!
//! Each event carries `metadata.resourceVersion` `1001, 1002, ...`: the
//! versions a fresh [`crate::FakeCluster`] assigns when they are added in
//! order. Names (`<object>.<16 hex digits>`, as recorders name events) and
//! uids are unique within one generator.
//!
//! The same settings always give the same events, with no random-number
//! crate: a SplitMix64 generator is enough for variety.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Map, Value, json};

use crate::cluster::{INITIAL_RESOURCE_VERSION, format_micro_time, format_time};

/// The reference time of [`EventGenerator::standard`]: `2026-11-28T10:00:00Z`.
pub const DEFAULT_NOW: &str = "2026-11-28T10:00:00Z";

/// [`DEFAULT_NOW`] as a time.
pub fn default_now() -> DateTime<Utc> {
    // A literal RFC 3339 time: it parses.
    DEFAULT_NOW.parse().unwrap_or_default()
}

/// `n` events from [`EventGenerator::new`]`(seed, now)`: 50 namespaces, 20
/// nodes, last seen within the hour before `now`, managedFields and odd
/// events included.
pub fn realistic_events(n: usize, seed: u64, now: DateTime<Utc>) -> Vec<Value> {
    EventGenerator::new(seed, now).generate(n)
}

/// A configurable event generator; see the module docs.
///
/// The fields are public; the builder methods document the defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventGenerator {
    /// Seed of the pseudo-random sequence.
    pub seed: u64,
    /// The reference time: every event is last seen within [`EventGenerator::window`] before it.
    pub now: DateTime<Utc>,
    /// How many namespaces the events spread over (default 50).
    pub namespaces: usize,
    /// How many nodes there are (default 20).
    pub nodes: usize,
    /// How far before `now` events are last seen (default one hour, the
    /// apiserver's default `--event-ttl`).
    pub window: Duration,
    /// Whether events carry `metadata.managedFields` (default true).
    pub managed_fields: bool,
    /// Whether a few events are odd on purpose (default true); see the module docs.
    pub odd_events: bool,
}

impl EventGenerator {
    /// A generator with 50 namespaces, 20 nodes, a one-hour window,
    /// managedFields and odd events.
    pub fn new(seed: u64, now: DateTime<Utc>) -> Self {
        EventGenerator {
            seed,
            now,
            namespaces: 50,
            nodes: 20,
            window: Duration::from_secs(3600),
            managed_fields: true,
            odd_events: true,
        }
    }

    /// The corpus kev's filter tests, benchmarks and `examples/gen_events.rs`
    /// share: seed 42 around [`DEFAULT_NOW`], the 11 named namespaces only, 24
    /// nodes, last seen within three hours (so that `age>2h` selects some),
    /// without managedFields (kev/v1 records do not carry them).
    pub fn standard() -> Self {
        EventGenerator::new(42, default_now())
            .namespaces(NAMESPACES.len())
            .nodes(24)
            .window(Duration::from_secs(3 * 3600))
            .managed_fields(false)
    }

    /// Spread events over `n` namespaces (at least 1): the named ones first
    /// (see [`EventGenerator::namespace_names`]), then `team-01`, `team-02`, ...
    #[must_use]
    pub fn namespaces(mut self, n: usize) -> Self {
        self.namespaces = n.max(1);
        self
    }

    /// Use `n` nodes (at least 1).
    #[must_use]
    pub fn nodes(mut self, n: usize) -> Self {
        self.nodes = n.max(1);
        self
    }

    /// Last-seen times fall within `window` before `now` (at least one second).
    #[must_use]
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window.max(Duration::from_secs(1));
        self
    }

    /// Include `metadata.managedFields` (default true).
    #[must_use]
    pub fn managed_fields(mut self, on: bool) -> Self {
        self.managed_fields = on;
        self
    }

    /// Include the odd events (default true). Turning them off keeps every
    /// other event the same: the odd ones are made ordinary.
    #[must_use]
    pub fn odd_events(mut self, on: bool) -> Self {
        self.odd_events = on;
        self
    }

    /// The namespace names, in order: `default`, `kube-system`, `payments`,
    /// `checkout`, `monitoring`, `ingress-nginx`, `data`, `auth`, `search`,
    /// `ml-batch`, `staging`, then numbered ones (`team-01`, ...).
    pub fn namespace_names(&self) -> Vec<String> {
        (0..self.namespaces.max(1))
            .map(|i| match NAMESPACES.get(i) {
                Some((name, _)) => (*name).to_owned(),
                None => format!("team-{:02}", i - NAMESPACES.len() + 1),
            })
            .collect()
    }

    /// The node names: seven in ten from a pool named `node-01`, `node-02`,
    /// ..., the other three (the 8th to 10th of every ten) from a cloud pool
    /// named by address (`ip-10-0-5-11.eu-west-1.compute.internal`).
    pub fn node_names(&self) -> Vec<String> {
        let mut numbered = 0;
        (0..self.nodes.max(1))
            .map(|i| {
                if i % 10 < 7 {
                    numbered += 1;
                    format!("node-{numbered:02}")
                } else {
                    format!(
                        "ip-10-0-{}-{}.eu-west-1.compute.internal",
                        (i * 3) % 8,
                        2 + (i * 37) % 250
                    )
                }
            })
            .collect()
    }

    /// Generate `n` events.
    pub fn generate(&self, n: usize) -> Vec<Value> {
        self.iter().take(n).collect()
    }

    /// The same events as [`EventGenerator::generate`], one at a time and
    /// without end: serving 50,000 events need not hold 50,000 trees at once.
    pub fn iter(&self) -> Events {
        let names = self.namespace_names();
        let weights = names
            .iter()
            .enumerate()
            .map(|(i, _)| NAMESPACES.get(i).map_or(EXTRA_NAMESPACE_WEIGHT, |n| n.1))
            .collect();
        Events {
            rng: Rng::new(self.seed),
            now: self.now,
            window_ms: u64::try_from(self.window.as_millis())
                .unwrap_or(u64::MAX)
                .max(1),
            namespaces: names,
            namespace_weights: weights,
            nodes: self.node_names(),
            managed_fields: self.managed_fields,
            odd_events: self.odd_events,
            // Name suffixes look like a recorder's (hex nanoseconds) and are unique.
            base_nanos: self.now.timestamp_nanos_opt().unwrap_or(0) as u64,
            index: 0,
        }
    }
}

/// An endless iterator of generated events; see [`EventGenerator::iter`].
#[derive(Debug, Clone)]
pub struct Events {
    rng: Rng,
    now: DateTime<Utc>,
    window_ms: u64,
    namespaces: Vec<String>,
    namespace_weights: Vec<u64>,
    nodes: Vec<String>,
    managed_fields: bool,
    odd_events: bool,
    base_nanos: u64,
    index: u64,
}

impl Iterator for Events {
    type Item = Value;

    fn next(&mut self) -> Option<Value> {
        Some(self.event(None))
    }
}

impl Events {
    /// The next event as a recorder would create it at `at`: a first
    /// occurrence (`count` 1), first and last seen at `at`. For servers that
    /// keep creating events (`examples/serve_events.rs --rate`).
    pub fn next_at(&mut self, at: DateTime<Utc>) -> Value {
        self.event(Some(at))
    }

    /// How many events this iterator has made.
    pub fn count_made(&self) -> u64 {
        self.index
    }

    fn event(&mut self, fresh: Option<DateTime<Utc>>) -> Value {
        let index = self.index;
        self.index += 1;
        let ns_idx = self.rng.weighted(&self.namespace_weights);
        let draw = Draw::new(self, ns_idx, fresh);
        let suffix = format!("{:016x}", self.base_nanos.wrapping_add(index * 7919));
        let rv = INITIAL_RESOURCE_VERSION + index + 1;
        draw.render(&suffix, rv, self.managed_fields)
    }
}

/// Namespaces by weight: how busy each is.
const NAMESPACES: &[(&str, u64)] = &[
    ("default", 6),
    ("kube-system", 14),
    ("payments", 14),
    ("checkout", 12),
    ("monitoring", 10),
    ("ingress-nginx", 5),
    ("data", 9),
    ("auth", 6),
    ("search", 8),
    ("ml-batch", 10),
    ("staging", 6),
];

/// The weight of each numbered namespace past the named ones.
const EXTRA_NAMESPACE_WEIGHT: u64 = 3;

const APPS: &[&str] = &[
    "web",
    "api",
    "worker",
    "payments-api",
    "checkout-svc",
    "redis",
    "postgres",
    "kafka-broker",
    "ledger",
    "fraud-scorer",
    "session-store",
    "image-resizer",
    "search-indexer",
    "prometheus",
    "coredns",
];

/// What kind of object an event template is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Subject {
    Pod,
    ReplicaSet,
    Deployment,
    Node,
    Hpa,
    Job,
    CronJob,
    Pvc,
    StatefulSet,
}

/// One kind of event, picked by weight.
#[derive(Debug)]
struct Template {
    weight: u64,
    warning: bool,
    subject: Subject,
    reason: &'static str,
    /// The reporting component (the legacy `source.component`).
    component: &'static str,
    /// The events.k8s.io `action`.
    action: &'static str,
}

const fn t(
    weight: u64,
    warning: bool,
    subject: Subject,
    reason: &'static str,
    component: &'static str,
    action: &'static str,
) -> Template {
    Template {
        weight,
        warning,
        subject,
        reason,
        component,
        action,
    }
}

use Subject::{CronJob, Deployment, Hpa, Job, Node, Pod, Pvc, ReplicaSet, StatefulSet};

#[rustfmt::skip]
const TEMPLATES: &[Template] = &[
    t(90, false, Pod, "Scheduled", "default-scheduler", "Binding"),
    t(110, false, Pod, "Pulling", "kubelet", "Pulling"),
    t(110, false, Pod, "Pulled", "kubelet", "Pulled"),
    t(120, false, Pod, "Created", "kubelet", "Created"),
    t(120, false, Pod, "Started", "kubelet", "Started"),
    t(45, false, Pod, "Killing", "kubelet", "Killing"),
    t(10, false, Pod, "SandboxChanged", "kubelet", "SandboxChanged"),
    t(40, false, ReplicaSet, "SuccessfulCreate", "replicaset-controller", "Create"),
    t(25, false, ReplicaSet, "SuccessfulDelete", "replicaset-controller", "Delete"),
    t(30, false, Deployment, "ScalingReplicaSet", "deployment-controller", "Scaling"),
    t(10, false, Hpa, "SuccessfulRescale", "horizontal-pod-autoscaler", "Rescale"),
    t(12, false, Job, "Completed", "job-controller", "Completed"),
    t(10, false, CronJob, "SawCompletedJob", "cronjob-controller", "SawCompletedJob"),
    t(8, false, Node, "NodeHasSufficientMemory", "kubelet", "NodeHasSufficientMemory"),
    t(4, false, Node, "Starting", "kubelet", "Starting"),
    t(4, false, Node, "RegisteredNode", "node-controller", "RegisteredNode"),
    t(4, false, Node, "NodeNotReady", "node-controller", "NodeNotReady"),
    t(4, false, Pvc, "ExternalProvisioning", "persistentvolume-controller", "Provisioning"),
    t(6, false, StatefulSet, "SuccessfulCreate", "statefulset-controller", "Create"),
    t(70, true, Pod, "BackOff", "kubelet", "BackOff"),
    t(45, true, Pod, "Failed", "kubelet", "Failed"),
    t(60, true, Pod, "Unhealthy", "kubelet", "Probe"),
    t(25, true, Pod, "FailedScheduling", "default-scheduler", "Scheduling"),
    t(12, true, Pod, "FailedMount", "kubelet", "FailedMount"),
    t(6, true, Pod, "FailedCreatePodSandBox", "kubelet", "FailedCreatePodSandBox"),
    t(8, true, Pod, "Evicted", "kubelet", "Evict"),
    t(5, true, ReplicaSet, "FailedCreate", "replicaset-controller", "Create"),
    t(4, true, Node, "OOMKilling", "kernel-monitor", "OOMKilling"),
    t(4, true, Node, "NodeHasDiskPressure", "kubelet", "NodeHasDiskPressure"),
    t(2, true, Node, "Rebooted", "kubelet", "Rebooted"),
    t(8, true, Hpa, "FailedGetResourceMetric", "horizontal-pod-autoscaler", "FailedGetResourceMetric"),
    t(4, true, Job, "BackoffLimitExceeded", "job-controller", "BackoffLimitExceeded"),
    t(5, true, Pvc, "ProvisioningFailed", "persistentvolume-controller", "Provisioning"),
    t(5, true, Pod, "FailedKillPod", "kubelet", "FailedKillPod"),
];

/// SplitMix64: tiny, fast, and good enough for test data.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// An index into `weights`, each index as likely as its weight.
    fn weighted(&mut self, weights: &[u64]) -> usize {
        let mut x = self.below(weights.iter().sum());
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        0
    }

    /// A name suffix of kubernetes' safe lowercase alphanumerics (pod-template
    /// hashes, generated pod names).
    fn safe(&mut self, n: usize) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..n).map(|_| *self.pick(ALPHABET) as char).collect()
    }

    fn uid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }
}

/// Which of the odd cases an event is, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Odd {
    NoType,
    NoMessage,
    NoTimestamps,
    HostileMessage,
}

/// Everything drawn for one event, before it is written out as JSON.
#[derive(Debug)]
struct Draw {
    tpl: &'static Template,
    namespace: String,
    involved: Value,
    message: String,
    count: u64,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    new_recorder: bool,
    /// The legacy `source.host`: the node, for node-local components.
    host: Option<String>,
    /// `reportingComponent`/`reportingInstance`; empty for old clients.
    reporting: (String, String),
    uid: String,
    odd: Option<Odd>,
}

impl Draw {
    fn new(events: &mut Events, ns_idx: usize, fresh: Option<DateTime<Utc>>) -> Draw {
        let r = &mut events.rng;
        let tpl = &TEMPLATES[r.weighted(&TEMPLATE_WEIGHTS)];
        let ns = events.namespaces[ns_idx].as_str();
        let app = *r.pick(APPS);
        let rs_hash = r.safe(10);
        let pod = format!("{app}-{rs_hash}-{}", r.safe(5));
        let node = r.pick(&events.nodes).clone();
        let image = format!(
            "registry.example.com/{ns}/{app}:v1.{}.{}",
            r.below(40),
            r.below(10)
        );
        let container = if r.chance(80) { app } else { "istio-proxy" };
        let (kind, name, api_version) = match tpl.subject {
            Pod => ("Pod", pod.clone(), "v1"),
            ReplicaSet => ("ReplicaSet", format!("{app}-{rs_hash}"), "apps/v1"),
            Deployment => ("Deployment", app.to_owned(), "apps/v1"),
            StatefulSet => ("StatefulSet", app.to_owned(), "apps/v1"),
            Node => ("Node", node.clone(), "v1"),
            Hpa => ("HorizontalPodAutoscaler", app.to_owned(), "autoscaling/v2"),
            Job => (
                "Job",
                format!("{app}-nightly-{}", 29_000_000 + r.below(1000)),
                "batch/v1",
            ),
            CronJob => ("CronJob", format!("{app}-nightly"), "batch/v1"),
            Pvc => (
                "PersistentVolumeClaim",
                format!("data-{app}-{}", r.below(3)),
                "v1",
            ),
        };
        // The kubelet names a node by its name, also as the uid.
        let object_uid = if tpl.subject == Node && tpl.component == "kubelet" {
            node.clone()
        } else {
            r.uid()
        };
        let field_path = (tpl.subject == Pod
            && matches!(
                tpl.reason,
                "Pulling"
                    | "Pulled"
                    | "Created"
                    | "Started"
                    | "Killing"
                    | "BackOff"
                    | "Failed"
                    | "Unhealthy"
            ))
        .then(|| format!("spec.containers{{{container}}}"));
        let words = Words {
            ns,
            pod: &pod,
            node: &node,
            image: &image,
            container,
            object_uid: &object_uid,
            name: &name,
            app,
        };
        let message = words.message(r, tpl);
        let mut involved = Map::new();
        involved.insert("kind".into(), kind.into());
        if tpl.subject != Node {
            involved.insert("namespace".into(), ns.into());
        }
        involved.insert("name".into(), name.into());
        involved.insert("uid".into(), object_uid.into());
        involved.insert("apiVersion".into(), api_version.into());
        if tpl.subject != Node {
            let object_rv = 100_000 + r.below(900_000);
            involved.insert("resourceVersion".into(), object_rv.to_string().into());
        }
        if let Some(path) = field_path {
            involved.insert("fieldPath".into(), path.into());
        }

        let hot = matches!(
            tpl.reason,
            "BackOff"
                | "Unhealthy"
                | "FailedScheduling"
                | "FailedGetResourceMetric"
                | "Failed"
                | "FailedMount"
        );
        let mut count = if hot {
            let spread = if r.chance(20) { 400 } else { 30 };
            1 + r.below(spread)
        } else if r.chance(8) {
            2 + r.below(4)
        } else {
            1
        };
        let age = TimeDelta::milliseconds(r.below(events.window_ms) as i64);
        let span_secs = if count > 1 {
            r.below(3600).min(count * 60)
        } else {
            0
        };
        let new_recorder = r.chance(33);
        let old_client = r.chance(30);
        let instance_suffix = r.safe(5);
        let uid = r.uid();
        let odd_roll = r.below(1000);

        let (first, last) = match fresh {
            Some(at) => {
                count = 1;
                (at, at)
            }
            None => {
                let last = events.now - age;
                (last - TimeDelta::seconds(span_secs as i64), last)
            }
        };
        // Seconds for the legacy recorder's timestamps, microseconds for the new one.
        let (first, last) = if new_recorder {
            (truncate_micros(first), truncate_micros(last))
        } else {
            (truncate_secs(first), truncate_secs(last))
        };
        let node_local = matches!(tpl.component, "kubelet" | "kernel-monitor");
        let host = node_local.then(|| node.clone());
        let instance = host
            .clone()
            .unwrap_or_else(|| format!("{}-{instance_suffix}", tpl.component));
        let reporting = if old_client && !new_recorder {
            // Written by an old client that never set the reporting fields.
            (String::new(), String::new())
        } else {
            (tpl.component.to_owned(), instance)
        };
        let odd = events
            .odd_events
            .then_some(match odd_roll {
                0..=3 => Some(Odd::NoType),
                4..=7 => Some(Odd::NoMessage),
                8 => Some(Odd::NoTimestamps),
                9..=11 => Some(Odd::HostileMessage),
                _ => None,
            })
            .flatten();
        Draw {
            tpl,
            namespace: if tpl.subject == Node { "default" } else { ns }.to_owned(),
            involved: Value::Object(involved),
            message,
            count,
            first,
            last,
            new_recorder,
            host,
            reporting,
            uid,
            odd,
        }
    }

    fn render(self, suffix: &str, rv: u64, managed_fields: bool) -> Value {
        let name = format!(
            "{}.{suffix}",
            self.involved["name"].as_str().unwrap_or("event")
        );
        let timestamps = self.odd != Some(Odd::NoTimestamps);
        let mut meta = Map::new();
        meta.insert("name".into(), name.into());
        meta.insert("namespace".into(), self.namespace.into());
        meta.insert("uid".into(), self.uid.into());
        meta.insert("resourceVersion".into(), rv.to_string().into());
        if timestamps {
            meta.insert("creationTimestamp".into(), format_time(self.first).into());
        }
        let mut obj = Map::new();
        obj.insert("involvedObject".into(), self.involved);
        obj.insert("reason".into(), self.tpl.reason.into());
        match self.odd {
            Some(Odd::NoMessage) => {}
            Some(Odd::HostileMessage) => {
                let message = format!(
                    "{} \u{1b}[31mERROR\u{1b}[0m ünïcødé 日本語 \t tab\r\nnewline",
                    self.message
                );
                obj.insert("message".into(), message.into());
            }
            _ => {
                obj.insert("message".into(), self.message.into());
            }
        }
        if self.odd != Some(Odd::NoType) {
            let type_ = if self.tpl.warning {
                "Warning"
            } else {
                "Normal"
            };
            obj.insert("type".into(), type_.into());
        }
        let time = |t: Value| if timestamps { t } else { Value::Null };
        let manager = manager(self.tpl.component);
        let fields = if self.new_recorder {
            obj.insert("source".into(), json!({}));
            obj.insert("firstTimestamp".into(), Value::Null);
            obj.insert("lastTimestamp".into(), Value::Null);
            obj.insert(
                "eventTime".into(),
                time(format_micro_time(self.first).into()),
            );
            obj.insert("action".into(), self.tpl.action.into());
            obj.insert("reportingComponent".into(), self.reporting.0.into());
            obj.insert("reportingInstance".into(), self.reporting.1.into());
            let mut fields = json!({
                "f:action": {}, "f:eventTime": {}, "f:involvedObject": {}, "f:message": {},
                "f:reason": {}, "f:reportingComponent": {}, "f:reportingInstance": {},
                "f:source": {}, "f:type": {}
            });
            if self.count > 1 {
                let last_observed = time(format_micro_time(self.last).into());
                obj.insert(
                    "series".into(),
                    json!({"count": self.count, "lastObservedTime": last_observed}),
                );
                if let Some(f) = fields.as_object_mut() {
                    f.insert(
                        "f:series".into(),
                        json!({".": {}, "f:count": {}, "f:lastObservedTime": {}}),
                    );
                }
            }
            fields
        } else {
            let mut source = Map::new();
            source.insert("component".into(), self.tpl.component.into());
            if let Some(host) = &self.host {
                source.insert("host".into(), host.clone().into());
            }
            obj.insert("source".into(), Value::Object(source));
            obj.insert(
                "firstTimestamp".into(),
                time(format_time(self.first).into()),
            );
            obj.insert("lastTimestamp".into(), time(format_time(self.last).into()));
            obj.insert("count".into(), self.count.into());
            obj.insert("eventTime".into(), Value::Null);
            obj.insert("reportingComponent".into(), self.reporting.0.into());
            obj.insert("reportingInstance".into(), self.reporting.1.into());
            json!({
                "f:count": {}, "f:firstTimestamp": {}, "f:involvedObject": {},
                "f:lastTimestamp": {}, "f:message": {}, "f:reason": {},
                "f:reportingComponent": {}, "f:reportingInstance": {},
                "f:source": {"f:component": {}, "f:host": {}}, "f:type": {}
            })
        };
        if managed_fields {
            meta.insert(
                "managedFields".into(),
                json!([{
                    "manager": manager,
                    "operation": "Update",
                    "apiVersion": "v1",
                    "time": format_time(self.last),
                    "fieldsType": "FieldsV1",
                    "fieldsV1": fields
                }]),
            );
        }
        let mut event = Map::new();
        event.insert("metadata".into(), Value::Object(meta));
        event.extend(obj);
        Value::Object(event)
    }
}

/// The template weights, in [`TEMPLATES`] order.
static TEMPLATE_WEIGHTS: std::sync::LazyLock<Vec<u64>> =
    std::sync::LazyLock::new(|| TEMPLATES.iter().map(|t| t.weight).collect());

/// The field manager a component's writes show in `managedFields`.
fn manager(component: &str) -> &'static str {
    match component {
        "kubelet" => "kubelet",
        "default-scheduler" => "kube-scheduler",
        "kernel-monitor" => "node-problem-detector",
        _ => "kube-controller-manager",
    }
}

fn truncate_secs(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t)
}

fn truncate_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), t.timestamp_subsec_micros() * 1000).unwrap_or(t)
}

/// The names a message can mention.
struct Words<'a> {
    ns: &'a str,
    pod: &'a str,
    node: &'a str,
    image: &'a str,
    container: &'a str,
    object_uid: &'a str,
    /// The involved object's name.
    name: &'a str,
    app: &'a str,
}

impl Words<'_> {
    /// The message, worded as the reporting component words it.
    fn message(&self, r: &mut Rng, tpl: &Template) -> String {
        let Words {
            ns,
            pod,
            node,
            image,
            container,
            object_uid,
            name,
            app,
        } = *self;
        match tpl.reason {
            "Scheduled" => format!("Successfully assigned {ns}/{pod} to {node}"),
            "Pulling" => format!("Pulling image \"{image}\""),
            "Pulled" if r.chance(40) => {
                format!("Container image \"{image}\" already present on machine")
            }
            "Pulled" => {
                let ms = 300 + r.below(20_000);
                format!(
                    "Successfully pulled image \"{image}\" in {}.{:03}s ({}.{:03}s including waiting). Image size: {} bytes.",
                    ms / 1000,
                    ms % 1000,
                    (ms + 40) / 1000,
                    (ms + 40) % 1000,
                    10_000_000 + r.below(900_000_000)
                )
            }
            "Created" => format!("Created container: {container}"),
            "Started" => format!("Started container {container}"),
            "Killing" => format!("Stopping container {container}"),
            "SandboxChanged" => "Pod sandbox changed, it will be killed and re-created.".into(),
            "SuccessfulCreate" if tpl.subject == StatefulSet => {
                format!("create Pod {name}-{} in StatefulSet {name} successful", r.below(5))
            }
            "SuccessfulCreate" => format!("Created pod: {pod}"),
            "SuccessfulDelete" => format!("Deleted pod: {pod}"),
            "FailedCreate" => format!(
                "Error creating: pods \"{pod}\" is forbidden: exceeded quota: compute-resources, requested: limits.cpu=500m, used: limits.cpu=4, limited: limits.cpu=4"
            ),
            "ScalingReplicaSet" => {
                let from = 1 + r.below(6);
                let to = if r.chance(60) { from + 1 } else { from - 1 };
                let dir = if to > from { "up" } else { "down" };
                format!(
                    "Scaled {dir} replica set {name}-{} to {to} from {from}",
                    r.safe(10)
                )
            }
            "SuccessfulRescale" => format!(
                "New size: {}; reason: cpu resource utilization (percentage of request) above target",
                2 + r.below(20)
            ),
            "Completed" => "Job completed".into(),
            "SawCompletedJob" => format!(
                "Saw completed job: {name}-{}, condition: Complete",
                29_000_000 + r.below(1000)
            ),
            "NodeHasSufficientMemory" => {
                format!("Node {node} status is now: NodeHasSufficientMemory")
            }
            "Starting" => "Starting kubelet.".into(),
            "RegisteredNode" => format!("Node {node} event: Registered Node {node} in Controller"),
            "NodeNotReady" => format!("Node {node} status is now: NodeNotReady"),
            "NodeHasDiskPressure" => format!("Node {node} status is now: NodeHasDiskPressure"),
            "Rebooted" => format!("Node {node} has been rebooted, boot id: {}", r.uid()),
            "ExternalProvisioning" => {
                "Waiting for a volume to be created either by the external provisioner 'ebs.csi.aws.com' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.".into()
            }
            "BackOff" if r.chance(70) => format!(
                "Back-off restarting failed container {container} in pod {pod}_{ns}({object_uid})"
            ),
            "BackOff" => format!("Back-off pulling image \"{image}\""),
            "Failed" => match r.below(4) {
                0 => format!(
                    "Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"
                ),
                1 => "Error: ErrImagePull".into(),
                2 => "Error: ImagePullBackOff".into(),
                _ => format!("Error: secret \"{ns}-db-credentials\" not found"),
            },
            "Unhealthy" => match r.below(3) {
                0 => "Readiness probe failed: HTTP probe failed with statuscode: 503".into(),
                1 => format!(
                    "Liveness probe failed: Get \"http://10.{}.{}.{}:8080/healthz\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                    r.below(255),
                    r.below(255),
                    r.below(255)
                ),
                _ => format!(
                    "Readiness probe failed: dial tcp 10.{}.{}.{}:5432: connect: connection refused",
                    r.below(255),
                    r.below(255),
                    r.below(255)
                ),
            },
            "FailedScheduling" => format!(
                "0/24 nodes are available: {} Insufficient cpu, {} Insufficient memory, 3 node(s) had untolerated taint {{node.kubernetes.io/disk-pressure: }}. preemption: 0/24 nodes are available: 24 No preemption victims found for incoming pod.",
                r.below(20),
                r.below(10)
            ),
            "FailedMount" => format!(
                "MountVolume.SetUp failed for volume \"config\" : configmap \"{app}-config\" not found"
            ),
            "FailedCreatePodSandBox" => "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox: plugin type=\"calico\" failed (add): error getting ClusterInformation: connection is unauthorized: Unauthorized".into(),
            "Evicted" => format!(
                "The node was low on resource: memory. Threshold quantity: 100Mi, available: {}Mi. Container {container} was using {}Mi, request is 512Mi, has larger consumption of memory.",
                40 + r.below(60),
                900 + r.below(2000)
            ),
            "OOMKilling" => format!(
                "Memory cgroup out of memory: Killed process {} (java) total-vm:{}kB, anon-rss:{}kB",
                1000 + r.below(60_000),
                4_000_000 + r.below(4_000_000),
                1_000_000 + r.below(2_000_000)
            ),
            "FailedGetResourceMetric" => "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API".into(),
            "BackoffLimitExceeded" => "Job has reached the specified backoff limit".into(),
            "ProvisioningFailed" => "storageclass.storage.k8s.io \"fast-ssd\" not found".into(),
            "FailedKillPod" => format!(
                "error killing pod: failed to \"KillContainer\" for \"{container}\" with KillContainerError: \"rpc error: code = Unknown desc = Error response from daemon: No such container\""
            ),
            other => format!("{other} {name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn now() -> DateTime<Utc> {
        default_now()
    }

    fn time(v: &Value) -> Option<DateTime<Utc>> {
        v.as_str().map(|s| s.parse().unwrap())
    }

    /// Last seen as kev resolves it: `series.lastObservedTime` → `lastTimestamp`
    /// → `eventTime` → `creationTimestamp`.
    fn last_seen(e: &Value) -> Option<DateTime<Utc>> {
        time(&e["series"]["lastObservedTime"])
            .or_else(|| time(&e["lastTimestamp"]))
            .or_else(|| time(&e["eventTime"]))
            .or_else(|| time(&e["metadata"]["creationTimestamp"]))
    }

    fn first_seen(e: &Value) -> Option<DateTime<Utc>> {
        time(&e["eventTime"])
            .or_else(|| time(&e["firstTimestamp"]))
            .or_else(|| time(&e["metadata"]["creationTimestamp"]))
    }

    #[test]
    fn reproducible_unique_and_recent() {
        let a = realistic_events(3000, 7, now());
        assert_eq!(a, realistic_events(3000, 7, now()));
        assert_ne!(a, realistic_events(3000, 8, now()));
        let keys: HashSet<_> = a
            .iter()
            .map(|e| (&e["metadata"]["namespace"], &e["metadata"]["name"]))
            .collect();
        assert_eq!(keys.len(), a.len());
        let uids: HashSet<_> = a.iter().map(|e| &e["metadata"]["uid"]).collect();
        assert_eq!(uids.len(), a.len());
        for (i, e) in a.iter().enumerate() {
            assert_eq!(
                e["metadata"]["resourceVersion"],
                (INITIAL_RESOURCE_VERSION + i as u64 + 1).to_string()
            );
            assert!(e["metadata"]["managedFields"].is_array(), "{e}");
            let Some(last) = last_seen(e) else {
                // One of the odd ones: no timestamps at all.
                assert!(e["metadata"].get("creationTimestamp").is_none(), "{e}");
                continue;
            };
            assert!(last <= now() && now() - last <= TimeDelta::hours(1), "{e}");
            assert!(first_seen(e).unwrap() <= last, "{e}");
            let count = e["series"]["count"].as_u64().or(e["count"].as_u64());
            assert!(count.unwrap_or(1) >= 1, "{e}");
        }
        let warnings = a.iter().filter(|e| e["type"] == "Warning").count();
        assert!((400..1200).contains(&warnings), "{warnings} warnings");
        let new_recorder = a.iter().filter(|e| e["eventTime"].is_string()).count();
        assert!((800..1200).contains(&new_recorder), "{new_recorder}");
        assert!(a.iter().any(|e| e["series"].is_object()));
        assert!(a.iter().any(|e| e["count"].as_u64() > Some(30)));
        assert!(a.iter().any(|e| e["involvedObject"]["kind"] == "Node"));
        assert!(a.iter().any(|e| e["reportingComponent"] == ""));
    }

    #[test]
    fn odd_events_are_there_and_can_be_turned_off() {
        let g = EventGenerator::new(3, now()).managed_fields(false);
        let odd = |events: &[Value]| {
            let no_type = events.iter().filter(|e| e.get("type").is_none()).count();
            let no_message = events.iter().filter(|e| e.get("message").is_none()).count();
            let no_time = events.iter().filter(|e| last_seen(e).is_none()).count();
            let hostile = events
                .iter()
                .filter(|e| e["message"].as_str().is_some_and(|m| m.contains('\u{1b}')))
                .count();
            [no_type, no_message, no_time, hostile]
        };
        let with = g.generate(20_000);
        assert!(odd(&with).iter().all(|&n| n > 0), "{:?}", odd(&with));
        assert!(odd(&with).iter().sum::<usize>() < 400, "{:?}", odd(&with));
        let without = g.clone().odd_events(false).generate(20_000);
        assert_eq!(odd(&without), [0, 0, 0, 0]);
        // Only the odd ones differ.
        let same = with.iter().zip(&without).filter(|(a, b)| a == b).count();
        assert_eq!(same, 20_000 - odd(&with).iter().sum::<usize>());
        assert!(
            with.iter()
                .all(|e| e["metadata"].get("managedFields").is_none())
        );
    }

    #[test]
    fn namespaces_nodes_and_window() {
        let g = EventGenerator::new(1, now()).namespaces(13).nodes(12);
        assert_eq!(
            g.namespace_names()[..3],
            ["default", "kube-system", "payments"]
        );
        assert_eq!(g.namespace_names()[11..], ["team-01", "team-02"]);
        assert_eq!(
            g.node_names(),
            [
                "node-01",
                "node-02",
                "node-03",
                "node-04",
                "node-05",
                "node-06",
                "node-07",
                "ip-10-0-5-11.eu-west-1.compute.internal",
                "ip-10-0-0-48.eu-west-1.compute.internal",
                "ip-10-0-3-85.eu-west-1.compute.internal",
                "node-08",
                "node-09",
            ]
        );
        let events = g.generate(5000);
        let namespaces: HashSet<_> = events
            .iter()
            .map(|e| e["metadata"]["namespace"].as_str().unwrap())
            .collect();
        assert_eq!(namespaces.len(), 13, "{namespaces:?}");
        let hosts: HashSet<_> = events
            .iter()
            .filter_map(|e| e["source"]["host"].as_str())
            .collect();
        assert!(hosts.len() == 12 && hosts.iter().all(|h| g.node_names().iter().any(|n| n == h)));

        let standard = EventGenerator::standard().generate(5000);
        let oldest = standard.iter().filter_map(last_seen).min().unwrap();
        assert!(now() - oldest > TimeDelta::hours(2), "{oldest}");
        assert!(now() - oldest <= TimeDelta::hours(3), "{oldest}");
    }

    #[test]
    fn events_made_now_are_first_occurrences_at_that_time() {
        let g = EventGenerator::new(5, now());
        let at: DateTime<Utc> = "2026-11-28T12:00:00.250Z".parse().unwrap();
        let mut events = g.iter();
        let older = events.next().unwrap();
        let fresh: Vec<_> = (0..200).map(|_| events.next_at(at)).collect();
        assert_eq!(events.count_made(), 201);
        assert_ne!(older["metadata"]["name"], fresh[0]["metadata"]["name"]);
        for e in fresh
            .iter()
            .filter(|e| last_seen(e).is_some() && e.get("type").is_some())
        {
            let last = last_seen(e).unwrap();
            assert!(at - last < TimeDelta::seconds(1), "{e}");
            assert_eq!(first_seen(e), Some(last), "{e}");
            assert!(
                e["series"].is_null() && e["count"].as_u64().unwrap_or(1) == 1,
                "{e}"
            );
        }
    }
}
