//! Two real control planes side by side: `kev --context a,b -A` prints the
//! union, sorted by last seen, with the CLUSTER column; with one stopped,
//! the other's events still print and the failure is one line.
//!
//! The second control plane is this test's own (`scripts/control-plane.sh
//! up` in a temp state dir, ports of its own), torn down when it ends.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::client::Admin;
use crate::support::events::{ago, base_time};
use crate::support::{Ev, Obj, Run, TestEnv};

/// A control plane of this test's own; `down` on drop.
struct Second {
    dir: tempfile::TempDir,
    up: bool,
}

fn script(dir: &Path, arg: &str) -> std::process::Output {
    Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/control-plane.sh"))
        .arg(arg)
        .env("KEV_CP_DIR", dir)
        .stdin(Stdio::null())
        .output()
        .expect("run scripts/control-plane.sh")
}

impl Second {
    fn up() -> Second {
        let dir = tempfile::tempdir().expect("temp dir");
        // The script makes its state dir itself (it refuses one it did not make).
        let out = script(&dir.path().join("cp"), "up");
        assert!(
            out.status.success(),
            "a second control plane did not start: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Second { dir, up: true }
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("cp/admin.kubeconfig")
    }

    fn down(&mut self) {
        if self.up {
            let _ = script(&self.dir.path().join("cp"), "down");
            self.up = false;
        }
    }
}

impl Drop for Second {
    fn drop(&mut self) {
        self.down();
    }
}

/// One kubeconfig with contexts `a` and `b` for two admin kubeconfigs.
fn merged(a: &Path, b: &Path, out: &Path) {
    let read = |p: &Path| -> Value {
        serde_norway::from_str(&std::fs::read_to_string(p).expect("kubeconfig"))
            .expect("kubeconfig YAML")
    };
    let (ka, kb) = (read(a), read(b));
    let part = |k: &Value, key: &str, name: &str| {
        let mut v = k[key][0].clone();
        v["name"] = name.into();
        v
    };
    let ctx =
        |name: &str| serde_json::json!({"name": name, "context": {"cluster": name, "user": name}});
    let kc = serde_json::json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [part(&ka, "clusters", "a"), part(&kb, "clusters", "b")],
        "users": [part(&ka, "users", "a"), part(&kb, "users", "b")],
        "contexts": [ctx("a"), ctx("b")],
        "current-context": "a",
    });
    std::fs::write(out, serde_json::to_vec(&kc).unwrap()).expect("write kubeconfig");
}

#[test]
fn two_control_planes_merge_sorted_with_a_cluster_column_and_one_down_is_one_line() {
    let t = TestEnv::shared("contexts");
    let mut second = Second::up();
    let other = Admin::new(&second.kubeconfig());
    let ns = t.namespace("a");
    other.create_namespace(&ns);
    let base = base_time();
    let at = |m| ago(base, m);
    // Interleaved in time across the two clusters.
    t.admin.create(
        &ns,
        &Ev::core("a-50", &Obj::pod("a1")).legacy(1, at(50), at(50)),
    );
    other.create(
        &ns,
        &Ev::core("b-40", &Obj::pod("b1")).legacy(1, at(40), at(40)),
    );
    t.admin.create(
        &ns,
        &Ev::core("a-30", &Obj::pod("a2")).legacy(1, at(30), at(30)),
    );
    other.create(
        &ns,
        &Ev::core("b-20", &Obj::pod("b2")).legacy(1, at(20), at(20)),
    );

    let kc = t.home.path().join("two.kubeconfig");
    merged(&t.cp.kubeconfig("admin"), &second.kubeconfig(), &kc);
    let table = Run::ok(t.kev_with_kubeconfig(&kc).args([
        "--context",
        "a,b",
        "-n",
        &ns,
        "--color",
        "never",
    ]));
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("CLUSTER"), "{table}");
    let rows: Vec<(String, String)> = lines[1..]
        .iter()
        .map(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            (c[0].to_string(), c[4].to_string())
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("a", "Pod/a1"),
        ("b", "Pod/b1"),
        ("a", "Pod/a2"),
        ("b", "Pod/b2"),
    ]
    .iter()
    .map(|(c, o)| (c.to_string(), o.to_string()))
    .collect();
    assert_eq!(rows, want, "the union, sorted by last seen:\n{table}");

    // One stopped: the other's events print, the failure is one line.
    second.down();
    let run = Run::of(t.kev_with_kubeconfig(&kc).args([
        "--context",
        "a,b",
        "-n",
        &ns,
        "-o",
        "ndjson",
        "--request-timeout",
        "5s",
    ]));
    assert_eq!(run.code, Some(1), "{run:?}");
    let names: Vec<String> = crate::support::records(&run.stdout)
        .iter()
        .map(|r| {
            assert_eq!(r["cluster"], "a");
            r["object"]["name"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(names, ["a1", "a2"], "{}", run.stdout);
    let about_b: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("context \"b\""))
        .collect();
    assert_eq!(about_b.len(), 1, "one line about b:\n{}", run.stderr);
    assert!(
        run.stderr.contains("1 of 2 contexts failed"),
        "{}",
        run.stderr
    );
}
