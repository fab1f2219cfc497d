//! Support for the end-to-end tests: the control plane started by
//! `scripts/e2e.sh`, a per-test [`TestEnv`] (own namespaces, own HOME, a
//! client to write events with), running the real `kev` binary (and
//! stopping it with a signal), kev as a pod runs it ([`InCluster`]:
//! in-cluster configuration from a service-account token), and a
//! [`Writer`] that keeps writing events.
//!
//! Tests share one kube-apiserver. Ordinary tests take [`TestEnv::shared`]
//! and work in namespaces of their own, so they run in parallel; tests that
//! disturb everyone (restarting the apiserver, compacting etcd) take
//! [`TestEnv::exclusive`], which waits for every other test to finish first.

pub mod client;
pub mod events;
pub mod follow;
pub mod incluster;
pub mod proxy;
pub mod sinks;
pub mod writer;

use std::collections::BTreeSet;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::Value;

pub use client::Admin;
pub use events::{Created, Ev, Obj};
pub use follow::{Follower, Stopped};
pub use incluster::InCluster;
pub use proxy::Proxy;
pub use writer::Writer;

/// How long any single wait in a test may take before it fails. Waits poll
/// for an expected outcome and return as soon as it is there; this only
/// bounds how long a broken build takes to fail.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(90);

/// The control plane the tests run against, from `scripts/control-plane.sh env`.
#[derive(Debug)]
pub struct ControlPlane {
    /// `KEV_CP_DIR`: state dir holding the kubeconfigs.
    pub dir: PathBuf,
    /// `KEV_CP_KUBECTL`.
    pub kubectl: PathBuf,
    /// `KEV_CP_ETCDCTL`.
    pub etcdctl: PathBuf,
    /// `KEV_CP_ETCD_ENDPOINT`, e.g. `http://127.0.0.1:2379`.
    pub etcd_endpoint: String,
    /// `KEV_CP_APISERVER`, e.g. `https://127.0.0.1:6443`.
    pub apiserver: String,
}

const NO_CONTROL_PLANE: &str = "\
the end-to-end tests need a real kube-apiserver and etcd, and none is configured.
Run them with `scripts/e2e.sh` (starts one, runs the tests, stops it), or by hand:
    scripts/control-plane.sh up && eval \"$(scripts/control-plane.sh env)\"
    cargo test --test e2e
See docs/testing.md.";

fn env_var(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!("{name} is not set: {NO_CONTROL_PLANE}"),
    }
}

impl ControlPlane {
    /// The control plane named by the `KEV_CP_*` environment; panics with
    /// instructions when there is none, so the suite never passes vacuously.
    pub fn get() -> &'static ControlPlane {
        static CP: OnceLock<ControlPlane> = OnceLock::new();
        CP.get_or_init(|| {
            let cp = ControlPlane {
                dir: env_var("KEV_CP_DIR").into(),
                kubectl: env_var("KEV_CP_KUBECTL").into(),
                etcdctl: env_var("KEV_CP_ETCDCTL").into(),
                etcd_endpoint: env_var("KEV_CP_ETCD_ENDPOINT"),
                apiserver: env_var("KEV_CP_APISERVER"),
            };
            assert!(
                cp.kubeconfig("admin").is_file(),
                "KEV_CP_DIR={} has no admin.kubeconfig: is the control plane up? {NO_CONTROL_PLANE}",
                cp.dir.display()
            );
            cp
        })
    }

    /// `$KEV_CP_DIR/<user>.kubeconfig` (`admin`, `ns-reader`, `nobody`).
    pub fn kubeconfig(&self, user: &str) -> PathBuf {
        self.dir.join(format!("{user}.kubeconfig"))
    }

    /// The CA that signed the apiserver's serving certificate (what a pod
    /// finds as `ca.crt` beside its service-account token).
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join("pki/ca.crt")
    }

    /// The apiserver's `host:port`.
    pub fn apiserver_addr(&self) -> std::net::SocketAddr {
        let hostport = self
            .apiserver
            .strip_prefix("https://")
            .unwrap_or(&self.apiserver)
            .trim_end_matches('/');
        hostport
            .parse()
            .unwrap_or_else(|e| panic!("KEV_CP_APISERVER={}: {e}", self.apiserver))
    }

    /// `scripts/control-plane.sh ARGS` against this control plane; panics
    /// with its output if it fails.
    pub fn script(&self, args: &[&str]) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/control-plane.sh");
        let out = Command::new(script)
            .args(args)
            .env("KEV_CP_DIR", &self.dir)
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/control-plane.sh");
        assert!(
            out.status.success(),
            "control-plane.sh {args:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Run etcdctl against the control plane's etcd; returns stdout.
    pub fn etcdctl(&self, args: &[&str]) -> String {
        let out = Command::new(&self.etcdctl)
            .arg(format!("--endpoints={}", self.etcd_endpoint))
            .args(args)
            .env_clear()
            .stdin(Stdio::null())
            .output()
            .expect("run etcdctl");
        assert!(
            out.status.success(),
            "etcdctl {args:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("etcdctl output is UTF-8")
    }

    /// etcd's current revision (what the apiserver calls resourceVersion).
    pub fn etcd_revision(&self) -> i64 {
        let status: Value =
            serde_json::from_str(&self.etcdctl(&["endpoint", "status", "-w", "json"]))
                .expect("etcdctl endpoint status -w json");
        status[0]["Status"]["header"]["revision"]
            .as_i64()
            .unwrap_or_else(|| panic!("no revision in {status}"))
    }
}

/// Serializes tests that disturb the shared apiserver against all others.
static CLUSTER: RwLock<()> = RwLock::new(());

enum Guard {
    Shared(#[allow(dead_code)] RwLockReadGuard<'static, ()>),
    Exclusive(#[allow(dead_code)] RwLockWriteGuard<'static, ()>),
}

/// One test's view of the control plane: its own HOME, an admin client, and
/// unique namespaces. Holds the cluster lock until dropped.
pub struct TestEnv {
    /// The control plane.
    pub cp: &'static ControlPlane,
    /// An admin client for writing events.
    pub admin: Admin,
    /// HOME for every child process (kev, kubectl): empty, so nothing ambient leaks in.
    pub home: tempfile::TempDir,
    name: String,
    _guard: Guard,
}

impl TestEnv {
    /// For a test that only uses its own namespaces: runs alongside others.
    pub fn shared(name: &str) -> TestEnv {
        let cp = ControlPlane::get();
        let guard = Guard::Shared(CLUSTER.read().unwrap_or_else(|e| e.into_inner()));
        TestEnv::new(cp, name, guard)
    }

    /// For a test that disturbs the control plane (restart, compaction):
    /// runs alone.
    pub fn exclusive(name: &str) -> TestEnv {
        let cp = ControlPlane::get();
        let guard = Guard::Exclusive(CLUSTER.write().unwrap_or_else(|e| e.into_inner()));
        TestEnv::new(cp, name, guard)
    }

    fn new(cp: &'static ControlPlane, name: &str, guard: Guard) -> TestEnv {
        TestEnv {
            cp,
            admin: Admin::new(&cp.kubeconfig("admin")),
            home: tempfile::tempdir().expect("temp HOME"),
            name: name.to_string(),
            _guard: guard,
        }
    }

    /// Create a namespace named after the test, unique across runs against the
    /// same control plane; returns its name.
    pub fn namespace(&self, label: &str) -> String {
        let ns = self.unique(&format!("{}-{label}", self.name));
        assert!(ns.len() <= 63, "namespace name too long: {ns}");
        self.admin.create_namespace(&ns);
        ns
    }

    /// A name unique across runs against the same control plane: `<label>-<hex>`.
    pub fn unique(&self, label: &str) -> String {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(SEQ.fetch_add(1, Ordering::Relaxed));
        h.write_u32(std::process::id());
        format!("{label}-{:06x}", h.finish() & 0xff_ffff)
    }

    /// A new admin client, after the apiserver restarted under the old one.
    pub fn reconnect(&mut self) {
        self.admin = Admin::new(&self.cp.kubeconfig("admin"));
    }

    /// An admin kubeconfig whose server is `addr` (a [`Proxy`]) instead of
    /// the apiserver, written into this test's HOME.
    pub fn kubeconfig_via(&self, addr: std::net::SocketAddr) -> PathBuf {
        let admin = std::fs::read_to_string(self.cp.kubeconfig("admin")).expect("admin.kubeconfig");
        let server = format!("server: {}", self.cp.apiserver.trim_end_matches('/'));
        assert!(admin.contains(&server), "no {server:?} in admin.kubeconfig");
        let path = self.home.path().join("via-proxy.kubeconfig");
        std::fs::write(
            &path,
            admin.replace(&server, &format!("server: https://{addr}")),
        )
        .expect("write kubeconfig");
        path
    }

    /// The kev binary with a clean environment and the admin kubeconfig.
    pub fn kev(&self) -> Command {
        self.kev_as("admin")
    }

    /// The kev binary with a clean environment and `$KEV_CP_DIR/<user>.kubeconfig`.
    pub fn kev_as(&self, user: &str) -> Command {
        self.kev_with_kubeconfig(&self.cp.kubeconfig(user))
    }

    /// The kev binary with a clean environment (no KUBECONFIG, HOME empty,
    /// no colour or log settings) and `--kubeconfig PATH`.
    pub fn kev_with_kubeconfig(&self, kubeconfig: &Path) -> Command {
        let mut cmd = self.kev_bare();
        cmd.arg("--kubeconfig").arg(kubeconfig);
        cmd
    }

    /// The kev binary with a clean environment and no kubeconfig at all
    /// (kubectl's `--server`/`--token` flags alone).
    pub fn kev_bare(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kev"));
        cmd.env_clear()
            .env("HOME", self.home.path())
            .env("PATH", "/usr/bin:/bin")
            .stdin(Stdio::null());
        cmd
    }

    /// The control plane's kubectl with a clean environment, as admin.
    pub fn kubectl(&self) -> Command {
        let mut cmd = Command::new(&self.cp.kubectl);
        cmd.env_clear()
            .env("HOME", self.home.path())
            .arg("--kubeconfig")
            .arg(self.cp.kubeconfig("admin"))
            .stdin(Stdio::null());
        cmd
    }
}

/// A finished process.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// stdout.
    pub stdout: String,
    /// stderr.
    pub stderr: String,
}

impl Run {
    /// Run `cmd` to completion.
    pub fn of(cmd: &mut Command) -> Run {
        let Output {
            status,
            stdout,
            stderr,
        } = cmd
            .output()
            .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        Run {
            code: status.code(),
            stdout: String::from_utf8(stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(stderr).expect("stderr is UTF-8"),
        }
    }

    /// Run `cmd`, which must exit 0; returns its stdout.
    pub fn ok(cmd: &mut Command) -> String {
        let run = Run::of(cmd);
        assert_eq!(
            run.code,
            Some(0),
            "{cmd:?} failed\nstdout:\n{}\nstderr:\n{}",
            run.stdout,
            run.stderr
        );
        run.stdout
    }
}

/// Parse `-o ndjson` output into records.
pub fn records(ndjson: &str) -> Vec<Value> {
    ndjson
        .lines()
        .map(|l| {
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}"));
            assert_eq!(v["schema"], "kev/v1", "{l}");
            v
        })
        .collect()
}

/// An occurrence: `(uid, resourceVersion)`.
pub type Occ = (String, String);

/// The occurrence of a record.
pub fn occ(record: &Value) -> Occ {
    (
        record["uid"].as_str().expect("uid").to_string(),
        record["resourceVersion"]
            .as_str()
            .expect("resourceVersion")
            .to_string(),
    )
}

/// The occurrences of records, asserting none is repeated.
pub fn occ_set(records: &[Value]) -> BTreeSet<Occ> {
    let mut set = BTreeSet::new();
    for r in records {
        assert!(set.insert(occ(r)), "occurrence printed twice: {r}");
    }
    set
}

/// The records in the given namespaces (for `-A` on a shared cluster).
pub fn in_namespaces(records: &[Value], namespaces: &[&str]) -> Vec<Value> {
    records
        .iter()
        .filter(|r| namespaces.iter().any(|ns| r["namespace"] == *ns))
        .cloned()
        .collect()
}

/// Split a table line into cells. Cells are padded with at least three
/// spaces and the tests never write two spaces in a row inside a cell.
pub fn cells(line: &str) -> Vec<String> {
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

/// The single line of a failing command's stderr; panics unless there is
/// exactly one.
pub fn one_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one line on stderr, got:\n{stderr}"
    );
    lines[0]
}
