//! The delivery promise through the real binary against the fake
//! apiserver: restarts with a state file (SIGTERM and kill -9) while events
//! are created and updated, compaction while kev is stopped, bad state
//! files, and the faults a follow must survive (500s, a request that never
//! answers, `Retry-After`), each asserting the exact occurrences delivered.
//!
//! An occurrence is `(uid, resourceVersion)`. The fake apiserver returns
//! every version it stores, so each test knows the exact set that must
//! arrive: every write's returned object.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use kev_testkit::{FakeApiServer, FakeCluster, Fault, Gate, On};
use serde_json::{Value, json};
use support::{Follower, kev, run};

const WAIT: Duration = Duration::from_secs(30);

type Occ = (String, String);

struct Env {
    server: FakeApiServer,
    home: tempfile::TempDir,
    kubeconfig: PathBuf,
    state: PathBuf,
}

fn env(cluster: FakeCluster) -> Env {
    let server = FakeApiServer::start_blocking(cluster);
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let state = home.path().join("state.json");
    Env {
        server,
        home,
        kubeconfig,
        state,
    }
}

impl Env {
    fn cmd(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = kev(self.home.path());
        cmd.arg("--kubeconfig").arg(&self.kubeconfig).args(args);
        cmd
    }

    /// `kev -A -w -o ndjson --state-file S`, following.
    fn follow(&self, extra: &[&str]) -> Follower {
        let state = self.state.to_str().unwrap().to_string();
        let mut args = vec!["-A", "-w", "-o", "ndjson", "--state-file", &state];
        args.extend_from_slice(extra);
        Follower::spawn(&mut self.cmd(&args))
    }

    /// Write a new event; returns its occurrence.
    fn add(&self, name: &str) -> Occ {
        let v = self.server.cluster().add_event(event(name)).unwrap();
        occ_of(&v)
    }

    /// One more occurrence of an existing event.
    fn bump(&self, name: &str) -> Occ {
        occ_of(&self.server.cluster().bump_event("default", name).unwrap())
    }
}

fn event(name: &str) -> Value {
    let t = kev::model::time_serde::format(&Utc::now());
    json!({
        "metadata": {"namespace": "default", "name": name},
        "involvedObject": {"kind": "Pod", "namespace": "default", "name": name.split('.').next().unwrap(), "apiVersion": "v1"},
        "reason": "BackOff", "message": format!("about {name}"), "type": "Warning",
        "count": 1, "firstTimestamp": t, "lastTimestamp": t,
        "source": {"component": "kubelet", "host": "node-1"},
    })
}

fn occ_of(v: &Value) -> Occ {
    (
        v["metadata"]["uid"].as_str().unwrap().to_string(),
        v["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

fn occs(lines: &[String]) -> Vec<Occ> {
    lines
        .iter()
        .map(|l| {
            let r: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            (
                r["uid"].as_str().unwrap().to_string(),
                r["resourceVersion"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// How many times each occurrence was delivered.
fn counts(all: &[Occ]) -> BTreeMap<Occ, usize> {
    let mut m = BTreeMap::new();
    for o in all {
        *m.entry(o.clone()).or_default() += 1;
    }
    m
}

/// What of `want` is not in `delivered`.
fn not_yet(want: &BTreeSet<Occ>, delivered: &[Occ]) -> BTreeSet<Occ> {
    let done: BTreeSet<&Occ> = delivered.iter().collect();
    want.iter().filter(|o| !done.contains(o)).cloned().collect()
}

/// Read lines until every one of `want` has been printed.
fn wait_for(f: &mut Follower, want: &BTreeSet<Occ>) {
    let mut n = f.seen.len();
    loop {
        let got: BTreeSet<Occ> = occs(&f.seen).into_iter().collect();
        if want.is_subset(&got) {
            return;
        }
        n += 1;
        f.wait_lines(n, WAIT);
    }
}

fn state_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("state file written")).unwrap()
}

/// The number of delivered entries in the state file, 0 before it exists.
fn checkpointed(path: &Path) -> usize {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v.get("delivered").and_then(Value::as_array).map(Vec::len))
        .unwrap_or(0)
}

#[test]
fn restarts_with_sigterm_deliver_every_occurrence_exactly_once() {
    let e = env(FakeCluster::new());
    let mut want = BTreeSet::new();
    for i in 0..5 {
        want.insert(e.add(&format!("base{i}.x")));
    }
    let mut delivered: Vec<Occ> = Vec::new();
    for run_no in 0..4 {
        let mut f = if run_no == 0 {
            // The first run lists: what it lists is all it can see of the
            // events written before it.
            let mut f = e.follow(&[]);
            wait_for(&mut f, &want);
            f
        } else {
            // Written while kev is stopped: a resumed watch must bring them.
            want.insert(e.add(&format!("gap{run_no}.x")));
            want.insert(e.bump("base0.x"));
            e.follow(&[])
        };
        // And while it runs.
        want.insert(e.add(&format!("live{run_no}.x")));
        want.insert(e.bump(&format!("base{}.x", 1 + run_no % 4)));
        // Stop it at a moment that depends on the run: sometimes with
        // everything delivered, sometimes in the middle.
        if run_no % 2 == 0 {
            wait_for(&mut f, &not_yet(&want, &delivered));
        } else {
            f.wait_lines(1, WAIT);
        }
        let (code, stderr) = f.signal("TERM");
        assert_eq!(code, Some(0), "run {run_no}: {stderr}");
        delivered.extend(occs(&f.seen));
    }
    let mut last = e.follow(&[]);
    // A sentinel, so the last run surely is up (its signal handler too)
    // before it is stopped.
    want.insert(e.add("sentinel.x"));
    wait_for(&mut last, &not_yet(&want, &delivered));
    let (code, stderr) = last.signal("TERM");
    assert_eq!(code, Some(0), "{stderr}");
    delivered.extend(occs(&last.seen));

    let c = counts(&delivered);
    let repeated: Vec<_> = c.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "repeated: {repeated:?}");
    let got: BTreeSet<Occ> = c.into_keys().collect();
    assert_eq!(got, want, "every occurrence, exactly once");
    // Each restart resumed the watch from the stored position instead of relisting.
    let lists = e
        .server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/events" && !r.is_watch())
        .count();
    assert_eq!(lists, 1, "only the first run listed");
}

#[test]
fn compaction_while_stopped_relists_and_delivers_what_was_missed_once() {
    let e = env(FakeCluster::new());
    let a = e.add("a.x");
    let b = e.add("b.x");
    let mut f = e.follow(&[]);
    wait_for(&mut f, &BTreeSet::from([a.clone(), b.clone()]));
    let (code, _) = f.signal("TERM");
    assert_eq!(code, Some(0));
    let first: Vec<Occ> = occs(&f.seen);

    // While kev is away: a new event, one updated three times, and the
    // history compacted, so its first two updates can never be seen.
    let c = e.add("c.x");
    e.bump("a.x");
    e.bump("a.x");
    let a_latest = e.bump("a.x");
    e.server.cluster().compact();

    let mut f = e.follow(&["-v"]);
    wait_for(&mut f, &BTreeSet::from([c.clone(), a_latest.clone()]));
    // A sentinel written after the relist: anything repeated comes before it.
    let sentinel = e.add("z.x");
    wait_for(&mut f, &BTreeSet::from([sentinel.clone()]));
    let (code, stderr) = f.signal("TERM");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("410 Gone"), "met the compaction: {stderr}");
    assert!(
        stderr.contains("superseded while kev was not watching"),
        "counts the coalesced updates: {stderr}"
    );
    let second = occs(&f.seen);
    assert_eq!(
        second.iter().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from([c, a_latest, sentinel]),
        "the missed occurrences (a.x in its latest state), nothing from the first run"
    );
    assert_eq!(second.len(), 3, "each once");
    assert!(first.iter().all(|o| !second.contains(o)));
}

#[test]
fn kill_9_loses_nothing_and_repeats_only_what_was_not_checkpointed() {
    let e = env(FakeCluster::new());
    let mut want = BTreeSet::new();
    for i in 0..20 {
        want.insert(e.add(&format!("e{i}.x")));
    }
    let mut f = e.follow(&[]);
    wait_for(&mut f, &want);
    // Wait until the checkpoint covers everything printed so far.
    let last_rv = occs(&f.seen).last().unwrap().1.clone();
    let deadline = std::time::Instant::now() + WAIT;
    while checkpointed(&e.state) < 20 {
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint written"
        );
        f.drain_for(Duration::from_millis(50));
    }
    // Then more, and kill -9 before the next checkpoint may have been written.
    for i in 20..25 {
        want.insert(e.add(&format!("e{i}.x")));
    }
    wait_for(&mut f, &want);
    let (code, _) = f.signal("KILL");
    assert_eq!(code, None, "killed");
    let first = occs(&f.seen);

    let mut f = e.follow(&[]);
    want.insert(e.add("after.x"));
    wait_for(&mut f, &not_yet(&want, &first));
    let (code, stderr) = f.signal("TERM");
    assert_eq!(code, Some(0), "{stderr}");
    let second = occs(&f.seen);

    let mut all = first.clone();
    all.extend(second.iter().cloned());
    let c = counts(&all);
    let got: BTreeSet<Occ> = c.keys().cloned().collect();
    assert_eq!(got, want, "nothing lost");
    let repeated: Vec<&Occ> = c.iter().filter(|(_, n)| **n > 1).map(|(o, _)| o).collect();
    // Only what came after the checkpoint that covered the first 20 may repeat.
    assert!(
        repeated.len() <= 5,
        "repeated {}: {repeated:?}",
        repeated.len()
    );
    assert!(
        repeated
            .iter()
            .all(|o| o.1.parse::<u64>().unwrap() > last_rv.parse::<u64>().unwrap()),
        "nothing checkpointed is repeated: {repeated:?}"
    );
    eprintln!(
        "kill -9: {} repeated of {} delivered before the kill",
        repeated.len(),
        first.len()
    );
}

#[test]
fn a_list_only_run_with_a_state_file_shows_only_what_is_new() {
    let e = env(FakeCluster::new());
    let a = e.add("a.x");
    let state = e.state.to_str().unwrap().to_string();
    let args = ["-A", "-o", "ndjson", "--state-file", &state];
    let r = run(&mut e.cmd(&args));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        occs(&r.stdout.lines().map(String::from).collect::<Vec<_>>()),
        [a]
    );
    let b = e.add("b.x");
    let a2 = e.bump("a.x");
    let r = run(&mut e.cmd(&args));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let mut got = occs(&r.stdout.lines().map(String::from).collect::<Vec<_>>());
    got.sort();
    let mut want = vec![b, a2];
    want.sort();
    assert_eq!(got, want);
    let r = run(&mut e.cmd(&args));
    assert_eq!((r.code, r.stdout.as_str()), (Some(0), ""), "nothing new");
}

#[test]
fn corrupt_foreign_newer_and_locked_state_files_are_errors() {
    let e = env(FakeCluster::new().with_cluster_uid("cluster-one"));
    e.add("a.x");
    let state = e.state.to_str().unwrap().to_string();
    let args = ["-A", "-o", "ndjson", "--state-file", &state];

    std::fs::write(&e.state, "{\"kind\":\"KevState\",").unwrap();
    let r = run(&mut e.cmd(&args));
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("is corrupt") && r.stderr.contains("--reset-state"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout, "", "nothing delivered");
    assert_eq!(
        std::fs::read_to_string(&e.state).unwrap(),
        "{\"kind\":\"KevState\",",
        "left as it was"
    );

    // --reset-state starts over and writes a good file.
    let mut reset = args.to_vec();
    reset.push("--reset-state");
    let r = run(&mut e.cmd(&reset));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 1);
    assert_eq!(state_json(&e.state)["cluster"]["uid"], "cluster-one");

    // The same file against another cluster.
    let other = env(FakeCluster::new().with_cluster_uid("cluster-two"));
    let r = run(&mut other.cmd(&args));
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("belongs to the cluster at")
            && r.stderr.contains("cluster-one")
            && r.stderr.contains("cluster-two"),
        "{}",
        r.stderr
    );

    // A newer format.
    let mut newer = state_json(&e.state);
    newer["version"] = json!(7);
    std::fs::write(&e.state, serde_json::to_vec(&newer).unwrap()).unwrap();
    let r = run(&mut e.cmd(&args));
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("format version 7"), "{}", r.stderr);

    // Held by another kev.
    std::fs::remove_file(&e.state).unwrap();
    let mut f = e.follow(&[]);
    f.wait_lines(1, WAIT);
    let r = run(&mut e.cmd(&args));
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("in use by another kev"), "{}", r.stderr);
    let (code, _) = f.signal("TERM");
    assert_eq!(code, Some(0));
}

#[test]
fn a_cluster_that_hides_its_identity_is_known_by_its_url() {
    let e = env(FakeCluster::new());
    e.server.script().always(On::Namespace, Fault::forbidden());
    e.add("a.x");
    let state = e.state.to_str().unwrap().to_string();
    let r = run(&mut e.cmd(&["-A", "-o", "ndjson", "--state-file", &state]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let s = state_json(&e.state);
    assert_eq!(s["cluster"]["uid"], Value::Null);
    assert_eq!(s["cluster"]["server"], e.server.url().trim_end_matches('/'));
}

#[test]
fn watch_errors_are_retried_with_backoff_and_nothing_is_lost() {
    let e = env(FakeCluster::new());
    let a = e.add("a.x");
    // The first three watches fail with 500, the fourth never answers until
    // kev's request timeout gives up on it, the fifth works.
    let gate = Gate::new();
    e.server
        .script()
        .push_times(On::Watch, Fault::internal_error(), 3)
        .push(On::Watch, Fault::Hold(gate.clone()));
    let state = e.state.to_str().unwrap().to_string();
    let mut f = Follower::spawn(&mut e.cmd(&[
        "-A",
        "-w",
        "-o",
        "ndjson",
        "--request-timeout",
        "1s",
        "--state-file",
        &state,
    ]));
    wait_for(&mut f, &BTreeSet::from([a.clone()]));
    let b = e.add("b.x");
    let a2 = e.bump("a.x");
    wait_for(&mut f, &BTreeSet::from([b.clone(), a2.clone()]));
    let (code, stderr) = f.signal("TERM");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(occs(&f.seen), [a, b, a2], "in order, each once");
    assert_eq!(
        stderr.matches("500").count(),
        3,
        "each retry said so: {stderr}"
    );
    assert!(
        stderr.contains("did not answer a watch request within 1s"),
        "{stderr}"
    );
    let watches = e
        .server
        .requests()
        .into_iter()
        .filter(|r| r.is_watch())
        .count();
    assert!(watches >= 5, "{watches}");
    gate.open();
}

#[test]
fn retry_after_is_honoured_before_the_first_success_and_then_given_up() {
    let e = env(FakeCluster::new());
    let a = e.add("a.x");
    e.server
        .script()
        .push_times(On::List, Fault::unavailable(1), 2);
    let started = std::time::Instant::now();
    let r = run(&mut e.cmd(&["-A", "-o", "ndjson"]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        occs(&r.stdout.lines().map(String::from).collect::<Vec<_>>()),
        [a]
    );
    assert_eq!(
        r.stderr.matches("503").count(),
        2,
        "says what it retries: {}",
        r.stderr
    );
    // Two waits of at least the server's Retry-After (1 s each).
    assert!(started.elapsed() >= Duration::from_secs(2));

    // A server that never recovers: give up after --request-timeout.
    e.server.script().always(On::List, Fault::unavailable(1));
    let r = run(&mut e.cmd(&["-A", "--request-timeout", "2s"]));
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let last = r.stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: the apiserver refused to list events: 503 ServiceUnavailable"),
        "{}",
        r.stderr
    );
    // Errors that retrying cannot fix end at once.
    e.server.script().clear();
    e.server.script().always(On::List, Fault::forbidden());
    let r = run(&mut e.cmd(&["-A"]));
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("kev needs \"list\" on \"events\""),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("retrying"), "{}", r.stderr);
}

/// `kev -A -w -o ndjson` over 3,000 events, its stdout read for one line
/// and then not at all, so it is blocked writing.
fn blocked_writer(e: &Env) -> (std::process::Child, impl Fn(&str)) {
    let mut child = e
        .cmd(&["-A", "-w", "-o", "ndjson"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut first).unwrap();
    assert!(first.starts_with("{\"schema\":\"kev/v1\""));
    // Keep the pipe open (and unread) for as long as the child lives.
    std::mem::forget(stdout);
    let pid = child.id().to_string();
    let kill = move |sig: &str| {
        let ok = std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap();
        assert!(ok.success());
    };
    (child, kill)
}

#[test]
fn a_blocked_terminal_does_not_hold_the_exit() {
    let e = env(FakeCluster::new().with_events(kev_testkit::realistic_events(3000, 5, Utc::now())));
    let (mut child, kill) = blocked_writer(&e);
    kill("-TERM");
    assert_eq!(
        child.wait().unwrap().code(),
        Some(0),
        "stopped after the drain deadline"
    );
}

#[test]
fn a_second_signal_exits_at_once_with_130() {
    // kev blocked writing to a stdout nobody reads cannot drain: the first
    // SIGTERM starts a graceful stop that waits (up to a second) for it, the
    // second ends it at once.
    let e = env(FakeCluster::new().with_events(kev_testkit::realistic_events(3000, 5, Utc::now())));
    let (mut child, kill) = blocked_writer(&e);
    kill("-TERM");
    // It must not exit yet (it is trying to deliver what it has): a bounded
    // wait for an exit that does not come.
    let until = std::time::Instant::now() + Duration::from_millis(200);
    while std::time::Instant::now() < until {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the first signal drains"
        );
        std::thread::yield_now();
    }
    kill("-TERM");
    assert_eq!(child.wait().unwrap().code(), Some(130));
}

fn normal(name: &str) -> Value {
    let mut e = event(name);
    e["type"] = json!("Normal");
    e["reason"] = json!("Pulled");
    e
}

#[test]
fn a_filter_change_delivers_what_the_old_filter_dropped_and_repeats_nothing() {
    let e = env(FakeCluster::new());
    let warning = e.add("w.x");
    let normal = occ_of(&e.server.cluster().add_event(normal("n.x")).unwrap());
    let state = e.state.to_str().unwrap().to_string();
    let list = |extra: &[&str]| {
        let mut args = vec!["-A", "-o", "ndjson", "--state-file", &state];
        args.extend_from_slice(extra);
        let r = run(&mut e.cmd(&args));
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        occs(&r.stdout.lines().map(String::from).collect::<Vec<_>>())
    };
    assert_eq!(list(&["--match", "w.x"]), [warning], "a local filter");
    // Without the filter: what it dropped comes now, what it kept not again.
    assert_eq!(list(&[]), [normal]);
    // A, B, A again: nothing repeated.
    assert_eq!(list(&["type=Normal"]), Vec::<Occ>::new());
    assert_eq!(list(&["type=Warning"]), Vec::<Occ>::new());
    assert_eq!(list(&[]), Vec::<Occ>::new());
}

#[test]
fn watch_only_with_a_state_file_never_brings_old_events() {
    let e = env(FakeCluster::new());
    e.add("old.x");
    let state = e.state.to_str().unwrap().to_string();
    let args = ["-A", "--watch-only", "-o", "ndjson", "--state-file", &state];
    // A first run that sees nothing, and stops.
    let mut f = Follower::spawn(&mut e.cmd(&args));
    e.server
        .wait_for_request_blocking(WAIT, |r| r.is_watch())
        .expect("kev watches");
    let (code, stderr) = f.signal("TERM");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(f.seen.is_empty());
    let s = state_json(&e.state);
    assert!(
        s["resourceVersion"].is_string(),
        "the watch's start is kept: {s}"
    );
    assert!(s["watchOnlySince"].is_string(), "and its cutoff: {s}");
    // Restarted after a compaction: the relist must leave out what existed
    // before the first run.
    let new = e.add("new.x");
    e.server.cluster().compact();
    let mut f = Follower::spawn(&mut e.cmd(&args));
    wait_for(&mut f, &BTreeSet::from([new.clone()]));
    let sentinel = e.add("sentinel.x");
    wait_for(&mut f, &BTreeSet::from([sentinel.clone()]));
    let (code, stderr) = f.signal("TERM");
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(occs(&f.seen), [new, sentinel], "old.x never: {stderr}");
}
