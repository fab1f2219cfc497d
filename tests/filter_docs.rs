//! Runs every example in docs/filter.md (issue 4: "every example in
//! docs/filter.md runs as a test").
//!
//! Each ```` ```sh ```` block holding a `kev` command must be followed by an
//! `<!-- expect: UID... -->` comment (the events of
//! tests/fixtures/incident.ndjson it selects, at 2026-11-28T10:00:00Z) or an
//! `<!-- expect-error: TEXT -->` comment (a substring of the error). The
//! command is parsed by kev's own command line and settings (`kev::cli`,
//! `kev::config`), so the docs cannot drift to flags kev does not have.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use clap::Parser;
use kev::cli::{Cli, Command};
use kev::config::{ReplaySettings, SettingsError, TailSettings};
use kev::filter::Filter;
use kev::source::replay::Replay;

const DOC: &str = include_str!("../docs/filter.md");
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

/// The filter a `kev ...` command line builds, `-n` included (for a live
/// listing it is where kev reads, which selects the same events). Only
/// the flags are looked at; nothing is read or connected.
fn filter_of(words: &[String]) -> Result<Filter, SettingsError> {
    let cli = Cli::try_parse_from(words).unwrap_or_else(|e| panic!("{words:?}: {e}"));
    match &cli.command {
        Some(Command::Replay(args)) => ReplaySettings::from_args(args).map(|s| s.filter),
        None => {
            let s = TailSettings::from_cli(&cli)?;
            let filter = s.filter.build_offline()?;
            Ok(match s.namespaces.resolve("default") {
                Some(ns) if cli.cluster.namespace.is_some() => Filter::build(
                    &[format!("namespace={ns}"), filter.to_string()],
                    &Default::default(),
                )
                .expect("the namespace and the canonical filter parse"),
                _ => filter,
            })
        }
        Some(other) => panic!("not a filtering command: {other:?}"),
    }
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
        &include_bytes!("fixtures/incident.ndjson")[..],
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
            (Expect::Uids(_), Err(e)) => panic!("`{cmd}` failed:\n{e}"),
            (Expect::Error(want), Ok(f)) => panic!("`{cmd}` should fail with {want:?}, built {f}"),
        }
    }
}

#[test]
fn the_rendered_error_in_the_docs_is_what_kev_prints() {
    let e = filter_of(&shell_words(r#"kev -A -- 'reason=~"(Back"'"#)).unwrap_err();
    let shown = format!("kev: {e}");
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
