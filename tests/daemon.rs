//! `kev run` through the real binary: a fake apiserver on one side, an
//! NDJSON file and a real HTTP receiver (kev_testkit's, on loopback) on the
//! other. Every test asserts the exact occurrences `(uid, resourceVersion)`
//! each sink got: nothing lost, nothing repeated, across sink outages and
//! restarts of kev.
//!
//! - two sinks, one of them down: the file gets everything at once; after a
//!   restart the webhook, which was behind, catches up and the file is sent
//!   nothing again (per-sink progress in the state file);
//! - a 10,000-event stream while the webhook answers 503, then refuses
//!   connections, and kev is restarted during the outage: the spool keeps
//!   what waits, every idempotency key arrives once, the dead-letter file
//!   stays empty;
//! - a stalled webhook: with `policy: drop` its drops are counted in
//!   /metrics while the file sink gets everything; /healthz and /readyz;
//! - SIGHUP after an external rotation (the file moved away): the rest goes
//!   to a new file, nothing lost or repeated across the two;
//! - kill -9 while writing: whole lines only, nothing lost, and only what
//!   the state file had not recorded is written again;
//! - `--to-file` and `--to-webhook` for one-off use.
//!
//! Waits poll what arrived (the file, the receiver's requests) and give up
//! after [`WAIT`]; nothing sleeps to synchronize.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use kev_testkit::{FakeApiServer, FakeCluster, ReceivedRequest, Receiver, Reply};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

type Occ = (String, String);

struct Env {
    server: FakeApiServer,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    rt: tokio::runtime::Runtime,
}

fn env() -> Env {
    let server = FakeApiServer::start_blocking(FakeCluster::new());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    Env {
        server,
        dir,
        kubeconfig,
        rt,
    }
}

fn event(name: &str) -> Value {
    let t = kev::model::time_serde::format(&Utc::now());
    let warning = name.starts_with('w');
    json!({
        "metadata": {"namespace": "default", "name": name},
        "involvedObject": {"kind": "Pod", "namespace": "default", "name": name.split('.').next().unwrap(), "apiVersion": "v1"},
        "reason": if warning { "BackOff" } else { "Pulled" },
        "message": format!("about {name}"),
        "type": if warning { "Warning" } else { "Normal" },
        "count": 1, "firstTimestamp": t, "lastTimestamp": t,
        "source": {"component": "kubelet", "host": "node-1"},
    })
}

fn occ_of(v: &Value) -> Occ {
    fn s(v: &Value) -> &str {
        v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
    }
    match v.get("metadata") {
        Some(m) => (
            s(&m["uid"]).to_string(),
            s(&m["resourceVersion"]).to_string(),
        ),
        None => (
            s(&v["uid"]).to_string(),
            s(&v["resourceVersion"]).to_string(),
        ),
    }
}

impl Env {
    fn add(&self, name: &str) -> Occ {
        occ_of(&self.server.cluster().add_event(event(name)).unwrap())
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// kev.yaml (as JSON, which is YAML) with the source and the state file
    /// filled in.
    fn config(&self, name: &str, mut config: Value) -> PathBuf {
        config["source"] = json!({
            "kubeconfig": self.kubeconfig,
            "namespaces": ["all"],
            "stateFile": self.path("state.json"),
        });
        let path = self.path(name);
        std::fs::write(&path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        path
    }

    fn start(&self, config: &Path) -> Daemon {
        let mut cmd = support::kev(self.dir.path());
        cmd.args(["run", "--config"]).arg(config);
        Daemon::spawn(cmd, &self.path("kev.stderr"))
    }

    fn receiver(&self) -> Receiver {
        self.rt.block_on(Receiver::start())
    }
}

/// A running `kev run`: stdout discarded, stderr to a file (a pipe nobody
/// reads would fill up and block kev).
struct Daemon {
    child: Child,
    stderr: PathBuf,
}

impl Daemon {
    fn spawn(mut cmd: Command, stderr: &Path) -> Daemon {
        let log = std::fs::File::create(stderr).unwrap();
        let child = cmd
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn kev run");
        Daemon {
            child,
            stderr: stderr.to_path_buf(),
        }
    }

    fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{signal}");
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Panics, with kev's stderr, if kev has exited.
    fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("kev run exited ({status}):\n{}", self.stderr());
        }
    }

    /// SIGTERM, and wait: exit 0.
    fn stop(mut self) {
        self.signal("TERM");
        let status = self.child.wait().unwrap();
        assert_eq!(
            status.code(),
            Some(0),
            "kev run on SIGTERM:\n{}",
            self.stderr()
        );
    }

    /// SIGKILL, and wait.
    fn kill(mut self) {
        self.signal("KILL");
        let status = self.child.wait().unwrap();
        assert_eq!(status.code(), None, "killed");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Poll `f` until it returns `Some`, checking kev is still running.
fn wait_for<T>(d: &mut Daemon, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(t) = f() {
            return t;
        }
        d.assert_running();
        assert!(
            Instant::now() < deadline,
            "timed out after {WAIT:?} waiting for {what}; kev's stderr:\n{}",
            d.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The records of an NDJSON file no one is writing: whole lines only (a
/// missing file is empty).
fn file_occs(path: &Path) -> Vec<Occ> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{} ends with a partial line",
        path.display()
    );
    parse_lines(&text)
}

/// The records of an NDJSON file kev may be writing to: a last line its
/// write has not finished is left out; every other line must be whole.
fn file_occs_so_far(path: &Path) -> Vec<Occ> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let whole = text.rfind('\n').map_or("", |i| &text[..=i]);
    parse_lines(whole)
}

fn parse_lines(text: &str) -> Vec<Occ> {
    text.lines()
        .map(|l| occ_of(&serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}"))))
        .collect()
}

/// The occurrences in the receiver's successful requests (ndjson bodies).
fn received(requests: &[ReceivedRequest]) -> Vec<Occ> {
    requests
        .iter()
        .filter(|r| r.succeeded())
        .flat_map(|r| r.json_lines())
        .map(|v| occ_of(&v))
        .collect()
}

fn counts(all: &[Occ]) -> BTreeMap<&Occ, usize> {
    let mut m = BTreeMap::new();
    for o in all {
        *m.entry(o).or_default() += 1;
    }
    m
}

/// Panics unless `got` holds each of `want` exactly once, and nothing else.
fn assert_exactly_once(got: &[Occ], want: &BTreeSet<Occ>, what: &str) {
    let c = counts(got);
    let missing: Vec<&Occ> = want.iter().filter(|o| !c.contains_key(o)).collect();
    let extra: Vec<&&Occ> = c.keys().filter(|o| !want.contains(**o)).collect();
    let repeated: Vec<(&&Occ, &usize)> = c.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        missing.is_empty() && extra.is_empty() && repeated.is_empty(),
        "{what}: {} delivered, {} wanted; missing {} {:?}, unexpected {} {:?}, repeated {} {:?}",
        got.len(),
        want.len(),
        missing.len(),
        missing.iter().take(5).collect::<Vec<_>>(),
        extra.len(),
        extra.iter().take(5).collect::<Vec<_>>(),
        repeated.len(),
        repeated.iter().take(5).collect::<Vec<_>>()
    );
}

fn has_all(got: &[Occ], want: &BTreeSet<Occ>) -> bool {
    let got: BTreeSet<&Occ> = got.iter().collect();
    want.iter().all(|o| got.contains(o))
}

/// `GET path` on `addr`: (status, body), over a plain socket (no client of
/// kev's).
fn http_get(addr: &str, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("{addr}: {e}"));
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {out:?}"));
    let body = out.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, body.to_string())
}

/// The value of one sample in Prometheus text (`name{labels}` as written).
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| {
        let (name, value) = l.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok())?
    })
}

/// The metrics address kev logged (`metrics.listen` with port 0).
fn metrics_addr(d: &mut Daemon) -> String {
    let stderr = d.stderr.clone();
    wait_for(d, "the metrics address in the log", || {
        let log = std::fs::read_to_string(&stderr).unwrap_or_default();
        let line = log.lines().find(|l| l.contains("serving /metrics"))?;
        if let Ok(v) = serde_json::from_str::<Value>(line) {
            return v["fields"]["addr"].as_str().map(str::to_string);
        }
        let at = line.find("addr=")? + 5;
        Some(
            line[at..]
                .split_whitespace()
                .next()?
                .trim_matches('"')
                .to_string(),
        )
    })
}

#[test]
fn a_sink_that_was_down_catches_up_after_a_restart_and_the_other_gets_nothing_twice() {
    let e = env();
    let hook = e.receiver();
    hook.set_default(Reply::status(503));
    let mut want = BTreeSet::new();
    for i in 0..200 {
        want.insert(e.add(&format!("e{i}.x")));
    }
    let archive = e.path("archive.ndjson");
    let config = e.config(
        "kev.yaml",
        json!({
            "sinks": [
                {"name": "archive", "type": "ndjson", "path": archive, "fsync": "batch"},
                {"name": "hook", "type": "webhook", "url": hook.url(), "format": "ndjson",
                 "batch": {"maxEvents": 50, "maxWait": "50ms"},
                 "retry": {"initialBackoff": "20ms", "maxBackoff": "100ms"}},
            ],
        }),
    );
    let mut d = e.start(&config);
    // The webhook fails; the file gets everything meanwhile (its buffer
    // has room), and the state file records the file's progress.
    wait_for(&mut d, "the file to have every event", || {
        has_all(&file_occs_so_far(&archive), &want).then_some(())
    });
    wait_for(&mut d, "the webhook to be refused and retried", || {
        (hook.requests().len() >= 3).then_some(())
    });
    wait_for(
        &mut d,
        "the state file to know the file sink's progress",
        || {
            let state: Value =
                serde_json::from_slice(&std::fs::read(e.path("state.json")).ok()?).ok()?;
            (state["partial"].as_array().map_or(0, Vec::len) >= 200).then_some(())
        },
    );
    d.stop();
    assert!(
        received(&hook.requests()).is_empty(),
        "nothing accepted yet"
    );
    let first = file_occs(&archive);
    assert_exactly_once(&first, &want, "the file, first run");

    // Back up; kev restarts; more events meanwhile.
    hook.set_default(Reply::ok());
    for i in 200..250 {
        want.insert(e.add(&format!("e{i}.x")));
    }
    let mut d = e.start(&config);
    wait_for(&mut d, "the webhook to catch up", || {
        has_all(&received(&hook.requests()), &want).then_some(())
    });
    wait_for(&mut d, "the file to have the new events", || {
        has_all(&file_occs_so_far(&archive), &want).then_some(())
    });
    d.stop();
    assert_exactly_once(&file_occs(&archive), &want, "the file, both runs");
    assert_exactly_once(&received(&hook.requests()), &want, "the webhook");
}

#[test]
fn ten_thousand_events_through_a_webhook_outage_and_a_restart_arrive_once() {
    let e = env();
    let hook = e.receiver();
    let spool = e.path("spool");
    let dead = e.path("dead.ndjson");
    let config = e.config(
        "kev.yaml",
        json!({
            "cluster": "test",
            "sinks": [
                {"name": "search", "type": "webhook", "url": hook.url(), "format": "ndjson",
                 "batch": {"maxEvents": 200, "maxWait": "20ms"},
                 "retry": {"initialBackoff": "20ms", "maxBackoff": "200ms"},
                 "spool": {"path": spool, "maxBytes": "64MiB"},
                 "deadLetter": {"path": dead}},
            ],
        }),
    );
    let mut want = BTreeSet::new();
    let mut next = 0usize;
    let mut write = |e: &Env, want: &mut BTreeSet<Occ>, n: usize| {
        for _ in 0..n {
            want.insert(e.add(&format!("e{next}.x")));
            next += 1;
        }
    };
    write(&e, &mut want, 2_000);
    let mut d = e.start(&config);
    wait_for(&mut d, "the first 2,000", || {
        has_all(&received(&hook.requests()), &want).then_some(())
    });
    // 503s.
    hook.set_default(Reply::status(503));
    write(&e, &mut want, 2_000);
    wait_for(&mut d, "a 503", || {
        hook.requests()
            .iter()
            .any(|r| r.status == Some(503))
            .then_some(())
    });
    // Connections refused; kev is restarted meanwhile; what was spooled
    // survives it.
    e.rt.block_on(hook.go_away());
    write(&e, &mut want, 2_000);
    wait_for(&mut d, "the spool to hold records", || {
        let bytes: u64 = std::fs::read_dir(&spool)
            .ok()?
            .filter_map(|f| f.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum();
        (bytes > 100_000).then_some(())
    });
    d.stop();
    write(&e, &mut want, 2_000);
    let mut d = e.start(&config);
    write(&e, &mut want, 1_000);
    e.rt.block_on(hook.come_back());
    hook.set_default(Reply::ok());
    write(&e, &mut want, 1_000);
    assert_eq!(want.len(), 10_000);
    wait_for(&mut d, "all 10,000", || {
        has_all(&received(&hook.requests()), &want).then_some(())
    });
    d.stop();
    let requests = hook.requests();
    assert_exactly_once(&received(&requests), &want, "the webhook");
    // A retried batch is the same request: its Idempotency-Key (derived
    // from its records' uid/resourceVersion) is the one of the first try.
    assert!(
        requests
            .iter()
            .all(|r| r.header("idempotency-key").is_some()),
        "every request has an Idempotency-Key"
    );
    let accepted_keys: Vec<&str> = requests
        .iter()
        .filter(|r| r.succeeded())
        .filter_map(|r| r.header("idempotency-key"))
        .collect();
    let unique: BTreeSet<&&str> = accepted_keys.iter().collect();
    assert_eq!(unique.len(), accepted_keys.len(), "no batch accepted twice");
    assert!(
        std::fs::read(&dead).map_or(true, |b| b.is_empty()),
        "nothing dead-lettered"
    );
    eprintln!(
        "outage: {} requests, {} refused with 503",
        requests.len(),
        requests.iter().filter(|r| r.status == Some(503)).count()
    );
}

#[test]
fn a_stalled_webhook_with_policy_drop_counts_its_drops_and_holds_up_nothing() {
    let e = env();
    let hook = e.receiver();
    hook.set_default(Reply::Hang);
    let archive = e.path("archive.ndjson");
    let config = e.config(
        "kev.yaml",
        json!({
            "sinks": [
                {"name": "archive", "type": "ndjson", "path": archive},
                {"name": "chat", "type": "webhook", "url": hook.url(), "format": "json",
                 "filter": "type=Warning", "timeout": "10m",
                 "batch": {"maxEvents": 5, "maxWait": "10ms"},
                 "buffer": {"events": 20, "policy": "drop"}},
            ],
            "metrics": {"listen": "127.0.0.1:0"},
        }),
    );
    let mut cmd = support::kev(e.dir.path());
    cmd.args(["run", "--log-format", "json", "--config"])
        .arg(&config);
    let mut d = Daemon::spawn(cmd, &e.path("kev.stderr"));
    let addr = metrics_addr(&mut d);
    assert_eq!(http_get(&addr, "/healthz").0, 200);
    wait_for(&mut d, "ready", || {
        (http_get(&addr, "/readyz").0 == 200).then_some(())
    });
    let mut want = BTreeSet::new();
    let mut warnings = 0;
    for i in 0..300 {
        // Two in three are Warnings, for the chat sink.
        let name = if i % 3 == 0 {
            format!("n{i}.x")
        } else {
            warnings += 1;
            format!("w{i}.x")
        };
        want.insert(e.add(&name));
    }
    wait_for(&mut d, "the file to have everything", || {
        has_all(&file_occs_so_far(&archive), &want).then_some(())
    });
    let metrics = wait_for(&mut d, "the counters to settle", || {
        let (_, m) = http_get(&addr, "/metrics");
        let received = sample(&m, "kev_events_received_total")?;
        let dropped = sample(&m, r#"kev_sink_dropped_total{sink="chat"}"#)?;
        let queued = sample(&m, r#"kev_sink_buffer_events{sink="chat"}"#)?;
        // What the chat sink's filter kept was dropped, waits in its buffer,
        // or is in the one batch it is stuck sending.
        let stuck = (warnings as f64 - dropped - queued).max(0.0);
        (received >= 300.0 && stuck <= 5.0 + 20.0).then_some(m)
    });
    assert_eq!(
        sample(&metrics, r#"kev_sink_delivered_total{sink="archive"}"#),
        Some(300.0),
        "{metrics}"
    );
    let dropped = sample(&metrics, r#"kev_sink_dropped_total{sink="chat"}"#).unwrap();
    assert!(
        dropped >= (warnings - 5 - 20 - 5) as f64 && dropped <= warnings as f64,
        "{warnings} warnings, dropped {dropped}:\n{metrics}"
    );
    assert_eq!(
        sample(&metrics, r#"kev_sink_delivered_total{sink="chat"}"#),
        Some(0.0),
        "nothing accepted by a hung endpoint"
    );
    assert_eq!(
        sample(&metrics, r#"kev_sink_dropped_total{sink="archive"}"#),
        Some(0.0)
    );
    assert!(
        sample(&metrics, "kev_checkpoint_age_seconds").is_some_and(|a| a >= 0.0),
        "the checkpoint's age: {metrics}"
    );
    assert_eq!(
        sample(&metrics, "kev_relists_total"),
        Some(0.0),
        "{metrics}"
    );
    // --log-format json: every line of the log is a JSON object.
    let log = d.stderr();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("policy is drop"))
            && l["fields"]["sink"] == "chat"),
        "drops are logged, with the sink's name:\n{log}"
    );
    assert_exactly_once(&file_occs(&archive), &want, "the file");
    d.stop();
}

#[test]
fn sighup_after_an_external_rotation_writes_the_rest_to_a_new_file() {
    let e = env();
    let archive = e.path("events.ndjson");
    let moved = e.path("events.ndjson.1");
    let config = e.config(
        "kev.yaml",
        json!({"sinks": [{"name": "archive", "type": "ndjson", "path": archive, "fsync": "batch"}]}),
    );
    let mut d = e.start(&config);
    let mut want = BTreeSet::new();
    for i in 0..100 {
        want.insert(e.add(&format!("a{i}.x")));
    }
    wait_for(&mut d, "the first 100", || {
        has_all(&file_occs_so_far(&archive), &want).then_some(())
    });
    // logrotate's way: move the file, then tell kev.
    std::fs::rename(&archive, &moved).unwrap();
    d.signal("HUP");
    wait_for(&mut d, "a new file", || archive.exists().then_some(()));
    for i in 0..100 {
        want.insert(e.add(&format!("b{i}.x")));
    }
    wait_for(&mut d, "the next 100", || {
        let mut all = file_occs(&moved);
        all.extend(file_occs_so_far(&archive));
        has_all(&all, &want).then_some(())
    });
    d.stop();
    let old = file_occs(&moved);
    let new = file_occs(&archive);
    assert_eq!(
        old.len(),
        100,
        "the moved file has what came before the signal"
    );
    assert_eq!(new.len(), 100, "the new one the rest");
    let mut all = old;
    all.extend(new);
    assert_exactly_once(&all, &want, "both files");
}

#[test]
fn kill_9_while_writing_leaves_whole_lines_and_repeats_only_what_was_not_checkpointed() {
    let e = env();
    let archive = e.path("events.ndjson");
    let state = e.path("state.json");
    let config = e.config(
        "kev.yaml",
        json!({"sinks": [{"name": "archive", "type": "ndjson", "path": archive, "fsync": "batch"}]}),
    );
    let mut d = e.start(&config);
    let mut want = BTreeSet::new();
    for i in 0..300 {
        want.insert(e.add(&format!("a{i}.x")));
    }
    wait_for(&mut d, "a checkpoint of the first 300", || {
        let s: Value = serde_json::from_slice(&std::fs::read(&state).ok()?).ok()?;
        (s["delivered"].as_array()?.len() >= 300).then_some(())
    });
    // Writes go on while kev is killed.
    let writer = {
        let cluster = e.server.cluster().clone();
        std::thread::spawn(move || {
            (0..2_000)
                .map(|i| occ_of(&cluster.add_event(event(&format!("b{i}.x"))).unwrap()))
                .collect::<Vec<_>>()
        })
    };
    wait_for(&mut d, "some of the writer's events in the file", || {
        (file_occs_lossy(&archive).len() >= 500).then_some(())
    });
    d.kill();
    let checkpointed: BTreeSet<Occ> = {
        let s: Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
        s["delivered"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x[0].as_str().expect("uid").to_string(),
                    x[1].as_str().expect("resourceVersion").to_string(),
                )
            })
            .collect()
    };
    want.extend(writer.join().unwrap());
    let mut d = e.start(&config);
    wait_for(&mut d, "everything", || {
        has_all(&file_occs_so_far(&archive), &want).then_some(())
    });
    d.stop();
    let all = file_occs(&archive);
    let c = counts(&all);
    let got: BTreeSet<Occ> = c.keys().map(|o| (*o).clone()).collect();
    assert_eq!(got, want, "nothing lost, nothing unexpected");
    let repeated: Vec<&&Occ> = c.iter().filter(|(_, n)| **n > 1).map(|(o, _)| o).collect();
    assert!(c.values().all(|n| *n <= 2), "at most one repeat each");
    assert!(checkpointed.len() >= 300, "the checkpoint before the kill");
    assert!(
        repeated.iter().all(|o| !checkpointed.contains(**o)),
        "nothing the state file recorded is written again: {repeated:?}"
    );
    eprintln!(
        "kill -9: {} repeated of {} in the file",
        repeated.len(),
        all.len()
    );
}

/// The whole lines of a file being written (a last partial line ignored).
fn file_occs_lossy(path: &Path) -> Vec<Occ> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| occ_of(&v))
        .collect()
}

#[test]
fn to_file_and_to_webhook_ship_a_listing_and_bad_ones_are_usage_errors() {
    let e = env();
    let hook = e.receiver();
    let mut want = BTreeSet::new();
    for i in 0..30 {
        want.insert(e.add(&format!("e{i}.x")));
    }
    let out = e.path("out.ndjson");
    let run = support::run(
        support::kev(e.dir.path())
            .arg("--kubeconfig")
            .arg(&e.kubeconfig)
            .arg("-A")
            .arg("--to-file")
            .arg(&out)
            .args(["--to-webhook", &hook.url()]),
    );
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(run.stdout, "", "the records go to the sinks, not stdout");
    assert_exactly_once(&file_occs(&out), &want, "--to-file");
    let got: Vec<Occ> = hook
        .succeeded()
        .iter()
        .flat_map(|r| r.json().as_array().cloned().unwrap_or_default())
        .map(|v| occ_of(&v))
        .collect();
    assert_exactly_once(&got, &want, "--to-webhook");

    for (flag, value, says) in [
        ("--to-file", "/nonexistent-dir/x.ndjson", "does not exist"),
        ("--to-webhook", "ftp://host/x", "http:// or https://"),
    ] {
        let run = support::run(
            support::kev(e.dir.path())
                .arg("--kubeconfig")
                .arg(&e.kubeconfig)
                .args(["-A", flag, value]),
        );
        assert_eq!(run.code, Some(2), "{flag} {value}: {run:?}");
        assert!(
            run.stderr.contains(flag) && run.stderr.contains(says),
            "{flag} {value}: {}",
            run.stderr
        );
    }
}
