//! Several clusters in one process (`--context a,b`, `--all-contexts`)
//! against fake apiservers: the listing merged and sorted across clusters
//! with a CLUSTER column, every record labelled, follow mode interleaved,
//! and one unreachable cluster reported in one line while the others go on.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use kev_testkit::{FakeApiServer, FakeCluster};
use serde_json::{Value, json};
use support::{Follower, kev, run};

fn event(name: &str, minutes_ago: i64) -> Value {
    let t = kev::model::time_serde::format(&(Utc::now() - TimeDelta::minutes(minutes_ago)));
    json!({
        "metadata": {"namespace": "default", "name": name},
        "involvedObject": {"kind": "Pod", "namespace": "default", "name": name.split('.').next().unwrap(), "apiVersion": "v1"},
        "reason": "BackOff", "message": format!("about {name}"), "type": "Warning",
        "count": 1, "firstTimestamp": t, "lastTimestamp": t,
        "source": {"component": "kubelet"},
    })
}

/// A kubeconfig with one context per `(name, server URL)`.
fn kubeconfig(path: &Path, contexts: &[(&str, String)]) {
    let clusters: Vec<Value> = contexts
        .iter()
        .map(|(n, url)| json!({"name": n, "cluster": {"server": url}}))
        .collect();
    let ctxs: Vec<Value> = contexts
        .iter()
        .map(|(n, _)| json!({"name": n, "context": {"cluster": n, "user": "u", "namespace": "default"}}))
        .collect();
    let kc = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": clusters, "contexts": ctxs,
        "current-context": contexts[0].0,
        "users": [{"name": "u", "user": {"token": "t"}}],
    });
    std::fs::write(path, serde_json::to_vec(&kc).unwrap()).unwrap();
}

fn records(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn two_clusters_list_merged_sorted_with_a_cluster_column_and_follow_interleaved() {
    let a = FakeApiServer::start_blocking(FakeCluster::new());
    let b = FakeApiServer::start_blocking(FakeCluster::new());
    // Interleaved in time: a's at 50, 30, 10 minutes ago; b's at 40, 20.
    for (server, name, ago) in [
        (&a, "a1.x", 50),
        (&a, "a2.x", 30),
        (&a, "a3.x", 10),
        (&b, "b1.x", 40),
        (&b, "b2.x", 20),
    ] {
        server.cluster().add_event(event(name, ago)).unwrap();
    }
    let home = tempfile::tempdir().unwrap();
    let kc = home.path().join("kubeconfig");
    kubeconfig(&kc, &[("east", a.url()), ("west", b.url())]);

    let out = run(kev(home.path()).arg("--kubeconfig").arg(&kc).args([
        "--context",
        "east,west",
        "--color",
        "never",
    ]));
    assert_eq!(out.code, Some(0), "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].starts_with("CLUSTER   LAST SEEN"), "{}", lines[0]);
    let order: Vec<(&str, &str)> = lines[1..]
        .iter()
        .map(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            (c[0], c[4])
        })
        .collect();
    assert_eq!(
        order,
        [
            ("east", "Pod/a1"),
            ("west", "Pod/b1"),
            ("east", "Pod/a2"),
            ("west", "Pod/b2"),
            ("east", "Pod/a3"),
        ],
        "sorted by last seen across clusters:\n{}",
        out.stdout
    );

    // --all-contexts, as records: every record carries its cluster.
    let out =
        run(kev(home.path())
            .arg("--kubeconfig")
            .arg(&kc)
            .args(["--all-contexts", "-o", "ndjson"]));
    assert_eq!(out.code, Some(0), "{out:?}");
    let got: BTreeSet<(String, String)> = records(&out.stdout)
        .iter()
        .map(|r| {
            (
                r["cluster"].as_str().unwrap().to_string(),
                r["object"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("east", "a1"),
        ("east", "a2"),
        ("east", "a3"),
        ("west", "b1"),
        ("west", "b2"),
    ]
    .into_iter()
    .map(|(c, n)| (c.to_string(), n.to_string()))
    .collect();
    assert_eq!(got, want);

    // Following: new events from both, as they come.
    let mut f = Follower::spawn(kev(home.path()).arg("--kubeconfig").arg(&kc).args([
        "--context",
        "east,west",
        "-w",
        "-o",
        "ndjson",
    ]));
    f.wait_lines(5, Duration::from_secs(30));
    a.cluster().add_event(event("a4.x", 0)).unwrap();
    f.wait_lines(6, Duration::from_secs(30));
    b.cluster().add_event(event("b3.x", 0)).unwrap();
    f.wait_lines(7, Duration::from_secs(30));
    let (code, stderr) = f.signal("TERM");
    assert_eq!(code, Some(0), "{stderr}");
    let live: Vec<(String, String)> = records(&f.seen[5..].join("\n"))
        .iter()
        .map(|r| {
            (
                r["cluster"].as_str().unwrap().to_string(),
                r["object"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        live,
        [
            ("east".to_string(), "a4".to_string()),
            ("west".to_string(), "b3".to_string())
        ]
    );
}

#[test]
fn an_unreachable_cluster_is_one_line_and_the_others_still_print() {
    let a = FakeApiServer::start_blocking(FakeCluster::new());
    a.cluster().add_event(event("a1.x", 5)).unwrap();
    // A port nothing listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let home = tempfile::tempdir().unwrap();
    let kc = home.path().join("kubeconfig");
    kubeconfig(
        &kc,
        &[("up", a.url()), ("down", format!("http://{closed}"))],
    );
    let out = run(kev(home.path()).arg("--kubeconfig").arg(&kc).args([
        "--context",
        "up,down",
        "-o",
        "ndjson",
        "--request-timeout",
        "2s",
    ]));
    assert_eq!(out.code, Some(1), "some failed: {out:?}");
    let got = records(&out.stdout);
    assert_eq!(got.len(), 1, "{}", out.stdout);
    assert_eq!(got[0]["cluster"], "up");
    let about_down: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("\"down\""))
        .collect();
    assert_eq!(about_down.len(), 1, "one line about it:\n{}", out.stderr);
    assert!(
        about_down[0].contains("cannot reach")
            && about_down[0].contains("the other clusters go on"),
        "{}",
        about_down[0]
    );
    assert!(
        out.stderr.contains("1 of 2 contexts failed"),
        "the exit says so:\n{}",
        out.stderr
    );

    // Usage errors: a state file or --tree with several contexts.
    for extra in [
        &["--state-file", "s.json", "-w"][..],
        &["--for", "deploy/web", "--tree"][..],
    ] {
        let out = run(kev(home.path())
            .arg("--kubeconfig")
            .arg(&kc)
            .args(["--context", "up,down"])
            .args(extra));
        assert_eq!(out.code, Some(2), "{extra:?}: {out:?}");
    }
}
