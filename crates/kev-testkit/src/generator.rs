//! Realistic, reproducible core/v1 Events for tests and benchmarks.
//!
//! The generator mimics what a busy cluster holds in its one-hour event
//! window: pod lifecycles from the kubelet and the scheduler, controller
//! events for Deployments and ReplicaSets, node conditions; mostly `Normal`,
//! some `Warning`s that repeat (`count` > 1 with first and last timestamps
//! apart); old-style events from the legacy recorder (`source`, `count`,
//! `firstTimestamp`/`lastTimestamp`, `eventTime: null`) next to new-style ones
//! from the events.k8s.io recorder (`eventTime`, `series`, `action`, null legacy
//! timestamps, empty `source`); and `managedFields`, which real events carry and
//! which are often the bulk of their bytes.
//!
//! The same `(seed, now)` always gives the same events, with no random-number
//! crate: a SplitMix64 generator is enough for variety.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::cluster::{INITIAL_RESOURCE_VERSION, format_micro_time, format_time};

/// `n` realistic events over 50 namespaces and 20 nodes, last seen within the hour before `now`.
///
/// Each carries `metadata.resourceVersion` `1001, 1002, ...`, the versions a fresh
/// [`super::FakeCluster`] assigns when they are added in order.
pub fn realistic_events(n: usize, seed: u64, now: DateTime<Utc>) -> Vec<Value> {
    EventGenerator::new(seed, now).generate(n)
}

/// A configurable event generator; see the module docs.
#[derive(Debug, Clone)]
pub struct EventGenerator {
    /// Seed of the pseudo-random sequence.
    pub seed: u64,
    /// The reference time: every event is last seen in the hour before it.
    pub now: DateTime<Utc>,
    /// How many namespaces the pods spread over (default 50).
    pub namespaces: usize,
    /// How many nodes there are (default 20).
    pub nodes: usize,
}

impl EventGenerator {
    /// A generator with 50 namespaces and 20 nodes.
    pub fn new(seed: u64, now: DateTime<Utc>) -> Self {
        EventGenerator {
            seed,
            now,
            namespaces: 50,
            nodes: 20,
        }
    }

    /// Spread pod and controller events over `n` namespaces (at least 1).
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

    /// The namespace names, in order: real-looking names first, then numbered ones.
    pub fn namespace_names(&self) -> Vec<String> {
        (0..self.namespaces.max(1)).map(namespace_name).collect()
    }

    /// Generate `n` events.
    pub fn generate(&self, n: usize) -> Vec<Value> {
        self.iter().take(n).collect()
    }

    /// The same events as [`EventGenerator::generate`], one at a time and without
    /// end: serving 50,000 events need not hold 50,000 parsed trees at once.
    pub fn iter(&self) -> Events {
        Events {
            rng: Rng::new(self.seed),
            now: self.now,
            namespaces: self.namespace_names(),
            nodes: self.nodes.max(1),
            // Name suffixes look like a recorder's (hex nanoseconds) and are unique.
            base_nanos: self.now.timestamp_nanos_opt().unwrap_or(0) as u64,
            index: 0,
        }
    }
}

/// An endless iterator of generated events; see [`EventGenerator::iter`].
#[derive(Debug)]
pub struct Events {
    rng: Rng,
    now: DateTime<Utc>,
    namespaces: Vec<String>,
    nodes: usize,
    base_nanos: u64,
    index: usize,
}

impl Iterator for Events {
    type Item = Value;

    fn next(&mut self) -> Option<Value> {
        let i = self.index;
        self.index += 1;
        let ctx = Ctx {
            rng: &mut self.rng,
            now: self.now,
            suffix: format!("{:016x}", self.base_nanos.wrapping_add(i as u64 * 7919)),
            namespace: &self.namespaces[i % self.namespaces.len()],
            node: format!("node-{:02}", (i * 7 + 3) % self.nodes),
        };
        let mut event = ctx.event();
        if let Some(meta) = event.get_mut("metadata").and_then(Value::as_object_mut) {
            let rv = INITIAL_RESOURCE_VERSION + i as u64 + 1;
            meta.insert("resourceVersion".into(), rv.to_string().into());
        }
        Some(event)
    }
}

const NAMESPACES: &[&str] = &[
    "default",
    "kube-system",
    "payments",
    "checkout",
    "search",
    "monitoring",
    "ingress-nginx",
    "cert-manager",
    "batch",
    "web",
];

const APPS: &[&str] = &[
    "web",
    "api",
    "worker",
    "cache",
    "db-proxy",
    "frontend",
    "auth",
    "billing",
    "queue",
    "scheduler",
];

fn namespace_name(i: usize) -> String {
    match NAMESPACES.get(i) {
        Some(name) => (*name).to_owned(),
        None => format!("team-{:02}", i - NAMESPACES.len() + 1),
    }
}

/// SplitMix64: tiny, fast, and good enough for test data.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
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

    fn hex(&mut self, len: usize) -> String {
        let mut s = format!("{:016x}", self.next());
        s.truncate(len);
        s
    }

    /// A pod-name suffix: five of kubernetes' safe lowercase alphanumerics.
    fn pod_suffix(&mut self) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..5).map(|_| *self.pick(ALPHABET) as char).collect()
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

/// Who wrote an event, which decides its shape.
enum Recorder {
    /// The legacy (core/v1) recorder: `source`, `count`, first/last timestamps.
    Legacy {
        component: &'static str,
        host: Option<String>,
    },
    /// The events.k8s.io recorder: `eventTime`, `series`, `action`, no legacy fields.
    New {
        controller: &'static str,
        instance: String,
        action: &'static str,
    },
}

/// What one event says.
struct Shape {
    type_: &'static str,
    reason: &'static str,
    message: String,
    involved: Value,
    recorder: Recorder,
    /// How often it repeats: `count` (or `series.count`).
    count: u64,
}

struct Ctx<'a> {
    rng: &'a mut Rng,
    now: DateTime<Utc>,
    suffix: String,
    namespace: &'a str,
    node: String,
}

impl Ctx<'_> {
    fn event(mut self) -> Value {
        let roll = self.rng.below(100);
        let shape = match roll {
            0..=54 => self.pod_event(),
            55..=64 => self.deployment_event(),
            65..=79 => self.replicaset_event(),
            80..=87 => self.scheduler_event(),
            _ => self.node_event(),
        };
        self.render(shape)
    }

    fn repeats(&mut self, warning: bool) -> u64 {
        match (warning, self.rng.below(100)) {
            (false, 0..=84) | (true, 0..=24) => 1,
            (false, _) => 2 + self.rng.below(4),
            (true, 25..=79) => 2 + self.rng.below(30),
            (true, _) => 30 + self.rng.below(400),
        }
    }

    fn app(&mut self) -> (&'static str, String) {
        let app = *self.rng.pick(APPS);
        let hash = self.rng.hex(10);
        (app, hash)
    }

    fn involved(
        &mut self,
        kind: &str,
        api_version: &str,
        name: &str,
        field_path: Option<&str>,
    ) -> Value {
        let mut v = json!({
            "kind": kind,
            "namespace": self.namespace,
            "name": name,
            "uid": self.rng.uid(),
            "apiVersion": api_version,
            "resourceVersion": (100_000 + self.rng.below(900_000)).to_string(),
        });
        if let (Some(path), Some(obj)) = (field_path, v.as_object_mut()) {
            obj.insert("fieldPath".into(), path.into());
        }
        v
    }

    fn kubelet(&self) -> Recorder {
        Recorder::Legacy {
            component: "kubelet",
            host: Some(self.node.clone()),
        }
    }

    fn pod_event(&mut self) -> Shape {
        let (app, hash) = self.app();
        let pod = format!("{app}-{hash}-{}", self.rng.pod_suffix());
        let container = format!("spec.containers{{{app}}}");
        let image = format!(
            "registry.example.com/{app}:1.{}.{}",
            self.rng.below(20),
            self.rng.below(10)
        );
        let involved = self.involved("Pod", "v1", &pod, Some(&container));
        let (type_, reason, message) = match self.rng.below(100) {
            0..=14 => ("Normal", "Pulling", format!("Pulling image \"{image}\"")),
            15..=29 => {
                let ms = 200 + self.rng.below(9000);
                let secs = format!("{}.{:03}s", ms / 1000, ms % 1000);
                let size = 10_000_000 + self.rng.below(500_000_000);
                (
                    "Normal",
                    "Pulled",
                    format!(
                        "Successfully pulled image \"{image}\" in {secs} ({secs} including waiting). Image size: {size} bytes."
                    ),
                )
            }
            30..=44 => ("Normal", "Created", format!("Created container: {app}")),
            45..=59 => ("Normal", "Started", format!("Started container {app}")),
            60..=67 => ("Normal", "Killing", format!("Stopping container {app}")),
            68..=79 => (
                "Warning",
                "BackOff",
                format!(
                    "Back-off restarting failed container {app} in pod {pod}_{}({})",
                    self.namespace,
                    involved["uid"].as_str().unwrap_or("")
                ),
            ),
            80..=91 => (
                "Warning",
                "Unhealthy",
                format!(
                    "Readiness probe failed: HTTP probe failed with statuscode: {}",
                    self.rng.pick(&[500, 502, 503])
                ),
            ),
            _ => (
                "Warning",
                "FailedMount",
                format!(
                    "MountVolume.SetUp failed for volume \"config\" : configmap \"{app}-config\" not found"
                ),
            ),
        };
        let count = self.repeats(type_ == "Warning");
        Shape {
            type_,
            reason,
            message,
            involved,
            recorder: self.kubelet(),
            count,
        }
    }

    fn deployment_event(&mut self) -> Shape {
        let (app, hash) = self.app();
        let to = 1 + self.rng.below(10);
        let (verb, from) = if self.rng.chance(60) {
            ("up", to.saturating_sub(1))
        } else {
            ("down", to + 1)
        };
        Shape {
            type_: "Normal",
            reason: "ScalingReplicaSet",
            message: format!("Scaled {verb} replica set {app}-{hash} to {to} from {from}"),
            involved: self.involved("Deployment", "apps/v1", app, None),
            recorder: Recorder::Legacy {
                component: "deployment-controller",
                host: None,
            },
            count: 1,
        }
    }

    fn replicaset_event(&mut self) -> Shape {
        let (app, hash) = self.app();
        let rs = format!("{app}-{hash}");
        let pod = format!("{rs}-{}", self.rng.pod_suffix());
        let (type_, reason, message) = match self.rng.below(10) {
            0..=6 => ("Normal", "SuccessfulCreate", format!("Created pod: {pod}")),
            7..=8 => ("Normal", "SuccessfulDelete", format!("Deleted pod: {pod}")),
            _ => (
                "Warning",
                "FailedCreate",
                format!(
                    "Error creating: pods \"{pod}\" is forbidden: exceeded quota: compute-resources, requested: limits.cpu=500m, used: limits.cpu=4, limited: limits.cpu=4"
                ),
            ),
        };
        let count = self.repeats(type_ == "Warning");
        Shape {
            type_,
            reason,
            message,
            involved: self.involved("ReplicaSet", "apps/v1", &rs, None),
            recorder: Recorder::Legacy {
                component: "replicaset-controller",
                host: None,
            },
            count,
        }
    }

    fn scheduler_event(&mut self) -> Shape {
        let (app, hash) = self.app();
        let pod = format!("{app}-{hash}-{}", self.rng.pod_suffix());
        let involved = self.involved("Pod", "v1", &pod, None);
        let recorder = Recorder::New {
            controller: "default-scheduler",
            instance: "default-scheduler-control-plane-1".into(),
            action: if self.rng.chance(70) {
                "Binding"
            } else {
                "Scheduling"
            },
        };
        let (type_, reason, message, count) = match &recorder {
            Recorder::New {
                action: "Binding", ..
            } => (
                "Normal",
                "Scheduled",
                format!("Successfully assigned {}/{pod} to {}", self.namespace, self.node),
                1,
            ),
            _ => (
                "Warning",
                "FailedScheduling",
                "0/20 nodes are available: 3 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 17 Insufficient cpu. preemption: 0/20 nodes are available: 3 Preemption is not helpful for scheduling, 17 No preemption victims found for incoming pod.".to_owned(),
                self.repeats(true),
            ),
        };
        Shape {
            type_,
            reason,
            message,
            involved,
            recorder,
            count,
        }
    }

    fn node_event(&mut self) -> Shape {
        let node = self.node.clone();
        let (type_, reason, message, component) = match self.rng.below(10) {
            0..=2 => (
                "Normal",
                "Starting",
                "Starting kubelet.".to_owned(),
                "kubelet",
            ),
            3..=4 => (
                "Normal",
                "NodeHasSufficientMemory",
                format!("Node {node} status is now: NodeHasSufficientMemory"),
                "kubelet",
            ),
            5..=6 => (
                "Normal",
                "RegisteredNode",
                format!("Node {node} event: Registered Node {node} in Controller"),
                "node-controller",
            ),
            7..=8 => (
                "Warning",
                "NodeNotReady",
                format!("Node {node} status is now: NodeNotReady"),
                "node-controller",
            ),
            _ => (
                "Warning",
                "Rebooted",
                format!("Node {node} has been rebooted, boot id: {}", self.rng.uid()),
                "kubelet",
            ),
        };
        // Node events live in `default`; the kubelet uses the node name as uid.
        let involved = json!({"kind": "Node", "name": node, "uid": node, "apiVersion": "v1"});
        let host = (component == "kubelet").then(|| node.clone());
        let count = self.repeats(type_ == "Warning");
        Shape {
            type_,
            reason,
            message,
            involved,
            recorder: Recorder::Legacy { component, host },
            count,
        }
    }

    fn render(self, shape: Shape) -> Value {
        let Ctx {
            rng,
            now,
            suffix,
            namespace,
            ..
        } = self;
        let is_node = shape.involved["kind"] == "Node";
        let namespace = if is_node { "default" } else { namespace };
        let involved_name = shape.involved["name"]
            .as_str()
            .unwrap_or("event")
            .to_owned();
        // Last seen within the hour; a repeating event started up to the rest of
        // the hour earlier. Millisecond jitter keeps MicroTimes realistic.
        let age_ms = rng.below(3_600_000) as i64;
        let last = now - Duration::milliseconds(age_ms);
        let span_ms = if shape.count > 1 {
            1 + rng.below((3_600_000 - age_ms).max(1) as u64) as i64
        } else {
            0
        };
        let first = last - Duration::milliseconds(span_ms);
        let name = format!("{involved_name}.{suffix}");
        let uid = rng.uid();
        let mut event = json!({
            "metadata": {
                "name": name,
                "namespace": namespace,
                "uid": uid,
                "creationTimestamp": format_time(first),
            },
            "involvedObject": shape.involved,
            "reason": shape.reason,
            "message": shape.message,
            "type": shape.type_,
        });
        let Some(obj) = event.as_object_mut() else {
            return event;
        };
        let managed = match shape.recorder {
            Recorder::Legacy { component, host } => {
                let mut source = json!({"component": component});
                if let (Some(host), Some(s)) = (&host, source.as_object_mut()) {
                    s.insert("host".into(), host.clone().into());
                }
                obj.insert("source".into(), source);
                obj.insert("firstTimestamp".into(), format_time(first).into());
                obj.insert("lastTimestamp".into(), format_time(last).into());
                obj.insert("count".into(), shape.count.into());
                obj.insert("eventTime".into(), Value::Null);
                obj.insert("reportingComponent".into(), component.into());
                obj.insert(
                    "reportingInstance".into(),
                    host.clone().unwrap_or_default().into(),
                );
                json!({
                    "manager": if component == "kubelet" { "kubelet" } else { "kube-controller-manager" },
                    "operation": "Update",
                    "apiVersion": "v1",
                    "time": format_time(last),
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {
                        "f:count": {}, "f:firstTimestamp": {}, "f:involvedObject": {},
                        "f:lastTimestamp": {}, "f:message": {}, "f:reason": {},
                        "f:reportingComponent": {}, "f:reportingInstance": {},
                        "f:source": {"f:component": {}, "f:host": {}}, "f:type": {}
                    }
                })
            }
            Recorder::New {
                controller,
                instance,
                action,
            } => {
                obj.insert("source".into(), json!({}));
                obj.insert("firstTimestamp".into(), Value::Null);
                obj.insert("lastTimestamp".into(), Value::Null);
                obj.insert("eventTime".into(), format_micro_time(first).into());
                obj.insert("action".into(), action.into());
                obj.insert("reportingComponent".into(), controller.into());
                obj.insert("reportingInstance".into(), instance.into());
                let mut fields = json!({
                    "f:action": {}, "f:eventTime": {}, "f:note": {}, "f:reason": {},
                    "f:regarding": {}, "f:reportingController": {}, "f:reportingInstance": {},
                    "f:type": {}
                });
                if shape.count > 1 {
                    obj.insert(
                        "series".into(),
                        json!({"count": shape.count, "lastObservedTime": format_micro_time(last)}),
                    );
                    if let Some(f) = fields.as_object_mut() {
                        f.insert(
                            "f:series".into(),
                            json!({".": {}, "f:count": {}, "f:lastObservedTime": {}}),
                        );
                    }
                }
                json!({
                    "manager": "kube-scheduler",
                    "operation": "Update",
                    "apiVersion": "events.k8s.io/v1",
                    "time": format_time(last),
                    "fieldsType": "FieldsV1",
                    "fieldsV1": fields
                })
            }
        };
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("managedFields".into(), json!([managed]));
        }
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-28T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn reproducible_unique_and_recent() {
        let a = realistic_events(2000, 7, now());
        assert_eq!(a, realistic_events(2000, 7, now()));
        assert_ne!(a, realistic_events(2000, 8, now()));
        let keys: HashSet<_> = a
            .iter()
            .map(|e| {
                (
                    e["metadata"]["namespace"].clone(),
                    e["metadata"]["name"].clone(),
                )
            })
            .collect();
        assert_eq!(keys.len(), a.len());
        let uids: HashSet<_> = a.iter().map(|e| e["metadata"]["uid"].clone()).collect();
        assert_eq!(uids.len(), a.len());
        for e in &a {
            // Last seen as clients resolve it: series, then lastTimestamp, then eventTime.
            let last = [
                &e["series"]["lastObservedTime"],
                &e["lastTimestamp"],
                &e["eventTime"],
            ]
            .into_iter()
            .find_map(|t| t.as_str())
            .expect("every event has a last seen time");
            let last: DateTime<Utc> = last.parse().unwrap();
            assert!(last <= now() && now() - last <= Duration::hours(1), "{e}");
            let count = e["series"]["count"].as_i64().or(e["count"].as_i64());
            assert!(count.unwrap_or(1) >= 1);
        }
        let warnings = a.iter().filter(|e| e["type"] == "Warning").count();
        assert!(warnings > 200 && warnings < 1200, "{warnings}");
        assert!(a.iter().any(|e| e["series"].is_object()));
        assert!(a.iter().any(|e| e["involvedObject"]["kind"] == "Node"));
    }
}
