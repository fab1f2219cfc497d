//! `--for KIND/NAME --tree` on the real apiserver: a Deployment, its
//! ReplicaSet and their Pods, created by the test with owner references
//! (nothing reconciles them here), and events about each — and about
//! objects outside the tree that look alike.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::events::{base_time, secs};
use crate::support::{Follower, Occ, Run, TestEnv, occ, occ_set, one_line, records};

/// Create a workload object; returns its uid.
fn create(t: &TestEnv, ns: &str, path: &str, body: Value) -> String {
    let v = t.admin.post(
        &format!(
            "{path}/namespaces/{ns}/{}",
            body["__plural"].as_str().unwrap()
        ),
        &{
            let mut b = body.clone();
            b.as_object_mut().unwrap().remove("__plural");
            b
        },
    );
    v["metadata"]["uid"]
        .as_str()
        .unwrap_or_else(|| panic!("created: {v}"))
        .to_string()
}

fn owner(kind: &str, name: &str, uid: &str) -> Value {
    let api = if kind == "Pod" { "v1" } else { "apps/v1" };
    json!([{"apiVersion": api, "kind": kind, "name": name, "uid": uid, "controller": true}])
}

fn template() -> Value {
    json!({"metadata": {"labels": {"app": "web"}},
           "spec": {"containers": [{"name": "web", "image": "registry.example/web:1"}]}})
}

fn deployment(t: &TestEnv, ns: &str, name: &str) -> String {
    create(
        t,
        ns,
        "/apis/apps/v1",
        json!({"__plural": "deployments", "apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": name},
               "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template()}}),
    )
}

fn replicaset(t: &TestEnv, ns: &str, name: &str, deploy: (&str, &str)) -> String {
    create(
        t,
        ns,
        "/apis/apps/v1",
        json!({"__plural": "replicasets", "apiVersion": "apps/v1", "kind": "ReplicaSet",
               "metadata": {"name": name, "ownerReferences": owner("Deployment", deploy.0, deploy.1)},
               "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template()}}),
    )
}

fn pod(t: &TestEnv, ns: &str, name: &str, rs: Option<(&str, &str)>) -> String {
    let mut meta = json!({"name": name, "labels": {"app": "web"}});
    if let Some((n, u)) = rs {
        meta["ownerReferences"] = owner("ReplicaSet", n, u);
    }
    create(
        t,
        ns,
        "/api/v1",
        json!({"__plural": "pods", "apiVersion": "v1", "kind": "Pod", "metadata": meta,
               "spec": {"containers": [{"name": "web", "image": "registry.example/web:1"}]}}),
    )
}

/// A core/v1 event about `kind/name` (uid `uid`); returns its occurrence.
fn event(t: &TestEnv, ns: &str, name: &str, kind: &str, object: &str, uid: &str) -> Occ {
    let api = match kind {
        "Pod" => "v1",
        _ => "apps/v1",
    };
    let at = secs(base_time());
    let v = t.admin.post(
        &format!("/api/v1/namespaces/{ns}/events"),
        &json!({"metadata": {"name": name},
                "involvedObject": {"kind": kind, "apiVersion": api, "name": object, "namespace": ns, "uid": uid},
                "type": "Warning", "reason": "BackOff", "message": format!("about {object}"),
                "count": 1, "firstTimestamp": at, "lastTimestamp": at,
                "source": {"component": "kev-e2e"}}),
    );
    (
        v["metadata"]["uid"].as_str().unwrap().to_string(),
        v["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

#[test]
fn tree_selects_the_deployment_its_replicasets_and_their_pods_and_picks_up_new_ones() {
    let t = TestEnv::shared("tree");
    let ns = t.namespace("a");
    let d = deployment(&t, &ns, "web");
    let rs = replicaset(&t, &ns, "web-7f9c6d5b8", ("web", &d));
    let p1 = pod(&t, &ns, "web-7f9c6d5b8-x2x4z", Some(("web-7f9c6d5b8", &rs)));
    let p2 = pod(&t, &ns, "web-7f9c6d5b8-qq9zt", Some(("web-7f9c6d5b8", &rs)));
    // Outside the tree: another Deployment's Pod, a bare Pod named alike.
    let other = deployment(&t, &ns, "web-canary");
    let other_rs = replicaset(&t, &ns, "web-canary-5d8f7c9b4", ("web-canary", &other));
    let op = pod(
        &t,
        &ns,
        "web-canary-5d8f7c9b4-m4n5p",
        Some(("web-canary-5d8f7c9b4", &other_rs)),
    );
    let bare = pod(&t, &ns, "web-7f9c6d5b8-zz9zz", None);

    let mut want: BTreeSet<Occ> = [
        event(&t, &ns, "d", "Deployment", "web", &d),
        event(&t, &ns, "rs", "ReplicaSet", "web-7f9c6d5b8", &rs),
        event(&t, &ns, "p1", "Pod", "web-7f9c6d5b8-x2x4z", &p1),
        event(&t, &ns, "p2", "Pod", "web-7f9c6d5b8-qq9zt", &p2),
    ]
    .into();
    let outside: BTreeSet<Occ> = [
        event(&t, &ns, "other", "Deployment", "web-canary", &other),
        event(&t, &ns, "op", "Pod", "web-canary-5d8f7c9b4-m4n5p", &op),
        event(&t, &ns, "bare", "Pod", "web-7f9c6d5b8-zz9zz", &bare),
    ]
    .into();

    let listed = occ_set(&records(&Run::ok(t.kev().args([
        "-n",
        &ns,
        "--for",
        "deploy/web",
        "--tree",
        "-o",
        "ndjson",
    ]))));
    assert_eq!(listed, want, "the tree's events, and nothing outside it");
    // kubectl events --for shows the Deployment's own events only: a subset.
    let kubectl =
        Run::ok(
            t.kubectl()
                .args(["events", "-n", &ns, "--for", "deployment/web", "-o", "json"]),
        );
    let theirs: Value = serde_json::from_str(&kubectl).expect("kubectl events -o json");
    let theirs: BTreeSet<Occ> = theirs["items"]
        .as_array()
        .expect("an EventList")
        .iter()
        .map(|e| {
            (
                e["metadata"]["uid"].as_str().unwrap().to_string(),
                e["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(theirs.len(), 1, "kubectl: the Deployment's one event");
    assert!(theirs.is_subset(&listed), "{theirs:?} ⊂ {listed:?}");
    // The OBJECT column stays the involved object.
    let table = Run::ok(t.kev().args(["-n", &ns, "--for", "deploy/web", "--tree"]));
    for object in [
        "Deployment/web",
        "ReplicaSet/web-7f9c6d5b8",
        "Pod/web-7f9c6d5b8-x2x4z",
    ] {
        assert!(table.contains(object), "{object} in\n{table}");
    }
    // -o wide: a PATH column, the owners from the root down to the object.
    let wide = Run::ok(
        t.kev()
            .args(["-n", &ns, "--for", "deploy/web", "--tree", "-o", "wide"]),
    );
    let header = wide.lines().next().unwrap();
    assert!(header.contains(" PATH "), "{header}");
    for (object, path) in [
        (
            "Pod/web-7f9c6d5b8-x2x4z",
            "Deployment/web>ReplicaSet/web-7f9c6d5b8>Pod/web-7f9c6d5b8-x2x4z",
        ),
        (
            "ReplicaSet/web-7f9c6d5b8",
            "Deployment/web>ReplicaSet/web-7f9c6d5b8",
        ),
    ] {
        let line = wide
            .lines()
            .find(|l| l.split_whitespace().any(|w| w == object))
            .unwrap_or_else(|| panic!("{object} in\n{wide}"));
        assert!(
            line.split_whitespace().any(|w| w == path),
            "{path} on the line of {object}:\n{wide}"
        );
    }
    // --summary with --tree: the workload of every event is the Deployment,
    // from the owners kev read.
    let summary = Run::ok(t.kev().args([
        "-n",
        &ns,
        "--for",
        "deploy/web",
        "--tree",
        "--summary",
        "-o",
        "ndjson",
    ]));
    let groups: Vec<Value> = summary
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(!groups.is_empty());
    let total: i64 = groups.iter().map(|g| g["count"].as_i64().unwrap()).sum();
    assert_eq!(total, 4, "the tree's four events: {summary}");
    for g in &groups {
        assert_eq!(g["schema"], "kev/summary/v1", "{g}");
        assert_eq!(
            g["workload"],
            json!({"kind": "Deployment", "name": "web"}),
            "{g}"
        );
    }

    // Following: a replacement Pod and a rollout's new ReplicaSet and Pod
    // are picked up; a new Pod outside is not.
    let mut f = Follower::spawn({
        let mut c = t.kev();
        c.args([
            "-n",
            &ns,
            "--for",
            "deploy/web",
            "--tree",
            "-w",
            "-o",
            "ndjson",
        ]);
        c
    });
    let first = f.records_until("the listed tree", |rs| occ_set_lossy(rs).is_superset(&want));
    assert_eq!(occ_set(&first), want);
    let p3 = pod(&t, &ns, "web-7f9c6d5b8-h6j4k", Some(("web-7f9c6d5b8", &rs)));
    let rs2 = replicaset(&t, &ns, "web-6c8d9f7b5", ("web", &d));
    let p4 = pod(
        &t,
        &ns,
        "web-6c8d9f7b5-w2x4v",
        Some(("web-6c8d9f7b5", &rs2)),
    );
    let late_outside = pod(&t, &ns, "web-6c8d9f7b5-zz9xx", None);
    let mut outside = outside;
    outside.insert(event(
        &t,
        &ns,
        "late-out",
        "Pod",
        "web-6c8d9f7b5-zz9xx",
        &late_outside,
    ));
    let new: BTreeSet<Occ> = [
        event(&t, &ns, "p3", "Pod", "web-7f9c6d5b8-h6j4k", &p3),
        event(&t, &ns, "rs2", "ReplicaSet", "web-6c8d9f7b5", &rs2),
        event(&t, &ns, "p4", "Pod", "web-6c8d9f7b5-w2x4v", &p4),
    ]
    .into();
    // A marker after everything: once it is printed, so would be anything
    // outside the tree written before it.
    let marker = event(&t, &ns, "marker", "Deployment", "web", &d);
    let later = f.records_until("the new children's events and the marker", |rs| {
        let got = occ_set_lossy(rs);
        got.is_superset(&new) && got.contains(&marker)
    });
    let stopped = f.stop();
    stopped.assert_exit_0("kev --tree -w");
    let mut all = occ_set(&first);
    all.extend(occ_set(&later));
    want.extend(new);
    want.insert(marker);
    assert_eq!(all, want, "following: the tree, new children included");
    assert!(all.is_disjoint(&outside), "nothing outside the tree");
}

fn occ_set_lossy(rs: &[Value]) -> BTreeSet<Occ> {
    rs.iter().map(occ).collect()
}

#[test]
fn tree_without_rights_on_pods_is_one_line_naming_the_verb_and_resource() {
    let t = TestEnv::shared("tree-rbac");
    // ns-reader may read events in kev-e2e-allowed, and nothing else.
    let run = Run::of(t.kev_as("ns-reader").args([
        "-n",
        "kev-e2e-allowed",
        "--for",
        "deploy/web",
        "--tree",
    ]));
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(run.stdout, "");
    let line = one_line(&run.stderr);
    assert!(
        line.contains("--tree") && line.contains("\"list\"") && line.contains("\"pods\""),
        "names --tree, the verb and the resource: {line}"
    );
}
