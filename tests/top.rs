//! `kev top` in a real terminal: the binary runs in tmux against the fake
//! apiserver (or a saved dump); the tests send keys and read the screen
//! back with `capture-pane`, and check the terminal is restored (alternate
//! screen off, canonical mode and echo back on) after `q` and SIGTERM.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use kev_testkit::{FakeApiServer, FakeCluster};
use serde_json::{Value, json};

/// A tmux server of the test's own (`-L`), one session, one pane.
struct Tmux {
    socket: String,
    dir: PathBuf,
}

fn tmux_available() {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "these tests run kev top in tmux, and tmux is missing: install it (apt-get install tmux); .ci/run does"
    );
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Tmux {
    /// Run `kev ARGS` in a 200x40 pane; when it exits, its exit code and
    /// `stty -a` are written to files in `dir`.
    fn start(dir: &Path, args: &[&str]) -> Tmux {
        let t = Tmux::start_held(dir, args);
        t.go();
        t
    }

    /// [`Tmux::start`], but kev waits until [`Tmux::go`] (to record the
    /// pane from its first byte).
    fn start_held(dir: &Path, args: &[&str]) -> Tmux {
        tmux_available();
        let socket = format!("kev-top-{}-{}", std::process::id(), next());
        let kev = env!("CARGO_BIN_EXE_kev");
        let argv: Vec<String> = args.iter().map(|a| quote(a)).collect();
        let d = dir.display().to_string();
        // The inner shell writes its pid and execs kev in the foreground
        // (stdin the terminal), so the pid is kev's.
        let inner = format!("echo $$ > {d}/pid; exec {} {}", quote(kev), argv.join(" "));
        let script = format!(
            "while [ ! -e {d}/go ]; do sleep 0.05; done; \
             env -u KUBECONFIG -u NO_COLOR -u KEV_LOG HOME={d} TERM=xterm-256color sh -c {}; \
             echo $? > {d}/exit; stty -a > {d}/stty; sleep 600",
            quote(&inner)
        );
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "200",
                "-y",
                "40",
            ])
            .arg(script)
            .status()
            .expect("run tmux");
        assert!(status.success(), "tmux new-session failed");
        Tmux {
            socket,
            dir: dir.to_path_buf(),
        }
    }

    /// Let a held kev start.
    fn go(&self) {
        std::fs::write(self.dir.join("go"), "").unwrap();
    }

    /// Append everything written to the pane (escape sequences and all) to
    /// `file`, from now on.
    fn record(&self, file: &Path) {
        let cmd = format!("cat >> {}", quote(&file.display().to_string()));
        self.tmux(&["pipe-pane", "-o", &cmd]);
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p"])
    }

    /// Wait until `ok(screen)`; the last screen is in the panic message.
    fn wait(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(self.dir.join("exit")).unwrap_or_default();
                panic!("timed out waiting for {what}; exit file: {log:?}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys"];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    fn type_text(&self, text: &str) {
        self.tmux(&["send-keys", "-l", text]);
    }

    fn format(&self, f: &str) -> String {
        self.tmux(&["display-message", "-p", f]).trim().to_string()
    }

    fn pid(&self) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(p) = std::fs::read_to_string(self.dir.join("pid"))
                && let Ok(p) = p.trim().parse()
            {
                return p;
            }
            assert!(Instant::now() < deadline, "kev did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait for kev to exit: its exit code and `stty -a` after it.
    fn exited(&self) -> (i32, String) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(stty) = std::fs::read_to_string(self.dir.join("stty"))
                && !stty.is_empty()
            {
                let code = std::fs::read_to_string(self.dir.join("exit")).unwrap();
                return (code.trim().parse().unwrap(), stty);
            }
            assert!(
                Instant::now() < deadline,
                "kev top did not exit:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// After kev exited: the terminal is as it was.
    fn assert_restored(&self) {
        let (_, stty) = self.exited();
        let words: Vec<&str> = stty.split_whitespace().collect();
        assert!(words.contains(&"icanon"), "canonical mode restored: {stty}");
        assert!(words.contains(&"echo"), "echo restored: {stty}");
        assert_eq!(self.format("#{alternate_on}"), "0", "alternate screen left");
        assert_eq!(self.format("#{cursor_flag}"), "1", "cursor shown");
    }
}

/// A number of its own for each tmux server of this process.
fn next() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

fn event(
    name: &str,
    pod: &str,
    reason: &str,
    ty: &str,
    count: i64,
    message: &str,
    at: DateTime<Utc>,
) -> Value {
    let t = kev::model::time_serde::format(&at);
    json!({
        "metadata": {"namespace": "default", "name": name},
        "involvedObject": {"kind": "Pod", "namespace": "default", "name": pod, "apiVersion": "v1"},
        "reason": reason, "message": message, "type": ty,
        "count": count, "firstTimestamp": t, "lastTimestamp": t,
        "source": {"component": "kubelet"},
    })
}

fn kubeconfig(path: &Path, url: &str) {
    let kc = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": url}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u", "namespace": "default"}}],
        "current-context": "c",
        "users": [{"name": "u", "user": {"token": "t"}}],
    });
    std::fs::write(path, serde_json::to_vec(&kc).unwrap()).unwrap();
}

/// The table line of the group with `reason`, split into words.
fn row<'a>(screen: &'a str, reason: &str) -> Option<Vec<&'a str>> {
    screen
        .lines()
        .find(|l| l.split_whitespace().any(|w| w == reason))
        .map(|l| l.split_whitespace().collect())
}

#[test]
fn ranks_live_filters_opens_a_group_pauses_and_quits_restoring_the_terminal() {
    let server = FakeApiServer::start_blocking(FakeCluster::new());
    let now = Utc::now() - TimeDelta::seconds(20);
    let c = server.cluster();
    for (i, pod) in [
        "web-7d4f8b9c6-x2k9p",
        "web-7d4f8b9c6-m4b7q",
        "web-7d4f8b9c6-z8w2c",
    ]
    .iter()
    .enumerate()
    {
        c.add_event(event(
            &format!("{pod}.b{i}"),
            pod,
            "BackOff",
            "Warning",
            5,
            "Back-off restarting failed container web",
            now,
        ))
        .unwrap();
    }
    c.add_event(event(
        "api-1.p",
        "api-5f6d7c8b9-q2w4e",
        "Pulled",
        "Normal",
        50,
        "Container image already present",
        now,
    ))
    .unwrap();
    // Cluster text that would retitle the window and hide itself.
    c.add_event(event(
        "evil.e",
        "evil",
        "Evil",
        "Normal",
        1,
        "\u{1b}]2;pwned\u{7}\u{1b}[8mhidden",
        now,
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    kubeconfig(&kc, &server.url());
    let t = Tmux::start(
        dir.path(),
        &["top", "--kubeconfig", kc.to_str().unwrap(), "-n", "default"],
    );

    let s = t.wait("the groups", |s| {
        s.contains("BackOff") && s.contains("Pulled")
    });
    assert!(
        s.starts_with("kev top │ current context, namespace default │ 5 received"),
        "{s}"
    );
    let backoff = s.lines().position(|l| l.contains("BackOff")).unwrap();
    let pulled = s.lines().position(|l| l.contains("Pulled")).unwrap();
    assert!(
        backoff < pulled,
        "Warnings first, although Pulled has more:\n{s}"
    );
    let r = row(&s, "BackOff").unwrap();
    assert_eq!(r[0], "15", "the three Pods' events in one group: {r:?}");
    assert!(r.contains(&"Deployment/web"), "{r:?}");
    assert!(s.contains("^[]2;pwned\\x07^[[8mhidden"), "escaped:\n{s}");
    assert_ne!(
        t.format("#{pane_title}"),
        "pwned",
        "the title was not changed"
    );

    // Live: a new group appears.
    c.add_event(event(
        "api-1.f",
        "api-5f6d7c8b9-q2w4e",
        "FailedScheduling",
        "Warning",
        2,
        "0/3 nodes are available",
        Utc::now(),
    ))
    .unwrap();
    let s = t.wait("the new group", |s| s.contains("FailedScheduling"));
    let r = row(&s, "FailedScheduling").unwrap();
    assert_eq!(&r[..2], ["2", "2.0"], "two in the last minute: {r:?}");

    // A filter with an error: shown in place, nothing applied.
    t.keys(&["/"]);
    t.type_text("reason=(");
    t.keys(&["Enter"]);
    let s = t.wait("the error", |s| s.contains("error: column 8:"));
    assert!(s.contains("BackOff"), "nothing applied:\n{s}");
    t.keys(&["C-u"]);
    t.type_text("reason=Pulled");
    t.keys(&["Enter"]);
    let s = t.wait("the filter applied", |s| {
        s.contains("filter: reason=Pulled") && !s.contains("BackOff")
    });
    assert!(row(&s, "Pulled").is_some(), "{s}");

    // Open the group: its events.
    t.keys(&["Enter"]);
    let s = t.wait("the group's events", |s| s.contains("LAST SEEN"));
    assert!(s.contains("Pod/api-5f6d7c8b9-q2w4e"), "{s}");
    t.keys(&["Escape"]);
    t.wait("the groups again", |s| {
        s.contains("COUNT") && !s.contains("LAST SEEN")
    });

    // Esc clears the filter; p pauses: what arrives is counted, not shown.
    t.keys(&["Escape"]);
    t.wait("every group", |s| s.contains("BackOff"));
    t.keys(&["p"]);
    t.wait("paused", |s| s.contains("PAUSED"));
    c.add_event(event(
        "late.x",
        "late",
        "Killing",
        "Normal",
        1,
        "Stopping container",
        Utc::now(),
    ))
    .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!t.screen().contains("Killing"), "paused:\n{}", t.screen());
    t.keys(&["p"]);
    t.wait("resumed, the new group shown", |s| {
        s.contains("Killing") && !s.contains("PAUSED")
    });

    t.keys(&["q"]);
    let (code, _) = t.exited();
    assert_eq!(code, 0);
    t.assert_restored();
}

#[test]
fn sigterm_restores_the_terminal() {
    let server = FakeApiServer::start_blocking(FakeCluster::new());
    server
        .cluster()
        .add_event(event("a.1", "a", "BackOff", "Warning", 1, "m", Utc::now()))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    kubeconfig(&kc, &server.url());
    let t = Tmux::start(
        dir.path(),
        &["top", "--kubeconfig", kc.to_str().unwrap(), "-A"],
    );
    t.wait("the groups", |s| s.contains("BackOff"));
    assert_eq!(
        t.format("#{alternate_on}"),
        "1",
        "full screen while running"
    );
    let pid = t.pid();
    let ok = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let (code, _) = t.exited();
    assert_eq!(code, 0, "a stop, not a failure");
    t.assert_restored();
}

#[test]
fn a_saved_incident_shows_the_rates_it_had_at_now() {
    let now: DateTime<Utc> = "2026-11-30T03:00:00Z".parse().unwrap();
    let mut lines = String::new();
    // 30 occurrences 30 s before --now, 60 ten minutes before, 100 an hour
    // before (outside the 15 minutes).
    for (name, count, ago) in [("a", 30, 30), ("b", 60, 600), ("c", 100, 3600)] {
        let ev = event(
            &format!("web-7d4f8b9c6-x2k9p.{name}"),
            "web-7d4f8b9c6-x2k9p",
            "BackOff",
            "Warning",
            count,
            "Back-off restarting failed container web",
            now - TimeDelta::seconds(ago),
        );
        let mut ev = ev;
        ev["metadata"]["uid"] = json!(format!("uid-{name}"));
        ev["metadata"]["resourceVersion"] = json!("1");
        lines.push_str(&serde_json::to_string(&ev).unwrap());
        lines.push('\n');
    }
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("incident.json");
    std::fs::write(&dump, lines).unwrap();
    let t = Tmux::start(
        dir.path(),
        &[
            "top",
            "--file",
            dump.to_str().unwrap(),
            "--now",
            "2026-11-30T03:00:00Z",
        ],
    );
    let s = t.wait("the group", |s| {
        s.contains("BackOff") && s.contains("all input read")
    });
    let r = row(&s, "BackOff").unwrap();
    // COUNT, 1M, 5M, 15M: 190 in all; 30/min in the last minute, 30/5 over
    // five, 90/15 over fifteen.
    assert_eq!(&r[..4], ["190", "30", "6.0", "6.0"], "{s}");
    assert!(s.contains("2026-11-30 03:00:00Z"), "{s}");
    t.keys(&["q"]);
    assert_eq!(t.exited().0, 0);
    t.assert_restored();
}

#[test]
fn bad_lines_and_missing_files_are_kept_off_the_screen_and_said_after() {
    // Replay's reports (`kev: FILE:LINE: reason`) written to stderr while
    // the view owns the terminal would be drawn over it, and gone with the
    // alternate screen: they are kept, and written once it is restored.
    let now: DateTime<Utc> = "2026-11-30T03:00:00Z".parse().unwrap();
    // A zero-width space and a right-to-left override, shown escaped.
    let message = "Back-off\u{200b}x\u{202e}y";
    let mut ev = event("web.a", "web", "BackOff", "Warning", 3, message, now);
    ev["metadata"]["uid"] = json!("uid-a");
    ev["metadata"]["resourceVersion"] = json!("1");
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(&good, format!("{ev}\n")).unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, format!("{ev}\n{{}}\n")).unwrap();
    let missing = dir.path().join("missing.json");
    let t = Tmux::start(
        dir.path(),
        &[
            "top",
            "--file",
            good.to_str().unwrap(),
            "--file",
            missing.to_str().unwrap(),
            "--file",
            bad.to_str().unwrap(),
            "--now",
            "2026-11-30T03:00:00Z",
        ],
    );
    let s = t.wait("the group and the end of the input", |s| {
        s.contains("BackOff") && s.contains("(q quits)")
    });
    assert!(s.contains("could not be read"), "{s}");
    assert!(s.contains(r"Back-off\u{200b}x\u{202e}y"), "{s}");
    // At most the status line names a report.
    let reported = s
        .lines()
        .filter(|l| l.contains("cannot open") || l.contains("not an Event"))
        .count();
    assert!(reported <= 1, "reports drawn over the view:\n{s}");
    t.keys(&["q"]);
    let (code, _) = t.exited();
    assert_eq!(code, 1, "{}", t.screen());
    t.assert_restored();
    let after = t.screen();
    for want in [
        format!(
            "kev: {}: cannot open: No such file or directory",
            missing.display()
        ),
        format!("kev: {}:2: not an Event", bad.display()),
        "1 input could not be read and 1 malformed line was skipped".to_string(),
    ] {
        assert!(after.contains(&want), "{want:?} after the view:\n{after}");
    }
}

#[test]
fn without_a_terminal_it_says_what_to_use_instead() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("d.ndjson");
    std::fs::write(&dump, "").unwrap();
    let out =
        support::run(support::kev(dir.path()).args(["top", "--file", dump.to_str().unwrap()]));
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("needs a terminal") && out.stderr.contains("--summary"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_long_replay_shows_progress_on_a_terminal_and_nothing_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("big.ndjson");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&dump).unwrap());
        let pad = "x".repeat(300);
        for i in 0..110_000 {
            writeln!(
                f,
                r#"{{"metadata":{{"namespace":"shop","name":"e{i}","uid":"u{i}","resourceVersion":"1"}},"involvedObject":{{"kind":"Pod","namespace":"shop","name":"web-7d4f8b9c6-x2k9p"}},"reason":"BackOff","message":"Back-off restarting failed container web {pad}","type":"Warning","count":1,"lastTimestamp":"2026-11-28T10:00:00Z"}}"#
            )
            .unwrap();
        }
    }
    assert!(std::fs::metadata(&dump).unwrap().len() > 40 << 20);
    let d = dump.to_str().unwrap();

    // Not a terminal: stderr stays empty.
    let out = support::run(support::kev(dir.path()).args(["replay", d, "--summary"]));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stderr, "", "no progress without a terminal");
    assert!(out.stdout.contains("110000"), "{}", out.stdout);

    // A terminal: the bar is drawn while reading, and gone before the
    // summary is printed.
    let t = Tmux::start_held(dir.path(), &["replay", d, "--summary"]);
    let rec = dir.path().join("pane.log");
    t.record(&rec);
    t.go();
    assert_eq!(t.exited().0, 0);
    let bytes = String::from_utf8_lossy(&std::fs::read(&rec).unwrap()).into_owned();
    assert!(
        bytes.contains("reading") && bytes.contains("MiB"),
        "the bar was drawn: {bytes:?}"
    );
    let screen = t.screen();
    assert!(screen.contains("110000"), "{screen}");
    assert!(!screen.contains("reading"), "cleared:\n{screen}");
}
