//! The Helm chart in charts/kev, and the krew manifest in plugins/krew.
//!
//! - `helm lint --strict` passes with no message at all, for the default
//!   values and for high availability.
//! - The default render is deploy/ under the release's names: the same kinds
//!   (the Namespace when `namespace.create`), the same RBAC rules, claim,
//!   pod and container settings, and the same kev.yaml, which `kev run
//!   --check` accepts. Piped into `kubectl apply --dry-run=server
//!   --validate=strict`, the real apiserver takes every object without a
//!   warning (the chart's Namespace, applied for real first, has PodSecurity
//!   `warn: restricted`, so the pod template is checked against it).
//! - `--set replicas=2` with a Kafka sink: the dry run passes too, and the
//!   render has a Role and RoleBinding for `coordination.k8s.io` leases, a
//!   PodDisruptionBudget, `leaderElection:` in kev.yaml, and a Deployment of
//!   2 replicas with an emptyDir instead of a PersistentVolumeClaim, POD_NAME
//!   and POD_NAMESPACE from the downward API, and a preferred anti-affinity.
//!   The ServiceAccount, Role and RoleBinding, applied for real in the
//!   release's own namespace, let the ServiceAccount do what leader election
//!   does to leases, and nothing more.
//! - plugins/krew/kev.yaml is a krew Plugin for linux and darwin, amd64 and
//!   arm64, each running `kubectl-kev`.
//!
//! `kev run --check` of the high-availability kev.yaml is left out on
//! purpose: `leaderElection:` is new in kev, checked where it is
//! implemented.
//!
//! helm comes from `scripts/helm.sh build` (hack/helm/versions.env). Every
//! release here has its own namespace and names of its own, so these tests
//! run alongside the others (deploy.rs's objects are `kev` in `kev-system`).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::support::{PATIENCE, Run, TestEnv};

/// Where the Deployment mounts the state volume: every file kev writes.
const STATE_DIR: &str = "/var/lib/kev";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn chart_dir() -> PathBuf {
    root().join("charts/kev")
}

/// The helm binary `scripts/helm.sh build` put in the cache.
fn helm_bin() -> PathBuf {
    let run = Run::of(Command::new(root().join("scripts/helm.sh")).arg("path"));
    let path = PathBuf::from(run.stdout.trim());
    assert!(
        run.code == Some(0) && path.is_file(),
        "no helm binary: run `scripts/helm.sh build` first (it builds helm from the Go \
         module proxy into ~/.cache/kev/helm; .ci/run does before the e2e suite). \
         scripts/helm.sh path said: {}{}",
        run.stdout,
        run.stderr
    );
    path
}

/// helm with a clean environment: its config, cache and data under `home`,
/// no kubeconfig (nothing here talks to a cluster).
fn helm(home: &Path) -> Command {
    let mut cmd = Command::new(helm_bin());
    cmd.env_clear()
        .env("HOME", home)
        .env("HELM_CONFIG_HOME", home.join(".config/helm"))
        .env("HELM_CACHE_HOME", home.join(".cache/helm"))
        .env("HELM_DATA_HOME", home.join(".local/share/helm"))
        .stdin(Stdio::null());
    cmd
}

/// `helm template RELEASE charts/kev -n NAMESPACE ARGS...`: the manifests.
fn render(home: &Path, release: &str, namespace: &str, args: &[&str]) -> String {
    Run::ok(
        helm(home)
            .args(["template", release])
            .arg(chart_dir())
            .args(["--namespace", namespace])
            .args(args),
    )
}

/// The documents of a multi-document YAML stream, empty ones left out.
fn documents(text: &str) -> Vec<Value> {
    serde_norway::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).expect("YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

/// The one object of `kind` in `objects`.
fn object<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let mut of_kind = objects.iter().filter(|o| o["kind"] == kind);
    let obj = of_kind
        .next()
        .unwrap_or_else(|| panic!("no {kind} in {objects:#?}"));
    assert!(of_kind.next().is_none(), "one {kind}");
    obj
}

/// (kind, namespace, name) of each object.
fn identities(objects: &[Value]) -> BTreeSet<(String, String, String)> {
    objects
        .iter()
        .map(|o| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
            let m = &o["metadata"];
            (s(&o["kind"]), s(&m["namespace"]), s(&m["name"]))
        })
        .collect()
}

/// deploy/'s objects, one per file.
fn deploy_objects() -> Vec<Value> {
    let mut objects = Vec::new();
    for entry in std::fs::read_dir(root().join("deploy")).expect("read deploy/") {
        let path = entry.expect("deploy/ entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).expect("read a manifest");
            objects.extend(documents(&text));
        }
    }
    objects
}

/// deploy/'s (kind, namespace, name) under a release's names: `kev` becomes
/// `fullname` at the start of every name, and the namespace `namespace`.
fn deploy_identities_as(fullname: &str, namespace: &str) -> BTreeSet<(String, String, String)> {
    identities(&deploy_objects())
        .into_iter()
        .map(|(kind, ns, name)| {
            let name = if kind == "Namespace" {
                namespace.to_string()
            } else {
                let rest = name
                    .strip_prefix("kev")
                    .unwrap_or_else(|| panic!("deploy/'s {kind} {name} is named kev…"));
                format!("{fullname}{rest}")
            };
            let ns = if ns.is_empty() {
                ns
            } else {
                namespace.to_string()
            };
            (kind, ns, name)
        })
        .collect()
}

/// kev.yaml in a rendered ConfigMap, parsed.
fn kev_yaml(objects: &[Value]) -> (String, Value) {
    let text = object(objects, "ConfigMap")["data"]["kev.yaml"]
        .as_str()
        .expect("data.kev.yaml")
        .to_string();
    let config = serde_norway::from_str(&text).expect("kev.yaml is YAML");
    (text, config)
}

/// `kubectl apply ARGS -f -` as admin with `manifests` on stdin.
fn kubectl_apply(t: &TestEnv, args: &[&str], manifests: &str) -> Run {
    let mut child = t
        .kubectl()
        .arg("apply")
        .args(args)
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kubectl");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(manifests.as_bytes())
        .expect("write the manifests to kubectl");
    let out = child.wait_with_output().expect("wait for kubectl");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("UTF-8"),
    }
}

/// Render with `namespace.create=true`, apply the chart's Namespace for real
/// (a dry run of namespaced objects needs it, and its PodSecurity labels
/// make the apiserver check the pod template), then the server-side dry run
/// of everything, strict, which must pass without a warning. Returns the
/// rendered objects and what the apiserver made of them.
fn dry_run(t: &TestEnv, release: &str, namespace: &str, args: &[&str]) -> (Vec<Value>, Value) {
    let mut args = args.to_vec();
    args.extend(["--set", "namespace.create=true"]);
    let text = render(t.home.path(), release, namespace, &args);
    let objects = documents(&text);
    let ns = serde_json::to_string(object(&objects, "Namespace")).expect("JSON");
    let run = kubectl_apply(t, &[], &ns);
    assert_eq!(run.code, Some(0), "apply the chart's Namespace: {run:?}");
    let run = kubectl_apply(
        t,
        &["--dry-run=server", "--validate=strict", "-o", "json"],
        &text,
    );
    assert_eq!(
        run.code,
        Some(0),
        "helm template {release} {args:?} | kubectl apply --dry-run=server -f -: {run:?}"
    );
    assert_eq!(
        run.stderr, "",
        "no warnings (PodSecurity restricted, deprecated fields or APIs)"
    );
    let list: Value = serde_json::from_str(&run.stdout).expect("kubectl -o json");
    let applied: Vec<Value> = list["items"].as_array().expect("a List").clone();
    assert_eq!(
        identities(&applied),
        identities(&objects),
        "the apiserver took every object rendered"
    );
    (objects, list)
}

/// The pod template's container.
fn container(deployment: &Value) -> &Value {
    let containers = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers");
    assert_eq!(containers.len(), 1, "one container");
    &containers[0]
}

/// The volume mounted at `path` in the pod template.
fn volume_at<'a>(deployment: &'a Value, path: &str) -> &'a Value {
    let mount = container(deployment)["volumeMounts"]
        .as_array()
        .expect("volumeMounts")
        .iter()
        .find(|m| m["mountPath"] == path)
        .unwrap_or_else(|| panic!("nothing mounted at {path}"));
    deployment["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap_or_else(|| panic!("no volume {}", mount["name"]))
}

#[test]
fn chart_lints_without_a_message() {
    let home = tempfile::tempdir().expect("temp HOME");
    let values = home.path().join("ha.yaml");
    std::fs::write(&values, KAFKA_VALUES).expect("write values");
    for extra in [vec![], vec!["--set", "replicas=2", "-f"]] {
        let mut cmd = helm(home.path());
        cmd.args(["lint", "--strict"]).arg(chart_dir()).args(&extra);
        if !extra.is_empty() {
            cmd.arg(&values);
        }
        let out = Run::ok(&mut cmd);
        assert!(
            out.contains("1 chart(s) linted, 0 chart(s) failed"),
            "helm lint {extra:?}: {out}"
        );
        let messages: Vec<&str> = out.lines().filter(|l| l.starts_with('[')).collect();
        assert!(
            messages.is_empty(),
            "helm lint {extra:?}: no [INFO], [WARNING] or [ERROR]: {messages:?}"
        );
    }
}

#[test]
fn default_render_is_deploy_under_the_release_name_and_passes_a_server_side_dry_run() {
    let t = TestEnv::shared("helm-default");
    let release = "kev-chart";
    let ns = t.unique("kev-chart");

    // Without namespace.create: deploy/'s objects but the Namespace.
    let plain = documents(&render(t.home.path(), release, &ns, &[]));
    let mut want = deploy_identities_as(release, &ns);
    let without_ns: BTreeSet<_> = want
        .iter()
        .filter(|(k, _, _)| k != "Namespace")
        .cloned()
        .collect();
    assert_eq!(identities(&plain), without_ns, "the default render");

    let (objects, _) = dry_run(&t, release, &ns, &[]);
    assert_eq!(
        identities(&objects),
        std::mem::take(&mut want),
        "deploy/'s objects, the Namespace included"
    );

    // Each object as deploy/ has it, but for names and labels.
    let deploy = deploy_objects();
    let namespace = object(&objects, "Namespace");
    for (k, v) in object(&deploy, "Namespace")["metadata"]["labels"]
        .as_object()
        .expect("labels")
    {
        if k.starts_with("pod-security.") {
            assert_eq!(&namespace["metadata"]["labels"][k], v, "label {k}");
        }
    }
    assert_eq!(
        object(&objects, "ClusterRole")["rules"],
        object(&deploy, "ClusterRole")["rules"],
        "the ClusterRole's rules"
    );
    let binding = object(&objects, "ClusterRoleBinding");
    assert_eq!(
        binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": release})
    );
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": release, "namespace": ns}])
    );
    assert_eq!(
        object(&objects, "PersistentVolumeClaim")["spec"],
        object(&deploy, "PersistentVolumeClaim")["spec"],
        "the claim"
    );
    let ours = object(&objects, "Deployment");
    let theirs = object(&deploy, "Deployment");
    for key in ["replicas", "strategy"] {
        assert_eq!(ours["spec"][key], theirs["spec"][key], "spec.{key}");
    }
    let (pod, deploy_pod) = (
        &ours["spec"]["template"]["spec"],
        &theirs["spec"]["template"]["spec"],
    );
    for key in [
        "automountServiceAccountToken",
        "terminationGracePeriodSeconds",
        "securityContext",
    ] {
        assert_eq!(pod[key], deploy_pod[key], "the pod's {key}");
    }
    assert_eq!(pod["serviceAccountName"], release);
    let (c, deploy_c) = (container(ours), container(theirs));
    for key in [
        "args",
        "ports",
        "livenessProbe",
        "readinessProbe",
        "resources",
        "volumeMounts",
    ] {
        assert_eq!(c[key], deploy_c[key], "the container's {key}");
    }
    // deploy/ leaves runAsNonRoot to the pod; the chart says it twice.
    let mut sc = c["securityContext"].clone();
    sc.as_object_mut()
        .expect("securityContext")
        .remove("runAsNonRoot");
    assert_eq!(
        sc, deploy_c["securityContext"],
        "the container's securityContext"
    );
    for (k, v) in theirs["spec"]["template"]["metadata"]["annotations"]
        .as_object()
        .expect("annotations")
    {
        assert_eq!(
            &ours["spec"]["template"]["metadata"]["annotations"][k], v,
            "pod annotation {k}"
        );
    }
    let state = volume_at(ours, STATE_DIR);
    assert_eq!(
        state["persistentVolumeClaim"]["claimName"],
        format!("{release}-state"),
        "the claim at {STATE_DIR}"
    );
    assert_eq!(
        volume_at(ours, "/etc/kev")["configMap"]["name"],
        format!("{release}-config")
    );

    // kev.yaml: deploy/'s, without its comments; `kev run --check` takes it.
    let (text, config) = kev_yaml(&objects);
    let deploy_text = object(&deploy, "ConfigMap")["data"]["kev.yaml"]
        .as_str()
        .expect("deploy/'s kev.yaml")
        .to_string();
    let deploy_config: Value = serde_norway::from_str(&deploy_text).expect("YAML");
    assert_eq!(config, deploy_config, "deploy/'s kev.yaml");
    assert!(
        config.get("leaderElection").is_none(),
        "one replica, no lease"
    );
    let scratch = tempfile::tempdir().expect("temp dir");
    let volume = scratch.path().join("volume");
    std::fs::create_dir(&volume).expect("mkdir");
    let copy = scratch.path().join("kev.yaml");
    let moved = text.replace(&format!("{STATE_DIR}/"), &format!("{}/", volume.display()));
    assert!(!moved.contains(STATE_DIR), "every path moved: {moved}");
    std::fs::write(&copy, moved).expect("write kev.yaml");
    let checked = Run::ok(
        Command::new(env!("CARGO_BIN_EXE_kev"))
            .env_clear()
            .env("HOME", t.home.path())
            .args(["run", "--check", "--config"])
            .arg(&copy)
            .stdin(Stdio::null()),
    );
    assert_eq!(checked.trim(), format!("{}: ok (2 sinks)", copy.display()));
}

/// Values for high availability: a Kafka sink as the only one (what a new
/// leader reads back), no filter.
const KAFKA_VALUES: &str = r#"
config:
  cluster: prod-eu
  source: {namespaces: [all], stateFile: /var/lib/kev/state.json}
  filter: null
  sinks:
    - name: kafka
      type: kafka
      brokers: ["kafka-0.kafka:9093", "kafka-1.kafka:9093"]
      topic: k8s-events
      compression: zstd
"#;

/// `kubectl auth can-i VERB leases -n NS --as USER`, polled until it says
/// `want` (RBAC reaches the authorizer through a watch, just after a write).
fn wait_for_lease_access(t: &TestEnv, ns: &str, user: &str, verb: &str, want: bool) {
    let want = if want { "yes" } else { "no" };
    let deadline = Instant::now() + PATIENCE;
    loop {
        let run = Run::of(t.kubectl().args([
            "auth",
            "can-i",
            verb,
            "leases.coordination.k8s.io",
            "-n",
            ns,
            "--as",
            user,
        ]));
        if run.stdout.trim() == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {PATIENCE:?} waiting for `can-i {verb} leases` to be {want:?} \
             for {user} in {ns}: {run:?}"
        );
    }
}

#[test]
fn two_replicas_render_leader_election_without_a_claim_and_pass_a_server_side_dry_run() {
    let t = TestEnv::shared("helm-ha");
    let release = "kev-ha";
    let ns = t.unique("kev-ha");
    let values = t.home.path().join("kafka.yaml");
    std::fs::write(&values, KAFKA_VALUES).expect("write values");
    let values = values.to_str().expect("UTF-8 path");
    let (objects, _) = dry_run(&t, release, &ns, &["--set", "replicas=2", "-f", values]);

    // deploy/'s objects less the claim, plus the lease's RBAC and the PDB.
    let mut want = deploy_identities_as(release, &ns);
    want.retain(|(k, _, _)| k != "PersistentVolumeClaim");
    for (kind, name) in [
        ("Role", format!("{release}-leases")),
        ("RoleBinding", format!("{release}-leases")),
        ("PodDisruptionBudget", release.to_string()),
    ] {
        want.insert((kind.to_string(), ns.clone(), name));
    }
    assert_eq!(identities(&objects), want, "the objects with replicas=2");

    let role = object(&objects, "Role");
    assert_eq!(
        role["rules"],
        json!([{
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "verbs": ["get", "list", "watch", "create", "update", "patch"],
        }]),
        "the Lease Role"
    );
    let binding = object(&objects, "RoleBinding");
    assert_eq!(
        binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]})
    );
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": release, "namespace": ns}])
    );

    let deployment = object(&objects, "Deployment");
    let spec = &deployment["spec"];
    assert_eq!(spec["replicas"], 2);
    assert_eq!(spec["strategy"]["type"], "RollingUpdate");
    let pdb = object(&objects, "PodDisruptionBudget");
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    assert_eq!(
        pdb["spec"]["selector"]["matchLabels"], spec["selector"]["matchLabels"],
        "the PDB covers the Deployment's pods"
    );

    // No claim: each pod's state volume is an emptyDir.
    let pod = &spec["template"]["spec"];
    let volumes = pod["volumes"].as_array().expect("volumes");
    assert!(
        volumes
            .iter()
            .all(|v| v.get("persistentVolumeClaim").is_none()),
        "no PVC with 2 replicas: {volumes:?}"
    );
    assert!(
        volume_at(deployment, STATE_DIR)["emptyDir"].is_object(),
        "an emptyDir at {STATE_DIR}"
    );
    let c = container(deployment);
    for (name, field) in [
        ("POD_NAME", "metadata.name"),
        ("POD_NAMESPACE", "metadata.namespace"),
    ] {
        let var = c["env"]
            .as_array()
            .expect("env")
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {}", c["env"]));
        assert_eq!(var["valueFrom"]["fieldRef"]["fieldPath"], field, "{name}");
    }
    // A standby waits for the lease and never passes /readyz.
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/healthz");
    let anti =
        &pod["affinity"]["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"];
    let term = &anti[0]["podAffinityTerm"];
    assert_eq!(term["topologyKey"], "kubernetes.io/hostname");
    assert_eq!(
        term["labelSelector"]["matchLabels"],
        spec["selector"]["matchLabels"]
    );

    // kev.yaml: the values' Kafka sink and the lease.
    let (_, config) = kev_yaml(&objects);
    assert_eq!(
        config["leaderElection"],
        json!({
            "lease": release,
            "namespace": ns,
            "identity": "${POD_NAME}",
            "leaseDuration": "15s",
            "renewEvery": "2s",
        }),
        "leaderElection in kev.yaml: {config}"
    );
    let sinks = config["sinks"].as_array().expect("sinks");
    assert_eq!(sinks.len(), 1, "the Kafka sink alone: {sinks:?}");
    assert_eq!(sinks[0]["type"], "kafka");
    assert!(
        config.get("filter").is_none(),
        "filter: null drops it: {config}"
    );
    assert_eq!(config["metrics"]["listen"], "0.0.0.0:9464");

    // The ServiceAccount and its Lease RBAC for real (in this test's own
    // namespace): what leader election does to leases, and no more.
    let rbac: Vec<Value> = objects
        .iter()
        .filter(|o| {
            ["ServiceAccount", "Role", "RoleBinding"].contains(&o["kind"].as_str().unwrap_or(""))
        })
        .cloned()
        .collect();
    let list = json!({"apiVersion": "v1", "kind": "List", "items": rbac});
    let run = kubectl_apply(&t, &[], &list.to_string());
    assert_eq!(
        run.code,
        Some(0),
        "apply the ServiceAccount and Lease RBAC: {run:?}"
    );
    let user = format!("system:serviceaccount:{ns}:{release}");
    for verb in ["get", "list", "watch", "create", "update", "patch"] {
        wait_for_lease_access(&t, &ns, &user, verb, true);
    }
    wait_for_lease_access(&t, &ns, &user, "delete", false);
    wait_for_lease_access(&t, "default", &user, "update", false);
}

#[test]
fn krew_manifest_is_a_plugin_for_linux_and_darwin_running_kubectl_kev() {
    let path = root().join("plugins/krew/kev.yaml");
    let text = std::fs::read_to_string(&path).expect("read plugins/krew/kev.yaml");
    let m: Value = serde_norway::from_str(&text).expect("the krew manifest is YAML");
    assert_eq!(
        m["apiVersion"],
        "krew.googlecontainertools.github.com/v1alpha2"
    );
    assert_eq!(m["kind"], "Plugin");
    assert_eq!(m["metadata"]["name"], "kev", "kubectl kev");
    let spec = &m["spec"];
    assert!(
        spec["version"].as_str().is_some_and(|v| v.starts_with('v')),
        "spec.version: {}",
        spec["version"]
    );
    let short = spec["shortDescription"].as_str().expect("shortDescription");
    assert!(
        !short.is_empty() && short.len() <= 60,
        "krew keeps shortDescription short: {short:?}"
    );
    assert!(
        spec["description"]
            .as_str()
            .is_some_and(|d| d.len() > short.len())
    );
    assert!(
        spec["homepage"]
            .as_str()
            .is_some_and(|h| h.starts_with("https://"))
    );
    let platforms = spec["platforms"].as_array().expect("platforms");
    let mut seen = BTreeSet::new();
    for p in platforms {
        let labels = &p["selector"]["matchLabels"];
        let (os, arch) = (
            labels["os"].as_str().expect("os"),
            labels["arch"].as_str().expect("arch"),
        );
        assert!(
            seen.insert((os.to_string(), arch.to_string())),
            "{os}/{arch} once"
        );
        let uri = p["uri"].as_str().expect("uri");
        assert!(
            uri.starts_with("https://")
                && uri.ends_with(".tar.gz")
                && uri.contains(&format!("-{os}-{arch}.")),
            "{os}/{arch}: uri {uri}"
        );
        let sha = p["sha256"].as_str().expect("sha256");
        assert!(
            sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
            "{os}/{arch}: sha256 {sha:?}"
        );
        assert_eq!(
            p["bin"], "kubectl-kev",
            "{os}/{arch}: kubectl runs kubectl-kev"
        );
        assert!(
            p["files"]
                .as_array()
                .expect("files")
                .iter()
                .any(|f| f["from"] == "kubectl-kev"),
            "{os}/{arch}: the archive's kubectl-kev is installed"
        );
    }
    let want: BTreeSet<(String, String)> = ["linux", "darwin"]
        .iter()
        .flat_map(|os| ["amd64", "arm64"].map(|a| (os.to_string(), a.to_string())))
        .collect();
    assert_eq!(seen, want, "the platforms");
}
