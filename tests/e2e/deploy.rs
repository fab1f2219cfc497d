//! The manifests in deploy/ against the real apiserver, and `kev run` as
//! their pod runs it.
//!
//! - Every manifest passes a server-side dry run with strict field
//!   validation and no warning (the namespace's PodSecurity `warn:
//!   restricted` label makes the apiserver check the Deployment's pod
//!   template), and the manifests agree with each other and with the
//!   example kev.yaml (names, mount paths, ports, every file kev writes on
//!   the state volume), which `kev run --check` accepts.
//! - With the Namespace, ServiceAccount, ClusterRole and ClusterRoleBinding
//!   applied for real, kev runs the ConfigMap's kev.yaml with in-cluster
//!   configuration from the ServiceAccount's token ([`InCluster`]: no
//!   kubeconfig at all) and delivers exactly the occurrences written, each
//!   once and with the configured cluster label, to both sinks (stdout and
//!   the `ndjson` archive file); it serves `/healthz`, `/readyz` (ready: the
//!   first list is through) and `/metrics` with every metric
//!   docs/operations.md lists; its state file records the kube-system uid,
//!   which the ClusterRole lets it read; restarted, it resumes and repeats
//!   nothing, on stdout or in the archive.
//! - Without the ClusterRoleBinding it exits 1 with an error line naming
//!   `list` on `events` and the ServiceAccount, after nothing but INFO.
//!
//! The objects have fixed names, the cluster-scoped ones too, so these
//! tests take [`kev_system`] and run one at a time; each first makes the
//! RBAC state it needs (binding applied, or deleted) and waits until the
//! apiserver's authorizer answers accordingly.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use serde_json::{Value, json};

use crate::support::events::{ago, base_time, micro, secs};
use crate::support::{
    Ev, Follower, InCluster, Obj, Occ, PATIENCE, Run, TestEnv, in_namespaces, occ,
};

/// deploy/'s namespace and ServiceAccount, and the user the apiserver
/// knows it as.
const NAMESPACE: &str = "kev-system";
const SERVICE_ACCOUNT: &str = "kev";
const USER: &str = "system:serviceaccount:kev-system:kev";

/// Where deployment.yaml mounts the PersistentVolumeClaim: the only
/// writable place in the pod, so every file kev writes is under it.
const STATE_DIR: &str = "/var/lib/kev";

/// The manifests that give kev its identity and rights, but not the
/// binding of the two (applied in this order: the namespace first).
const IDENTITY: &[&str] = &["namespace.yaml", "serviceaccount.yaml", "clusterrole.yaml"];

/// Serializes the tests of this file: they share kev-system's fixed names.
fn kev_system() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

/// `kubectl apply -f deploy/FILE...` as admin, for real.
fn apply(t: &TestEnv, files: &[&str]) {
    let mut cmd = t.kubectl();
    cmd.arg("apply");
    for f in files {
        cmd.arg("-f").arg(deploy_dir().join(f));
    }
    Run::ok(&mut cmd);
}

/// Wait until the apiserver's authorizer says `allowed` to `kubectl auth
/// can-i VERB RESOURCE` for kev's ServiceAccount in all namespaces: RBAC
/// changes reach the authorizer through a watch, a moment after the write.
fn wait_for_access(t: &TestEnv, verb: &str, resource: &str, allowed: bool) {
    let want = if allowed { "yes" } else { "no" };
    let deadline = Instant::now() + PATIENCE;
    loop {
        let run = Run::of(t.kubectl().args([
            "auth",
            "can-i",
            verb,
            resource,
            "--all-namespaces",
            "--as",
            USER,
        ]));
        if run.stdout.trim() == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {PATIENCE:?} waiting for `can-i {verb} {resource}` to be {want:?} \
             for {USER}; last answer: {run:?}"
        );
    }
}

/// The example kev.yaml, as deploy/configmap.yaml holds it.
fn example_config_text() -> String {
    let path = deploy_dir().join("configmap.yaml");
    let text = std::fs::read_to_string(&path).expect("read deploy/configmap.yaml");
    let cm: Value = serde_norway::from_str(&text).expect("deploy/configmap.yaml is YAML");
    cm["data"]["kev.yaml"]
        .as_str()
        .unwrap_or_else(|| panic!("no data.kev.yaml in {}", path.display()))
        .to_string()
}

/// Every file or directory `config` (a kev.yaml) has kev write: the state
/// file, the `ndjson` sinks' files, the webhook sinks' spools and
/// dead-letter files.
fn written_paths(config: &Value) -> Vec<String> {
    let mut paths = vec![config["source"]["stateFile"].clone()];
    for sink in config["sinks"].as_array().expect("sinks") {
        if sink["type"] == "ndjson" {
            paths.push(sink["path"].clone());
        }
        paths.push(sink["spool"]["path"].clone());
        paths.push(sink["deadLetter"]["path"].clone());
    }
    paths
        .iter()
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect()
}

/// `value` with every string under [`STATE_DIR`] moved to `dir`.
fn move_state_dir(value: &mut Value, dir: &Path) {
    match value {
        Value::String(s) => {
            if let Some(rest) = s.strip_prefix(&format!("{STATE_DIR}/")) {
                *s = dir.join(rest).display().to_string();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| move_state_dir(v, dir)),
        Value::Object(map) => map.values_mut().for_each(|v| move_state_dir(v, dir)),
        _ => {}
    }
}

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("an ephemeral port")
        .port()
}

/// What the pod runs, for a test: the example kev.yaml with the volume's
/// files (the state file, the archive) in `dir` instead of under
/// [`STATE_DIR`], and metrics on `metrics`, a loopback address, instead of
/// 0.0.0.0:9464 (tests run in parallel on one host). Returns the file
/// (JSON, which is YAML) and the configuration.
fn pod_config(dir: &Path, metrics: SocketAddr) -> (PathBuf, Value) {
    let mut config: Value =
        serde_norway::from_str(&example_config_text()).expect("kev.yaml is YAML");
    assert!(
        config["source"]["stateFile"].is_string() && config["metrics"]["listen"].is_string(),
        "the example sets source.stateFile and metrics.listen: {config}"
    );
    move_state_dir(&mut config, dir);
    assert!(
        !config.to_string().contains(STATE_DIR),
        "every path under {STATE_DIR} moved to {}: {config}",
        dir.display()
    );
    config["metrics"]["listen"] = json!(metrics.to_string());
    let path = dir.join("kev.yaml");
    std::fs::write(&path, serde_json::to_vec_pretty(&config).expect("JSON")).expect("write");
    (path, config)
}

/// The `ndjson` sink's file in a configuration.
fn archive_path(config: &Value) -> PathBuf {
    let sinks = config["sinks"].as_array().expect("sinks");
    let archive = sinks
        .iter()
        .find(|s| s["type"] == "ndjson")
        .unwrap_or_else(|| panic!("an ndjson sink in {config}"));
    PathBuf::from(archive["path"].as_str().expect("path"))
}

/// `GET path` on kev's metrics address: the status and the body.
fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream =
        TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect to {addr} for {path}: {e}"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .unwrap_or_else(|e| panic!("read the answer to GET {path}: {e}"));
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("an HTTP response to GET {path}: {response:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("a status line for GET {path}: {head:?}"));
    (status, body.to_string())
}

/// The samples of a Prometheus text exposition: `name{labels}` → value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("a sample line: {l:?}"));
            let value = value
                .parse()
                .unwrap_or_else(|e| panic!("a sample value ({e}): {l:?}"));
            (series.to_string(), value)
        })
        .collect()
}

/// The metric names docs/operations.md's table lists (`kev_…`, without
/// labels).
fn documented_metrics() -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/operations.md");
    let text = std::fs::read_to_string(&path).expect("read docs/operations.md");
    text.lines()
        .filter_map(|l| l.strip_prefix("| `kev_"))
        .map(|rest| {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            format!("kev_{name}")
        })
        .collect()
}

/// `kev run --config PATH` in the pod's sandbox.
fn kev_run(pod: &InCluster, config: &Path) -> std::process::Command {
    pod.kev(&[
        OsStr::new("run"),
        OsStr::new("--config"),
        config.as_os_str(),
    ])
}

/// Panics unless `got` holds each of `want` exactly once, and nothing else.
fn assert_once(got: &[Occ], want: &[Occ], what: &str) {
    let mut counts: BTreeMap<&Occ, usize> = BTreeMap::new();
    for o in got {
        *counts.entry(o).or_default() += 1;
    }
    let want_set: BTreeSet<&Occ> = want.iter().collect();
    let missing: Vec<&&Occ> = want_set
        .iter()
        .filter(|o| !counts.contains_key(**o))
        .collect();
    let extra: Vec<&&Occ> = counts.keys().filter(|o| !want_set.contains(**o)).collect();
    let repeated: Vec<(&&Occ, &usize)> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        missing.is_empty() && extra.is_empty() && repeated.is_empty(),
        "{what}: missing {missing:?}, not written {extra:?}, repeated {repeated:?}"
    );
}

/// The object of `kind` in a `kubectl ... -o json` List.
fn object<'a>(list: &'a Value, kind: &str) -> &'a Value {
    let items = list["items"].as_array().expect("a List");
    let mut of_kind = items.iter().filter(|o| o["kind"] == kind);
    let obj = of_kind
        .next()
        .unwrap_or_else(|| panic!("no {kind} in deploy/"));
    assert!(of_kind.next().is_none(), "one {kind} in deploy/");
    obj
}

#[test]
fn manifests_pass_a_server_side_dry_run_and_agree_with_each_other() {
    let _one_at_a_time = kev_system();
    let t = TestEnv::shared("deploy-dry-run");
    // Namespaced objects are refused in a namespace that does not exist,
    // even in a dry run (NamespaceLifecycle); the namespace's labels also
    // have the PodSecurity admission check the Deployment's pod template.
    apply(&t, &["namespace.yaml"]);
    let run = Run::of(
        t.kubectl()
            .args([
                "apply",
                "--dry-run=server",
                "--validate=strict",
                "-o",
                "json",
                "-f",
            ])
            .arg(deploy_dir()),
    );
    assert_eq!(
        run.code,
        Some(0),
        "kubectl apply --dry-run=server -f deploy/: {run:?}"
    );
    assert_eq!(
        run.stderr, "",
        "no warnings (PodSecurity restricted, deprecated fields or APIs)"
    );
    let list: Value = serde_json::from_str(&run.stdout).expect("kubectl -o json");
    let objects: BTreeSet<(String, String, String)> = list["items"]
        .as_array()
        .expect("a List")
        .iter()
        .map(|o| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
            let m = &o["metadata"];
            (s(&o["kind"]), s(&m["namespace"]), s(&m["name"]))
        })
        .collect();
    let expected: BTreeSet<(String, String, String)> = [
        ("ClusterRole", "", "kev"),
        ("ClusterRoleBinding", "", "kev"),
        ("ConfigMap", NAMESPACE, "kev-config"),
        ("Deployment", NAMESPACE, "kev"),
        ("Namespace", "", NAMESPACE),
        ("PersistentVolumeClaim", NAMESPACE, "kev-state"),
        ("ServiceAccount", NAMESPACE, SERVICE_ACCOUNT),
    ]
    .into_iter()
    .map(|(k, n, m)| (k.into(), n.into(), m.into()))
    .collect();
    assert_eq!(objects, expected, "the objects in deploy/");

    // RBAC: read events everywhere, get the kube-system Namespace, no more.
    let role = object(&list, "ClusterRole");
    assert_eq!(
        role["rules"],
        json!([
            {"apiGroups": [""], "resources": ["events"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["namespaces"], "resourceNames": ["kube-system"], "verbs": ["get"]},
        ]),
        "the ClusterRole's rules"
    );
    let binding = object(&list, "ClusterRoleBinding");
    assert_eq!(
        binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role["metadata"]["name"]})
    );
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": NAMESPACE}])
    );

    // The pod.
    let deployment = object(&list, "Deployment");
    let spec = &deployment["spec"];
    assert_eq!(spec["replicas"], 1, "one kev per state file");
    assert_eq!(
        spec["strategy"],
        json!({"type": "Recreate"}),
        "the old pod stops first"
    );
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], SERVICE_ACCOUNT);
    assert_eq!(pod["automountServiceAccountToken"], true);
    let grace = pod["terminationGracePeriodSeconds"]
        .as_i64()
        .expect("grace period");
    assert!(
        (3..=30).contains(&grace),
        "a little over kev's 2 s: {grace}"
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let containers = pod["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1, "one container");
    let c = &containers[0];
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["capabilities"]["drop"], json!(["ALL"]));
    for key in ["requests", "limits"] {
        assert!(
            c["resources"][key]["memory"].is_string(),
            "resources.{key}.memory: {}",
            c["resources"]
        );
    }
    let volumes = pod["volumes"].as_array().expect("volumes");
    // Where the volume whose `source.key` is `name` is mounted.
    let mount_of = |source: &str, key: &str, name: &Value| -> String {
        let volume = volumes
            .iter()
            .find(|v| v[source][key] == *name)
            .unwrap_or_else(|| panic!("no {source} volume for {name}: {volumes:?}"));
        c["volumeMounts"]
            .as_array()
            .expect("volumeMounts")
            .iter()
            .find(|m| m["name"] == volume["name"])
            .and_then(|m| m["mountPath"].as_str())
            .unwrap_or_else(|| panic!("volume {} is not mounted", volume["name"]))
            .to_string()
    };

    // The state volume: the claim's, writable, where the tests expect it.
    let pvc = object(&list, "PersistentVolumeClaim");
    assert_eq!(pvc["spec"]["accessModes"], json!(["ReadWriteOnce"]));
    let state_dir = mount_of(
        "persistentVolumeClaim",
        "claimName",
        &pvc["metadata"]["name"],
    );
    assert_eq!(state_dir, STATE_DIR, "the claim's mount");
    let state_mount = c["volumeMounts"]
        .as_array()
        .expect("volumeMounts")
        .iter()
        .find(|m| m["mountPath"] == STATE_DIR)
        .expect("the state mount");
    assert_ne!(state_mount["readOnly"], true, "kev writes the state volume");

    // The configuration: where the ConfigMap is mounted is what the args
    // name, and kev accepts it, with the volume's directory where it is.
    let configmap = object(&list, "ConfigMap");
    let config_dir = mount_of("configMap", "name", &configmap["metadata"]["name"]);
    let config_file = format!("{config_dir}/kev.yaml");
    assert_eq!(c["args"], json!(["run", "--config", config_file]));
    let text = configmap["data"]["kev.yaml"]
        .as_str()
        .expect("data.kev.yaml");
    assert_eq!(text, example_config_text(), "stored as written");
    let scratch = tempfile::tempdir().expect("temp dir");
    let volume = scratch.path().join("volume");
    std::fs::create_dir(&volume).expect("mkdir");
    let copy = scratch.path().join("kev.yaml");
    let moved = text.replace(&format!("{STATE_DIR}/"), &format!("{}/", volume.display()));
    std::fs::write(&copy, moved).expect("write kev.yaml");
    let checked = Run::ok(
        std::process::Command::new(env!("CARGO_BIN_EXE_kev"))
            .env_clear()
            .env("HOME", t.home.path())
            .args(["run", "--check", "--config"])
            .arg(&copy)
            .stdin(std::process::Stdio::null()),
    );
    assert_eq!(checked.trim(), format!("{}: ok (2 sinks)", copy.display()));
    let config: Value = serde_norway::from_str(text).expect("kev.yaml is YAML");
    assert!(
        config["cluster"].as_str().is_some_and(|c| !c.is_empty()),
        "a cluster label: {config}"
    );
    assert_eq!(
        config["source"]["namespaces"],
        json!(["all"]),
        "as the ClusterRole allows"
    );
    // The records to the container log, and kept on the volume, rotated.
    let sinks = config["sinks"].as_array().expect("sinks");
    let names: Vec<&str> = sinks.iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["stdout", "archive"], "the sinks");
    assert_eq!(
        sinks[0],
        json!({"name": "stdout", "type": "stdout", "format": "ndjson"})
    );
    assert_eq!(sinks[1]["type"], "ndjson");
    assert!(
        sinks[1]["rotate"]["maxBytes"].is_string(),
        "the archive is rotated by size: {}",
        sinks[1]
    );

    // Every file kev writes is on the claim's volume: the root filesystem
    // is read-only, and the volume is what survives a restart.
    let written = written_paths(&config);
    assert_eq!(
        written.len(),
        2,
        "the state file and the archive: {written:?}"
    );
    for path in &written {
        assert!(
            Path::new(path).parent() == Some(Path::new(STATE_DIR)),
            "{path} is on the volume mounted at {STATE_DIR}"
        );
    }
    assert_eq!(
        config["source"]["stateFile"],
        format!("{STATE_DIR}/state.json")
    );

    // The probes are on the metrics port, and kev listens there on every address.
    let listen = config["metrics"]["listen"]
        .as_str()
        .expect("metrics.listen");
    let (host, port) = listen.rsplit_once(':').expect("host:port");
    assert_eq!(host, "0.0.0.0", "reachable on the pod IP");
    let port: u16 = port.parse().expect("a port");
    assert_eq!(
        c["ports"],
        json!([{"name": "metrics", "containerPort": port, "protocol": "TCP"}])
    );
    for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
        assert_eq!(c[probe]["httpGet"]["path"], path, "{probe}");
        assert_eq!(c[probe]["httpGet"]["port"], "metrics", "{probe}");
    }
}

#[test]
fn in_cluster_kev_delivers_each_occurrence_once_with_the_cluster_label() {
    let _one_at_a_time = kev_system();
    let t = TestEnv::shared("deploy-run");
    apply(&t, &[IDENTITY, &["clusterrolebinding.yaml"]].concat());
    for (verb, resource) in [
        ("list", "events"),
        ("watch", "events"),
        ("get", "namespaces/kube-system"),
    ] {
        wait_for_access(&t, verb, resource, true);
    }
    let ns = t.namespace("a");
    let nss = [ns.as_str()];
    let base = base_time();
    let at = |m: i64| ago(base, m);
    let web = Obj::pod("web");
    let backoff = t.admin.create(
        &ns,
        &Ev::core("backoff", &web)
            .ty("Warning")
            .reason("BackOff")
            .legacy(1, at(50), at(50)),
    );
    let scheduled = t.admin.create(
        &ns,
        &Ev::v1("scheduled", &web, micro(at(49))).reason("Scheduled"),
    );
    // The example's global filter drops it.
    let pulled = t.admin.create(
        &ns,
        &Ev::core("pulled", &web)
            .reason("Pulled")
            .legacy(1, at(48), at(48)),
    );

    let pod = InCluster::new(&t, NAMESPACE, SERVICE_ACCOUNT);
    let dir = tempfile::tempdir().expect("temp dir");
    let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let (config_path, config) = pod_config(dir.path(), metrics);
    let label = config["cluster"]
        .as_str()
        .expect("cluster label")
        .to_string();
    let archive = archive_path(&config);

    let mut kev = Follower::spawn(kev_run(&pod, &config_path));
    let listed = [backoff.occ(), scheduled.occ()];
    kev.records_until("the events written before the start", |rs| {
        let got: BTreeSet<Occ> = in_namespaces(rs, &nss).iter().map(occ).collect();
        listed.iter().all(|o| got.contains(o))
    });

    // What the probes and Prometheus see. The first list is through (its
    // records are out), so kev is ready.
    assert_eq!(http_get(metrics, "/healthz"), (200, "ok\n".into()));
    assert_eq!(http_get(metrics, "/readyz"), (200, "ready\n".into()));
    assert_eq!(http_get(metrics, "/nothing-here").0, 404);
    // Received: what the apiserver sent, the two listed events (the Pulled
    // one it left out: kev asks for `reason!=Pulled,...`). Sinks count a
    // batch once it is written, just after its lines appear, so wait for
    // both sinks' counts.
    let deadline = Instant::now() + PATIENCE;
    let exposed = loop {
        let (status, text) = http_get(metrics, "/metrics");
        assert_eq!(status, 200, "GET /metrics: {text}");
        let exposed = samples(&text);
        let at_least = |series: &str, n: f64| exposed.get(series).is_some_and(|v| *v >= n);
        if at_least("kev_events_received_total", 2.0)
            && at_least("kev_sink_delivered_total{sink=\"stdout\"}", 2.0)
            && at_least("kev_sink_delivered_total{sink=\"archive\"}", 2.0)
            && at_least("kev_dedupe_entries", 2.0)
        {
            break exposed;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {PATIENCE:?} waiting for /metrics to count the listed events:\n{text}"
        );
    };
    for sink in ["stdout", "archive"] {
        for counter in ["dropped", "dead_lettered"] {
            let series = format!("kev_sink_{counter}_total{{sink=\"{sink}\"}}");
            assert_eq!(
                exposed.get(&series),
                Some(&0.0),
                "{series}: buffers block, nothing is refused"
            );
        }
    }
    let names: BTreeSet<String> = exposed
        .keys()
        .map(|s| s.split('{').next().unwrap_or(s).to_string())
        .collect();
    assert_eq!(
        names,
        documented_metrics(),
        "what /metrics exposes is what docs/operations.md lists"
    );
    // Written while it watches: a repeat (count 2) of each, a new event.
    let backoff2 = t.admin.patch_core(
        &ns,
        "backoff",
        &json!({"count": 2, "lastTimestamp": secs(at(10))}),
    );
    let pulled2 = t.admin.patch_core(
        &ns,
        "pulled",
        &json!({"count": 2, "lastTimestamp": secs(at(9))}),
    );
    let sentinel = t
        .admin
        .create(&ns, &Ev::core("sentinel", &web).legacy(1, at(8), at(8)));
    kev.records_through(&sentinel.occ());
    let first = kev.stop();
    first.assert_exit_0("kev run in the cluster");

    let records = first.records();
    assert!(!records.is_empty());
    for r in &records {
        assert_eq!(
            r["cluster"],
            label.as_str(),
            "every record has the label: {r}"
        );
    }
    let ours: Vec<Occ> = in_namespaces(&records, &nss).iter().map(occ).collect();
    assert_once(
        &ours,
        &[
            backoff.occ(),
            scheduled.occ(),
            backoff2.occ(),
            sentinel.occ(),
        ],
        "the first run",
    );
    for filtered in [pulled.occ(), pulled2.occ()] {
        assert!(!ours.contains(&filtered), "the global filter drops Pulled");
    }
    // The archive sink got the same, each once; it was flushed and
    // acknowledged at the stop.
    let archived = |what: &str| -> Vec<Occ> {
        let text = std::fs::read_to_string(&archive)
            .unwrap_or_else(|e| panic!("{what}: read {}: {e}", archive.display()));
        let rs = crate::support::records(&text);
        for r in &rs {
            assert_eq!(r["cluster"], label.as_str(), "{what}: the label: {r}");
        }
        in_namespaces(&rs, &nss).iter().map(occ).collect()
    };
    assert_once(
        &archived("the archive"),
        &ours,
        "the archive after the first run",
    );

    let state: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("state.json")).expect("state file"))
            .expect("state file is JSON");
    assert_eq!(
        state["cluster"],
        json!({"server": pod.server_url(), "uid": t.admin.cluster_uid()}),
        "the state file names the cluster by its kube-system uid"
    );
    let delivered = state["delivered"].as_array().expect("delivered");
    assert!(
        delivered
            .iter()
            .any(|d| d[0] == sentinel.uid && d[1] == sentinel.resource_version),
        "the last record is in the delivered set"
    );

    // Restarted on the same state file, as Recreate does: it resumes.
    let after = t.admin.create(
        &ns,
        &Ev::core("after-restart", &web).legacy(1, at(7), at(7)),
    );
    let first_run = ours;
    let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let (config_path, _) = pod_config(dir.path(), metrics);
    let mut kev = Follower::spawn(kev_run(&pod, &config_path));
    kev.records_through(&after.occ());
    // Resumed from the state file, kev is ready once its watch is open.
    assert_eq!(http_get(metrics, "/readyz"), (200, "ready\n".into()));
    let second = kev.stop();
    second.assert_exit_0("kev run, restarted");
    let ours: Vec<Occ> = in_namespaces(&second.records(), &nss)
        .iter()
        .map(occ)
        .collect();
    assert_once(&ours, &[after.occ()], "the restarted run");
    // The archive grew by what was written meanwhile, and repeats nothing.
    let both: Vec<Occ> = first_run.iter().cloned().chain(ours).collect();
    assert_once(
        &archived("the archive"),
        &both,
        "the archive after the restart",
    );
}

#[test]
fn without_the_cluster_role_binding_kev_exits_1_naming_list_on_events() {
    let _one_at_a_time = kev_system();
    let t = TestEnv::shared("deploy-unbound");
    apply(&t, IDENTITY);
    Run::ok(
        t.kubectl()
            .args(["delete", "--ignore-not-found", "-f"])
            .arg(deploy_dir().join("clusterrolebinding.yaml")),
    );
    wait_for_access(&t, "list", "events", false);

    let pod = InCluster::new(&t, NAMESPACE, SERVICE_ACCOUNT);
    let dir = tempfile::tempdir().expect("temp dir");
    let metrics = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let (config_path, config) = pod_config(dir.path(), metrics);
    let run = Run::of(&mut kev_run(&pod, &config_path));
    assert_eq!(run.code, Some(1), "exit 1: {run:?}");
    assert_eq!(run.stdout, "", "nothing delivered");
    let archive = archive_path(&config);
    assert_eq!(
        std::fs::read_to_string(&archive).unwrap_or_default(),
        "",
        "nothing archived in {}",
        archive.display()
    );
    // kev run logs at info (the metrics address); the error is the last
    // line, and nothing was retried or warned about before it.
    let lines: Vec<&str> = run.stderr.lines().collect();
    let (line, before) = lines.split_last().expect("an error on stderr");
    for l in before {
        assert!(
            l.contains(" INFO "),
            "only INFO lines before the error: {l:?}"
        );
    }
    for needle in [
        "error: permission denied",
        "\"list\"",
        "\"events\"",
        "all namespaces",
        USER,
    ] {
        assert!(line.contains(needle), "{needle:?} in {line:?}");
    }
}

#[test]
fn ha_manifests_pass_a_server_side_dry_run_and_grant_only_the_lease() {
    let _one_at_a_time = kev_system();
    let t = TestEnv::shared("deploy-ha");
    apply(&t, &["namespace.yaml"]);
    let run = Run::of(
        t.kubectl()
            .args([
                "apply",
                "--dry-run=server",
                "--validate=strict",
                "-o",
                "json",
                "-f",
            ])
            .arg(deploy_dir().join("ha")),
    );
    assert_eq!(
        run.code,
        Some(0),
        "kubectl apply --dry-run=server -f deploy/ha/: {run:?}"
    );
    assert_eq!(run.stderr, "", "no warnings");
    let list: Value = serde_json::from_str(&run.stdout).expect("kubectl -o json");
    let items = list["items"].as_array().expect("a List");
    let of = |kind: &str| -> &Value {
        let mut found = items.iter().filter(|o| o["kind"] == kind);
        let one = found
            .next()
            .unwrap_or_else(|| panic!("no {kind} in deploy/ha/"));
        assert!(found.next().is_none(), "one {kind} in deploy/ha/");
        one
    };
    let role = of("Role");
    assert_eq!(role["metadata"]["namespace"], "kev-system");
    assert_eq!(
        role["rules"],
        json!([{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                "verbs": ["get", "list", "watch", "create", "update", "patch"]}]),
        "leases only, and no delete"
    );
    let binding = of("RoleBinding");
    assert_eq!(binding["roleRef"]["name"], role["metadata"]["name"]);
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": "kev", "namespace": "kev-system"}])
    );
    // The budget selects the Deployment's pods.
    let deployment: Value = serde_norway::from_str(
        &std::fs::read_to_string(deploy_dir().join("deployment.yaml")).expect("deployment.yaml"),
    )
    .expect("YAML");
    let pdb = of("PodDisruptionBudget");
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    assert_eq!(
        pdb["spec"]["selector"]["matchLabels"],
        deployment["spec"]["selector"]["matchLabels"]
    );
}
