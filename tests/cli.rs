//! The `kev` binary against the in-process fake apiserver: listing, paging,
//! pushdown, `--for` through discovery, errors and exit codes, and `-w`
//! through normal watch ends, dropped connections and `410 Gone`.

mod support;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::{Duration, Instant};

use chrono::Utc;
use kev_testkit::{ExpiredWatch, FakeApiServer, FakeCluster, Fault, Gate, On, realistic_events};
use serde_json::{Value, json};
use support::{Follower, kev, run};

const WAIT: Duration = Duration::from_secs(30);

struct Env {
    server: FakeApiServer,
    home: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
}

fn env(cluster: FakeCluster) -> Env {
    let server = FakeApiServer::start_blocking(cluster);
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    Env {
        server,
        home,
        kubeconfig,
    }
}

impl Env {
    fn kev(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = kev(self.home.path());
        cmd.arg("--kubeconfig").arg(&self.kubeconfig).args(args);
        cmd
    }
}

fn event(ns: &str, name: &str, reason: &str, type_: &str, last: &str, count: i64) -> Value {
    json!({
        "metadata": {"namespace": ns, "name": name, "creationTimestamp": last},
        "involvedObject": {"kind": "Pod", "namespace": ns, "name": name.split('.').next().unwrap(), "apiVersion": "v1"},
        "reason": reason, "message": format!("{reason} happened to {name}"), "type": type_,
        "count": count, "firstTimestamp": last, "lastTimestamp": last,
        "source": {"component": "kubelet", "host": "node-1"},
    })
}

fn ago(mins: i64) -> String {
    kev::model::time_serde::format(&(Utc::now() - chrono::Duration::minutes(mins)))
}

fn small_cluster() -> FakeCluster {
    FakeCluster::new().with_events([
        event("default", "web-1.a", "BackOff", "Warning", &ago(5), 3),
        event("default", "web-2.b", "Pulled", "Normal", &ago(30), 1),
        event("payments", "api-1.c", "Unhealthy", "Warning", &ago(10), 1),
    ])
}

fn ndjson(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("kev/v1 line"))
        .collect()
}

#[test]
fn lists_one_namespace_sorted_by_last_seen() {
    let e = env(small_cluster());
    let r = run(&mut e.kev(&["-n", "default", "--color", "never"]));
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.stderr, "");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", r.stdout);
    assert!(
        lines[0].starts_with("LAST SEEN ") && lines[0].contains(" TYPE "),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("30m ") && lines[1].contains("Pulled"),
        "oldest first: {}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("5m (x3 over 5m)") && lines[2].contains("Pod/web-1"),
        "{}",
        lines[2]
    );
}

#[test]
fn all_namespaces_adds_the_namespace_column() {
    let e = env(small_cluster());
    let r = run(&mut e.kev(&["-A", "--color", "never", "--no-headers"]));
    assert_eq!(r.code, Some(0), "{r:?}");
    let ns: Vec<&str> = r
        .stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(ns, ["default", "payments", "default"]);
    let list = e
        .server
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/v1/events")
        .expect("cluster-wide list");
    assert_eq!(list.param("limit"), Some("5000"));
}

#[test]
fn no_events_says_so_on_stderr() {
    let e = env(small_cluster());
    let r = run(&mut e.kev(&["-n", "empty"]));
    assert_eq!(r.code, Some(0));
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr, "No events found in empty namespace.\n");
}

#[test]
fn pages_with_continue_tokens_and_returns_every_event_once() {
    let now = Utc::now();
    let e = env(FakeCluster::new().with_events(realistic_events(1234, 7, now)));
    let r = run(&mut e.kev(&["-A", "-o", "ndjson", "--chunk-size", "100"]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let recs = ndjson(&r.stdout);
    assert_eq!(recs.len(), 1234);
    let uids: HashSet<&str> = recs.iter().map(|r| r["uid"].as_str().unwrap()).collect();
    assert_eq!(uids.len(), 1234, "no duplicates");
    let lists: Vec<_> = e
        .server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/events")
        .collect();
    assert_eq!(lists.len(), 13, "1234 events in pages of 100");
    assert!(lists[0].param("continue").is_none());
    assert!(
        lists[1..]
            .iter()
            .all(|r| r.param("continue").is_some() && r.param("limit") == Some("100"))
    );
    let last_seen: Vec<chrono::DateTime<Utc>> = recs
        .iter()
        .map(|r| r["lastSeen"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        last_seen.windows(2).all(|w| w[0] <= w[1]),
        "sorted by last seen"
    );
}

#[test]
fn expression_is_pushed_down_and_still_evaluated_locally() {
    let e = env(small_cluster());
    let r = run(&mut e.kev(&["-A", "-o", "ndjson", "type=warning", "reason=~\"^Back\""]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let recs = ndjson(&r.stdout);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["name"], "web-1.a");
    let list = e
        .server
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/v1/events")
        .unwrap();
    assert_eq!(
        list.param("fieldSelector"),
        Some("type=Warning"),
        "case-normalized type pushed, regex kept local"
    );
}

#[test]
fn for_resolves_short_names_through_discovery() {
    let mut ev = event(
        "default",
        "web.x",
        "ScalingReplicaSet",
        "Normal",
        &ago(3),
        1,
    );
    ev["involvedObject"] = json!({"kind": "Deployment", "namespace": "default", "name": "web", "apiVersion": "apps/v1"});
    let e = env(FakeCluster::new().with_events([
        ev,
        event("default", "web.y", "BackOff", "Warning", &ago(2), 1),
    ]));
    for spec in ["deploy/web", "deployments.apps/web", "Deployment/web"] {
        e.server.clear_requests();
        let r = run(&mut e.kev(&["--for", spec, "-o", "ndjson"]));
        assert_eq!(r.code, Some(0), "{spec}: {}", r.stderr);
        let recs = ndjson(&r.stdout);
        assert_eq!(recs.len(), 1, "{spec}");
        assert_eq!(recs[0]["object"]["kind"], "Deployment");
        let list = e
            .server
            .requests()
            .into_iter()
            .find(|r| r.path.ends_with("/events"))
            .unwrap();
        let fs = list.param("fieldSelector").unwrap().to_string();
        let mut terms: Vec<&str> = fs.split(',').collect();
        terms.sort();
        assert_eq!(
            terms,
            [
                "involvedObject.apiVersion=apps/v1",
                "involvedObject.kind=Deployment",
                "involvedObject.name=web"
            ],
            "{spec}"
        );
    }
    let r = run(&mut e.kev(&["--for", "widget/x"]));
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr.contains("doesn't have a resource type \"widget\""),
        "{}",
        r.stderr
    );
}

#[test]
fn forbidden_names_verb_and_resource_in_one_line() {
    let e = env(small_cluster());
    e.server.script().push(
        On::List,
        Fault::Forbidden {
            user: "jane".into(),
        },
    );
    let r = run(&mut e.kev(&["-A"]));
    assert_eq!(r.code, Some(1));
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("error: permission denied: kev needs \"list\" on \"events\""),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("User \"jane\" cannot list resource \"events\""),
        "{}",
        r.stderr
    );
}

/// A kubeconfig pointing at a loopback port that was free a moment ago:
/// nothing listens there. Returns its path and the port.
fn unreachable_kubeconfig(dir: &std::path::Path) -> (std::path::PathBuf, u16) {
    let kc = dir.join("kc");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\nusers: [{{name: u, user: {{token: t}}}}]\ncontexts: [{{name: x, context: {{cluster: c, user: u}}}}]\ncurrent-context: x\n"
        ),
    )
    .unwrap();
    (kc, port)
}

#[test]
fn unreachable_server_is_a_runtime_failure() {
    let home = tempfile::tempdir().unwrap();
    let (kc, port) = unreachable_kubeconfig(home.path());
    let r = run(kev(home.path()).arg("--kubeconfig").arg(&kc).arg("-A"));
    assert_eq!(r.code, Some(1), "{r:?}");
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "cannot reach the apiserver at http://127.0.0.1:{port}"
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn kubeconfig_problems_are_usage_errors() {
    let home = tempfile::tempdir().unwrap();
    let r = run(kev(home.path()).arg("-A"));
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr.starts_with("error: no kubeconfig found"),
        "{}",
        r.stderr
    );

    let bad = home.path().join("bad");
    std::fs::write(&bad, "clusters: [").unwrap();
    let r = run(kev(home.path()).arg("--kubeconfig").arg(&bad));
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr
            .starts_with(&format!("error: cannot load kubeconfig {}", bad.display())),
        "{}",
        r.stderr
    );
    // The parser's snippet stays on its lines, the caret under the column.
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.trim_start().starts_with("--> <input>:1:")),
        "{}",
        r.stderr
    );
    assert!(
        lines.iter().any(|l| l.contains("| clusters: [")),
        "{}",
        r.stderr
    );
    assert!(
        lines
            .iter()
            .any(|l| l.trim_start().starts_with("|") && l.contains('^')),
        "{}",
        r.stderr
    );

    let missing = home.path().join("missing");
    let r = run(kev(home.path()).arg("--kubeconfig").arg(&missing));
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr,
        format!(
            "error: cannot read kubeconfig \"{}\": No such file or directory (os error 2)\n",
            missing.display()
        ),
        "the path once, quoted once"
    );

    // A failing exec credential plugin: its own words, no Debug dump.
    let plugin = home.path().join("plugin.sh");
    std::fs::write(
        &plugin,
        "#!/bin/sh\necho 'token expired: run login' >&2\nexit 3\n",
    )
    .unwrap();
    let mut perms = std::fs::metadata(&plugin).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&plugin, perms).unwrap();
    let kc = home.path().join("exec");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: \"http://127.0.0.1:1\"}}}}]\nusers: [{{name: u, user: {{exec: {{apiVersion: client.authentication.k8s.io/v1beta1, command: {}, interactiveMode: Never}}}}}}]\ncontexts: [{{name: c, context: {{cluster: c, user: u}}}}]\ncurrent-context: c\n",
            plugin.display()
        ),
    )
    .unwrap();
    let r = run(kev(home.path()).arg("--kubeconfig").arg(&kc));
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "error: the kubeconfig's credential plugin \"{}\" failed (exit status 3): token expired: run login\n",
            plugin.display()
        )
    );

    let e = env(small_cluster());
    let r = run(&mut e.kev(&["--context", "nope"]));
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("no such context"), "{}", r.stderr);
}

#[test]
fn filter_typo_points_at_the_column_and_exits_2() {
    let e = env(small_cluster());
    let r = run(&mut e.kev(&["-A", "reason=~\"(Back\""]));
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr,
        "error: invalid regex: unclosed group (at column 9)\n  reason=~\"(Back\"\n          ^^^^^^^\n"
    );
    assert!(
        e.server
            .requests()
            .iter()
            .all(|r| !r.path.ends_with("/events")),
        "nothing listed"
    );
}

#[test]
fn closed_stdout_exits_zero_quietly() {
    let e = env(FakeCluster::new().with_events(realistic_events(20_000, 3, Utc::now())));
    let mut child = e
        .kev(&["-A"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is dropped here: the pipe is closed, like `| head -1`.
    let out = child.wait_with_output().unwrap();
    assert!(first.starts_with("NAMESPACE"), "{first}");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn following_into_a_closed_pipe_stops_without_waiting_for_an_event() {
    // `kev -A -w | head -1` on a quiet cluster: no new event will come to
    // make a write fail, so kev must notice the reader has gone.
    let e = env(small_cluster());
    let mut child = e
        .kev(&["-A", "-w"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert!(first.starts_with("NAMESPACE"), "{first}");
    // Wait until kev is watching (the listing is written), then close.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !e.server.requests().iter().any(|r| {
        r.query
            .iter()
            .any(|(k, v)| k == "watch" && v != "0" && v != "false")
    }) {
        assert!(Instant::now() < deadline, "kev did not start watching");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(reader);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("kev kept following a closed pipe");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(err, "", "quietly");
}

#[test]
fn hostile_text_never_reaches_the_terminal_raw() {
    let raw: Value =
        serde_json::from_slice(include_bytes!("fixtures/core_v1_hostile.json")).unwrap();
    let e = env(FakeCluster::new().with_events([raw]));
    for args in [&["-A", "--color", "always"][..], &["-A", "-o", "wide"][..]] {
        let r = run(&mut e.kev(args));
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let without_our_colour = r
            .stdout
            .replace("\x1b[1m", "")
            .replace("\x1b[33m", "")
            .replace("\x1b[0m", "")
            .replace("\x1b[39m", "")
            .replace("\x1b[22m", "");
        assert!(
            !without_our_colour.contains('\x1b'),
            "{args:?}: {:?}",
            &r.stdout[..200]
        );
        assert!(!r.stdout.contains('\r') && !r.stdout.contains('\x07') && !r.stdout.contains('\0'));
        assert!(r.stdout.contains("^[[31mRED"));
    }
    // NDJSON keeps the message exactly (JSON escapes what JSON must).
    let r = run(&mut e.kev(&["-A", "-o", "ndjson"]));
    let rec = &ndjson(&r.stdout)[0];
    assert!(
        rec["message"]
            .as_str()
            .unwrap()
            .starts_with("pull failed \x1b[31mRED")
    );
}

fn follow(e: &Env, args: &[&str]) -> Follower {
    let mut cmd = e.kev(args);
    Follower::spawn(&mut cmd)
}

fn names(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn watch_shows_new_events_and_updates_as_new_occurrences() {
    let e = env(small_cluster());
    let mut f = follow(&e, &["-A", "-w", "-o", "ndjson"]);
    f.wait_lines(3, WAIT);
    e.server
        .wait_for_request_blocking(WAIT, |r| r.is_watch())
        .expect("kev opened a watch");
    e.server
        .cluster()
        .add_event(event("default", "late.d", "Killing", "Normal", &ago(0), 1))
        .unwrap();
    e.server.cluster().bump_event("default", "web-1.a").unwrap();
    let lines = f.wait_lines(5, WAIT).to_vec();
    let added: Value = serde_json::from_str(&lines[3]).unwrap();
    assert_eq!(added["name"], "late.d");
    assert_eq!(added["watchType"], "ADDED");
    let modified: Value = serde_json::from_str(&lines[4]).unwrap();
    assert_eq!(modified["name"], "web-1.a");
    assert_eq!(modified["watchType"], "MODIFIED");
    assert_eq!(modified["count"], 4);
    let first: Value = serde_json::from_str(&lines[2]).unwrap();
    assert_ne!(first["resourceVersion"], modified["resourceVersion"]);
    let watch = e
        .server
        .requests()
        .into_iter()
        .find(|r| r.is_watch())
        .unwrap();
    assert!(
        watch
            .param("resourceVersion")
            .is_some_and(|rv| !rv.is_empty() && rv != "0"),
        "watch from the list's RV"
    );
}

#[test]
fn watch_continues_after_the_server_ends_it_and_after_dropped_connections() {
    let e = env(small_cluster());
    e.server
        .script()
        .push(On::Watch, Fault::EndAfter(1))
        .push(On::Watch, Fault::DropAfter(1));
    let mut f = follow(&e, &["-A", "-w", "-o", "ndjson"]);
    f.wait_lines(3, WAIT);
    e.server
        .wait_for_request_blocking(WAIT, |r| r.is_watch())
        .expect("kev opened a watch");
    for i in 0..4 {
        e.server
            .cluster()
            .add_event(event(
                "default",
                &format!("n{i}.z"),
                "Started",
                "Normal",
                &ago(0),
                1,
            ))
            .unwrap();
    }
    let lines = f.wait_lines(7, WAIT).to_vec();
    assert_eq!(
        names(&lines[3..]),
        ["n0.z", "n1.z", "n2.z", "n3.z"],
        "each once, in order"
    );
    assert!(
        f.drain_for(Duration::from_millis(300)).is_empty(),
        "no repeats"
    );
    let watches: Vec<_> = e
        .server
        .requests()
        .into_iter()
        .filter(|r| r.is_watch())
        .collect();
    assert!(watches.len() >= 3, "re-watched: {watches:?}");
    // Each re-watch starts from the last resourceVersion delivered, not from the list.
    assert_ne!(
        watches[0].param("resourceVersion"),
        watches[1].param("resourceVersion")
    );
    assert!(f.is_running());
}

fn assert_relist_delivers_only_missed(e: &Env, mut f: Follower, what: &str) {
    let lines = f.wait_lines(5, WAIT).to_vec();
    let mut got = names(&lines[3..]);
    got.sort();
    assert_eq!(got, ["api-1.c", "missed.e"], "{what}: only what was missed");
    assert!(
        f.drain_for(Duration::from_millis(300)).is_empty(),
        "{what}: nothing repeated"
    );
    let lists = e
        .server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/events" && !r.is_watch())
        .count();
    assert_eq!(lists, 2, "{what}: relisted once");
    // And it keeps following.
    e.server
        .cluster()
        .add_event(event("default", "after.f", "Started", "Normal", &ago(0), 1))
        .unwrap();
    let lines = f.wait_lines(6, WAIT).to_vec();
    assert_eq!(names(&lines[5..]), ["after.f"]);
    let stderr = f.stop();
    assert!(
        stderr.contains("relisting"),
        "{what}: says so on stderr: {stderr}"
    );
}

fn change_while_cut_off(e: &Env) {
    e.server
        .cluster()
        .add_event(event(
            "default",
            "missed.e",
            "Failed",
            "Warning",
            &ago(0),
            1,
        ))
        .unwrap();
    e.server
        .cluster()
        .bump_event("payments", "api-1.c")
        .unwrap();
}

#[test]
fn expired_watch_relists_and_delivers_only_missed_occurrences() {
    for mode in [ExpiredWatch::ErrorEvent, ExpiredWatch::HttpGone] {
        let e = env(small_cluster().with_expired_watch(mode));
        let gate = Gate::new();
        // kev is cut off (its watch held) while events change and etcd compacts.
        e.server.script().push(On::Watch, Fault::Hold(gate.clone()));
        let mut f = follow(&e, &["-A", "-w", "-o", "ndjson"]);
        f.wait_lines(3, WAIT);
        assert!(gate.arrived_blocking(1, WAIT));
        change_while_cut_off(&e);
        e.server.cluster().compact();
        gate.open();
        assert_relist_delivers_only_missed(&e, f, &format!("{mode:?}"));
    }
}

#[test]
fn immediately_closed_watch_is_treated_as_expired() {
    let e = env(small_cluster());
    let gate = Gate::new();
    e.server.script().push(On::Watch, Fault::EmptyWatch);
    e.server
        .script()
        .push(On::List, Fault::Pass)
        .push(On::List, Fault::Hold(gate.clone()));
    let mut f = follow(&e, &["-A", "-w", "-o", "ndjson"]);
    f.wait_lines(3, WAIT);
    assert!(
        gate.arrived_blocking(1, WAIT),
        "kev relists after an empty watch"
    );
    change_while_cut_off(&e);
    gate.open();
    assert_relist_delivers_only_missed(&e, f, "EmptyWatch");
}

#[test]
fn watch_only_starts_from_now() {
    let e = env(small_cluster());
    let mut f = follow(&e, &["-A", "--watch-only", "-o", "ndjson"]);
    e.server
        .wait_for_request_blocking(WAIT, |r| r.is_watch())
        .expect("kev opened a watch");
    e.server
        .cluster()
        .add_event(event("default", "new.g", "Started", "Normal", &ago(0), 1))
        .unwrap();
    let lines = f.wait_lines(1, WAIT).to_vec();
    assert_eq!(names(&lines), ["new.g"]);
    let list = e
        .server
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/v1/events" && !r.is_watch())
        .unwrap();
    assert_eq!(
        list.param("limit"),
        Some("1"),
        "only the collection's resourceVersion is read"
    );
}

#[test]
fn watch_stops_with_an_error_when_permission_is_withdrawn() {
    let e = env(small_cluster());
    e.server.script().push(
        On::Watch,
        Fault::Forbidden {
            user: "jane".into(),
        },
    );
    let out = run(&mut e.kev(&["-A", "-w", "-o", "ndjson"]));
    assert_eq!(out.code, Some(1));
    assert_eq!(out.stdout.lines().count(), 3);
    assert!(
        out.stderr.contains("kev needs \"watch\" on \"events\""),
        "{}",
        out.stderr
    );
}

#[test]
fn completions_and_man_are_generated() {
    let home = tempfile::tempdir().unwrap();
    let r = run(kev(home.path()).args(["completions", "bash"]));
    assert_eq!(r.code, Some(0));
    assert!(r.stdout.contains("--all-namespaces") && r.stdout.contains("replay"));
    let r = run(kev(home.path()).arg("man"));
    assert_eq!(r.code, Some(0));
    assert!(
        r.stdout.contains(".TH kev") && r.stdout.contains("watch"),
        "{}",
        &r.stdout[..200]
    );
}

#[test]
fn a_malformed_watch_line_is_skipped_without_losing_the_stream() {
    let e = env(small_cluster());
    e.server.script().push(On::Watch, Fault::MalformedAfter(1));
    let mut f = follow(&e, &["-A", "-w", "-o", "ndjson"]);
    f.wait_lines(3, WAIT);
    e.server
        .wait_for_request_blocking(WAIT, |r| r.is_watch())
        .expect("kev opened a watch");
    for i in 0..3 {
        e.server
            .cluster()
            .add_event(event(
                "default",
                &format!("m{i}.z"),
                "Started",
                "Normal",
                &ago(0),
                1,
            ))
            .unwrap();
    }
    let lines = f.wait_lines(6, WAIT).to_vec();
    assert_eq!(names(&lines[3..]), ["m0.z", "m1.z", "m2.z"]);
    let watches = e
        .server
        .requests()
        .into_iter()
        .filter(|r| r.is_watch())
        .count();
    assert_eq!(watches, 1, "kept reading the same watch");
}

#[test]
fn watch_only_relist_does_not_replay_old_events() {
    let e = env(small_cluster());
    let gate = Gate::new();
    e.server.script().push(On::Watch, Fault::Hold(gate.clone()));
    let mut f = follow(&e, &["-A", "--watch-only", "-o", "ndjson"]);
    assert!(gate.arrived_blocking(1, WAIT));
    e.server
        .cluster()
        .add_event(event("default", "new.h", "Started", "Normal", &ago(0), 1))
        .unwrap();
    e.server.cluster().compact();
    gate.open();
    let lines = f.wait_lines(1, WAIT).to_vec();
    assert_eq!(names(&lines), ["new.h"], "only what happened after start");
    assert!(
        f.drain_for(Duration::from_millis(300)).is_empty(),
        "old events not replayed"
    );
}

#[test]
fn watch_gives_up_at_once_when_it_never_connected() {
    let home = tempfile::tempdir().unwrap();
    let (kc, _port) = unreachable_kubeconfig(home.path());
    for mode in ["-w", "--watch-only"] {
        let r = run(kev(home.path())
            .arg("--kubeconfig")
            .arg(&kc)
            .args(["-A", mode]));
        assert_eq!(r.code, Some(1), "{mode}: {r:?}");
        assert!(
            r.stderr.contains("cannot reach the apiserver"),
            "{mode}: {}",
            r.stderr
        );
    }
}

#[test]
fn completions_into_a_closed_pipe_exit_zero() {
    let home = tempfile::tempdir().unwrap();
    let mut child = kev(home.path())
        .args(["completions", "zsh"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// kubectl's global flags over the kubeconfig: `--server` with `--token`
/// and no kubeconfig at all, `-s` over a context's dead server, `--user`
/// and `--cluster` choosing other entries, `--as`/`--as-group` sent as
/// impersonation headers, and the warnings for `--token` and
/// `--insecure-skip-tls-verify`.
#[test]
fn kubectl_connection_flags_override_the_kubeconfig() {
    let e = env(small_cluster());
    let url = e.server.url();
    let bearer = |token: &str| Some(format!("Bearer {token}"));
    let last_auth = |e: &Env| e.server.requests().last().unwrap().authorization.clone();

    // No kubeconfig: the flags are enough, as with kubectl.
    let empty = tempfile::tempdir().unwrap();
    let r = run(kev(empty.path()).args(["-A", "--server", &url, "--token", "s3cret"]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("NAMESPACE"), "{}", r.stdout);
    assert_eq!(last_auth(&e), bearer("s3cret"));
    assert!(
        r.stderr.contains("--token") && r.stderr.contains("process list"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("s3cret"),
        "the token is never printed: {}",
        r.stderr
    );

    // A kubeconfig whose context points at a dead server, a second user and
    // a second cluster entry.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let kc = e.home.path().join("two");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: dead\n  cluster: {{server: \"{dead_url}\"}}\n- name: live\n  cluster: {{server: \"{url}\"}}\nusers:\n- name: first\n  user: {{token: one}}\n- name: second\n  user: {{token: two}}\ncontexts:\n- name: c\n  context: {{cluster: dead, user: first, namespace: default}}\ncurrent-context: c\n"
        ),
    )
    .unwrap();
    let kc = kc.to_str().unwrap();
    let r = run(kev(e.home.path()).args(["--kubeconfig", kc, "-s", &url]));
    assert_eq!(
        r.code,
        Some(0),
        "-s over the context's server: {}",
        r.stderr
    );
    assert_eq!(last_auth(&e), bearer("one"), "the context's user");
    let r =
        run(kev(e.home.path()).args(["--kubeconfig", kc, "--cluster", "live", "--user", "second"]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(last_auth(&e), bearer("two"));
    let r = run(kev(e.home.path()).args(["--kubeconfig", kc, "--user", "nobody"]));
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr
            .contains("--user \"nobody\": no such entry; the kubeconfig has: first, second"),
        "{}",
        r.stderr
    );

    // Impersonation.
    let r = run(&mut e.kev(&[
        "--as",
        "alice",
        "--as-group",
        "devs",
        "--as-group",
        "oncall",
    ]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let req = e.server.requests().last().unwrap().clone();
    assert_eq!(req.impersonate_user.as_deref(), Some("alice"));
    assert_eq!(req.impersonate_groups, ["devs", "oncall"]);
    let r = run(&mut e.kev(&["--as-group", "devs"]));
    assert_eq!(r.code, Some(2), "--as-group needs --as");

    // --insecure-skip-tls-verify warns (the fake server is plain HTTP).
    let r = run(&mut e.kev(&["--insecure-skip-tls-verify"]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stderr.contains("certificate is not checked"),
        "{}",
        r.stderr
    );
}

#[test]
fn an_html_error_page_is_summarised_and_an_undecodable_200_is_not_unreachable() {
    use kev_testkit::ApiStatus;
    let page = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title><style>body{font:13px}</style></head>\n<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx/1.25.3</center>\n</body></html>\n";
    let e = env(small_cluster());
    e.server.script().always(
        On::List,
        Fault::Status(ApiStatus::new(502, "", "").with_raw_body("text/html", page)),
    );
    let r = run(&mut e.kev(&["-A", "--request-timeout", "2s"]));
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr.contains("502 Bad Gateway"),
        "the page's title: {}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("<html") && !r.stderr.contains("<style"),
        "no markup: {}",
        r.stderr
    );
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);

    let e = env(small_cluster());
    e.server.script().always(
        On::List,
        Fault::Status(
            ApiStatus::new(200, "", "")
                .with_raw_body("application/json", "{\"kind\":\"EventList\",\"items\":[{"),
        ),
    );
    let r = run(&mut e.kev(&["-A", "--request-timeout", "2s"]));
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        !r.stderr.contains("cannot reach"),
        "it answered: {}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("malformed response from the apiserver while trying to list events"),
        "{}",
        r.stderr
    );
}

#[test]
fn jsonpath_is_applied_once_to_the_listing_as_kubectl_does() {
    let e = env(small_cluster());
    // Oldest first, joined with spaces, no newline added (as kubectl).
    let r = run(&mut e.kev(&["-n", "default", "-o", "jsonpath={.items[*].reason}"]));
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.stdout, "Pulled BackOff");
    assert_eq!(r.stderr, "");
    // range/end over the items, kubectl's paths of a raw Event, literals.
    let r = run(&mut e.kev(&[
        "-n",
        "default",
        "-o",
        r#"jsonpath={range .items[*]}{.metadata.name}{"\t"}{.reason}{"\n"}{end}"#,
    ]));
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.stdout, "web-2.b\tPulled\nweb-1.a\tBackOff\n");
    // A filter; the template from --template, as kubectl takes it too.
    let r = run(&mut e.kev(&[
        "-A",
        "-o",
        "jsonpath",
        "--template",
        r#"{.items[?(@.type=="Warning")].involvedObject.name}"#,
    ]));
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.stdout, "api-1 web-1");
    // A missing field prints nothing (kubectl's default), or is an error.
    let r = run(&mut e.kev(&["-n", "default", "-o", "jsonpath=[{.items[*].nope}]"]));
    assert_eq!((r.code, r.stdout.as_str()), (Some(0), "[]"), "{r:?}");
    let r = run(&mut e.kev(&[
        "-n",
        "default",
        "-o",
        "jsonpath={.items[*].nope}",
        "--allow-missing-template-keys=false",
    ]));
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("nope is not found"), "{}", r.stderr);
}

#[test]
fn jsonpath_as_json_and_jsonpath_file() {
    let e = env(small_cluster());
    let r = run(&mut e.kev(&["-n", "default", "-o", "jsonpath-as-json={.items[*].count}"]));
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.stdout, "[\n    1,\n    3\n]\n");
    let names: Value = serde_json::from_str(
        &run(&mut e.kev(&[
            "-A",
            "-o",
            "jsonpath-as-json={.items[*].metadata.namespace}",
        ]))
        .stdout,
    )
    .unwrap();
    assert_eq!(names, json!(["default", "payments", "default"]));
    let file = e.home.path().join("reasons.jsonpath");
    std::fs::write(&file, "{range .items[*]}{.reason}\n{end}").unwrap();
    let r = run(&mut e.kev(&[
        "-n",
        "default",
        "-o",
        &format!("jsonpath-file={}", file.display()),
    ]));
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.stdout, "Pulled\nBackOff\n");
}

#[test]
fn an_invalid_jsonpath_is_exit_2_with_its_column_before_connecting() {
    let e = env(small_cluster());
    for (template, stderr) in [
        (
            "{.items[*].reason",
            "error: -o jsonpath: unclosed action: no } after this { (at column 1)\n  {.items[*].reason\n  ^\n",
        ),
        (
            "{.items[?(@.type=~\"W\")].reason}",
            "error: -o jsonpath: unrecognized filter operator = (==, !=, <, <=, >, >=) (at column 17)\n  {.items[?(@.type=~\"W\")].reason}\n                  ^\n",
        ),
    ] {
        let r = run(&mut e.kev(&["-A", "-o", &format!("jsonpath={template}")]));
        assert_eq!(r.code, Some(2), "{r:?}");
        assert_eq!(r.stderr, stderr);
        assert_eq!(r.stdout, "");
    }
    let r = run(&mut e.kev(&["-A", "-o", "jsonpath"]));
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr.contains("-o jsonpath needs a template"),
        "{}",
        r.stderr
    );
    let r = run(&mut e.kev(&["-A", "-o", "json={.items}"]));
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr.contains("-o json takes no =TEMPLATE"),
        "{}",
        r.stderr
    );
    assert!(
        e.server
            .requests()
            .iter()
            .all(|r| !r.path.ends_with("/events")),
        "nothing listed"
    );
}

#[test]
fn jsonpath_values_are_escaped_for_the_terminal() {
    let raw: Value =
        serde_json::from_slice(include_bytes!("fixtures/core_v1_hostile.json")).unwrap();
    let e = env(FakeCluster::new().with_events([raw]));
    for output in [
        "jsonpath={.items[*].message} {.items[*].involvedObject.name} {.items[0].source}",
        "jsonpath-as-json={.items[*].message}",
    ] {
        let r = run(&mut e.kev(&["-A", "-o", output]));
        assert_eq!(r.code, Some(0), "{output}: {}", r.stderr);
        assert!(
            !r.stdout.contains('\x1b')
                && !r.stdout.contains('\r')
                && !r.stdout.contains('\x07')
                && !r.stdout.contains('\0'),
            "{output}: {:?}",
            &r.stdout[..200]
        );
    }
    let r = run(&mut e.kev(&["-A", "-o", "jsonpath={.items[0].message}"]));
    assert!(
        r.stdout
            .starts_with("pull failed ^[[31mRED^[[0m\\x07 bell\\r\\ncarriage"),
        "{:?}",
        &r.stdout[..60]
    );
    let r = run(&mut e.kev(&["-A", "-o", "jsonpath={.items[0].involvedObject}"]));
    assert!(
        r.stdout.contains(r#""name":"pod-\u001b[2Jclear""#),
        "{}",
        r.stdout
    );
}

#[test]
fn watch_applies_jsonpath_to_each_event() {
    let e = env(small_cluster());
    let mut f = follow(
        &e,
        &[
            "-A",
            "-w",
            "-o",
            "jsonpath={.reason} {.involvedObject.name}",
        ],
    );
    f.wait_lines(3, WAIT);
    e.server
        .wait_for_request_blocking(WAIT, |r| r.is_watch())
        .expect("kev opened a watch");
    e.server
        .cluster()
        .add_event(event("default", "late.d", "Killing", "Normal", &ago(0), 1))
        .unwrap();
    let lines = f.wait_lines(4, WAIT).to_vec();
    assert_eq!(
        lines,
        [
            "Pulled web-2",
            "Unhealthy api-1",
            "BackOff web-1",
            "Killing late"
        ]
    );
}

/// The whole objects of a stream of indented JSON documents (`-w -o json
/// --list`) read so far, once there are `n`.
fn wait_objects(f: &mut Follower, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        f.drain_for(Duration::from_millis(100));
        let text = f.wait_lines(0, WAIT).join("\n");
        let got: Vec<Value> = serde_json::Deserializer::from_str(&text)
            .into_iter::<Value>()
            .map_while(Result::ok)
            .collect();
        if got.len() >= n {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "expected {n} objects, got {}:\n{text}",
            got.len()
        );
    }
}

#[test]
fn list_prints_kubectls_event_list_and_each_object_when_following() {
    let e = env(small_cluster());
    let r = run(&mut e.kev(&["-A", "-o", "json", "--list"]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let list: Value = serde_json::from_str(&r.stdout).expect("one JSON document");
    assert_eq!(list["kind"], "EventList");
    assert_eq!(list["metadata"], json!({}));
    let items = list["items"].as_array().expect("items");
    let names: Vec<&str> = items
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web-2.b", "api-1.c", "web-1.a"], "oldest first");
    assert_eq!(items[0]["kind"], "Event");
    assert_eq!(items[0]["apiVersion"], "v1");
    // The object as the server sent it: creationTimestamp is not in kev's
    // records.
    assert!(
        items[0]["metadata"]["creationTimestamp"].is_string(),
        "{}",
        r.stdout
    );
    assert!(r.stdout.starts_with("{\n    \"kind\": \"EventList\",\n    \"apiVersion\": \"v1\",\n    \"metadata\": {},\n    \"items\": [\n"));

    let mut f = follow(&e, &["-A", "-w", "-o", "json", "--list"]);
    let first = wait_objects(&mut f, 3);
    assert_eq!(first.len(), 3, "each listed object on its own");
    assert!(first.iter().all(|o| o["kind"] == "Event"), "{first:?}");
    e.server
        .wait_for_request_blocking(WAIT, |r| r.is_watch())
        .expect("kev opened a watch");
    e.server.cluster().bump_event("default", "web-1.a").unwrap();
    let all = wait_objects(&mut f, 4);
    let last = all.last().expect("the update");
    assert_eq!(last["kind"], "Event");
    assert_eq!(last["metadata"]["name"], "web-1.a");
    assert_eq!(last["count"], 4);
    f.stop();

    for (args, want) in [
        (
            vec!["-o", "ndjson", "--list"],
            "use it with -o json or -o yaml",
        ),
        (vec!["--list"], "use it with -o json or -o yaml"),
        (vec!["-o", "json", "--show-managed-fields"], "add --list"),
        (vec!["-o", "json", "--list", "--summary"], "use one"),
    ] {
        let r = run(&mut e.kev(&args));
        assert_eq!(r.code, Some(2), "{args:?}: {r:?}");
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
    }
}
