//! Terminal escaping through the binary (`kev replay`, which prints what
//! `kev` prints): invisible and unassigned characters are shown escaped in
//! `table` and `wide`, columns line up by display width, and the data
//! formats (`json`, `ndjson`, `yaml`) keep the event's text as it came.

mod support;

use serde_json::{Value, json};
use support::{kev, run};
use unicode_width::UnicodeWidthStr;

fn event(name: &str, reason: &str, object: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"namespace": "default", "name": name, "uid": format!("uid-{name}"), "resourceVersion": "1"},
        "involvedObject": {"kind": "Pod", "namespace": "default", "name": object},
        "type": "Warning", "reason": reason, "message": format!("about {object}"),
        "count": 1, "lastTimestamp": "2026-11-28T09:59:00Z",
    })
}

/// Two objects whose names render alike, each invisible character kev must
/// show, and reasons of every width.
fn hostile() -> Vec<Value> {
    vec![
        event("a", "BackOff", "web-1"),
        event("b", "BackOff", "web\u{200b}-1"), // zero-width space
        event("c", "BackOff", "web\u{2060}-1"), // word joiner
        event("d", "BackOff", "\u{feff}web-1"), // BOM / ZWNBSP
        event("e", "Back\u{ad}Off", "web-\u{200d}1"), // soft hyphen, ZWJ
        event("f", "BackOff\u{61c}", "web-1\u{e0041}"), // ALM, a tag character
        event("g", "\u{fff9}x\u{fffb}", "web-1\u{2028}"), // annotation, LS
        event("h", "拉取镜像失败", "网页-1"),   // CJK: 2 columns each
        event("i", "🚀Crash", "web-\u{e000}\u{378}"), // emoji; private use, unassigned
    ]
}

fn replay(dir: &std::path::Path, args: &[&str]) -> support::Run {
    let file = dir.join("hostile.jsonl");
    let text: String = hostile()
        .iter()
        .map(|v| serde_json::to_string(v).unwrap() + "\n")
        .collect();
    std::fs::write(&file, text).unwrap();
    let mut cmd = kev(dir);
    cmd.arg("replay")
        .arg(&file)
        .args(["--now", "2026-11-28T10:00:00Z", "--color", "never"])
        .args(args);
    run(&mut cmd)
}

/// The terminal column at which `needle` starts in `line`.
fn column_of(line: &str, needle: &str) -> usize {
    let at = line
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} in {line:?}"));
    line[..at].width()
}

#[test]
fn invisible_characters_are_shown_escaped_in_table_and_wide() {
    let d = tempfile::tempdir().unwrap();
    for output in ["table", "wide"] {
        let r = replay(d.path(), &["-o", output]);
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        for shown in [
            "Pod/web-1 ",
            "Pod/web\\u{200b}-1",
            "Pod/web\\u{2060}-1",
            "Pod/\\u{feff}web-1",
            "Back\\u{00ad}Off",
            "Pod/web-\\u{200d}1",
            "BackOff\\u{061c}",
            "Pod/web-1\\u{e0041}",
            "\\u{fff9}x\\u{fffb}",
            "Pod/web-1\\u{2028}",
            "Pod/web-\\u{e000}\\u{0378}",
            "拉取镜像失败",
            "🚀Crash",
        ] {
            assert!(
                r.stdout.contains(shown),
                "{output}: {shown:?} in\n{}",
                r.stdout
            );
        }
        // Nothing invisible is left: every row of "web-1" look-alikes reads differently.
        for c in r.stdout.chars() {
            assert!(
                !matches!(
                    c,
                    '\u{200b}'
                        | '\u{2060}'
                        | '\u{feff}'
                        | '\u{ad}'
                        | '\u{200d}'
                        | '\u{61c}'
                        | '\u{e0041}'
                        | '\u{fff9}'
                        | '\u{fffb}'
                        | '\u{2028}'
                        | '\u{e000}'
                        | '\u{378}'
                ),
                "{output}: raw U+{:04X} in the output",
                c as u32
            );
        }
        let objects: Vec<&str> = r
            .stdout
            .lines()
            .skip(1)
            .map(|l| l[l.find("Pod/").unwrap()..].split("   ").next().unwrap())
            .collect();
        let mut unique = objects.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), objects.len(), "{output}: {objects:?}");
    }
}

#[test]
fn columns_align_by_display_width() {
    let d = tempfile::tempdir().unwrap();
    for output in ["table", "wide"] {
        let r = replay(d.path(), &["-o", output]);
        let lines: Vec<&str> = r.stdout.lines().collect();
        assert_eq!(lines.len(), 1 + hostile().len(), "{}", r.stdout);
        let object = column_of(lines[0], "OBJECT");
        let message = column_of(lines[0], "MESSAGE");
        for line in &lines[1..] {
            assert_eq!(column_of(line, "Pod/"), object, "{output}:\n{}", r.stdout);
            assert_eq!(
                column_of(line, "about "),
                message,
                "{output}:\n{}",
                r.stdout
            );
        }
    }
}

#[test]
fn data_formats_keep_the_text_as_it_came() {
    let d = tempfile::tempdir().unwrap();
    let want: Vec<String> = hostile()
        .iter()
        .map(|v| v["involvedObject"]["name"].as_str().unwrap().to_string())
        .collect();
    let r = replay(d.path(), &["-o", "ndjson"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let got: Vec<String> = r
        .stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["object"]["name"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(got, want, "ndjson is data: not escaped");
    assert!(r.stdout.contains("web\u{200b}-1"), "raw, not \\u escapes");
    let r = replay(d.path(), &["-o", "json"]);
    let got: Vec<String> = serde_json::Deserializer::from_str(&r.stdout)
        .into_iter::<Value>()
        .map(|v| v.unwrap()["object"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(got, want, "json is data: not escaped");
}
