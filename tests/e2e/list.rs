//! Listing: events written through both API groups, `-n` and `-A`, `--for`,
//! `--types`, and kev's table against `kubectl events` on the same events.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::events::{ago, base_time, micro, rfc3339, secs};
use crate::support::{
    Created, Ev, Obj, Occ, Run, TestEnv, cells, in_namespaces, occ, occ_set, records,
};

fn occs(created: &[&Created]) -> BTreeSet<Occ> {
    created.iter().map(|c| c.occ()).collect()
}

fn by_name<'a>(records: &'a [Value], name: &str) -> &'a Value {
    let mut it = records.iter().filter(|r| r["name"] == name);
    let r = it
        .next()
        .unwrap_or_else(|| panic!("no record named {name}"));
    assert!(it.next().is_none(), "{name} printed twice");
    r
}

/// kev `-o ndjson` for ARGS, as records.
fn ndjson(t: &TestEnv, args: &[&str]) -> Vec<Value> {
    records(&Run::ok(t.kev().args(args).args(["-o", "ndjson"])))
}

#[test]
fn core_and_events_v1_events_appear_once_with_last_seen_and_count() {
    let t = TestEnv::shared("api-versions");
    let ns = t.namespace("a");
    let bare_ns = t.namespace("b");
    let pod = Obj::pod("web-1");
    let base = base_time();

    // core/v1, legacy recorder: count/firstTimestamp/lastTimestamp.
    let legacy_once = t.admin.create(
        &ns,
        &Ev::core("legacy-once", &pod).legacy(1, ago(base, 50), ago(base, 50)),
    );
    let legacy_repeated = t.admin.create(
        &ns,
        &Ev::core("legacy-repeated", &pod)
            .ty("Warning")
            .reason("BackOff")
            .legacy(4, ago(base, 90), ago(base, 40)),
    );
    // events.k8s.io/v1, newer recorder: eventTime, then series for repeats.
    let v1_once = t
        .admin
        .create(&ns, &Ev::v1("v1-once", &pod, micro(ago(base, 30))));
    let v1_series = t.admin.create(
        &ns,
        &Ev::v1("v1-series", &pod, micro(ago(base, 80)))
            .ty("Warning")
            .reason("Unhealthy")
            .series(7, micro(ago(base, 20))),
    );
    // core/v1 carrying both: series wins over the deprecated legacy fields.
    let mixed = t.admin.create(
        &ns,
        &Ev::core("core-mixed", &pod)
            .event_time(micro(ago(base, 70)))
            .series(2, micro(ago(base, 15)))
            .legacy(9, ago(base, 100), ago(base, 60)),
    );
    // core/v1 with no timestamps at all: creationTimestamp is all there is.
    let bare = t.admin.create(&bare_ns, &Ev::core("bare", &pod));

    let got = ndjson(&t, &["-n", &ns]);
    assert_eq!(
        occ_set(&got),
        occs(&[&legacy_once, &legacy_repeated, &v1_once, &v1_series, &mixed])
    );
    let order: Vec<&str> = got.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        order,
        [
            "legacy-once",
            "legacy-repeated",
            "v1-once",
            "v1-series",
            "core-mixed"
        ],
        "sorted by last seen, oldest first"
    );
    // The same in pages of two (continue tokens against the real apiserver).
    let paged = ndjson(&t, &["-n", &ns, "--chunk-size", "2"]);
    assert_eq!(
        paged.iter().map(occ).collect::<Vec<_>>(),
        got.iter().map(occ).collect::<Vec<_>>(),
        "--chunk-size 2"
    );
    for r in &got {
        assert_eq!(r["watchType"], Value::Null, "listed, not watched: {r}");
        assert_eq!(r["namespace"], ns.as_str());
        assert_eq!(r["object"]["kind"], "Pod");
        assert_eq!(r["object"]["name"], "web-1");
    }
    let check = |name: &str, count: i64, first: String, last: String| {
        let r = by_name(&got, name);
        assert_eq!(
            (&r["count"], &r["firstSeen"], &r["lastSeen"]),
            (&json!(count), &json!(first), &json!(last)),
            "count, firstSeen, lastSeen of {name}: {r}"
        );
    };
    check("legacy-once", 1, secs(ago(base, 50)), secs(ago(base, 50)));
    check(
        "legacy-repeated",
        4,
        secs(ago(base, 90)),
        secs(ago(base, 40)),
    );
    check(
        "v1-once",
        1,
        rfc3339(micro(ago(base, 30))),
        rfc3339(micro(ago(base, 30))),
    );
    check(
        "v1-series",
        7,
        rfc3339(micro(ago(base, 80))),
        rfc3339(micro(ago(base, 20))),
    );
    check(
        "core-mixed",
        2,
        rfc3339(micro(ago(base, 70))),
        rfc3339(micro(ago(base, 15))),
    );

    let v1 = by_name(&got, "v1-series");
    assert_eq!(
        v1["message"], "events.k8s.io event v1-series",
        "note → message"
    );
    assert_eq!(v1["reportingController"], "kev-e2e/recorder");
    assert_eq!(v1["reportingInstance"], "kev-e2e-1");
    assert_eq!(v1["action"], "Testing");
    assert_eq!(v1["eventTime"], rfc3339(micro(ago(base, 80))));
    assert_eq!(
        v1["series"],
        json!({"count": 7, "lastObservedTime": rfc3339(micro(ago(base, 20)))})
    );
    assert_eq!(v1["source"], Value::Null, "an empty source is null");
    let legacy = by_name(&got, "legacy-repeated");
    assert_eq!(
        legacy["source"],
        json!({"component": "kev-e2e", "host": null})
    );
    assert_eq!(
        (&legacy["eventTime"], &legacy["series"]),
        (&Value::Null, &Value::Null)
    );

    let got = ndjson(&t, &["-n", &bare_ns]);
    assert_eq!(occ_set(&got), occs(&[&bare]));
    let r = &got[0];
    assert_eq!(
        (&r["count"], &r["firstSeen"], &r["lastSeen"]),
        (
            &json!(1),
            &json!(bare.creation_timestamp),
            &json!(bare.creation_timestamp)
        ),
        "no timestamps: creationTimestamp, never a zero time: {r}"
    );

    let table = Run::ok(t.kev().args(["-n", &ns]));
    let rows: Vec<Vec<String>> = table.lines().map(cells).collect();
    let want: Vec<Vec<&str>> = vec![
        vec!["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        vec![
            "50m",
            "Normal",
            "Tested",
            "Pod/web-1",
            "core event legacy-once",
        ],
        vec![
            "40m (x4 over 90m)",
            "Warning",
            "BackOff",
            "Pod/web-1",
            "core event legacy-repeated",
        ],
        vec![
            "30m",
            "Normal",
            "Tested",
            "Pod/web-1",
            "events.k8s.io event v1-once",
        ],
        vec![
            "20m (x7 over 80m)",
            "Warning",
            "Unhealthy",
            "Pod/web-1",
            "events.k8s.io event v1-series",
        ],
        vec![
            "15m (x2 over 70m)",
            "Normal",
            "Tested",
            "Pod/web-1",
            "core event core-mixed",
        ],
    ];
    assert_eq!(rows, want, "\n{table}");
}

#[test]
fn namespace_and_all_namespaces() {
    let t = TestEnv::shared("ns-all");
    let a = t.namespace("a");
    let b = t.namespace("b");
    let base = base_time();
    let in_a = [
        t.admin.create(
            &a,
            &Ev::core("a1", &Obj::pod("p")).legacy(1, ago(base, 20), ago(base, 20)),
        ),
        t.admin
            .create(&a, &Ev::v1("a2", &Obj::pod("p"), micro(ago(base, 19)))),
    ];
    let in_b = [
        t.admin.create(
            &b,
            &Ev::core("b1", &Obj::pod("p")).legacy(3, ago(base, 40), ago(base, 18)),
        ),
        t.admin.create(
            &b,
            &Ev::v1("b2", &Obj::pod("p"), micro(ago(base, 30))).series(2, micro(ago(base, 17))),
        ),
    ];
    let set_a = occs(&in_a.iter().collect::<Vec<_>>());
    let set_b = occs(&in_b.iter().collect::<Vec<_>>());

    assert_eq!(occ_set(&ndjson(&t, &["-n", &a])), set_a);
    assert_eq!(occ_set(&ndjson(&t, &["--namespace", &b])), set_b);
    let all = ndjson(&t, &["-A"]);
    occ_set(&all); // nothing repeated, in any namespace
    let ours = in_namespaces(&all, &[&a, &b]);
    assert_eq!(occ_set(&ours), set_a.union(&set_b).cloned().collect());
    let order: Vec<&str> = ours.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(
        order,
        ["a1", "a2", "b1", "b2"],
        "oldest first across namespaces"
    );

    let table = Run::ok(t.kev().args(["-n", &a]));
    assert_eq!(cells(table.lines().next().unwrap())[0], "LAST SEEN");
    assert_eq!(table.lines().count(), 3, "\n{table}");
    let table = Run::ok(t.kev().args(["--all-namespaces"]));
    assert_eq!(
        cells(table.lines().next().unwrap()),
        [
            "NAMESPACE",
            "LAST SEEN",
            "TYPE",
            "REASON",
            "OBJECT",
            "MESSAGE"
        ]
    );
    let mine: Vec<Vec<String>> = table
        .lines()
        .map(cells)
        .filter(|c| c[0] == a || c[0] == b)
        .collect();
    let want = [
        [
            a.as_str(),
            "20m",
            "Normal",
            "Tested",
            "Pod/p",
            "core event a1",
        ],
        [
            a.as_str(),
            "19m",
            "Normal",
            "Tested",
            "Pod/p",
            "events.k8s.io event a2",
        ],
        [
            b.as_str(),
            "18m (x3 over 40m)",
            "Normal",
            "Tested",
            "Pod/p",
            "core event b1",
        ],
        [
            b.as_str(),
            "17m (x2 over 30m)",
            "Normal",
            "Tested",
            "Pod/p",
            "events.k8s.io event b2",
        ],
    ];
    assert_eq!(mine, want, "\n{table}");
}

#[test]
fn for_selects_one_object() {
    let t = TestEnv::shared("for");
    let ns = t.namespace("a");
    let base = base_time();
    let at = |m| ago(base, m);
    let pod = [
        t.admin.create(
            &ns,
            &Ev::core("pod-web", &Obj::pod("web")).legacy(1, at(50), at(50)),
        ),
        t.admin
            .create(&ns, &Ev::v1("pod-web-v1", &Obj::pod("web"), micro(at(49)))),
    ];
    let deploy = [
        t.admin.create(
            &ns,
            &Ev::core("deploy-web", &Obj::deployment("web")).legacy(2, at(60), at(48)),
        ),
        t.admin.create(
            &ns,
            &Ev::v1("deploy-web-v1", &Obj::deployment("web"), micro(at(47))),
        ),
    ];
    let rs = t.admin.create(
        &ns,
        &Ev::core("rs-web", &Obj::replicaset("web")).legacy(1, at(46), at(46)),
    );
    // Same kind, other names: never selected.
    t.admin.create(
        &ns,
        &Ev::core("pod-web-2", &Obj::pod("web-2")).legacy(1, at(45), at(45)),
    );
    t.admin.create(
        &ns,
        &Ev::core("deploy-other", &Obj::deployment("other")).legacy(1, at(44), at(44)),
    );

    let pods = occs(&pod.iter().collect::<Vec<_>>());
    let deploys = occs(&deploy.iter().collect::<Vec<_>>());
    for spec in ["pod/web", "po/web", "pods/web", "Pod/web"] {
        assert_eq!(
            occ_set(&ndjson(&t, &["-n", &ns, "--for", spec])),
            pods,
            "--for {spec}"
        );
    }
    for spec in [
        "deploy/web",
        "deployment/web",
        "deployments.apps/web",
        "Deployment/web",
    ] {
        assert_eq!(
            occ_set(&ndjson(&t, &["-n", &ns, "--for", spec])),
            deploys,
            "--for {spec}"
        );
    }
    assert_eq!(
        occ_set(&ndjson(&t, &["-n", &ns, "--for", "rs/web"])),
        occs(&[&rs]),
        "--for rs/web"
    );
    let table = Run::ok(t.kev().args(["-n", &ns, "--for", "deploy/web"]));
    let rows: Vec<Vec<String>> = table.lines().skip(1).map(cells).collect();
    assert_eq!(
        rows,
        [
            [
                "48m (x2 over 60m)",
                "Normal",
                "Tested",
                "Deployment/web",
                "core event deploy-web"
            ],
            [
                "47m",
                "Normal",
                "Tested",
                "Deployment/web",
                "events.k8s.io event deploy-web-v1"
            ],
        ],
        "\n{table}"
    );
}

#[test]
fn types_selects_normal_or_warning() {
    let t = TestEnv::shared("types");
    let ns = t.namespace("a");
    let base = base_time();
    let p = Obj::pod("p");
    let normal = [
        t.admin.create(
            &ns,
            &Ev::core("n1", &p).legacy(1, ago(base, 30), ago(base, 30)),
        ),
        t.admin.create(&ns, &Ev::v1("n2", &p, micro(ago(base, 29)))),
    ];
    let warning = [
        t.admin.create(
            &ns,
            &Ev::core("w1", &p)
                .ty("Warning")
                .legacy(5, ago(base, 40), ago(base, 28)),
        ),
        t.admin.create(
            &ns,
            &Ev::v1("w2", &p, micro(ago(base, 50)))
                .ty("Warning")
                .series(3, micro(ago(base, 27))),
        ),
    ];
    let normal = occs(&normal.iter().collect::<Vec<_>>());
    let warning = occs(&warning.iter().collect::<Vec<_>>());
    let both: BTreeSet<Occ> = normal.union(&warning).cloned().collect();

    assert_eq!(
        occ_set(&ndjson(&t, &["-n", &ns, "--types", "Warning"])),
        warning
    );
    assert_eq!(
        occ_set(&ndjson(&t, &["-n", &ns, "--types", "Normal"])),
        normal
    );
    assert_eq!(
        occ_set(&ndjson(&t, &["-n", &ns, "--types", "Normal,Warning"])),
        both
    );
    assert_eq!(occ_set(&ndjson(&t, &["-n", &ns])), both);
    let all = ndjson(&t, &["-A", "--types", "Warning"]);
    assert!(
        all.iter().all(|r| r["type"] == "Warning"),
        "only warnings in -A"
    );
    assert_eq!(occ_set(&in_namespaces(&all, &[&ns])), warning);
}

/// kubectl events, as admin, with a clean environment.
fn kubectl_events(t: &TestEnv, args: &[&str]) -> String {
    Run::ok(t.kubectl().arg("events").args(args))
}

/// Rows (as cells) of an `-A` table that belong to the given namespaces,
/// in order.
fn rows_in(table: &str, namespaces: &[&str]) -> Vec<Vec<String>> {
    table
        .lines()
        .map(cells)
        .filter(|c| namespaces.contains(&c[0].as_str()))
        .collect()
}

#[test]
fn table_matches_kubectl_events() {
    let t = TestEnv::shared("vs-kubectl");
    let a = t.namespace("a");
    let b = t.namespace("b");
    let base = base_time();
    let at = |m| ago(base, m);
    let (web1, deploy) = (Obj::pod("web-1"), Obj::deployment("web"));
    // Every last-seen time distinct: kubectl's sort is not stable.
    for (ns, ev) in [
        (
            &a,
            Ev::core("a-legacy-once", &web1).legacy(1, at(55), at(55)),
        ),
        (
            &a,
            Ev::core("a-legacy-rep", &web1)
                .ty("Warning")
                .reason("BackOff")
                .legacy(6, at(95), at(45)),
        ),
        (
            &a,
            Ev::v1("a-v1-series", &deploy, micro(at(85)))
                .reason("ScalingReplicaSet")
                .series(3, micro(at(35))),
        ),
        (
            &a,
            Ev::core("a-mixed", &web1)
                .event_time(micro(at(65)))
                .series(2, micro(at(25)))
                .legacy(4, at(99), at(98)),
        ),
        (
            &a,
            Ev::v1("a-v1-once", &deploy, micro(at(12)))
                .ty("Warning")
                .reason("Failed"),
        ),
        (
            &b,
            Ev::core("b-legacy-once", &web1).legacy(1, at(50), at(50)),
        ),
        (
            &b,
            Ev::v1("b-v1-series", &web1, micro(at(60)))
                .ty("Warning")
                .series(5, micro(at(30))),
        ),
        (
            &b,
            Ev::core("b-legacy-rep", &deploy)
                .message("scaled up to 3")
                .legacy(2, at(40), at(20)),
        ),
    ] {
        t.admin.create(ns, &ev);
    }

    // One namespace: every byte the same, header and padding included.
    for args in [
        vec!["-n", a.as_str()],
        vec!["-n", b.as_str()],
        vec!["-n", a.as_str(), "--for", "deploy/web"],
        vec!["-n", a.as_str(), "--for", "pod/web-1"],
        vec!["-n", a.as_str(), "--types", "Warning"],
    ] {
        let kev = Run::ok(t.kev().args(&args));
        let kubectl = kubectl_events(&t, &args);
        assert_eq!(kev, kubectl, "kev vs kubectl events {args:?}");
        assert!(
            kev.lines().count() >= 2,
            "{args:?}: something listed\n{kev}"
        );
    }

    // All namespaces: other tests' events interleave, so compare our rows.
    for extra in [vec![], vec!["--types", "Warning"]] {
        let kev = Run::ok(t.kev().arg("-A").args(&extra));
        let kubectl = kubectl_events(&t, &[&["-A"], &extra[..]].concat());
        assert_eq!(
            cells(kev.lines().next().unwrap()),
            cells(kubectl.lines().next().unwrap())
        );
        let (kev_rows, kubectl_rows) = (rows_in(&kev, &[&a, &b]), rows_in(&kubectl, &[&a, &b]));
        assert_eq!(
            kev_rows, kubectl_rows,
            "kev -A {extra:?} vs kubectl events -A {extra:?}"
        );
        let want = if extra.is_empty() { 8 } else { 3 };
        assert_eq!(kev_rows.len(), want, "\n{kev}");
    }
}

/// `kev -o json --list` prints what `kubectl events -o json` prints, byte
/// for byte (the Event objects in one EventList, managed fields omitted or,
/// with `--show-managed-fields`, kept); `-o yaml --list` the same data as
/// `kubectl events -o yaml`.
#[test]
fn json_list_matches_kubectl_events_json() {
    let t = TestEnv::shared("vs-kubectl-json");
    let a = t.namespace("a");
    let empty = t.namespace("empty");
    let base = base_time();
    let at = |m| ago(base, m);
    let (web1, deploy) = (Obj::pod("web-1"), Obj::deployment("web"));
    // Every last-seen time distinct: kubectl's sort is not stable.
    for ev in [
        Ev::core("legacy-once", &web1)
            .message("pulled <image> & \"started\"\ttab")
            .legacy(1, at(55), at(55)),
        Ev::core("legacy-rep", &web1)
            .ty("Warning")
            .reason("BackOff")
            .legacy(6, at(95), at(45)),
        Ev::v1("v1-series", &deploy, micro(at(85)))
            .reason("ScalingReplicaSet")
            .series(3, micro(at(35))),
        Ev::v1("v1-once", &deploy, micro(at(12)))
            .ty("Warning")
            .reason("Failed")
            .message("bidi \u{202e} and é"),
    ] {
        t.admin.create(&a, &ev);
    }

    for args in [
        vec!["-n", a.as_str()],
        vec!["-n", a.as_str(), "--for", "deploy/web"],
        vec!["-n", a.as_str(), "--types", "Warning"],
        vec!["-n", a.as_str(), "--show-managed-fields"],
    ] {
        let kev = Run::ok(t.kev().args(&args).args(["-o", "json", "--list"]));
        let kubectl = kubectl_events(&t, &[&args[..], &["-o", "json"]].concat());
        assert_eq!(
            kev, kubectl,
            "kev -o json --list vs kubectl events -o json {args:?}"
        );
        let list: Value = serde_json::from_str(&kev).expect("one JSON document");
        assert_eq!(list["kind"], "EventList");
        assert!(
            !list["items"].as_array().expect("items").is_empty(),
            "{args:?}: something listed\n{kev}"
        );
        let managed = kev.contains("\"managedFields\"");
        assert_eq!(
            managed,
            args.contains(&"--show-managed-fields"),
            "{args:?}: managed fields only with --show-managed-fields"
        );

        let kev = Run::ok(t.kev().args(&args).args(["-o", "yaml", "--list"]));
        let kubectl = kubectl_events(&t, &[&args[..], &["-o", "yaml"]].concat());
        let parse = |text: &str| -> Value {
            serde_norway::from_str(text).unwrap_or_else(|e| panic!("not YAML ({e}):\n{text}"))
        };
        assert_eq!(
            parse(&kev),
            parse(&kubectl),
            "kev -o yaml --list vs kubectl events -o yaml {args:?}"
        );
    }
    let all = Run::ok(t.kev().args(["-n", a.as_str(), "-o", "json", "--list"]));
    assert!(
        all.contains(r#""message": "pulled \u003cimage\u003e \u0026 \"started\"\ttab""#),
        "Go's escapes\n{all}"
    );

    // Nothing listed: nothing on stdout, as kubectl.
    let kev = Run::ok(t.kev().args(["-n", empty.as_str(), "-o", "json", "--list"]));
    let kubectl = kubectl_events(&t, &["-n", empty.as_str(), "-o", "json"]);
    assert_eq!((kev.as_str(), kubectl.as_str()), ("", ""));
}
