//! Following with `-w`: events created after kev started, and updates in
//! place (a repeat: new count, new resourceVersion) shown as new rows.
//!
//! Times here are hours ago, where kubectl's ages read whole hours (`10h`),
//! so a row's text does not depend on how long the test takes.

use serde_json::{Value, json};

use crate::support::events::{ago, base_time, micro, micros, secs};
use crate::support::{Ev, Follower, Obj, Occ, TestEnv, cells, occ, occ_set};

fn hours(base: chrono::DateTime<chrono::Utc>, h: i64) -> chrono::DateTime<chrono::Utc> {
    ago(base, h * 60)
}

#[test]
fn watch_table_shows_new_events_and_updates() {
    let t = TestEnv::shared("watch-table");
    let ns = t.namespace("a");
    let base = base_time();
    let h = |n| hours(base, n);
    let pod = Obj::pod("web");
    t.admin
        .create(&ns, &Ev::core("e0", &pod).legacy(1, h(12), h(12)));

    let mut kev = Follower::spawn({
        let mut c = t.kev();
        c.args(["-n", &ns, "-w"]);
        c
    });
    let listed = kev.lines_until("the listed event", |l| l.len() == 2);
    let listed: Vec<Vec<String>> = listed.iter().map(|l| cells(l)).collect();
    assert_eq!(
        listed,
        [
            ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
            ["12h", "Normal", "Tested", "Pod/web", "core event e0"]
        ]
    );

    // Created after kev listed: arrive through the watch.
    t.admin.create(
        &ns,
        &Ev::core("e1", &pod).ty("Warning").legacy(1, h(11), h(11)),
    );
    t.admin.create(
        &ns,
        &Ev::v1("e2", &pod, micro(h(20))).series(3, micro(h(10))),
    );
    let rows = kev.lines_until("two new rows", |l| l.len() == 2);
    let rows: Vec<Vec<String>> = rows.iter().map(|l| cells(l)).collect();
    assert_eq!(
        rows,
        [
            ["11h", "Warning", "Tested", "Pod/web", "core event e1"],
            [
                "10h (x3 over 20h)",
                "Normal",
                "Tested",
                "Pod/web",
                "events.k8s.io event e2"
            ],
        ]
    );

    // Repeats, as each recorder writes them: a new row each.
    t.admin
        .patch_core(&ns, "e1", &json!({"count": 2, "lastTimestamp": secs(h(9))}));
    t.admin.patch_events_v1(
        &ns,
        "e2",
        &json!({"series": {"count": 4, "lastObservedTime": micros(micro(h(8)))}}),
    );
    let rows = kev.lines_until("two updated rows", |l| l.len() == 2);
    let rows: Vec<Vec<String>> = rows.iter().map(|l| cells(l)).collect();
    assert_eq!(
        rows,
        [
            [
                "9h (x2 over 11h)",
                "Warning",
                "Tested",
                "Pod/web",
                "core event e1"
            ],
            [
                "8h (x4 over 20h)",
                "Normal",
                "Tested",
                "Pod/web",
                "events.k8s.io event e2"
            ],
        ]
    );
    kev.assert_running();
}

/// The records read, as occurrences, with their watch types.
fn typed(records: &[Value]) -> Vec<(Occ, Value)> {
    records
        .iter()
        .map(|r| (occ(r), r["watchType"].clone()))
        .collect()
}

#[test]
fn watch_ndjson_updates_are_modified_records_without_repeats() {
    let t = TestEnv::shared("watch-ndjson");
    let ns = t.namespace("a");
    let base = base_time();
    let h = |n| hours(base, n);
    let pod = Obj::pod("web");
    let e0 = t
        .admin
        .create(&ns, &Ev::core("e0", &pod).legacy(1, h(12), h(12)));

    let mut kev = Follower::spawn({
        let mut c = t.kev();
        c.args(["-n", &ns, "-w", "-o", "ndjson"]);
        c
    });
    let listed = kev.records_through(&e0.occ());
    assert_eq!(
        typed(&listed),
        [(e0.occ(), Value::Null)],
        "listed: watchType null"
    );

    let e1 = t
        .admin
        .create(&ns, &Ev::core("e1", &pod).legacy(1, h(11), h(11)));
    let e2 = t.admin.create(
        &ns,
        &Ev::v1("e2", &pod, micro(h(20))).series(2, micro(h(10))),
    );
    let added = kev.records_until("e1 and e2", |r| r.len() == 2);
    assert_eq!(
        typed(&added),
        [(e1.occ(), json!("ADDED")), (e2.occ(), json!("ADDED"))]
    );

    let e1b = t
        .admin
        .patch_core(&ns, "e1", &json!({"count": 2, "lastTimestamp": secs(h(9))}));
    let e2b = t.admin.patch_events_v1(
        &ns,
        "e2",
        &json!({"series": {"count": 3, "lastObservedTime": micros(micro(h(8)))}}),
    );
    assert_eq!((&e1b.uid, &e2b.uid), (&e1.uid, &e2.uid), "updated in place");
    assert_ne!(e1b.resource_version, e1.resource_version);
    let modified = kev.records_until("e1 and e2 updated", |r| r.len() == 2);
    assert_eq!(
        typed(&modified),
        [
            (e1b.occ(), json!("MODIFIED")),
            (e2b.occ(), json!("MODIFIED"))
        ]
    );
    assert_eq!(
        (&modified[0]["count"], &modified[0]["lastSeen"]),
        (&json!(2), &json!(secs(h(9))))
    );
    assert_eq!(modified[1]["count"], 3);

    // Anything repeated would come before a later event: nothing does.
    let sentinel = t
        .admin
        .create(&ns, &Ev::core("sentinel", &pod).legacy(1, h(7), h(7)));
    let rest = kev.records_through(&sentinel.occ());
    assert_eq!(typed(&rest), [(sentinel.occ(), json!("ADDED"))]);
    occ_set(&[listed, added, modified, rest].concat());
    kev.assert_running();
}

#[test]
fn watch_only_shows_only_events_written_after_start() {
    let t = TestEnv::shared("watch-only");
    let ns = t.namespace("a");
    let base = base_time();
    let h = |n| hours(base, n);
    let pod = Obj::pod("web");
    let old = t
        .admin
        .create(&ns, &Ev::core("old", &pod).legacy(1, h(12), h(12)));

    let mut kev = Follower::spawn({
        let mut c = t.kev();
        c.args(["-n", &ns, "--watch-only", "-o", "ndjson", "-v"]);
        c
    });
    // Whatever is written once the watch is open must be shown.
    kev.wait_stderr("watch opened");
    let new = t
        .admin
        .create(&ns, &Ev::core("new", &pod).legacy(1, h(11), h(11)));
    let old_b = t.admin.patch_core(
        &ns,
        "old",
        &json!({"count": 2, "lastTimestamp": secs(h(10))}),
    );
    let got = kev.records_through(&old_b.occ());
    assert_eq!(
        typed(&got),
        [
            (new.occ(), json!("ADDED")),
            (old_b.occ(), json!("MODIFIED"))
        ],
        "only what happened after the start; never {:?}",
        old.occ()
    );
    kev.assert_running();
}
