//! `--summary` through the real binary: over a saved incident (`kev
//! replay`) and over a listing from the fake apiserver.

mod support;

use std::collections::HashMap;

use chrono::Utc;
use kev_testkit::{FakeApiServer, FakeCluster};
use serde_json::{Value, json};
use support::{kev, run};

const INCIDENT: &str = "tests/fixtures/incident.ndjson";
const NOW: &str = "2026-11-28T10:00:00Z";

fn records(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Occurrences of the distinct events in `kev/v1` records: each event's
/// latest count (at least 1).
fn occurrences(events: &[Value]) -> i64 {
    let mut latest: HashMap<String, (u64, i64)> = HashMap::new();
    for e in events {
        let rv: u64 = e["resourceVersion"].as_str().unwrap().parse().unwrap();
        let count = e["count"].as_i64().unwrap_or(1).max(1);
        let uid = e["uid"].as_str().unwrap().to_string();
        let entry = latest.entry(uid).or_insert((rv, count));
        if rv >= entry.0 {
            *entry = (rv, count);
        }
    }
    latest.values().map(|(_, c)| c).sum()
}

#[test]
fn a_replayed_incident_collapses_a_replicasets_pods_and_the_counts_add_up() {
    let home = tempfile::tempdir().unwrap();
    for selection in [&[][..], &["--", "type=Warning"][..]] {
        let summary = run(kev(home.path())
            .args([
                "replay",
                INCIDENT,
                "--now",
                NOW,
                "--summary",
                "-o",
                "ndjson",
            ])
            .args(selection));
        assert_eq!(summary.code, Some(0), "{summary:?}");
        let events = run(kev(home.path())
            .args(["replay", INCIDENT, "--now", NOW, "-o", "ndjson"])
            .args(selection));
        let groups = records(&summary.stdout);
        let total: i64 = groups.iter().map(|g| g["count"].as_i64().unwrap()).sum();
        assert_eq!(
            total,
            occurrences(&records(&events.stdout)),
            "{selection:?}: the groups' counts add up to the occurrences selected"
        );
        let ranked: Vec<i64> = groups
            .iter()
            .map(|g| g["count"].as_i64().unwrap())
            .collect();
        assert!(
            ranked.windows(2).all(|w| w[0] >= w[1]),
            "ranked: {ranked:?}"
        );
        assert!(groups.iter().all(|g| g["schema"] == "kev/summary/v1"));
    }
    // The checkout-svc Pods' readiness failures: one row, two Pods.
    let out = run(kev(home.path()).args(["replay", INCIDENT, "--now", NOW, "--summary"]));
    assert_eq!(out.code, Some(0), "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("NAMESPACE") && lines[0].contains("COUNT   OBJECTS   FIRST SEEN"),
        "{}",
        lines[0]
    );
    let unhealthy: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("Unhealthy") && l.contains("Deployment/checkout-svc"))
        .collect();
    assert_eq!(unhealthy.len(), 1, "{}", out.stdout);
    let cells: Vec<&str> = unhealthy[0].split_whitespace().collect();
    assert_eq!(
        (cells[0], cells[2]),
        ("checkout", "2"),
        "two Pods: {}",
        unhealthy[0]
    );
    // Raw events for the same: two objects, one group.
    let events = run(kev(home.path()).args([
        "replay",
        INCIDENT,
        "--now",
        NOW,
        "-o",
        "ndjson",
        "--",
        "reason=Unhealthy",
    ]));
    let objects: std::collections::BTreeSet<String> = records(&events.stdout)
        .iter()
        .map(|e| e["object"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(objects.len(), 2, "{objects:?}");
}

fn pod_event(pod: &str, n: i64) -> Value {
    let t = kev::model::time_serde::format(&Utc::now());
    json!({
        "metadata": {"namespace": "payments", "name": format!("{pod}.{n}")},
        "involvedObject": {"kind": "Pod", "namespace": "payments", "name": pod, "apiVersion": "v1"},
        "reason": "BackOff", "type": "Warning", "count": n,
        "message": format!("Back-off restarting failed container web in pod {pod}_payments(8c1a5e3e-1b2c-4d5e-8f90-0a1b2c3d4e{n:02})"),
        "firstTimestamp": t, "lastTimestamp": t,
        "source": {"component": "kubelet", "host": "node-1"},
    })
}

#[test]
fn a_listing_summary_groups_what_the_apiserver_has_and_refuses_to_follow() {
    let server = FakeApiServer::start_blocking(FakeCluster::new());
    for (i, pod) in [
        "web-7f9c6d5b8-x2x4z",
        "web-7f9c6d5b8-qq9zt",
        "web-7f9c6d5b8-m4n5p",
    ]
    .iter()
    .enumerate()
    {
        server
            .cluster()
            .add_event(pod_event(pod, i as i64 + 2))
            .unwrap();
    }
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let out = run(kev(home.path()).arg("--kubeconfig").arg(&kubeconfig).args([
        "-A",
        "--summary",
        "-o",
        "json",
    ]));
    assert_eq!(out.code, Some(0), "{out:?}");
    let groups: Vec<Value> = serde_json::Deserializer::from_str(&out.stdout)
        .into_iter::<Value>()
        .map(Result::unwrap)
        .collect();
    assert_eq!(groups.len(), 1, "{}", out.stdout);
    let g = &groups[0];
    assert_eq!(g["workload"], json!({"kind": "Deployment", "name": "web"}));
    assert_eq!(
        (g["count"].as_i64(), g["objects"].as_u64()),
        (Some(9), Some(3))
    );
    assert_eq!(
        g["pattern"],
        "Back-off restarting failed container web in pod <object>_payments(<uid>)"
    );

    for extra in [&["-w"][..], &["--to-file", "x.ndjson"][..]] {
        let out = run(kev(home.path())
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["-A", "--summary"])
            .args(extra));
        assert_eq!(out.code, Some(2), "{extra:?}: {out:?}");
        assert!(out.stderr.contains("--summary"), "{}", out.stderr);
    }
}
