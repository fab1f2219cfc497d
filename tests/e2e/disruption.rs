//! Following through disruption: an apiserver restart, and etcd compaction
//! while kev is cut off (it must meet `410 Gone`, relist, and print exactly
//! the occurrences it missed). Both tests disturb the shared control plane,
//! so they run alone ([`TestEnv::exclusive`]).
//!
//! "Nothing repeated" is checked without waiting for silence: after the
//! expected records, a sentinel event is written; anything kev repeated
//! would be printed before it.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::events::{ago, base_time, secs};
use crate::support::{Created, Ev, Follower, Obj, Occ, Proxy, TestEnv, occ, occ_set};

fn occs(created: &[&Created]) -> BTreeSet<Occ> {
    created.iter().map(|c| c.occ()).collect()
}

/// Read records until every one of `want` has been printed; returns them all.
fn read_all(kev: &mut Follower, want: &BTreeSet<Occ>, what: &str) -> Vec<Value> {
    kev.records_until(what, |rs| {
        let seen: BTreeSet<Occ> = rs.iter().map(occ).collect();
        want.is_subset(&seen)
    })
}

#[test]
fn watch_survives_apiserver_restart() {
    let mut t = TestEnv::exclusive("restart");
    let ns = t.namespace("a");
    let base = base_time();
    let at = |h: i64| ago(base, h * 60);
    let pod = Obj::pod("web");
    let e0 = t
        .admin
        .create(&ns, &Ev::core("e0", &pod).legacy(1, at(12), at(12)));

    let mut kev = Follower::spawn({
        let mut c = t.kev();
        c.args(["-n", &ns, "-w", "-o", "ndjson", "-v"]);
        c
    });
    let listed = kev.records_through(&e0.occ());

    let pid = || std::fs::read_to_string(t.cp.dir.join("kube-apiserver.pid")).expect("pid file");
    let before = pid();
    t.cp.script(&["restart-apiserver"]);
    assert_ne!(pid(), before, "a new kube-apiserver process");
    t.reconnect();

    let e1 = t
        .admin
        .create(&ns, &Ev::core("e1", &pod).legacy(1, at(11), at(11)));
    let e2 = t.admin.create(&ns, &Ev::v1("e2", &pod, at(10)));
    let e0b = t.admin.patch_core(
        &ns,
        "e0",
        &json!({"count": 2, "lastTimestamp": secs(at(9))}),
    );
    let want = occs(&[&e1, &e2, &e0b]);
    let after = read_all(&mut kev, &want, "the events written after the restart");
    assert_eq!(
        occ_set(&after),
        want,
        "exactly the new occurrences, once each"
    );

    let sentinel = t
        .admin
        .create(&ns, &Ev::core("sentinel", &pod).legacy(1, at(8), at(8)));
    let rest = kev.records_through(&sentinel.occ());
    assert_eq!(rest.len(), 1, "nothing repeated: {rest:?}");
    occ_set(&[listed, after, rest].concat());
    kev.assert_running();
}

#[test]
fn watch_recovers_from_compaction_while_cut_off() {
    let t = TestEnv::exclusive("compaction");
    let ns = t.namespace("a");
    let base = base_time();
    let at = |h: i64| ago(base, h * 60);
    let pod = Obj::pod("web");
    let proxy = Proxy::start(t.cp.apiserver_addr());
    let kubeconfig = t.kubeconfig_via(proxy.addr());

    let e0 = t
        .admin
        .create(&ns, &Ev::core("e0", &pod).legacy(1, at(20), at(20)));
    let e1 = t
        .admin
        .create(&ns, &Ev::core("e1", &pod).legacy(1, at(19), at(19)));
    let mut kev = Follower::spawn({
        let mut c = t.kev_with_kubeconfig(&kubeconfig);
        c.args(["-n", &ns, "-w", "-o", "ndjson", "-v"]);
        c
    });
    let listed = read_all(&mut kev, &occs(&[&e0, &e1]), "the listed events");
    // One through the watch, so kev's resourceVersion is that of a watch event.
    let e2 = t
        .admin
        .create(&ns, &Ev::core("e2", &pod).legacy(1, at(18), at(18)));
    let watched = kev.records_through(&e2.occ());
    assert_eq!(watched.len(), 1, "{watched:?}");

    proxy.cut();
    let e3 = t.admin.create(
        &ns,
        &Ev::core("e3", &pod).ty("Warning").legacy(1, at(17), at(17)),
    );
    let e4 = t.admin.create(&ns, &Ev::v1("e4", &pod, at(16)));
    let e5 = t
        .admin
        .create(&ns, &Ev::core("e5", &pod).legacy(3, at(30), at(15)));
    let e1b = t.admin.patch_core(
        &ns,
        "e1",
        &json!({"count": 2, "lastTimestamp": secs(at(14))}),
    );
    let revision = t.cp.etcd_revision();
    t.cp.etcdctl(&["compact", &revision.to_string()]);
    proxy.restore();

    let want = occs(&[&e3, &e4, &e5, &e1b]);
    let missed = read_all(&mut kev, &want, "the occurrences written while cut off");
    assert_eq!(
        occ_set(&missed),
        want,
        "exactly the missed occurrences, once each (e0, e1, e2 not repeated)"
    );
    let sentinel = t
        .admin
        .create(&ns, &Ev::core("sentinel", &pod).legacy(1, at(13), at(13)));
    let rest = kev.records_through(&sentinel.occ());
    assert_eq!(rest.len(), 1, "nothing repeated: {rest:?}");
    occ_set(&[listed, watched, missed, rest].concat());

    let stderr = kev.stderr();
    assert!(
        stderr.contains("410"),
        "kev met 410 Gone and relisted; stderr:\n{stderr}"
    );
    kev.assert_running();
}
