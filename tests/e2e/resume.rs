//! Resuming with a state file (`kev -w -o ndjson --state-file PATH`): graceful
//! restarts (SIGTERM) while events keep being created and updated, etcd
//! compaction while kev is stopped, apiserver restarts, kill -9, and a state
//! file that belongs to another cluster.
//!
//! The promise under test (design brief, "Delivery promise"): with a state
//! file every occurrence `(uid, resourceVersion)` is delivered at least once
//! and, across graceful restarts, reconnects and `410` relists, never twice;
//! updates superseded inside a compacted gap are seen only in their latest
//! state; after kill -9 what was printed but not yet checkpointed may be
//! printed again, and nothing else. Each test knows every write it made and
//! the resourceVersion the apiserver answered, and compares the
//! concatenation of every run's output with that, as a multiset.
//!
//! resourceVersions are opaque to clients; against etcd they are its
//! revisions, which increase, and the kill -9 test compares them as numbers
//! to say which occurrences come after the last checkpoint.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use serde_json::{Value, json};

use crate::support::events::{ago, base_time, micros, secs};
use crate::support::writer::WriteKind;
use crate::support::{
    Created, Ev, Follower, Obj, Occ, Stopped, TestEnv, Writer, in_namespaces, occ, one_line,
};

/// `kev ARGS -w -o ndjson --state-file STATE`.
fn kev_cmd(t: &TestEnv, state: &Path, args: &[&str]) -> std::process::Command {
    let mut c = t.kev();
    c.args(args)
        .args(["-w", "-o", "ndjson", "--state-file"])
        .arg(state);
    c
}

/// [`kev_cmd`], running.
fn following(t: &TestEnv, state: &Path, args: &[&str]) -> Follower {
    Follower::spawn(kev_cmd(t, state, args))
}

/// The occurrences of `records` in `namespaces`, in order, repeats kept.
fn occs_in(records: &[Value], namespaces: &[&str]) -> Vec<Occ> {
    in_namespaces(records, namespaces).iter().map(occ).collect()
}

fn in_any(record: &Value, namespaces: &[&str]) -> bool {
    namespaces.iter().any(|ns| record["namespace"] == *ns)
}

/// Read records until `n` of them in `namespaces` have been printed by this
/// call; panics if the writer died meanwhile.
fn read_some(kev: &mut Follower, namespaces: &[&str], n: usize, writer: &Writer) -> Vec<Value> {
    kev.records_until(&format!("{n} records in {namespaces:?}"), |rs| {
        writer.assert_running();
        rs.iter().filter(|r| in_any(r, namespaces)).count() >= n
    })
}

/// Read records until the earlier runs' occurrences (`before`) and this
/// run's together hold all of `want`.
fn read_until_all(
    kev: &mut Follower,
    namespaces: &[&str],
    before: &[Vec<Occ>],
    want: &BTreeSet<Occ>,
    what: &str,
) -> Vec<Value> {
    let mut seen: BTreeSet<Occ> = before.iter().flatten().cloned().collect();
    let mut counted = 0;
    kev.records_until(what, |rs| {
        for r in &rs[counted..] {
            if in_any(r, namespaces) {
                seen.insert(occ(r));
            }
        }
        counted = rs.len();
        want.is_subset(&seen)
    })
}

/// At most this many items of a list in a failure message.
fn some<T: std::fmt::Debug>(items: &[T]) -> String {
    const SHOWN: usize = 20;
    if items.len() <= SHOWN {
        format!("{items:?}")
    } else {
        format!("{:?} and {} more", &items[..SHOWN], items.len() - SHOWN)
    }
}

/// Across `runs` (each run's occurrences, in order), every occurrence of
/// `want` was printed exactly once, and nothing else was.
fn assert_exactly_once(runs: &[Vec<Occ>], want: &BTreeSet<Occ>, what: &str) {
    let mut printed: BTreeMap<&Occ, Vec<usize>> = BTreeMap::new();
    for (i, run) in runs.iter().enumerate() {
        for o in run {
            printed.entry(o).or_default().push(i);
        }
    }
    let missing: Vec<&Occ> = want.iter().filter(|o| !printed.contains_key(o)).collect();
    let unexpected: Vec<&&Occ> = printed.keys().filter(|o| !want.contains(**o)).collect();
    let repeated: Vec<(&&Occ, &Vec<usize>)> =
        printed.iter().filter(|(_, runs)| runs.len() > 1).collect();
    let per_run: Vec<usize> = runs.iter().map(Vec::len).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty() && repeated.is_empty(),
        "{what}: {} occurrences written, {} records printed over {} runs {per_run:?}\n\
         missing ({}): {}\nnot written by the test ({}): {}\n\
         repeated ({}), with the runs that printed them: {}",
        want.len(),
        per_run.iter().sum::<usize>(),
        runs.len(),
        missing.len(),
        some(&missing),
        unexpected.len(),
        some(&unexpected),
        repeated.len(),
        some(&repeated),
    );
}

/// A state file, as far as the tests read it (its format: docs in
/// src/pipeline/state.rs).
#[derive(Clone, Debug)]
struct Saved {
    json: Value,
    /// Where a restart resumes the watch.
    resource_version: Option<String>,
    /// uid → the resourceVersion last delivered.
    delivered: BTreeMap<String, String>,
}

impl Saved {
    /// The resume position as etcd's revision (0 without one).
    fn rv(&self) -> u64 {
        self.resource_version.as_deref().map_or(0, rv_number)
    }
}

fn rv_number(rv: &str) -> u64 {
    rv.parse()
        .unwrap_or_else(|e| panic!("resourceVersion {rv:?} is not etcd's revision: {e}"))
}

/// The state file at `path`, or `None` if there is none yet. It is written
/// atomically (rename), so a read never sees half of one.
fn read_state(path: &Path) -> Option<Saved> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("read {}: {e}", path.display()),
    };
    let json: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{} is not JSON ({e})", path.display()));
    assert_eq!(json["kind"], "KevState", "{json}");
    let resource_version = json["resourceVersion"].as_str().map(str::to_string);
    let delivered = json["delivered"]
        .as_array()
        .unwrap_or_else(|| panic!("no delivered set in {json}"))
        .iter()
        .map(|e| {
            let s = |i: usize| e[i].as_str().unwrap_or_else(|| panic!("{e}")).to_string();
            (s(0), s(1))
        })
        .collect();
    Some(Saved {
        json,
        resource_version,
        delivered,
    })
}

/// Read kev's output until the state file satisfies `ok`, checking it each
/// time kev prints a line (no clock involved: kev prints while the writer
/// writes).
fn checkpoint_when(
    kev: &mut Follower,
    state: &Path,
    writer: &Writer,
    what: &str,
    ok: impl Fn(&Saved) -> bool,
) -> Saved {
    let mut found = None;
    kev.records_until(what, |_| {
        writer.assert_running();
        found = read_state(state).filter(&ok);
        found.is_some()
    });
    found.expect("records_until returned, so the checkpoint was found")
}

fn occs(created: &[&Created]) -> BTreeSet<Occ> {
    created.iter().map(|c| c.occ()).collect()
}

/// One line about a run for the test's output (`--nocapture`).
fn summary(what: &str, s: &Stopped, printed: usize) {
    eprintln!(
        "{what}: printed {printed} records, exited {} {:.0?} after the signal",
        s.status, s.took
    );
}

/// Graceful restarts while events keep being written.
const RUNS: usize = 5;

/// Records (in the test's namespaces) each run prints before it is stopped.
const PER_RUN: usize = 30;

/// The run in which the `-n` follower's output is not read while the writer
/// makes [`BACKLOG`] more writes, so that kev is stopped while its stdout,
/// its sink queue and its source queue are full (about 200 records) and
/// the watch stream waits.
const BACKPRESSURED: usize = 2;

/// Writes made while the back-pressured run is not read: about half of
/// them are in its namespace.
const BACKLOG: usize = 600;

#[test]
fn sigterm_restarts_while_writing_deliver_every_occurrence_once() {
    let t = TestEnv::shared("resume-term");
    let a = t.namespace("a");
    let b = t.namespace("b");
    let only_a = [a.as_str()];
    let both = [a.as_str(), b.as_str()];
    let base = base_time();
    let pod = Obj::pod("web");
    // Written before kev's first start: its first run lists them.
    let mut before: Vec<(&str, Created)> = Vec::new();
    for ns in both {
        let p0 = Ev::core("p0", &pod).legacy(2, ago(base, 90), ago(base, 80));
        before.push((ns, t.admin.create(ns, &p0)));
        let p1 = Ev::v1("p1", &pod, ago(base, 70)).series(2, ago(base, 60));
        before.push((ns, t.admin.create(ns, &p1)));
    }
    let listed = |namespaces: &[&str]| -> BTreeSet<Occ> {
        before
            .iter()
            .filter(|(ns, _)| namespaces.contains(ns))
            .map(|(_, c)| c.occ())
            .collect()
    };
    // Two followers through the same runs: one namespace, and all
    // namespaces (other tests' events are left out of the comparison).
    let one_state = t.home.path().join("namespace-a.state.json");
    let all_state = t.home.path().join("all-namespaces.state.json");
    let one_args = ["-n", a.as_str()];
    let all_args = ["-A"];
    let mut one_runs: Vec<Vec<Occ>> = Vec::new();
    let mut all_runs: Vec<Vec<Occ>> = Vec::new();

    let mut writer: Option<Writer> = None;
    let mut backpressured_at = 0;
    for run in 0..RUNS {
        let mut one = if run == BACKPRESSURED {
            Follower::spawn_buffered(kev_cmd(&t, &one_state, &one_args), 0)
        } else {
            following(&t, &one_state, &one_args)
        };
        let mut all = following(&t, &all_state, &all_args);
        if writer.is_none() {
            // The listing first: everything written after it, the watch
            // shows, so every write is an occurrence kev can see.
            read_until_all(&mut one, &only_a, &[], &listed(&only_a), "the listing (-n)");
            read_until_all(&mut all, &both, &[], &listed(&both), "the listing (-A)");
            writer = Some(Writer::start(
                t.cp.kubeconfig("admin"),
                &[a.clone(), b.clone()],
            ));
        }
        let w = writer.as_ref().expect("started");
        read_some(&mut one, &only_a, PER_RUN, w);
        read_some(&mut all, &both, PER_RUN, w);
        if run == BACKPRESSURED {
            w.wait_written(w.written() + BACKLOG);
            backpressured_at = w.written();
        }
        // Stopped while the writer goes on: a batch may be half printed,
        // a checkpoint half due.
        let s = one.stop();
        s.assert_exit_0(&format!("run {run} (-n)"));
        one_runs.push(occs_in(&s.records(), &only_a));
        summary(&format!("run {run} (-n)"), &s, one_runs[run].len());
        let s = all.stop();
        s.assert_exit_0(&format!("run {run} (-A)"));
        all_runs.push(occs_in(&s.records(), &both));
        summary(&format!("run {run} (-A)"), &s, all_runs[run].len());
    }
    let written = writer.take().expect("started").stop();
    let sentinels: Vec<(&str, Created)> = both
        .iter()
        .map(|ns| {
            let ev = Ev::core("sentinel", &pod).legacy(1, ago(base, 10), ago(base, 10));
            (*ns, t.admin.create(ns, &ev))
        })
        .collect();
    let want = |namespaces: &[&str]| -> BTreeSet<Occ> {
        let mut want = listed(namespaces);
        want.extend(
            written
                .iter()
                .filter(|w| namespaces.contains(&w.namespace.as_str()))
                .map(|w| w.occ()),
        );
        want.extend(
            sentinels
                .iter()
                .filter(|(ns, _)| namespaces.contains(ns))
                .map(|(_, c)| c.occ()),
        );
        want
    };
    let (want_one, want_all) = (want(&only_a), want(&both));
    // What the writer did is what the test is about: both kinds of
    // update, some events updated several times.
    let writes_per_event: BTreeMap<&str, usize> =
        written.iter().fold(BTreeMap::new(), |mut m, w| {
            *m.entry(w.created.uid.as_str()).or_default() += 1;
            m
        });
    assert!(
        [WriteKind::PatchCount, WriteKind::PatchSeries]
            .iter()
            .all(|k| written.iter().any(|w| w.kind == *k))
            && writes_per_event.values().any(|n| *n >= 3),
        "the writer created and updated events, some several times: {writes_per_event:?}"
    );

    // The last run catches up from the state file.
    let mut one = following(&t, &one_state, &one_args);
    let mut all = following(&t, &all_state, &all_args);
    read_until_all(&mut one, &only_a, &one_runs, &want_one, "the rest (-n)");
    read_until_all(&mut all, &both, &all_runs, &want_all, "the rest (-A)");
    let s = one.stop();
    s.assert_exit_0("the last run (-n)");
    one_runs.push(occs_in(&s.records(), &only_a));
    summary("last run (-n)", &s, one_runs[RUNS].len());
    let s = all.stop();
    s.assert_exit_0("the last run (-A)");
    all_runs.push(occs_in(&s.records(), &both));
    summary("last run (-A)", &s, all_runs[RUNS].len());
    // How far behind the back-pressured run was when it was stopped: what
    // was written in its namespace before the signal and printed only later.
    let printed_by_then: BTreeSet<&Occ> = one_runs[..=BACKPRESSURED].iter().flatten().collect();
    let behind = written[..backpressured_at]
        .iter()
        .filter(|w| w.namespace == a && !printed_by_then.contains(&w.occ()))
        .count();
    eprintln!(
        "{} writes ({} in {a}), {} runs; run {BACKPRESSURED} (-n, not read) was {behind} occurrences behind at SIGTERM",
        written.len(),
        written.iter().filter(|w| w.namespace == a).count(),
        RUNS + 1
    );

    assert_exactly_once(
        &one_runs,
        &want_one,
        "kev -n with a state file, stopped by SIGTERM between runs",
    );
    assert_exactly_once(
        &all_runs,
        &want_all,
        "kev -A with a state file, stopped by SIGTERM between runs",
    );
}

#[test]
fn compaction_while_stopped_delivers_the_missed_latest_states_once() {
    let t = TestEnv::exclusive("resume-compact");
    let ns = t.namespace("a");
    let nss = [ns.as_str()];
    let state = t.home.path().join("state.json");
    let base = base_time();
    let at = |m: i64| ago(base, m);
    let pod = Obj::pod("web");
    let e0 = t
        .admin
        .create(&ns, &Ev::core("e0", &pod).legacy(1, at(90), at(90)));
    let e1 = t
        .admin
        .create(&ns, &Ev::core("e1", &pod).legacy(1, at(89), at(89)));
    let e2 = t.admin.create(&ns, &Ev::v1("e2", &pod, at(88)));

    let mut kev = following(&t, &state, &["-n", &ns, "-v"]);
    read_until_all(&mut kev, &nss, &[], &occs(&[&e0, &e1, &e2]), "the listing");
    // One through the watch, so the position is a watch event's.
    let e3 = t
        .admin
        .create(&ns, &Ev::core("e3", &pod).legacy(1, at(87), at(87)));
    kev.records_through(&e3.occ());
    let run1 = kev.stop();
    run1.assert_exit_0("the first run");
    let saved = read_state(&state).expect("a state file after SIGTERM");
    assert_eq!(
        saved.resource_version.as_deref(),
        Some(e3.resource_version.as_str()),
        "the final checkpoint holds the last printed occurrence: {}",
        saved.json
    );

    // While kev is stopped: updates (several of one event), new events,
    // one created and updated in the gap; then the history goes.
    let patch = |name: &str, count: i64, m: i64| {
        t.admin.patch_core(
            &ns,
            name,
            &json!({"count": count, "lastTimestamp": secs(at(m))}),
        )
    };
    let series = |name: &str, count: i64, m: i64| {
        t.admin.patch_events_v1(
            &ns,
            name,
            &json!({"series": {"count": count, "lastObservedTime": micros(at(m))}}),
        )
    };
    let e1b = patch("e1", 2, 80);
    let e1c = patch("e1", 3, 79);
    let e1d = patch("e1", 4, 78);
    let e2b = series("e2", 2, 77);
    let e2c = series("e2", 3, 76);
    let e4 = t.admin.create(
        &ns,
        &Ev::core("e4", &pod).ty("Warning").legacy(1, at(75), at(75)),
    );
    let e4b = patch("e4", 2, 74);
    let e5 = t.admin.create(&ns, &Ev::v1("e5", &pod, at(73)));
    let revision = t.cp.etcd_revision();
    assert!(
        u64::try_from(revision).is_ok_and(|r| r > saved.rv()),
        "the stored position is compacted away"
    );
    t.cp.etcdctl(&["compact", &revision.to_string()]);

    let mut kev = following(&t, &state, &["-n", &ns, "-v"]);
    // Only the latest state of each event changed in the gap is left.
    let latest = occs(&[&e1d, &e2c, &e4b, &e5]);
    read_until_all(
        &mut kev,
        &nss,
        &[],
        &latest,
        "the latest state of what changed while stopped",
    );
    let sentinel = t
        .admin
        .create(&ns, &Ev::core("sentinel", &pod).legacy(1, at(70), at(70)));
    kev.records_through(&sentinel.occ());
    let run2 = kev.stop();
    run2.assert_exit_0("the run after compaction");

    let stderr = &run2.stderr;
    assert!(
        stderr.contains("resuming the watch from the state file")
            && stderr.contains("410 Gone")
            && stderr.contains("relisting"),
        "kev resumed, met 410 Gone and relisted; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("superseded while kev was not watching"),
        "kev says some updates were coalesced (e1: count 1 -> 4); stderr:\n{stderr}"
    );
    let mut want = occs(&[&e0, &e1, &e2, &e3, &sentinel]);
    want.extend(latest);
    let runs = [
        occs_in(&run1.records(), &nss),
        occs_in(&run2.records(), &nss),
    ];
    let unrecoverable = occs(&[&e1b, &e1c, &e2b, &e4]);
    assert!(
        runs[1].iter().all(|o| !unrecoverable.contains(o)),
        "superseded inside the compacted gap, so never listed: {unrecoverable:?}"
    );
    assert_exactly_once(
        &runs,
        &want,
        "a restart after compaction: the missed latest states, once; nothing of the first run again",
    );
}

#[test]
fn apiserver_restarts_and_a_stop_while_it_is_down_deliver_once() {
    let mut t = TestEnv::exclusive("resume-restart");
    let ns = t.namespace("a");
    let nss = [ns.as_str()];
    let state = t.home.path().join("state.json");
    let base = base_time();
    let at = |m: i64| ago(base, m);
    let pod = Obj::pod("web");
    let e0 = t
        .admin
        .create(&ns, &Ev::core("e0", &pod).legacy(1, at(90), at(90)));

    let mut kev = following(&t, &state, &["-n", &ns, "-v"]);
    kev.records_through(&e0.occ());
    let e1 = t
        .admin
        .create(&ns, &Ev::core("e1", &pod).legacy(1, at(89), at(89)));
    kev.records_through(&e1.occ());

    // An apiserver restart while following: kev re-watches from where it was.
    t.cp.script(&["restart-apiserver"]);
    t.reconnect();
    let e2 = t
        .admin
        .create(&ns, &Ev::core("e2", &pod).legacy(1, at(88), at(88)));
    let e1b = t.admin.patch_core(
        &ns,
        "e1",
        &json!({"count": 2, "lastTimestamp": secs(at(87))}),
    );
    let e3 = t.admin.create(&ns, &Ev::v1("e3", &pod, at(86)));
    read_until_all(
        &mut kev,
        &nss,
        &[],
        &occs(&[&e2, &e1b, &e3]),
        "what was written after the restart",
    );

    // Stopped while the apiserver is down again and kev is retrying. The
    // outage lasts until kev has said it retries: a restart alone may be
    // over before kev's next request, and then there is nothing to retry.
    let offset = kev.stderr_len();
    t.cp.script(&["stop-apiserver"]);
    kev.wait_stderr_from(offset, "retrying in");
    let run1 = kev.stop();
    t.cp.script(&["start-apiserver"]);
    t.reconnect();
    run1.assert_exit_0("SIGTERM while the apiserver is down");
    let saved = read_state(&state).expect("a state file");
    assert_eq!(
        saved.resource_version.as_deref(),
        Some(e3.resource_version.as_str()),
        "the final checkpoint holds the last printed occurrence: {}",
        saved.json
    );

    let e3b = t.admin.patch_events_v1(
        &ns,
        "e3",
        &json!({"series": {"count": 2, "lastObservedTime": micros(at(85))}}),
    );
    let e4 = t
        .admin
        .create(&ns, &Ev::core("e4", &pod).legacy(1, at(84), at(84)));
    let mut kev = following(&t, &state, &["-n", &ns, "-v"]);
    read_until_all(
        &mut kev,
        &nss,
        &[],
        &occs(&[&e3b, &e4]),
        "what was written while stopped",
    );
    let sentinel = t
        .admin
        .create(&ns, &Ev::core("sentinel", &pod).legacy(1, at(80), at(80)));
    kev.records_through(&sentinel.occ());
    let run2 = kev.stop();
    run2.assert_exit_0("the second run");
    summary("run 1", &run1, run1.lines.len());
    summary("run 2", &run2, run2.lines.len());

    assert_exactly_once(
        &[
            occs_in(&run1.records(), &nss),
            occs_in(&run2.records(), &nss),
        ],
        &occs(&[&e0, &e1, &e2, &e1b, &e3, &e3b, &e4, &sentinel]),
        "across two apiserver restarts and a stop while it was down",
    );
}

#[test]
fn kill_9_loses_nothing_and_repeats_only_what_was_not_checkpointed() {
    let t = TestEnv::shared("resume-kill");
    let ns = t.namespace("a");
    let nss = [ns.as_str()];
    let state = t.home.path().join("state.json");
    let base = base_time();
    let pod = Obj::pod("web");
    let p0 = t.admin.create(
        &ns,
        &Ev::core("p0", &pod).legacy(1, ago(base, 90), ago(base, 90)),
    );

    let mut kev = following(&t, &state, &["-n", &ns]);
    kev.records_through(&p0.occ());
    let writer = Writer::start(t.cp.kubeconfig("admin"), std::slice::from_ref(&ns));
    // Mid-stream: a checkpoint holding the writer's events, then a newer
    // one (it keeps being written while things change), then more output.
    let first = checkpoint_when(
        &mut kev,
        &state,
        &writer,
        "a checkpoint holding the writer's events",
        |s| s.resource_version.is_some() && s.delivered.len() >= 2,
    );
    checkpoint_when(&mut kev, &state, &writer, "a newer checkpoint", |s| {
        s.rv() > first.rv()
    });
    read_some(&mut kev, &nss, 20, &writer);
    let run1 = kev.kill();
    let killed_at = chrono::Utc::now();
    assert_eq!(
        run1.status.signal(),
        Some(libc::SIGKILL),
        "{:?}",
        run1.status
    );
    let last = read_state(&state).expect("a state file");
    assert!(last.rv() > first.rv(), "{}", last.json);

    // From the last checkpoint, while the writer goes on.
    let mut kev = following(&t, &state, &["-n", &ns]);
    read_some(&mut kev, &nss, 20, &writer);
    let written = writer.stop();
    let sentinel = t.admin.create(
        &ns,
        &Ev::core("sentinel", &pod).legacy(1, ago(base, 10), ago(base, 10)),
    );
    let mut want: BTreeSet<Occ> = written.iter().map(|w| w.occ()).collect();
    want.extend(occs(&[&p0, &sentinel]));
    let run1_occs = occs_in(&run1.records(), &nss);
    read_until_all(
        &mut kev,
        &nss,
        std::slice::from_ref(&run1_occs),
        &want,
        "everything, after the restart",
    );
    let run2 = kev.stop();
    run2.assert_exit_0("the run after kill -9");
    let run2_occs = occs_in(&run2.records(), &nss);

    // Nothing lost, nothing that was not written; neither run repeats itself.
    let printed: BTreeSet<Occ> = run1_occs.iter().chain(&run2_occs).cloned().collect();
    let missing: Vec<&Occ> = want.difference(&printed).collect();
    let unexpected: Vec<&Occ> = printed.difference(&want).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "missing: {}\nnot written by the test: {}",
        some(&missing),
        some(&unexpected)
    );
    for (run, o) in [("run 1", &run1_occs), ("run 2", &run2_occs)] {
        let set: BTreeSet<&Occ> = o.iter().collect();
        assert_eq!(set.len(), o.len(), "{run} printed an occurrence twice");
    }
    // The repeats are exactly what run 1 printed after the position of
    // its last checkpoint: nothing it had checkpointed comes again.
    let run2_set: BTreeSet<&Occ> = run2_occs.iter().collect();
    let repeated: BTreeSet<&Occ> = run1_occs.iter().filter(|o| run2_set.contains(o)).collect();
    let uncovered: BTreeSet<&Occ> = run1_occs
        .iter()
        .filter(|o| rv_number(&o.1) > last.rv())
        .collect();
    let saved_at = last.json["savedAt"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let age = chrono::DateTime::parse_from_rfc3339(&saved_at)
        .map(|t| killed_at.signed_duration_since(t))
        .map_or("?".to_string(), |d| {
            format!("{:.1}s", d.num_milliseconds() as f64 / 1000.0)
        });
    eprintln!(
        "kill -9: run 1 printed {} records; its last checkpoint (written {age} before the kill) \
         resumes after resourceVersion {}; run 2 repeated {} of them and printed {} in all; {} writes",
        run1_occs.len(),
        last.rv(),
        repeated.len(),
        run2_occs.len(),
        written.len()
    );
    assert_eq!(
        repeated, uncovered,
        "after kill -9 kev repeats what it printed after its last checkpoint, and only that"
    );
    assert!(
        repeated.len() < run1_occs.len(),
        "the checkpoint covered part of run 1"
    );
}

#[test]
fn foreign_state_file_is_refused_and_reset_state_starts_over() {
    let t = TestEnv::shared("resume-foreign");
    let ns = t.namespace("a");
    let nss = [ns.as_str()];
    let state = t.home.path().join("state.json");
    let base = base_time();
    let at = |m: i64| ago(base, m);
    let pod = Obj::pod("web");
    let e0 = t
        .admin
        .create(&ns, &Ev::core("e0", &pod).legacy(1, at(90), at(90)));
    let mut kev = following(&t, &state, &["-n", &ns]);
    kev.records_through(&e0.occ());
    let run1 = kev.stop();
    run1.assert_exit_0("the first run");
    let saved = read_state(&state).expect("a state file");
    let ours = t.admin.cluster_uid();
    assert_eq!(
        saved.json["cluster"]["uid"], ours,
        "the state file names this cluster by its kube-system uid"
    );

    // The same file, as if written against another cluster.
    let theirs = "0e0e0e0e-f00d-4bad-8000-000000000001";
    let mut foreign = saved.json.clone();
    foreign["cluster"]["uid"] = json!(theirs);
    std::fs::write(&state, serde_json::to_vec(&foreign).expect("JSON")).expect("write");
    let before = std::fs::read(&state).expect("read");
    let refused = following(&t, &state, &["-n", &ns]).wait_exit();
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(refused.lines.is_empty(), "nothing printed: {refused:?}");
    let line = one_line(&refused.stderr);
    for needle in [
        format!("kube-system uid {theirs}"),
        format!("kube-system uid {ours}"),
        state.display().to_string(),
        "--reset-state".to_string(),
    ] {
        assert!(line.contains(&needle), "{needle:?} in {line:?}");
    }
    assert_eq!(
        std::fs::read(&state).expect("read"),
        before,
        "a refused state file is left as it was"
    );

    // --reset-state starts over: the listing again, and a file of this cluster.
    let e1 = t
        .admin
        .create(&ns, &Ev::core("e1", &pod).legacy(1, at(89), at(89)));
    let mut kev = following(&t, &state, &["-n", &ns, "--reset-state"]);
    read_until_all(
        &mut kev,
        &nss,
        &[],
        &occs(&[&e0, &e1]),
        "the listing, again",
    );
    let e2 = t
        .admin
        .create(&ns, &Ev::core("e2", &pod).legacy(1, at(88), at(88)));
    kev.records_through(&e2.occ());
    let reset = kev.stop();
    reset.assert_exit_0("the run with --reset-state");
    let saved = read_state(&state).expect("a state file");
    assert_eq!(saved.json["cluster"]["uid"], ours, "{}", saved.json);

    // And the next run resumes from it.
    let sentinel = t
        .admin
        .create(&ns, &Ev::core("sentinel", &pod).legacy(1, at(80), at(80)));
    let mut kev = following(&t, &state, &["-n", &ns]);
    kev.records_through(&sentinel.occ());
    let resumed = kev.stop();
    resumed.assert_exit_0("the run after the reset");
    assert_eq!(occs_in(&run1.records(), &nss), [e0.occ()], "the first run");
    assert_exactly_once(
        &[
            occs_in(&reset.records(), &nss),
            occs_in(&resumed.records(), &nss),
        ],
        &occs(&[&e0, &e1, &e2, &sentinel]),
        "--reset-state and the run after it",
    );
}
