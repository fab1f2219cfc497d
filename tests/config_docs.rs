//! Runs the examples of docs/config.md through the real binary's
//! `kev run --check`, so the reference cannot drift from what kev accepts.
//!
//! The doc marks its YAML blocks (its opening comment says so too):
//!
//! - ```` ```yaml ````: a whole configuration; `--check` must print
//!   `kev.yaml: ok (N sinks)` and exit 0. Absolute paths under `/var/`,
//!   `/etc/` and `/run/` are moved into a temporary directory (their
//!   directories created, credential and CA files written), and the
//!   environment variables the block names are set.
//! - ```` ```yaml fragment ````: part of one; only parsed as YAML.
//! - ```` ```yaml broken ````: `--check` must exit 2 and print on stderr
//!   exactly the ```` ```text ```` block that follows it.

mod support;

use std::path::Path;

use serde_norway::Value;
use support::{kev, run};

const DOC: &str = include_str!("../docs/config.md");

/// A fenced block of the doc.
#[derive(Debug)]
struct Block {
    /// The 1-based line of its opening fence.
    line: usize,
    /// The info string: `yaml`, `yaml broken`, `text`, …
    info: String,
    text: String,
}

fn blocks() -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in DOC.lines().enumerate() {
        // Fences start a line (the opening comment only mentions them).
        let fence = line.strip_prefix("```");
        match (&mut open, fence) {
            (None, Some(info)) => {
                open = Some(Block {
                    line: i + 1,
                    info: info.trim().to_string(),
                    text: String::new(),
                });
            }
            (Some(_), Some(_)) => out.extend(open.take()),
            (Some(b), None) => {
                b.text.push_str(line);
                b.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "docs/config.md: a fence is not closed");
    out
}

/// `${VAR}` references without a default, in order.
fn required_vars(text: &str) -> Vec<String> {
    let mut vars = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        let body = &rest[i + 2..];
        let Some(end) = body.find('}') else { break };
        let inner = &body[..end];
        if !inner.contains(":-") && !vars.iter().any(|v| v == inner) {
            vars.push(inner.to_string());
        }
        rest = &body[end + 1..];
    }
    vars
}

/// A placeholder for an environment variable the doc names.
fn value_for(var: &str) -> String {
    if var.ends_with("_URL") {
        "https://hooks.example.com/services/T000/B000/XXXX".to_string()
    } else {
        "doc-test-secret".to_string()
    }
}

/// `${VAR}` → its placeholder, `${VAR:-default}` → the default: the text
/// as kev will see it, for the test to read.
fn expand(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let body = &rest[i + 2..];
        let end = body.find('}').expect("a closed ${");
        let inner = &body[..end];
        match inner.split_once(":-") {
            Some((_, default)) => out.push_str(default),
            None => out.push_str(&value_for(inner)),
        }
        rest = &body[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Absolute paths under system directories → under `root`.
fn move_paths(text: &str, root: &Path) -> String {
    let root = root.to_str().expect("a UTF-8 temporary directory");
    let mut out = String::with_capacity(text.len());
    let mut prev: Option<char> = None;
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let starts_path =
            prev.is_none_or(|c| matches!(c, ' ' | '{' | '[' | '"' | '\'' | ',' | ':' | '\n'));
        if starts_path
            && ["/var/", "/etc/", "/run/"]
                .iter()
                .any(|p| rest.starts_with(p))
        {
            out.push_str(root);
        }
        let c = rest.chars().next().unwrap();
        out.push(c);
        prev = Some(c);
        i += c.len_utf8();
    }
    out
}

/// What a configuration needs to pass `--check` here: the directories of
/// its paths, its credential and CA files, its environment variables.
#[derive(Default)]
struct Needs {
    env: Vec<(String, String)>,
}

fn provide(value: &Value, root: &Path, ca_pem: &str, needs: &mut Needs) {
    match value {
        Value::Mapping(m) => {
            for (k, v) in m {
                let key = k.as_str().unwrap_or_default();
                if let Some(s) = v.as_str() {
                    if matches!(key, "tokenEnv" | "bearerTokenEnv" | "passwordEnv") {
                        needs.env.push((s.to_string(), value_for(s)));
                    }
                    let path = Path::new(s);
                    if path.starts_with(root) {
                        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                        match key {
                            "tokenFile" | "bearerTokenFile" | "passwordFile" => {
                                std::fs::write(path, "doc-test-secret\n").unwrap();
                            }
                            "caFile" => std::fs::write(path, ca_pem).unwrap(),
                            _ => {}
                        }
                    }
                }
                provide(v, root, ca_pem, needs);
            }
        }
        Value::Sequence(s) => {
            for v in s {
                provide(v, root, ca_pem, needs);
            }
        }
        _ => {}
    }
}

fn sinks_in(config: &Value) -> Option<usize> {
    config.get("sinks")?.as_sequence().map(Vec::len)
}

fn parse(block: &Block, text: &str) -> Value {
    serde_norway::from_str(text)
        .unwrap_or_else(|e| panic!("docs/config.md:{}: not YAML: {e}\n{text}", block.line))
}

#[test]
fn every_yaml_block_is_marked() {
    let all = blocks();
    let mut whole = 0;
    for b in all.iter().filter(|b| b.info.starts_with("yaml")) {
        let value = parse(b, &expand(&b.text));
        match b.info.as_str() {
            "yaml" | "yaml broken" => assert!(
                sinks_in(&value).is_some(),
                "docs/config.md:{}: a whole configuration (with `sinks:`), or mark it ```yaml fragment",
                b.line
            ),
            "yaml fragment" => {}
            other => panic!(
                "docs/config.md:{}: ```{other}: expected ```yaml, ```yaml fragment or ```yaml broken",
                b.line
            ),
        }
        whole += usize::from(b.info == "yaml");
    }
    assert!(whole >= 10, "only {whole} whole configurations found");
}

#[test]
fn every_whole_configuration_passes_check() {
    let ca = kev_testkit::TestCa::new("kev docs CA").unwrap();
    let mut checked = 0;
    for b in blocks().iter().filter(|b| b.info == "yaml") {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let text = move_paths(&b.text, &root);
        let config = parse(b, &expand(&text));
        let mut needs = Needs::default();
        for var in required_vars(&text) {
            needs.env.push((var.clone(), value_for(&var)));
        }
        provide(&config, &root, ca.cert_pem(), &mut needs);
        std::fs::write(dir.path().join("kev.yaml"), &text).unwrap();

        let mut cmd = kev(dir.path());
        cmd.current_dir(dir.path())
            .args(["run", "--check", "--config", "kev.yaml"]);
        for (k, v) in &needs.env {
            cmd.env(k, v);
        }
        let r = run(&mut cmd);
        let n = sinks_in(&config).unwrap();
        let want = format!("kev.yaml: ok ({n} sink{})\n", if n == 1 { "" } else { "s" });
        assert!(
            r.code == Some(0) && r.stdout == want,
            "docs/config.md:{}: kev run --check failed: {r:?}\n{text}",
            b.line
        );
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} configurations checked");
}

#[test]
fn the_broken_examples_fail_with_the_documented_messages() {
    let all = blocks();
    let mut checked = 0;
    for (i, b) in all
        .iter()
        .enumerate()
        .filter(|(_, b)| b.info == "yaml broken")
    {
        let expected = all
            .get(i + 1)
            .filter(|next| next.info == "text")
            .unwrap_or_else(|| {
                panic!(
                    "docs/config.md:{}: a ```yaml broken block must be followed by a ```text block of its output",
                    b.line
                )
            });
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kev.yaml"), &b.text).unwrap();
        let mut cmd = kev(dir.path());
        cmd.current_dir(dir.path())
            .args(["run", "--check", "--config", "kev.yaml"]);
        for var in required_vars(&b.text) {
            cmd.env_remove(var);
        }
        let r = run(&mut cmd);
        assert_eq!(r.code, Some(2), "docs/config.md:{}: {r:?}", b.line);
        assert_eq!(r.stdout, "", "docs/config.md:{}", b.line);
        assert_eq!(
            r.stderr.trim_end(),
            expected.text.trim_end(),
            "docs/config.md:{}: the output differs from the doc's (line {})",
            b.line,
            expected.line
        );
        checked += 1;
    }
    assert!(checked >= 1, "no ```yaml broken block found");
}
