//! The fleet sinks end to end: `kev run` on the real control plane into a
//! real Kafka broker and a real OpenTelemetry Collector, read back by their
//! own tools (tests/e2e/support/sinks.rs).
//!
//! Each test writes 20,000 occurrences (creates of both API groups, count
//! and series updates; [`Writer`]) while kev runs, is stopped with SIGTERM
//! and started again from its state file, and the sink's server restarts
//! under it; at the end every `(uid, resourceVersion)` written is in the
//! sink exactly once. The Kafka test then loses the state file: kev
//! recovers what the topic holds, and the relist sends nothing again.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::events::{ago, base_time};
use crate::support::sinks::{Collector, Kafka};
use crate::support::writer::MAX_WRITES;
use crate::support::{Ev, Follower, Obj, Occ, TestEnv, Writer};

/// The cluster label of the daemon's configuration.
const CLUSTER: &str = "e2e-fleet";

/// Writes between two disruptions are waited for in steps this large
/// (each well within PATIENCE at the writer's pace).
const STEP: usize = 2_000;

fn config(t: &TestEnv, ns: &str, state: &Path, sink: &str) -> PathBuf {
    let path = t.home.path().join("kev.yaml");
    let text = format!(
        "cluster: {CLUSTER}\nsource:\n  kubeconfig: {}\n  namespaces: [{ns}]\n  stateFile: {}\nsinks:\n{sink}",
        t.cp.kubeconfig("admin").display(),
        state.display()
    );
    std::fs::write(&path, text).expect("write kev.yaml");
    path
}

fn kev_run(t: &TestEnv, config: &Path) -> Follower {
    let mut cmd = t.kev_bare();
    cmd.arg("run").arg("--config").arg(config);
    Follower::spawn(cmd)
}

fn wait_written(w: &Writer, n: usize) {
    let mut at = w.written();
    while at < n {
        at = (at + STEP).min(n);
        w.wait_written(at);
    }
}

/// Poll `read` until it holds every occurrence of `want`; returns what it
/// read last.
fn read_until(
    what: &str,
    want: &BTreeSet<Occ>,
    mut read: impl FnMut() -> Vec<Occ>,
    kev: &Follower,
) -> Vec<Occ> {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let got = read();
        let have: BTreeSet<&Occ> = got.iter().collect();
        let missing = want.iter().filter(|o| !have.contains(o)).count();
        if missing == 0 {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {missing} of {} occurrences never arrived (read {}); kev's stderr:\n{}",
            want.len(),
            got.len(),
            kev.stderr()
        );
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// Panics unless `got` is `want`, each exactly once.
fn assert_exactly_once(got: &[Occ], want: &BTreeSet<Occ>, what: &str) {
    let mut counts: BTreeMap<&Occ, usize> = BTreeMap::new();
    for o in got {
        *counts.entry(o).or_default() += 1;
    }
    let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).take(5).collect();
    let missing: Vec<_> = want
        .iter()
        .filter(|o| !counts.contains_key(o))
        .take(5)
        .collect();
    let extra: Vec<_> = counts
        .keys()
        .filter(|o| !want.contains(**o))
        .take(5)
        .collect();
    assert!(
        repeated.is_empty() && missing.is_empty() && extra.is_empty(),
        "{what}: {} delivered for {} wanted; repeated (first 5) {repeated:?}, missing {missing:?}, not written {extra:?}",
        got.len(),
        want.len()
    );
}

/// Write events before kev starts (its listing), start it, write 20,000
/// occurrences with a SIGTERM restart of kev and `disrupt` (the sink's
/// server restarting) in the middle; returns kev (running) and every
/// occurrence written.
fn stream(
    t: &TestEnv,
    ns: &str,
    config: &Path,
    read: &mut dyn FnMut() -> Vec<Occ>,
    disrupt: &dyn Fn(),
) -> (Follower, BTreeSet<Occ>) {
    let base = base_time();
    let pod = Obj::pod("web");
    let mut want: BTreeSet<Occ> = (0..20)
        .map(|i| {
            let ev = Ev::core(&format!("before-{i}"), &pod).legacy(1, ago(base, 60), ago(base, 59));
            t.admin.create(ns, &ev).occ()
        })
        .collect();
    let kev = kev_run(t, config);
    read_until("the listing", &want, &mut *read, &kev);
    let writer = Writer::start(t.cp.kubeconfig("admin"), &[ns.to_string()]);
    wait_written(&writer, MAX_WRITES / 4);
    let stopped = kev.stop();
    stopped.assert_exit_0("kev run, stopped mid-stream");
    let kev = kev_run(t, config);
    wait_written(&writer, MAX_WRITES / 2);
    let started = Instant::now();
    disrupt();
    eprintln!("the sink's server restarted in {:?}", started.elapsed());
    wait_written(&writer, MAX_WRITES);
    let written = writer.stop();
    assert_eq!(written.len(), MAX_WRITES, "the writer wrote all it should");
    want.extend(written.iter().map(|w| w.occ()));
    let sentinel = Ev::core("sentinel", &pod).legacy(1, ago(base, 1), ago(base, 1));
    want.insert(t.admin.create(ns, &sentinel).occ());
    (kev, want)
}

#[test]
fn kafka_gets_every_occurrence_once_across_kev_and_broker_restarts_and_a_lost_state_file() {
    let t = TestEnv::shared("kafka");
    let kafka = Kafka::get();
    let ns = t.namespace("k");
    let topic = t.unique("kev-e2e");
    kafka.create_topic(&topic, 3);
    let state = t.home.path().join("state.json");
    let sink = format!(
        "  - name: kafka\n    type: kafka\n    brokers: [\"{}\"]\n    topic: {topic}\n",
        kafka.bootstrap
    );
    let config = config(&t, &ns, &state, &sink);
    let mut read = || {
        kafka
            .consume(&topic)
            .iter()
            .map(|r| r.occ())
            .collect::<Vec<_>>()
    };
    let (kev, mut want) = stream(&t, &ns, &config, &mut read, &|| kafka.restart());
    read_until("after the broker restart", &want, &mut read, &kev);
    kev.stop().assert_exit_0("kev run, at the end");

    let records = kafka.consume(&topic);
    let got: Vec<Occ> = records.iter().map(|r| r.occ()).collect();
    assert_exactly_once(
        &got,
        &want,
        "Kafka, across a kev restart and a broker restart",
    );
    // Keys, headers, and one partition per event, in order.
    let mut partition_of: BTreeMap<String, u32> = BTreeMap::new();
    let mut last: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in &records {
        let (uid, rv) = r.occ();
        assert_eq!(r.key.as_deref(), Some(uid.as_str()), "the key is the uid");
        assert_eq!(r.header("kev-schema"), Some("kev/v1"));
        assert_eq!(r.header("kev-cluster"), Some(CLUSTER));
        assert_eq!(
            r.header("kev-idempotency-key"),
            Some(format!("{uid}/{rv}").as_str())
        );
        assert_eq!(r.value["cluster"], CLUSTER);
        let p = *partition_of.entry(uid.clone()).or_insert(r.partition);
        assert_eq!(p, r.partition, "every occurrence of {uid} in one partition");
        let rv: u64 = rv.parse().expect("numeric resourceVersion");
        if let Some((offset, prev)) = last.insert(uid.clone(), (r.offset, rv)) {
            assert!(
                r.offset > offset && rv > prev,
                "{uid}: occurrences in order (offset {offset} rv {prev}, then offset {} rv {rv})",
                r.offset
            );
        }
    }

    // The state file is lost: kev relists, and skips what the topic holds.
    std::fs::remove_file(&state).expect("remove the state file");
    let kev = kev_run(&t, &config);
    kev.wait_stderr("recovered what the topic already holds");
    let base = base_time();
    let late = Ev::core("after-recovery", &Obj::pod("web")).legacy(1, ago(base, 1), ago(base, 1));
    want.insert(t.admin.create(&ns, &late).occ());
    read_until("after recovery", &want, &mut read, &kev);
    kev.stop().assert_exit_0("kev run, recovered");
    // Anything the relist sent again came before the new event, so it is
    // in the topic by now.
    let got = read();
    assert_exactly_once(
        &got,
        &want,
        "Kafka, after a lost state file and recovery from the topic",
    );
    eprintln!("{} occurrences in {topic}, each once", got.len());
}

/// Over TLS (the broker's certificate checked against the test CA) and
/// SASL/PLAIN with the password from a file, every occurrence reaches the
/// topic once; a wrong password is said in kev's log, and nothing is
/// acknowledged meanwhile.
#[test]
fn kafka_over_tls_and_sasl_delivers_and_a_wrong_password_is_said() {
    let t = TestEnv::shared("fleet-kafka-tls");
    let ns = t.namespace("a");
    let kafka = Kafka::get();
    let secure = kafka.secure();
    let topic = format!("kev-tls-{ns}");
    kafka.create_topic(&topic, 3);
    let sink = |password_file: &Path| {
        format!(
            "  - name: kafka\n    type: kafka\n    brokers: [\"{}\"]\n    topic: {topic}\n    tls:\n      caFile: {}\n    sasl:\n      mechanism: PLAIN\n      username: {}\n      passwordFile: {}\n",
            secure.bootstrap,
            secure.ca.display(),
            secure.user,
            password_file.display()
        )
    };
    let base = base_time();
    let pod = Obj::pod("web");
    let want: BTreeSet<Occ> = (0..50)
        .map(|i| {
            let ev = Ev::core(&format!("tls-{i}"), &pod).legacy(1, ago(base, 60), ago(base, 59));
            t.admin.create(&ns, &ev).occ()
        })
        .collect();

    // A wrong password: kev says so, and keeps trying.
    let wrong = t.home.path().join("wrong-password");
    std::fs::write(&wrong, "not-the-password").expect("write the password file");
    let state = t.home.path().join("wrong-state.json");
    let mut kev = kev_run(&t, &config(&t, &ns, &state, &sink(&wrong)));
    kev.wait_stderr("Authentication failed");
    kev.assert_running();
    kev.kill();
    assert!(
        kafka.consume(&topic).is_empty(),
        "nothing reached the topic with a wrong password"
    );

    let state = t.home.path().join("state.json");
    let kev = kev_run(&t, &config(&t, &ns, &state, &sink(&secure.password_file)));
    let got = read_until(
        "over TLS and SASL",
        &want,
        || kafka.consume(&topic).iter().map(|r| r.occ()).collect(),
        &kev,
    );
    assert_exactly_once(&got, &want, "over TLS and SASL");
    let stopped = kev.stop();
    stopped.assert_exit_0("kev run over TLS and SASL");
    assert!(
        !stopped.stderr.contains("Authentication failed"),
        "{}",
        stopped.stderr
    );
}

#[test]
fn the_collector_gets_every_occurrence_once_across_kev_and_collector_restarts() {
    let t = TestEnv::shared("otlp");
    let collector = Collector::get();
    let ns = t.namespace("o");
    let state = t.home.path().join("state.json");
    let sink = format!(
        "  - name: otel\n    type: otlp\n    endpoint: {}\n    batch: {{maxEvents: 500, maxWait: 200ms}}\n    retry: {{initialBackoff: 100ms, maxBackoff: 2s}}\n",
        collector.endpoint
    );
    let config = config(&t, &ns, &state, &sink);
    // The collector is shared by the suite: this test's namespace only.
    let mine = |c: &Collector| {
        c.records()
            .into_iter()
            .filter(|r| r.attr("k8s.namespace.name") == Some(ns.as_str()))
            .collect::<Vec<_>>()
    };
    let mut read = || mine(&collector).iter().map(|r| r.occ()).collect::<Vec<_>>();
    let (kev, want) = stream(&t, &ns, &config, &mut read, &|| collector.restart());
    read_until("after the collector restart", &want, &mut read, &kev);
    kev.stop().assert_exit_0("kev run, at the end");
    let records = mine(&collector);
    let got: Vec<Occ> = records.iter().map(|r| r.occ()).collect();
    assert_exactly_once(
        &got,
        &want,
        "OTLP, across a kev restart and a collector restart",
    );
    for r in &records {
        assert!(
            r.resource
                .iter()
                .any(|(k, v)| k == "k8s.cluster.name" && v["stringValue"] == CLUSTER),
            "k8s.cluster.name on the resource: {:?}",
            r.resource
        );
        assert!(
            r.record["body"]["stringValue"].is_string(),
            "the message is the body"
        );
        assert!(r.attr("k8s.event.reason").is_some());
        let severity = r.record["severityNumber"].as_u64().unwrap_or(0);
        assert!(matches!(severity, 9 | 13), "INFO or WARN: {}", r.record);
    }
    eprintln!("{} occurrences through the collector, each once", got.len());
}

#[test]
fn two_replicas_ship_once_and_kill_9_of_the_leader_loses_nothing() {
    let t = TestEnv::shared("ha");
    let kafka = Kafka::get();
    let ns = t.namespace("h");
    let topic = t.unique("kev-ha");
    kafka.create_topic(&topic, 3);
    let lease = t.unique("kev");
    let replica = |name: &str| {
        let state = t.home.path().join(format!("{name}.state.json"));
        let sink = format!(
            "  - name: kafka\n    type: kafka\n    brokers: [\"{}\"]\n    topic: {topic}\nleaderElection:\n  lease: {lease}\n  namespace: {ns}\n  identity: {name}\n  leaseDuration: 4s\n  renewEvery: 1s\n",
            kafka.bootstrap
        );
        let path = config(&t, &ns, &state, &sink);
        let moved = t.home.path().join(format!("{name}.kev.yaml"));
        std::fs::rename(&path, &moved).expect("rename kev.yaml");
        moved
    };
    let (config_a, config_b) = (replica("replica-a"), replica("replica-b"));
    let mut read = || {
        kafka
            .consume(&topic)
            .iter()
            .map(|r| r.occ())
            .collect::<Vec<_>>()
    };
    let base = base_time();
    let pod = Obj::pod("web");
    let mut want: BTreeSet<Occ> = (0..20)
        .map(|i| {
            let ev = Ev::core(&format!("before-{i}"), &pod).legacy(1, ago(base, 60), ago(base, 59));
            t.admin.create(&ns, &ev).occ()
        })
        .collect();
    let a = kev_run(&t, &config_a);
    a.wait_stderr("became the leader");
    let b = kev_run(&t, &config_b);
    b.wait_stderr("standing by: waiting for the lease");
    read_until("the leader's listing", &want, &mut read, &a);
    let writer = Writer::start(t.cp.kubeconfig("admin"), std::slice::from_ref(&ns));
    wait_written(&writer, MAX_WRITES / 4);
    assert!(
        !b.stderr().contains("became the leader"),
        "only one replica leads:\n{}",
        b.stderr()
    );
    let killed = Instant::now();
    let stopped = a.kill();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&stopped.status),
        Some(9),
        "the leader was killed"
    );
    b.wait_stderr("became the leader");
    let takeover = killed.elapsed();
    wait_written(&writer, MAX_WRITES / 2);
    let written = writer.stop();
    want.extend(written.iter().map(|w| w.occ()));
    let sentinel = Ev::core("sentinel", &pod).legacy(1, ago(base, 1), ago(base, 1));
    want.insert(t.admin.create(&ns, &sentinel).occ());
    read_until("after the takeover", &want, &mut read, &b);
    let stopped = b.stop();
    stopped.assert_exit_0("the new leader, at the end");
    assert!(
        stopped
            .stderr
            .contains("resuming from the checkpoint on the lease"),
        "the new leader resumed from the lease's checkpoint:\n{}",
        stopped.stderr
    );
    let got = read();
    let distinct: BTreeSet<&Occ> = got.iter().collect();
    eprintln!(
        "takeover {takeover:?} after kill -9 (lease 4s, renew 1s); {} occurrences written, {} delivered, {} repeats",
        want.len(),
        got.len(),
        got.len() - distinct.len()
    );
    assert_exactly_once(&got, &want, "two replicas, the leader killed with -9");
}
