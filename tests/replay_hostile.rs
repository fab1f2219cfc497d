//! `kev replay` on hostile and unusual inputs, through the binary: lists of
//! any size on one line (`kubectl get --raw /api/v1/events`) and
//! pretty-printed, streamed in bounded memory (peak RSS of the child
//! measured with wait4 by a small launcher, never a time); YAML nested too deep for its parser;
//! objects that are not Events; missing and unreadable inputs among good
//! ones; and `-o yaml` that a YAML 1.1 reader loads with strings intact.

mod support;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use support::{kev, run};

const NOW: &str = "2026-11-28T10:00:00Z";

/// One raw Event as a list item of `kubectl get --raw` (no kind), about
/// 900 bytes, with a message as long as real ones.
fn item(i: usize) -> String {
    let v = json!({
        "metadata": {"name": format!("web-{i}.17a1b2c3d4e5f601"), "namespace": "payments",
                     "uid": format!("u-{i}"), "resourceVersion": format!("{}", 1000 + i),
                     "creationTimestamp": "2026-11-28T09:00:00Z"},
        "involvedObject": {"kind": "Pod", "namespace": "payments", "name": format!("web-{i}"),
                           "uid": "0b9d8f3c-1111-4c1a-9d2e-3f4a5b6c7d8e", "apiVersion": "v1",
                           "resourceVersion": "5", "fieldPath": "spec.containers{web}"},
        "reason": if i.is_multiple_of(4) { "BackOff" } else { "Pulled" },
        "message": format!("Back-off restarting failed container web in pod web-{i}_payments(0b9d8f3c-1111-4c1a-9d2e-3f4a5b6c7d8e): {}", "x".repeat(500)),
        "source": {"component": "kubelet", "host": "node-05"},
        "firstTimestamp": "2026-11-28T09:00:00Z", "lastTimestamp": "2026-11-28T09:30:00Z",
        "count": 3, "type": if i.is_multiple_of(4) { "Warning" } else { "Normal" },
        "eventTime": null, "reportingComponent": "kubelet", "reportingInstance": "node-05",
    });
    serde_json::to_string(&v).unwrap()
}

/// `n` events as one EventList on one line, as `kubectl get --raw
/// /api/v1/events` prints it; returns the file's size.
fn write_one_line_list(path: &Path, n: usize) -> u64 {
    let mut w = BufWriter::new(File::create(path).unwrap());
    w.write_all(br#"{"kind":"EventList","apiVersion":"v1","metadata":{"resourceVersion":"123456"},"items":["#)
        .unwrap();
    for i in 0..n {
        if i > 0 {
            w.write_all(b",").unwrap();
        }
        w.write_all(item(i).as_bytes()).unwrap();
    }
    w.write_all(b"]}\n").unwrap();
    w.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

/// The same as `kubectl get events -o json` prints it: indented by four.
fn write_pretty_list(path: &Path, n: usize) -> u64 {
    let mut w = BufWriter::new(File::create(path).unwrap());
    w.write_all(b"{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n")
        .unwrap();
    for i in 0..n {
        let v: Value = serde_json::from_str(&item(i)).unwrap();
        let pretty = serde_json::to_string_pretty(&v).unwrap();
        for (j, line) in pretty.lines().enumerate() {
            if j > 0 {
                w.write_all(b"\n").unwrap();
            }
            w.write_all(b"        ").unwrap();
            w.write_all(line.as_bytes()).unwrap();
        }
        w.write_all(if i + 1 < n { b",\n" } else { b"\n" }).unwrap();
    }
    w.write_all(b"    ],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n")
        .unwrap();
    w.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

/// What a run of kev gave, with its peak resident memory.
struct Measured {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    peak_rss_bytes: u64,
}

/// The variable that makes this test binary the launcher of
/// [`run_measured`]: what to run, as JSON.
const LAUNCH: &str = "KEV_TEST_LAUNCH";

/// Run `cmd` to completion with stdout and stderr in files, and measure the
/// child's peak RSS, through a launcher: this test binary run again, which
/// spawns kev, reaps it with wait4 and writes its exit status and
/// `ru_maxrss` to a file ([`launcher`]).
///
/// Why not wait4 from here: a child's `ru_maxrss` starts at the high-water
/// mark of the address space it execs from, and a child spawned by this
/// process (posix_spawn's child shares it until exec; a fork copies it)
/// execs from this test process's, tens of MiB while other tests hold the
/// output they read. Measured that way kev's peak read 27 MiB where it was
/// 13 MiB, and a bound could fail on what another test held. The launcher
/// is small, so the figure is kev's own (the launcher's few MiB at most).
fn run_measured(cmd: &mut Command, dir: &Path) -> Measured {
    let out = dir.join("stdout");
    let err = dir.join("stderr");
    let result = dir.join("rusage");
    let spec = json!({
        "program": cmd.get_program().to_string_lossy(),
        "args": cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect::<Vec<_>>(),
        "env": cmd.get_envs()
            .map(|(k, v)| (k.to_string_lossy().into_owned(), v.map(|v| v.to_string_lossy().into_owned())))
            .collect::<Vec<_>>(),
        "stdout": out, "stderr": err, "result": result,
    });
    let launched = Command::new(std::env::current_exe().unwrap())
        .args(["launcher", "--exact", "--test-threads", "1", "--quiet"])
        .env(LAUNCH, spec.to_string())
        .stdin(Stdio::null())
        .output()
        .expect("spawn the launcher");
    assert!(
        launched.status.success(),
        "launcher: {}{}",
        String::from_utf8_lossy(&launched.stdout),
        String::from_utf8_lossy(&launched.stderr)
    );
    let r: Value = serde_json::from_slice(&std::fs::read(&result).unwrap()).unwrap();
    let maxrss_kib = r["maxrss_kib"].as_u64().unwrap();
    eprintln!("peak RSS of {cmd:?}: {maxrss_kib} KiB");
    Measured {
        code: r["code"].as_i64().map(|c| c as i32),
        stdout: std::fs::read_to_string(&out).unwrap(),
        stderr: std::fs::read_to_string(&err).unwrap(),
        peak_rss_bytes: maxrss_kib * 1024,
    }
}

/// Not a test of its own: with [`LAUNCH`] set, the launcher of
/// [`run_measured`]; without it, nothing.
#[test]
fn launcher() {
    let Ok(spec) = std::env::var(LAUNCH) else {
        return;
    };
    let spec: Value = serde_json::from_str(&spec).unwrap();
    let path = |k: &str| PathBuf::from(spec[k].as_str().unwrap());
    let mut cmd = Command::new(spec["program"].as_str().unwrap());
    for a in spec["args"].as_array().unwrap() {
        cmd.arg(a.as_str().unwrap());
    }
    for kv in spec["env"].as_array().unwrap() {
        match kv[1].as_str() {
            Some(v) => cmd.env(kv[0].as_str().unwrap(), v),
            None => cmd.env_remove(kv[0].as_str().unwrap()),
        };
    }
    // Reaped by wait4 below, which std's wait cannot do with the rusage.
    #[allow(clippy::zombie_processes)]
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::from(File::create(path("stdout")).unwrap()))
        .stderr(Stdio::from(File::create(path("stderr")).unwrap()))
        .spawn()
        .expect("spawn kev");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data, written by wait4 for the child we spawned
    // (and have not waited for: std's Child only waits when asked).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    // Linux reports ru_maxrss in KiB.
    let result = json!({"code": code, "maxrss_kib": usage.ru_maxrss});
    std::fs::write(path("result"), result.to_string()).unwrap();
}

fn replay_measured(dir: &Path, file: &Path, expr: &[&str]) -> Measured {
    let mut cmd = kev(dir);
    cmd.arg("replay")
        .arg(file)
        .args(["--now", NOW, "-o", "ndjson", "--"])
        .args(expr);
    run_measured(&mut cmd, dir)
}

fn uids(ndjson: &str) -> Vec<String> {
    ndjson
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["uid"].as_str().unwrap().to_string()
        })
        .collect()
}

const MIB: u64 = 1 << 20;

#[test]
fn a_one_line_event_list_larger_than_a_line_may_be_is_streamed() {
    // Over the 64 MiB line limit, which used to skip the list whole.
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("raw-events.json");
    let n = 80_000;
    let size = write_one_line_list(&file, n);
    assert!(size > 70 * MIB, "{size}");
    let last = format!("u-{}", n - 1);
    let r = replay_measured(
        d.path(),
        &file,
        &[&format!("uid in (u-0, u-40000, {last})")],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stderr, "");
    assert_eq!(uids(&r.stdout), ["u-0", "u-40000", last.as_str()]);
    // Bounded memory: one item at a time, not the line, let alone its parse.
    assert!(
        r.peak_rss_bytes < 48 * MIB,
        "peak RSS {} MiB for a {} MiB list",
        r.peak_rss_bytes / MIB,
        size / MIB
    );
    // Every item is read: the Warnings are every fourth.
    let r = replay_measured(d.path(), &file, &["type=Warning"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), n / 4);
}

#[test]
fn a_pretty_printed_event_list_is_streamed_in_bounded_memory() {
    // `kubectl get events -o json` output used to be read whole and parsed
    // into a tree: 1.9 GB of memory for a 317 MB file.
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("events.json");
    let n = 40_000;
    let size = write_pretty_list(&file, n);
    assert!(size > 40 * MIB, "{size}");
    let r = replay_measured(d.path(), &file, &["uid in (u-0, u-39999)"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(uids(&r.stdout), ["u-0", "u-39999"]);
    assert!(
        r.peak_rss_bytes < 32 * MIB,
        "peak RSS {} MiB for a {} MiB document",
        r.peak_rss_bytes / MIB,
        size / MIB
    );
    let r = replay_measured(d.path(), &file, &["type=Warning"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), n / 4);
}

#[test]
fn a_one_line_list_under_the_line_limit_is_streamed_too() {
    // Under 64 MiB a list line used to be parsed into a tree, at many
    // times its size.
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("raw-events.json");
    let size = write_one_line_list(&file, 40_000);
    let r = replay_measured(d.path(), &file, &["uid=u-39999"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(uids(&r.stdout), ["u-39999"]);
    assert!(
        r.peak_rss_bytes < 32 * MIB,
        "peak RSS {} MiB for a {} MiB list",
        r.peak_rss_bytes / MIB,
        size / MIB
    );
}

fn dir_kev(dir: &Path, args: &[&str]) -> support::Run {
    run(kev(dir).args(args))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p: PathBuf = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

#[test]
fn yaml_nested_too_deep_is_refused_before_parsing() {
    // 100,000 nested brackets used to take 40 s of CPU in the YAML parser
    // before it said "recursion limit exceeded".
    let d = tempfile::tempdir().unwrap();
    let good = write(d.path(), "good.jsonl", (item(1) + "\n").as_bytes());
    for (name, yaml) in [
        ("flow.yaml", format!("items: {}\n", "[".repeat(100_000))),
        (
            "mappings.yaml",
            format!("items: {}x\n", "{a: ".repeat(100_000)),
        ),
        (
            "sequences.yaml",
            format!("items:\n{}x\n", "- ".repeat(100_000)),
        ),
    ] {
        let f = write(d.path(), name, yaml.as_bytes());
        let r = dir_kev(d.path(), &["replay", &f, &good, "-o", "ndjson"]);
        assert_eq!(r.code, Some(1), "{name}: {}", r.stderr);
        assert_eq!(
            uids(&r.stdout),
            ["u-1"],
            "{name}: the next input is still read"
        );
        let errs: Vec<&str> = r.stderr.lines().collect();
        assert_eq!(errs.len(), 2, "{name}: {}", r.stderr);
        assert!(
            errs[0].starts_with(&format!("kev: {f}:"))
                && errs[0].ends_with(
                    "invalid YAML: nested deeper than 128 levels; the document is not read"
                ),
            "{name}: {}",
            errs[0]
        );
        assert_eq!(
            errs[1],
            "error: 1 malformed line was skipped (reported above)"
        );
    }
    // kubectl's own YAML is nowhere near the limit.
    let list = json!({"apiVersion": "v1", "kind": "List", "items": [
        serde_json::from_str::<Value>(&item(7)).unwrap()]});
    let f = write(
        d.path(),
        "list.yaml",
        serde_norway::to_string(&list).unwrap().as_bytes(),
    );
    let r = dir_kev(d.path(), &["replay", &f, "-o", "ndjson"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(uids(&r.stdout), ["u-7"]);
}

#[test]
fn objects_that_are_not_events_are_bad_lines_not_rows() {
    let d = tempfile::tempdir().unwrap();
    let good = item(1);
    // Lines.
    let lines =
        format!("{good}\n{{}}\n{{\"foo\":1}}\nnull\n{{\"kind\":\"Event\"}}\n\"text\"\n{good}\n");
    let f = write(d.path(), "dump.jsonl", lines.as_bytes());
    let r = dir_kev(d.path(), &["replay", &f, "--now", NOW, "--color", "never"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(!r.stdout.contains("<unknown>"), "{}", r.stdout);
    assert_eq!(
        r.stdout.lines().count(),
        3,
        "a header and the two events:\n{}",
        r.stdout
    );
    let errs: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(
        errs,
        [
            format!("kev: {f}:2: not an Event: none of an Event's fields (involvedObject, reason, message, type, …)").as_str(),
            &format!("kev: {f}:3: not an Event: none of an Event's fields (involvedObject, reason, message, type, …)"),
            &format!("kev: {f}:4: not an Event but null"),
            &format!("kev: {f}:5: not an Event: none of an Event's fields (involvedObject, reason, message, type, …)"),
            &format!("kev: {f}:6: not an Event but a string"),
            "error: 5 malformed lines were skipped (reported above)",
        ]
    );
    // The same as list items, in a one-line list, a pretty document, YAML.
    let items = format!("[{good}, {{}}, {{\"foo\": 1}}, null]");
    let one_line = format!("{{\"kind\":\"EventList\",\"items\":{items}}}");
    let pretty = serde_json::to_string_pretty(
        &serde_json::from_str::<Value>(&format!("{{\"kind\":\"List\",\"items\":{items}}}"))
            .unwrap(),
    )
    .unwrap();
    let yaml = serde_norway::to_string(&serde_json::from_str::<Value>(&one_line).unwrap()).unwrap();
    for (name, text) in [
        ("one-line.json", one_line),
        ("pretty.json", pretty),
        ("list.yaml", yaml),
    ] {
        let f = write(d.path(), name, text.as_bytes());
        let r = dir_kev(d.path(), &["replay", &f, "-o", "ndjson"]);
        assert_eq!(r.code, Some(1), "{name}: {}", r.stderr);
        assert_eq!(uids(&r.stdout), ["u-1"], "{name}");
        let errs: Vec<&str> = r.stderr.lines().collect();
        assert_eq!(errs.len(), 4, "{name}: {}", r.stderr);
        assert!(
            errs[0].contains("item 2: not an Event"),
            "{name}: {}",
            errs[0]
        );
        assert!(
            errs[1].contains("item 3: not an Event"),
            "{name}: {}",
            errs[1]
        );
        assert!(errs[2].contains("item 4: "), "{name}: {}", errs[2]);
        assert!(
            errs[2].contains("null") || errs[2].contains("expected an Event"),
            "{name}: {}",
            errs[2]
        );
    }
}

#[test]
fn missing_and_unreadable_inputs_are_reported_and_the_rest_is_read() {
    let d = tempfile::tempdir().unwrap();
    let a = write(d.path(), "a.jsonl", (item(1) + "\n").as_bytes());
    let b = write(d.path(), "b.jsonl", (item(2) + "\n{oops\n").as_bytes());
    let missing = d.path().join("missing.ndjson").display().to_string();
    let dir = d.path().join("a-directory");
    std::fs::create_dir(&dir).unwrap();
    let dir = dir.display().to_string();
    // Reading it fails at once (EIO), even as root, which reads any file.
    let unreadable = "/proc/self/mem";
    let r = dir_kev(
        d.path(),
        &["replay", &missing, &a, &dir, unreadable, &b, "-o", "ndjson"],
    );
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert_eq!(
        uids(&r.stdout),
        ["u-1", "u-2"],
        "every readable input is read"
    );
    let errs: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(
        errs,
        [
            format!("kev: {missing}: cannot open: No such file or directory").as_str(),
            &format!("kev: {dir}: is a directory, not a file"),
            &format!("kev: {unreadable}: read error: Input/output error"),
            &format!("kev: {b}:2: invalid JSON: key must be a string (column 2)"),
            "error: 3 inputs could not be read and 1 malformed line was skipped (reported above)",
        ],
        "{}",
        r.stderr
    );
    let r = dir_kev(d.path(), &["replay", &missing]);
    assert_eq!(r.code, Some(1));
    assert_eq!(
        r.stderr,
        format!(
            "kev: {missing}: cannot open: No such file or directory\nerror: 1 input could not be read (reported above)\n"
        )
    );
}

#[test]
fn yaml_output_quotes_timestamps_and_whatever_yaml_1_1_would_retype() {
    let d = tempfile::tempdir().unwrap();
    let mut v: Value = serde_json::from_str(&item(3)).unwrap();
    v["reason"] = "yes".into();
    v["message"] = "12:30 on\nline two \u{1b}[31m".into();
    v["metadata"]["namespace"] = "1e3".into();
    let f = write(d.path(), "e.jsonl", (v.to_string() + "\n").as_bytes());
    let r = dir_kev(d.path(), &["replay", &f, "-o", "yaml"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let yaml = &r.stdout;
    for line in [
        "schema: kev/v1\n",
        "lastSeen: \"2026-11-28T09:30:00Z\"\n",
        "firstSeen: \"2026-11-28T09:00:00Z\"\n",
        "reason: \"yes\"\n",
        "namespace: \"1e3\"\n",
        "resourceVersion: \"1003\"\n",
        "message: \"12:30 on\\nline two \\x1b[31m\"\n",
        "type: Normal\n",
        "count: 3\n",
    ] {
        assert!(yaml.contains(line), "{line:?} in\n{yaml}");
    }
    assert!(!yaml.contains('\u{1b}'), "no raw ESC");
    // A YAML reader loads it as the same data as -o json.
    let r = dir_kev(d.path(), &["replay", &f, "-o", "json"]);
    let json: Value = serde_json::from_str(&r.stdout).unwrap();
    let doc = yaml.strip_prefix("---\n").unwrap();
    let from_yaml: Value = serde_norway::from_str(doc).unwrap();
    assert_eq!(from_yaml, json);
}
