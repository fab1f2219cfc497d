//! Runs every example in docs/filter.md (issue 4: "every example in
//! docs/filter.md runs as a test").
//!
//! Each ```` ```sh ```` block holding a `kev` command must be followed by an
//! `<!-- expect: UID... -->` comment (the events of
//! tests/fixtures/incident.ndjson it selects, at 2026-11-28T10:00:00Z) or an
//! `<!-- expect-error: TEXT -->` comment (a substring of the error). The
//! command's filter flags and expression are interpreted here as the CLI
//! does, through [`Filter::build`]; an unknown flag fails the test, so the
//! docs cannot drift to flags kev does not have.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::{Filter, Sugar, parse_time_bound};
use crate::source::replay::Replay;

const DOC: &str = include_str!("../../docs/filter.md");
const NOW: &str = "2026-11-28T10:00:00Z";

/// Split a command line as a POSIX shell would, for the quoting the docs use.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for d in chars.by_ref() {
                    if d == '\'' {
                        break;
                    }
                    cur.push(d);
                }
            }
            '"' => {
                in_word = true;
                while let Some(d) = chars.next() {
                    match d {
                        '"' => break,
                        '\\' => {
                            let e = chars.next().unwrap();
                            if !matches!(e, '"' | '\\' | '$' | '`') {
                                cur.push('\\');
                            }
                            cur.push(e);
                        }
                        d => cur.push(d),
                    }
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    words
}

/// The filter a `kev ...` command line builds.
fn filter_of(words: &[String]) -> Result<Filter, super::FilterError> {
    assert_eq!(words[0], "kev");
    let mut sugar = Sugar::default();
    let mut exprs = Vec::new();
    let mut args = words[1..].iter();
    let mut replay = false;
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| panic!("{a} needs a value"))
                .clone()
        };
        match a.as_str() {
            "replay" if !replay => replay = true,
            "-A" | "--all-namespaces" | "-w" | "--watch" => {}
            "-o" | "--output" | "--now" => {
                value();
            }
            "-n" | "--namespace" => sugar.namespaces.push(value()),
            "--types" => sugar.types.push(value()),
            "--reason" => sugar.reasons.push(value()),
            "--kind" => sugar.kinds.push(value()),
            "--for" => {
                let spec = crate::model::ObjectSpec::parse(&value()).expect("--for KIND/NAME");
                sugar.for_object = Some(spec.offline_target().expect("a built-in kind"));
            }
            "--since" => sugar.since = Some(parse_time_bound(&value())?),
            "--until" => sugar.until = Some(parse_time_bound(&value())?),
            "--match" => sugar.match_message = Some(value()),
            "--" => {
                exprs.extend(args.by_ref().cloned());
            }
            flag if flag.starts_with('-') => {
                panic!("docs/filter.md uses a flag this test does not know: {flag}")
            }
            // `kev replay FILE...`: files come before `--`.
            _ if replay => {}
            word => exprs.push(word.to_string()),
        }
    }
    Filter::build(&exprs, &sugar)
}

enum Expect {
    Uids(BTreeSet<String>),
    Error(String),
}

/// (command line, expectation) for every `kev` example in the doc.
fn examples() -> Vec<(String, Expect)> {
    let mut out = Vec::new();
    let lines: Vec<&str> = DOC.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() == "```sh" {
            let mut cmds = Vec::new();
            i += 1;
            while lines[i].trim() != "```" {
                if lines[i].starts_with("kev ") {
                    cmds.push(lines[i].to_string());
                }
                i += 1;
            }
            assert_eq!(
                cmds.len(),
                1,
                "one kev command per ```sh block, near line {}",
                i + 1
            );
            let next = lines.get(i + 1).map_or("", |l| l.trim());
            let expect = if let Some(rest) = next.strip_prefix("<!-- expect:") {
                Expect::Uids(
                    rest.trim_end_matches("-->")
                        .split_whitespace()
                        .map(str::to_string)
                        .collect(),
                )
            } else if let Some(rest) = next.strip_prefix("<!-- expect-error:") {
                Expect::Error(rest.trim_end_matches("-->").trim().to_string())
            } else {
                panic!(
                    "the example `{}` has no <!-- expect: ... --> line after it",
                    cmds[0]
                );
            };
            out.push((cmds.remove(0), expect));
        }
        i += 1;
    }
    out
}

#[test]
fn every_example_in_docs_filter_md_runs() {
    let now: DateTime<Utc> = NOW.parse().unwrap();
    let events: Vec<_> = Replay::from_reader(
        "incident.ndjson",
        &include_bytes!("../../tests/fixtures/incident.ndjson")[..],
    )
    .map(|r| r.unwrap().0)
    .collect();
    assert_eq!(events.len(), 25);
    let examples = examples();
    assert!(
        examples.len() >= 25,
        "only {} examples found",
        examples.len()
    );
    for (cmd, expect) in examples {
        let built = filter_of(&shell_words(&cmd));
        match (expect, built) {
            (Expect::Uids(want), Ok(f)) => {
                let got: BTreeSet<String> = events
                    .iter()
                    .filter(|e| f.matches(e, now))
                    .map(|e| e.uid.clone())
                    .collect();
                assert_eq!(got, want, "`{cmd}` (filter: {f})");
            }
            (Expect::Error(want), Err(e)) => {
                assert!(
                    e.to_string().contains(&want),
                    "`{cmd}`: error {e:?} does not contain {want:?}"
                );
            }
            (Expect::Uids(_), Err(e)) => panic!("`{cmd}` failed:\n{}", e.render()),
            (Expect::Error(want), Ok(f)) => panic!("`{cmd}` should fail with {want:?}, built {f}"),
        }
    }
}

#[test]
fn the_rendered_error_in_the_docs_is_what_kev_prints() {
    let e = filter_of(&shell_words(r#"kev -A -- 'reason=~"(Back"'"#)).unwrap_err();
    let shown = format!("kev: {}", e.render());
    assert!(
        DOC.contains(&format!("```text\n{shown}\n```")),
        "docs/filter.md should show:\n{shown}"
    );
}

#[test]
fn shell_words_quoting() {
    assert_eq!(
        shell_words(r#"kev -- 'a b' "c \"d\" \e" f"#),
        vec!["kev", "--", "a b", "c \"d\" \\e", "f"]
    );
    assert_eq!(shell_words("kev ''"), vec!["kev", ""]);
}
