//! A deterministic generator of realistic events, for tests, benchmarks and
//! examples (`examples/gen_events.rs` writes it as kev/v1 NDJSON).
//!
//! The mix follows what a busy cluster's event stream looks like: mostly
//! Normal pod lifecycle events from the kubelet and scheduler (Scheduled,
//! Pulling, Pulled, Created, Started, Killing), controller events
//! (SuccessfulCreate, ScalingReplicaSet, SuccessfulRescale, Completed), and
//! about a quarter Warnings (BackOff, Failed, Unhealthy, FailedScheduling,
//! FailedMount, Evicted, ProvisioningFailed, ...), with messages as the
//! components write them. About a third of the events look like the newer
//! events.k8s.io recorder wrote them (series, eventTime, no `source`); a few
//! have no type, no message, or no timestamps; a few messages carry control
//! characters and non-ASCII text. The same seed always gives the same events.

use chrono::{DateTime, TimeDelta, Utc};

use crate::model::record::WatchType;
use crate::model::{Event, EventSource, ObjectRef, RecordContext, Series};

/// The "now" the corpus is generated around, unless told otherwise.
pub const DEFAULT_NOW: &str = "2026-11-28T10:00:00Z";

/// A small, fast, deterministic PRNG (SplitMix64).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `p` percent.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn hex(&mut self, n: usize) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..n)
            .map(|_| ALPHABET[self.below(ALPHABET.len() as u64) as usize] as char)
            .collect()
    }

    fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }
}

const NAMESPACES: &[(&str, u64)] = &[
    ("payments", 14),
    ("checkout", 12),
    ("default", 6),
    ("kube-system", 14),
    ("monitoring", 10),
    ("ingress-nginx", 5),
    ("data", 9),
    ("auth", 6),
    ("search", 8),
    ("ml-batch", 10),
    ("staging", 6),
];

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
#[derive(Clone, Copy, PartialEq, Eq)]
enum On {
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

/// One kind of event: (weight, type, object, reason, reporting component, action).
struct Template {
    weight: u64,
    warning: bool,
    on: On,
    reason: &'static str,
    component: &'static str,
    action: &'static str,
}

const fn t(
    weight: u64,
    warning: bool,
    on: On,
    reason: &'static str,
    component: &'static str,
    action: &'static str,
) -> Template {
    Template {
        weight,
        warning,
        on,
        reason,
        component,
        action,
    }
}

const TEMPLATES: &[Template] = &[
    t(
        90,
        false,
        On::Pod,
        "Scheduled",
        "default-scheduler",
        "Binding",
    ),
    t(110, false, On::Pod, "Pulling", "kubelet", "Pulling"),
    t(110, false, On::Pod, "Pulled", "kubelet", "Pulled"),
    t(120, false, On::Pod, "Created", "kubelet", "Created"),
    t(120, false, On::Pod, "Started", "kubelet", "Started"),
    t(45, false, On::Pod, "Killing", "kubelet", "Killing"),
    t(
        10,
        false,
        On::Pod,
        "SandboxChanged",
        "kubelet",
        "SandboxChanged",
    ),
    t(
        40,
        false,
        On::ReplicaSet,
        "SuccessfulCreate",
        "replicaset-controller",
        "Create",
    ),
    t(
        25,
        false,
        On::ReplicaSet,
        "SuccessfulDelete",
        "replicaset-controller",
        "Delete",
    ),
    t(
        30,
        false,
        On::Deployment,
        "ScalingReplicaSet",
        "deployment-controller",
        "Scaling",
    ),
    t(
        10,
        false,
        On::Hpa,
        "SuccessfulRescale",
        "horizontal-pod-autoscaler",
        "Rescale",
    ),
    t(
        12,
        false,
        On::Job,
        "Completed",
        "job-controller",
        "Completed",
    ),
    t(
        10,
        false,
        On::CronJob,
        "SawCompletedJob",
        "cronjob-controller",
        "SawCompletedJob",
    ),
    t(
        8,
        false,
        On::Node,
        "NodeHasSufficientMemory",
        "kubelet",
        "NodeHasSufficientMemory",
    ),
    t(
        4,
        false,
        On::Node,
        "NodeNotReady",
        "node-controller",
        "NodeNotReady",
    ),
    t(
        4,
        false,
        On::Pvc,
        "ExternalProvisioning",
        "persistentvolume-controller",
        "Provisioning",
    ),
    t(
        6,
        false,
        On::StatefulSet,
        "SuccessfulCreate",
        "statefulset-controller",
        "Create",
    ),
    t(70, true, On::Pod, "BackOff", "kubelet", "BackOff"),
    t(45, true, On::Pod, "Failed", "kubelet", "Failed"),
    t(60, true, On::Pod, "Unhealthy", "kubelet", "Probe"),
    t(
        25,
        true,
        On::Pod,
        "FailedScheduling",
        "default-scheduler",
        "Scheduling",
    ),
    t(12, true, On::Pod, "FailedMount", "kubelet", "FailedMount"),
    t(
        6,
        true,
        On::Pod,
        "FailedCreatePodSandBox",
        "kubelet",
        "FailedCreatePodSandBox",
    ),
    t(8, true, On::Pod, "Evicted", "kubelet", "Evict"),
    t(
        4,
        true,
        On::Node,
        "OOMKilling",
        "kernel-monitor",
        "OOMKilling",
    ),
    t(
        4,
        true,
        On::Node,
        "NodeHasDiskPressure",
        "kubelet",
        "NodeHasDiskPressure",
    ),
    t(
        8,
        true,
        On::Hpa,
        "FailedGetResourceMetric",
        "horizontal-pod-autoscaler",
        "FailedGetResourceMetric",
    ),
    t(
        4,
        true,
        On::Job,
        "BackoffLimitExceeded",
        "job-controller",
        "BackoffLimitExceeded",
    ),
    t(
        5,
        true,
        On::Pvc,
        "ProvisioningFailed",
        "persistentvolume-controller",
        "Provisioning",
    ),
    t(
        5,
        true,
        On::Pod,
        "FailedKillPod",
        "kubelet",
        "FailedKillPod",
    ),
];

/// Generates events; an endless iterator of (event, context).
#[derive(Clone, Debug)]
pub struct Corpus {
    rng: Rng,
    now: DateTime<Utc>,
    resource_version: u64,
    total_weight: u64,
    ns_weight: u64,
}

impl Corpus {
    /// A corpus from `seed`, with last-seen times in the three hours before `now`.
    pub fn new(seed: u64, now: DateTime<Utc>) -> Corpus {
        Corpus {
            rng: Rng::new(seed),
            now,
            resource_version: 1_000_000,
            total_weight: TEMPLATES.iter().map(|t| t.weight).sum(),
            ns_weight: NAMESPACES.iter().map(|n| n.1).sum(),
        }
    }

    /// The corpus kev's tests and benchmarks use: seed 42 around [`DEFAULT_NOW`].
    pub fn standard() -> Corpus {
        // DEFAULT_NOW is a valid RFC 3339 literal.
        Corpus::new(42, DEFAULT_NOW.parse().unwrap_or_default())
    }

    fn template(&mut self) -> &'static Template {
        let mut x = self.rng.below(self.total_weight);
        for t in TEMPLATES {
            if x < t.weight {
                return t;
            }
            x -= t.weight;
        }
        &TEMPLATES[0]
    }

    fn namespace(&mut self) -> &'static str {
        let mut x = self.rng.below(self.ns_weight);
        for (ns, w) in NAMESPACES {
            if x < *w {
                return ns;
            }
            x -= w;
        }
        NAMESPACES[0].0
    }

    /// The next event and its context.
    pub fn next_event(&mut self) -> (Event, RecordContext) {
        let tpl = self.template();
        let ns = self.namespace();
        let r = &mut self.rng;
        let app = *r.pick(APPS);
        let rs_hash = r.hex(10);
        let pod = format!("{app}-{rs_hash}-{}", r.hex(5));
        let node = if r.chance(70) {
            format!("node-{:02}", 1 + r.below(24))
        } else {
            format!(
                "ip-10-0-{}-{}.eu-west-1.compute.internal",
                r.below(8),
                2 + r.below(250)
            )
        };
        let image = format!(
            "registry.example.com/{ns}/{app}:v1.{}.{}",
            r.below(40),
            r.below(10)
        );
        let container = if r.chance(80) {
            app.to_string()
        } else {
            "istio-proxy".to_string()
        };
        let (kind, name, api_version) = match tpl.on {
            On::Pod => ("Pod", pod.clone(), "v1"),
            On::ReplicaSet => ("ReplicaSet", format!("{app}-{rs_hash}"), "apps/v1"),
            On::Deployment => ("Deployment", app.to_string(), "apps/v1"),
            On::StatefulSet => ("StatefulSet", app.to_string(), "apps/v1"),
            On::Node => ("Node", node.clone(), "v1"),
            On::Hpa => ("HorizontalPodAutoscaler", app.to_string(), "autoscaling/v2"),
            On::Job => (
                "Job",
                format!("{app}-nightly-{}", 29_000_000 + r.below(1000)),
                "batch/v1",
            ),
            On::CronJob => ("CronJob", format!("{app}-nightly"), "batch/v1"),
            On::Pvc => (
                "PersistentVolumeClaim",
                format!("data-{app}-{}", r.below(3)),
                "v1",
            ),
        };
        let obj_uid = r.uuid();
        let field_path = (tpl.on == On::Pod
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
        let message = message(r, tpl, ns, &pod, &node, &image, &container, &obj_uid, &name);
        let hot = matches!(
            tpl.reason,
            "BackOff"
                | "Unhealthy"
                | "FailedScheduling"
                | "FailedGetResourceMetric"
                | "Failed"
                | "FailedMount"
        );
        let count = if hot {
            let spread = if r.chance(20) { 400 } else { 30 };
            1 + r.below(spread) as i64
        } else if r.chance(8) {
            2 + r.below(4) as i64
        } else {
            1
        };
        let ago = TimeDelta::milliseconds(r.below(3 * 3600 * 1000) as i64);
        let last_seen = self.now - ago;
        let span = if count > 1 {
            TimeDelta::seconds((r.below(3600) as i64).min(count * 60))
        } else {
            TimeDelta::zero()
        };
        let first_seen = last_seen - span;
        let new_recorder = r.chance(33);
        let node_scoped = tpl.component == "kubelet" || tpl.component == "kernel-monitor";
        let host = node_scoped.then(|| node.clone());
        // Seconds for the legacy recorder's timestamps, microseconds for the new one.
        let trunc = |t: DateTime<Utc>, micros: bool| {
            let ts = t.timestamp();
            let nanos = if micros {
                t.timestamp_subsec_micros() * 1000
            } else {
                0
            };
            DateTime::from_timestamp(ts, nanos).unwrap_or(t)
        };
        let mut ev = Event {
            uid: r.uuid(),
            resource_version: String::new(),
            namespace: Some(if tpl.on == On::Node {
                "default".to_string()
            } else {
                ns.to_string()
            }),
            name: format!("{name}.{:x}", 0x17a0_0000_0000_0000u64 + r.below(1 << 48)),
            type_: Some(if tpl.warning { "Warning" } else { "Normal" }.to_string()),
            reason: Some(tpl.reason.to_string()),
            message: Some(message),
            object: ObjectRef {
                kind: Some(kind.to_string()),
                namespace: (tpl.on != On::Node).then(|| ns.to_string()),
                name: Some(name),
                uid: Some(obj_uid),
                api_version: Some(api_version.to_string()),
                field_path,
            },
            related: None,
            source: None,
            reporting_controller: Some(tpl.component.to_string()),
            reporting_instance: host
                .clone()
                .or_else(|| Some(format!("{}-{}", tpl.component, r.hex(5)))),
            action: None,
            count,
            first_seen: None,
            last_seen: None,
            event_time: None,
            series: None,
        };
        if new_recorder {
            let event_time = trunc(first_seen, true);
            ev.event_time = Some(event_time);
            ev.first_seen = Some(event_time);
            ev.action = Some(tpl.action.to_string());
            if count > 1 {
                let last = trunc(last_seen, true);
                ev.series = Some(Series {
                    count,
                    last_observed_time: Some(last),
                });
                ev.last_seen = Some(last);
            } else {
                ev.last_seen = Some(event_time);
            }
        } else {
            ev.source = Some(EventSource {
                component: Some(tpl.component.to_string()),
                host,
            });
            ev.first_seen = Some(trunc(first_seen, false));
            ev.last_seen = Some(trunc(last_seen, false));
            if r.chance(30) {
                // Written by an old client that never set the reporting fields.
                ev.reporting_controller = None;
                ev.reporting_instance = None;
            }
        }
        // The odd ones out.
        match r.below(1000) {
            0..=3 => ev.type_ = None,
            4..=7 => ev.message = None,
            8 => {
                ev.first_seen = None;
                ev.last_seen = None;
            }
            9..=11 => {
                ev.message = Some(format!(
                    "{} \u{1b}[31mERROR\u{1b}[0m ünïcødé 日本語 \t tab\r\nnewline",
                    ev.message.as_deref().unwrap_or("")
                ))
            }
            _ => {}
        }
        self.resource_version += 1 + self.rng.below(7);
        ev.resource_version = self.resource_version.to_string();
        let observed = ev
            .last_seen
            .map(|t| t + TimeDelta::milliseconds(5 + self.rng.below(900) as i64));
        let ctx = RecordContext {
            cluster: Some("prod-eu".to_string()),
            watch_type: Some(if count > 1 {
                WatchType::Modified
            } else {
                WatchType::Added
            }),
            observed_at: observed,
        };
        (ev, ctx)
    }
}

impl Iterator for Corpus {
    type Item = (Event, RecordContext);

    fn next(&mut self) -> Option<(Event, RecordContext)> {
        Some(self.next_event())
    }
}

#[allow(clippy::too_many_arguments)]
fn message(
    r: &mut Rng,
    tpl: &Template,
    ns: &str,
    pod: &str,
    node: &str,
    image: &str,
    container: &str,
    pod_uid: &str,
    name: &str,
) -> String {
    match tpl.reason {
        "Scheduled" => format!("Successfully assigned {ns}/{pod} to {node}"),
        "Pulling" => format!("Pulling image \"{image}\""),
        "Pulled" if r.chance(40) => format!("Container image \"{image}\" already present on machine"),
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
        "SandboxChanged" => "Pod sandbox changed, it will be killed and re-created.".to_string(),
        "SuccessfulCreate" => format!("Created pod: {pod}"),
        "SuccessfulDelete" => format!("Deleted pod: {pod}"),
        "ScalingReplicaSet" => {
            let from = 1 + r.below(6);
            let to = if r.chance(60) { from + 1 } else { from.saturating_sub(1) };
            let dir = if to > from { "up" } else { "down" };
            format!("Scaled {dir} replica set {name}-{} from {from} to {to}", r.hex(10))
        }
        "SuccessfulRescale" => format!(
            "New size: {}; reason: cpu resource utilization (percentage of request) above target",
            2 + r.below(20)
        ),
        "Completed" => "Job completed".to_string(),
        "SawCompletedJob" => format!("Saw completed job: {name}-{}, condition: Complete", 29_000_000 + r.below(1000)),
        "NodeHasSufficientMemory" => format!("Node {node} status is now: NodeHasSufficientMemory"),
        "NodeNotReady" => format!("Node {node} status is now: NodeNotReady"),
        "NodeHasDiskPressure" => format!("Node {node} status is now: NodeHasDiskPressure"),
        "ExternalProvisioning" => {
            "Waiting for a volume to be created either by the external provisioner 'ebs.csi.aws.com' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.".to_string()
        }
        "BackOff" if r.chance(70) => format!("Back-off restarting failed container {container} in pod {pod}_{ns}({pod_uid})"),
        "BackOff" => format!("Back-off pulling image \"{image}\""),
        "Failed" => match r.below(4) {
            0 => format!(
                "Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found"
            ),
            1 => "Error: ErrImagePull".to_string(),
            2 => "Error: ImagePullBackOff".to_string(),
            _ => format!("Error: secret \"{ns}-db-credentials\" not found"),
        },
        "Unhealthy" => match r.below(3) {
            0 => "Readiness probe failed: HTTP probe failed with statuscode: 503".to_string(),
            1 => format!(
                "Liveness probe failed: Get \"http://10.{}.{}.{}:8080/healthz\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                r.below(255),
                r.below(255),
                r.below(255)
            ),
            _ => format!("Readiness probe failed: dial tcp 10.{}.{}.{}:5432: connect: connection refused", r.below(255), r.below(255), r.below(255)),
        },
        "FailedScheduling" => format!(
            "0/24 nodes are available: {} Insufficient cpu, {} Insufficient memory, 3 node(s) had untolerated taint {{node.kubernetes.io/disk-pressure: }}. preemption: 0/24 nodes are available: 24 No preemption victims found for incoming pod.",
            r.below(20),
            r.below(10)
        ),
        "FailedMount" => format!("MountVolume.SetUp failed for volume \"config\" : configmap \"{name}-config\" not found"),
        "FailedCreatePodSandBox" => "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox: plugin type=\"calico\" failed (add): error getting ClusterInformation: connection is unauthorized: Unauthorized".to_string(),
        "Evicted" => format!(
            "The node was low on resource: memory. Threshold quantity: 100Mi, available: {}Mi. Container {container} was using {}Mi, request is 512Mi, has larger consumption of memory.",
            40 + r.below(60),
            900 + r.below(2000)
        ),
        "OOMKilling" => format!("Memory cgroup out of memory: Killed process {} (java) total-vm:{}kB, anon-rss:{}kB", 1000 + r.below(60_000), 4_000_000 + r.below(4_000_000), 1_000_000 + r.below(2_000_000)),
        "FailedGetResourceMetric" => "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API".to_string(),
        "BackoffLimitExceeded" => "Job has reached the specified backoff limit".to_string(),
        "ProvisioningFailed" => "storageclass.storage.k8s.io \"fast-ssd\" not found".to_string(),
        "FailedKillPod" => format!("error killing pod: failed to \"KillContainer\" for \"{container}\" with KillContainerError: \"rpc error: code = Unknown desc = Error response from daemon: No such container\""),
        other => format!("{other} {name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_realistic() {
        let a: Vec<_> = Corpus::standard().take(2000).collect();
        let b: Vec<_> = Corpus::standard().take(2000).collect();
        assert_eq!(a, b);
        let warnings = a
            .iter()
            .filter(|(e, _)| e.type_.as_deref() == Some("Warning"))
            .count();
        assert!(
            (300..800).contains(&warnings),
            "{warnings} warnings in 2000"
        );
        let with_series = a.iter().filter(|(e, _)| e.series.is_some()).count();
        assert!(with_series > 50, "{with_series}");
        let mut rvs: Vec<_> = a
            .iter()
            .map(|(e, _)| e.resource_version.parse::<u64>().unwrap())
            .collect();
        rvs.dedup();
        assert_eq!(rvs.len(), 2000);
        for (e, _) in &a {
            if let (Some(f), Some(l)) = (e.first_seen, e.last_seen) {
                assert!(f <= l, "{e:?}");
            }
        }
    }
}
