//! `kev replay` through the binary: every input format, stdin, gzip,
//! malformed lines (reported, counted, exit 1, nothing else lost), relative
//! time windows against `--now`, and each output format.

mod support;

use std::io::Write;
use std::process::Stdio;

use serde_json::{Value, json};
use support::{kev, run};

const NOW: &str = "2026-11-28T10:00:00Z";

fn raw(ns: &str, name: &str, type_: &str, reason: &str, last: &str, count: i64) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"namespace": ns, "name": name, "uid": format!("uid-{name}"), "resourceVersion": "7",
                     "creationTimestamp": last},
        "involvedObject": {"kind": "Pod", "namespace": ns, "name": name.split('.').next().unwrap(), "apiVersion": "v1"},
        "type": type_, "reason": reason, "message": format!("{reason}: pulling image registry/app:1.2"),
        "count": count, "firstTimestamp": "2026-11-28T09:00:00Z", "lastTimestamp": last,
    })
}

fn corpus() -> Vec<Value> {
    vec![
        raw(
            "payments",
            "web-1.a",
            "Warning",
            "BackOff",
            "2026-11-28T09:55:00Z",
            4,
        ),
        raw(
            "payments",
            "web-2.b",
            "Normal",
            "Pulled",
            "2026-11-28T09:50:00Z",
            1,
        ),
        raw(
            "checkout",
            "api-1.c",
            "Warning",
            "Failed",
            "2026-11-28T09:10:00Z",
            1,
        ),
        raw(
            "kube-system",
            "dns-1.d",
            "Warning",
            "Unhealthy",
            "2026-11-28T09:58:00Z",
            2,
        ),
    ]
}

fn lines(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| serde_json::to_string(v).unwrap() + "\n")
        .collect()
}

fn names(ndjson: &str) -> Vec<String> {
    ndjson
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::tempdir().unwrap())
    }
    fn write(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.0.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    }
    fn kev(&self, args: &[&str]) -> support::Run {
        run(kev(self.0.path()).args(args))
    }
}

#[test]
fn every_input_format_gives_the_same_selection() {
    let d = Dir::new();
    let raw_lines = d.write("raw.jsonl", lines(&corpus()).as_bytes());
    let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": corpus()});
    let json_doc = d.write(
        "list.json",
        serde_json::to_string_pretty(&list).unwrap().as_bytes(),
    );
    let yaml_doc = d.write(
        "list.yaml",
        serde_norway::to_string(&list).unwrap().as_bytes(),
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(lines(&corpus()).as_bytes()).unwrap();
    let gzipped = d.write("raw.jsonl.gz", &gz.finish().unwrap());
    // kev's own NDJSON, produced by kev from the raw lines.
    let r = d.kev(&["replay", &raw_lines, "-o", "ndjson"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let kev_ndjson = d.write("kev.ndjson", r.stdout.as_bytes());

    for input in [&raw_lines, &json_doc, &yaml_doc, &gzipped, &kev_ndjson] {
        let r = d.kev(&[
            "replay",
            input,
            "--now",
            NOW,
            "-o",
            "ndjson",
            "--",
            "type=Warning",
            "age<=30m",
        ]);
        assert_eq!(r.code, Some(0), "{input}: {}", r.stderr);
        assert_eq!(names(&r.stdout), ["web-1.a", "dns-1.d"], "{input}");
    }
}

#[test]
fn stdin_is_dash() {
    let d = Dir::new();
    let mut child = kev(d.0.path())
        .args([
            "replay",
            "-",
            "-o",
            "ndjson",
            "--",
            "reason in (Failed, Pulled)",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(lines(&corpus()).as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        names(&String::from_utf8(out.stdout).unwrap()),
        ["web-2.b", "api-1.c"]
    );
}

#[test]
fn malformed_lines_are_reported_and_the_rest_is_kept() {
    let d = Dir::new();
    let mut text = lines(&corpus()[..2]);
    text.push_str("{\"metadata\": \n");
    text.push_str("not json at all\n");
    text.push_str(&lines(&corpus()[2..]));
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"\xff\xfe invalid utf-8\n");
    let f = d.write("dump.jsonl", &bytes);
    let r = d.kev(&["replay", &f, "-o", "ndjson"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert_eq!(
        names(&r.stdout),
        ["web-1.a", "web-2.b", "api-1.c", "dns-1.d"],
        "nothing else lost"
    );
    let errs: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(errs.len(), 4, "{}", r.stderr);
    assert!(errs[0].contains(&format!("{f}:3:")), "{}", errs[0]);
    assert!(errs[1].contains(&format!("{f}:4:")), "{}", errs[1]);
    assert!(errs[2].contains(&format!("{f}:7:")), "{}", errs[2]);
    assert_eq!(
        errs[3],
        "error: 3 malformed lines were skipped (reported above)"
    );
}

#[test]
fn relative_windows_use_now_and_absolute_ones_do_not() {
    let d = Dir::new();
    let f = d.write("raw.jsonl", lines(&corpus()).as_bytes());
    let r = d.kev(&["replay", &f, "--now", NOW, "--since", "10m", "-o", "ndjson"]);
    assert_eq!(
        names(&r.stdout),
        ["web-1.a", "web-2.b", "dns-1.d"],
        "age<=10m includes exactly 10m"
    );
    let r = d.kev(&["replay", &f, "--now", NOW, "--since", "9m", "-o", "ndjson"]);
    assert_eq!(names(&r.stdout), ["web-1.a", "dns-1.d"]);
    let r = d.kev(&[
        "replay",
        &f,
        "--since",
        "2026-11-28T09:52:00Z",
        "--until",
        "2026-11-28T09:56:00Z",
        "-o",
        "ndjson",
    ]);
    assert_eq!(names(&r.stdout), ["web-1.a"]);
    let r = d.kev(&["replay", &f, "--now", "yesterday"]);
    assert_eq!(r.code, Some(2));
}

#[test]
fn table_output_is_sorted_and_namespaced() {
    let d = Dir::new();
    let f = d.write("raw.jsonl", lines(&corpus()).as_bytes());
    let r = d.kev(&["replay", &f, "--now", NOW, "--color", "never"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let want = "\
NAMESPACE     LAST SEEN          TYPE      REASON      OBJECT      MESSAGE
checkout      50m                Warning   Failed      Pod/api-1   Failed: pulling image registry/app:1.2
payments      10m                Normal    Pulled      Pod/web-2   Pulled: pulling image registry/app:1.2
payments      5m (x4 over 60m)   Warning   BackOff     Pod/web-1   BackOff: pulling image registry/app:1.2
kube-system   2m (x2 over 60m)   Warning   Unhealthy   Pod/dns-1   Unhealthy: pulling image registry/app:1.2
";
    assert_eq!(r.stdout, want, "\n{}", r.stdout);
    let r = d.kev(&[
        "replay",
        &f,
        "--now",
        NOW,
        "-n",
        "payments",
        "--no-headers",
        "--color",
        "never",
    ]);
    assert_eq!(r.stdout.lines().count(), 2);
    assert!(
        !r.stdout.contains("payments"),
        "no NAMESPACE column with -n: {}",
        r.stdout
    );
}

#[test]
fn flags_and_expression_combine() {
    let d = Dir::new();
    let f = d.write("raw.jsonl", lines(&corpus()).as_bytes());
    let r = d.kev(&[
        "replay",
        &f,
        "-o",
        "ndjson",
        "--types",
        "warning",
        "--kind",
        "Pod",
        "--match",
        "image",
        "--",
        "not",
        "ns=checkout",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(names(&r.stdout), ["web-1.a", "dns-1.d"]);
    let r = d.kev(&["replay", &f, "-o", "ndjson", "--for", "po/web-1"]);
    assert_eq!(names(&r.stdout), ["web-1.a"]);
    let r = d.kev(&["replay", &f, "-o", "yaml", "--", "name=dns-1"]);
    assert!(
        r.stdout.starts_with("---\nschema: kev/v1\n"),
        "{}",
        r.stdout
    );
    let r = d.kev(&["replay", &f, "-o", "json", "--", "count>=2"]);
    let docs: Vec<Value> = serde_json::Deserializer::from_str(&r.stdout)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(docs.len(), 2);
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let d = Dir::new();
    let r = d.kev(&["replay", "/nonexistent/dump.ndjson"]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("/nonexistent/dump.ndjson"),
        "{}",
        r.stderr
    );
    // Reported like a bad line (other inputs would still be read), then counted.
    assert_eq!(
        r.stderr,
        "kev: /nonexistent/dump.ndjson: cannot open: No such file or directory\n\
         error: 1 input could not be read (reported above)\n"
    );
}

#[test]
fn an_expression_without_the_double_dash_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let r = support::run(support::kev(dir.path()).args([
        "replay",
        "tests/fixtures/incident.ndjson",
        "type=Warning",
    ]));
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(
        r.stderr.contains("\"type=Warning\"") && r.stderr.contains("after `--`"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout, "", "nothing read");
    // A file that exists under such a name is still a file.
    let odd = dir.path().join("type=Warning");
    std::fs::copy("tests/fixtures/incident.ndjson", &odd).unwrap();
    let r = support::run(support::kev(dir.path()).args(["replay", odd.to_str().unwrap()]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

#[test]
fn name_and_template_outputs_with_values_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("d.json");
    let ev = json!({
        "metadata": {"namespace": "default", "name": "web.1", "uid": "u1", "resourceVersion": "7"},
        "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web"},
        "reason": "BackOff", "message": "bad \u{1b}]2;pwned\u{7}", "type": "Warning", "count": 4,
        "lastTimestamp": "2026-11-28T10:00:00Z",
    });
    std::fs::write(&dump, format!("{ev}\n")).unwrap();
    let d = dump.to_str().unwrap();
    let r = run(kev(dir.path()).args(["replay", d, "-o", "name"]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout, "event/web.1\n");
    let r = run(kev(dir.path()).args([
        "replay",
        d,
        "-o",
        "template",
        "--template",
        "{{ reason }} {{ object.kind }}/{{ object.name }} x{{ count }} {{ message }}{% if type == 'Warning' %} !{% endif %}",
    ]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout, "BackOff Pod/web x4 bad ^[]2;pwned\\x07 !\n");
    // Usage errors: a template that does not compile points at its line;
    // -o template without one, --template without -o template.
    for (args, want) in [
        (
            vec!["-o", "template", "--template", "{{ reason "],
            "(line 1)",
        ),
        (vec!["-o", "template"], "needs --template"),
        (vec!["--template", "x"], "is for -o template"),
        (vec!["-o", "name", "--summary"], "--summary prints with"),
    ] {
        let r = run(kev(dir.path()).args(["replay", d]).args(&args));
        assert_eq!(r.code, Some(2), "{args:?}: {r:?}");
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
    }
}

/// A template that fails for one event of a long dump (read by the
/// parallel workers) fails the replay, naming the template, as it does for
/// a short one; it is not dropped in silence with the event.
#[test]
fn a_template_that_fails_for_one_event_fails_the_replay() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..20_000 {
        let ev = json!({
            "metadata": {"namespace": "default", "name": format!("web.{i}"), "uid": format!("u{i}"), "resourceVersion": "7"},
            "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web"},
            "reason": "BackOff", "message": "m", "type": "Warning",
            "count": if i == 12_345 { 4 } else { 1 },
            "lastTimestamp": "2026-11-28T10:00:00Z",
        });
        text.push_str(&format!("{ev}\n"));
    }
    for (name, body) in [
        ("long.json", text.as_str()),
        ("short.json", text.lines().nth(12_345).unwrap()),
    ] {
        let dump = dir.path().join(name);
        std::fs::write(&dump, body).unwrap();
        let r = run(kev(dir.path()).args([
            "replay",
            dump.to_str().unwrap(),
            "-o",
            "template",
            "--template",
            "{{ 10 // (count - 4) }}",
        ]));
        assert_eq!(r.code, Some(1), "{name}: {}", r.stderr);
        assert!(
            r.stderr.contains("cannot print an event: --template: "),
            "{name}: {}",
            r.stderr
        );
    }
}

#[test]
fn jsonpath_runs_once_over_the_whole_replay_sorted_by_last_seen() {
    let d = Dir::new();
    let f = d.write("d.ndjson", lines(&corpus()).as_bytes());
    let r = d.kev(&["replay", &f, "-o", "jsonpath={.items[*].metadata.name}"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout, "api-1.c web-2.b web-1.a dns-1.d");
    let r = d.kev(&[
        "replay",
        &f,
        "-o",
        r#"jsonpath={range .items[?(@.count>1)]}{.metadata.namespace}/{.reason}{"\n"}{end}"#,
        "--",
        "type=Warning",
    ]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout, "payments/BackOff\nkube-system/Unhealthy\n");
    // Nothing selected: nothing printed (kubectl prints nothing either).
    let r = d.kev(&[
        "replay",
        &f,
        "-o",
        "jsonpath={.items[*].reason}",
        "--",
        "reason=None",
    ]);
    assert_eq!((r.code, r.stdout.as_str()), (Some(0), ""), "{}", r.stderr);
    let r = d.kev(&["replay", &f, "-o", "jsonpath={.items[*]}", "--summary"]);
    assert_eq!(r.code, Some(2), "{r:?}");
    assert!(r.stderr.contains("--summary prints with"), "{}", r.stderr);
}
