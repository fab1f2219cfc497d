//! The replay readers' fuzz targets: property tests that feed each reader
//! (lines, the parallel lines reader, streamed JSON documents, YAML
//! documents) arbitrary and damaged input: reading never panics, always
//! ends, and reports bad input as bad lines or items while every good event
//! still comes through. The YAML nesting estimate is checked against the
//! YAML parser itself. Each property runs a fixed number of cases
//! (`PROPTEST_CASES` for more; see docs/testing.md).

use std::io::{self, Write};

use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

use super::documents::{MAX_YAML_DEPTH, yaml_nesting_over};
use super::parallel::{ParOptions, replay_lines};
use super::*;

fn good(i: usize) -> Value {
    json!({
        "kind": "Event", "apiVersion": "v1",
        "metadata": {"name": format!("e{i}"), "namespace": "ns", "uid": format!("u{i}"), "resourceVersion": "1"},
        "involvedObject": {"kind": "Pod", "name": format!("p{i}")},
        "type": "Warning", "reason": "BackOff", "message": format!("m {i} \"quoted\" ]}}{{["),
        "lastTimestamp": "2026-11-28T09:00:00Z", "count": 2,
    })
}

/// Items that are not Events, each reported as one bad item.
fn bad_item(k: usize) -> Value {
    match k % 7 {
        0 => json!({}),
        1 => json!({"foo": 1}),
        2 => Value::Null,
        3 => json!(12),
        4 => json!("text"),
        5 => json!({"kind": "Pod", "metadata": {"name": "x"}}),
        _ => json!({"reason": "BackOff", "lastTimestamp": "not a time"}),
    }
}

/// Every item of an input: the uids of its events and its errors.
fn read_all(bytes: Vec<u8>) -> (Vec<String>, Vec<ReplayError>) {
    let r = Replay::from_reader("fuzz", io::Cursor::new(bytes));
    let (mut uids, mut errors) = (Vec::new(), Vec::new());
    for item in r {
        match item {
            Ok((e, _)) => uids.push(e.uid),
            Err(e) => errors.push(e),
        }
    }
    (uids, errors)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// What the parallel reader gives after the sequential reader has read
/// the first line: (uids, errors as printed).
fn read_parallel(bytes: Vec<u8>) -> (Vec<String>, Vec<String>) {
    let keep = |_: &dyn EventView| true;
    let mut r = Replay::from_reader("fuzz", io::Cursor::new(bytes));
    let (mut uids, mut errors) = (Vec::new(), Vec::new());
    let opts = ParOptions {
        workers: 2,
        block_bytes: 64,
    };
    loop {
        if let Some(lines) = r.take_lines() {
            replay_lines(lines, &keep, &opts, None, |b| {
                uids.extend(b.kept.drain(..).map(|o| o.event.uid.clone()));
                errors.extend(b.errors.iter().map(ToString::to_string));
                Ok(())
            })
            .unwrap();
            break;
        }
        match r.next_matching(&keep) {
            None => break,
            Some(Ok((e, _))) => uids.push(e.uid),
            Some(Err(e)) => errors.push(e.to_string()),
        }
    }
    (uids, errors)
}

/// How a well-formed YAML node nests its one child.
#[derive(Clone, Copy, Debug)]
enum Nest {
    /// `- child`, on the same line.
    BlockSeq,
    /// `k:` and the child on the next line, indented one more.
    BlockMap,
    /// `? child`, a complex key.
    Key,
    /// `[child]`
    FlowSeq,
    /// `{a: child}`
    FlowMap,
}

/// A well-formed YAML document nested exactly as deep as `chain` is long
/// (block styles outside, flow styles inside, as YAML requires), anchors
/// and quoted scalars on the way, and the depth it has.
fn well_formed_nesting() -> impl Strategy<Value = (String, usize)> {
    let block = prop::sample::select(vec![Nest::BlockSeq, Nest::BlockMap, Nest::Key]);
    let flow = prop::sample::select(vec![Nest::FlowSeq, Nest::FlowMap]);
    (
        prop::collection::vec(block, 0..160),
        prop::collection::vec(flow, 0..160),
        prop::sample::select(vec!["x", "'[{ - x'", "\"a: [\"", "&a x", "failed [x] {y}"]),
    )
        .prop_map(|(block, flow, leaf)| {
            let depth = block.len() + flow.len();
            // Brackets in a plain scalar are text only outside flow style.
            let leaf = if flow.is_empty() || !leaf.starts_with("failed") {
                leaf
            } else {
                "x"
            };
            let mut inner = leaf.to_string();
            for n in flow.iter().rev() {
                inner = match n {
                    Nest::FlowSeq => format!("[{inner}]"),
                    _ => format!("{{a: {inner}}}"),
                };
            }
            // Block styles, rendered from the outside in at a column.
            let mut out = String::new();
            let mut col = 0;
            for n in &block {
                match n {
                    Nest::BlockSeq => {
                        out.push_str("- ");
                        col += 2;
                    }
                    Nest::Key => {
                        out.push_str("? ");
                        col += 2;
                    }
                    _ => {
                        col += 1;
                        out.push_str(&format!("k:\n{}", " ".repeat(col)));
                    }
                }
            }
            out.push_str(&inner);
            out.push('\n');
            (out, depth)
        })
}

/// YAML made to nest, well-formed or not: a prefix, a chain of openers
/// (flow brackets, block indicators, deeper indentation), then a tail,
/// each of the pieces YAML structure is made of, so that documents near
/// the nesting limit (on both sides of it) are common.
fn nesting_soup() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "[", "]", "{", "}", ",", "- ", "? ", ": ", "a: ", "k:", "\n", "\n  ", "'", "\"", "#", "|",
        ">", "&x ", "!t ", "x", " ",
    ]);
    let opener = prop::sample::select(vec!["[", "{", "- ", "a: ", "? ", "[a, ", "{a: ", "\n"]);
    (
        prop::collection::vec(piece.clone(), 0..20),
        prop::collection::vec(opener, 0..400),
        prop::collection::vec(piece, 0..20),
    )
        .prop_map(|(head, chain, tail)| {
            let mut s = head.concat();
            let mut indent = 0;
            for o in chain {
                if o == "\n" {
                    // A block mapping one level deeper.
                    indent += 1;
                    s.push_str(&format!("\n{}k:", " ".repeat(indent)));
                } else {
                    s.push_str(o);
                }
            }
            s.push_str(&tail.concat());
            s
        })
}

/// A line: an Event (`Ok(i)`) or garbage (`Err(text)`).
fn line_strategy() -> impl Strategy<Value = Result<usize, String>> {
    prop_oneof![
        3 => (0..1000usize).prop_map(Ok),
        1 => "[^\n]{0,60}".prop_map(Err),
        1 => (0..1000usize, 0..200usize).prop_map(|(i, cut)| {
            // A good line cut short: never valid JSON.
            let s = good(i).to_string();
            Err(s[..cut.min(s.len() - 1)].to_string())
        }),
        1 => (0..7usize).prop_map(|k| Err(bad_item(k).to_string())),
        1 => prop::collection::vec(0..7usize, 0..4).prop_map(|ks| {
            // A compact list of bad items on one line.
            Err(json!({"kind": "EventList", "items": ks.into_iter().map(bad_item).collect::<Vec<_>>()}).to_string())
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: crate::testdata::fuzz_cases(256), ..ProptestConfig::default() })]

    /// Any bytes at all, plain or gzipped: no panic, an end, and the
    /// iterator and the filtering reader agree.
    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600), zip in any::<bool>()) {
        let bytes = if zip { gzip(&bytes) } else { bytes };
        let all: Vec<ReplayItem> = Replay::from_reader("fuzz", io::Cursor::new(bytes.clone())).collect();
        let mut r = Replay::from_reader("fuzz", io::Cursor::new(bytes));
        let mut filtered = Vec::new();
        while let Some(item) = r.next_matching(&|_: &dyn EventView| true) {
            filtered.push(item);
        }
        prop_assert_eq!(all, filtered);
    }

    /// Arbitrary text made of the characters JSON and YAML structure is
    /// made of: no panic, an end.
    #[test]
    fn structural_soup(text in "[\\[\\]{}\":,\\-?#'|> \\n\\\\a1]{0,300}") {
        let (_, errors) = read_all(text.clone().into_bytes());
        for e in &errors {
            prop_assert_eq!(e.file.as_str(), "fuzz");
        }
        let mut list = String::from("{\"items\":[");
        list.push_str(&text);
        let _ = read_all(list.into_bytes());
    }

    /// NDJSON with garbage lines among good ones: every good line's event
    /// comes through in order, no good line is reported, and every line
    /// that is not an Event is reported at its line number. The parallel
    /// reader gives the same.
    #[test]
    fn lines_with_bad_lines(first in 0..1000usize, rest in prop::collection::vec(line_strategy(), 0..40)) {
        let lines: Vec<Result<usize, String>> = std::iter::once(Ok(first)).chain(rest).collect();
        let mut bytes = Vec::new();
        for l in &lines {
            match l {
                Ok(i) => bytes.extend_from_slice(good(*i).to_string().as_bytes()),
                Err(s) => bytes.extend_from_slice(s.as_bytes()),
            }
            bytes.push(b'\n');
        }
        let (uids, errors) = read_all(bytes.clone());
        prop_assert_eq!(Replay::from_reader("f", io::Cursor::new(bytes.clone())).take_lines().is_some(), true);
        let want: Vec<String> = lines.iter().filter_map(|l| l.as_ref().ok()).map(|i| format!("u{i}")).collect();
        // Garbage may happen to be an Event (`{"type":"x"}`), never fewer.
        let mut got = uids.iter();
        for w in &want {
            prop_assert!(got.any(|u| u == w), "{} missing from {:?}", w, uids);
        }
        for e in &errors {
            let n = e.line.expect("a line number") as usize;
            prop_assert!(lines[n - 1].is_err(), "good line {} reported: {}", n, e);
        }
        for (n, l) in lines.iter().enumerate() {
            if let Err(s) = l {
                let blank_or_empty_list = s.trim().is_empty()
                    || serde_json::from_str::<Value>(s).is_ok_and(|v| v["items"].as_array().is_some_and(Vec::is_empty) || v == json!([]));
                let event = serde_json::from_str::<crate::model::WireEvent>(s).is_ok_and(|w| w.has_event_fields())
                    && s.trim_start().starts_with('{');
                if !blank_or_empty_list && !event {
                    prop_assert!(errors.iter().any(|e| e.line == Some(n as u64 + 1)), "line {} ({:?}) not reported: {:?}", n + 1, s, errors);
                }
            }
        }
        let (par_uids, par_errors) = read_parallel(bytes);
        prop_assert_eq!(par_uids, uids);
        prop_assert_eq!(par_errors, errors.iter().map(ToString::to_string).collect::<Vec<_>>());
    }

    /// A list with bad items, on one line, pretty-printed, as a top-level
    /// array, as YAML, gzipped or not: the good items in order, and each
    /// bad item reported once, by its number.
    #[test]
    fn documents_with_bad_items(
        items in prop::collection::vec(prop_oneof![3 => (0..1000usize).prop_map(Ok), 1 => (0..7usize).prop_map(Err)], 0..30),
        layout in 0..4usize,
        zip in any::<bool>(),
    ) {
        let values: Vec<Value> = items.iter().map(|i| match i { Ok(i) => good(*i), Err(k) => bad_item(*k) }).collect();
        let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": values});
        let text = match layout {
            0 => serde_json::to_vec(&list).unwrap(),
            1 => serde_json::to_vec_pretty(&list).unwrap(),
            2 => serde_json::to_vec(&list["items"]).unwrap(),
            _ => serde_norway::to_string(&list).unwrap().into_bytes(),
        };
        let bytes = if zip { gzip(&text) } else { text };
        let (uids, errors) = read_all(bytes);
        let want: Vec<String> = items.iter().filter_map(|i| i.as_ref().ok()).map(|i| format!("u{i}")).collect();
        prop_assert_eq!(uids, want);
        let bad: Vec<usize> = items.iter().enumerate().filter(|(_, i)| i.is_err()).map(|(n, _)| n + 1).collect();
        prop_assert_eq!(errors.len(), bad.len(), "{:?}", errors);
        for (e, n) in errors.iter().zip(&bad) {
            prop_assert!(e.message.contains(&format!("item {n}: ")), "{}", e);
            prop_assert!(e.line.is_some(), "{}", e);
        }
    }

    /// A streamed document cut anywhere: the events before the cut, then
    /// at most one error, which there is unless the cut left it whole.
    #[test]
    fn documents_cut_short(n in 1..20usize, cut in any::<prop::sample::Index>(), pretty in any::<bool>()) {
        let list = json!({"kind": "EventList", "items": (0..n).map(good).collect::<Vec<_>>()});
        let full = if pretty { serde_json::to_vec_pretty(&list).unwrap() } else { serde_json::to_vec(&list).unwrap() };
        let at = cut.index(full.len());
        let (uids, errors) = read_all(full[..at].to_vec());
        let all: Vec<String> = (0..n).map(|i| format!("u{i}")).collect();
        prop_assert!(all.starts_with(&uids), "{:?}", uids);
        prop_assert!(errors.len() <= 1, "{:?}", errors);
        if !full[..at].trim_ascii().is_empty() && uids.len() < n {
            prop_assert_eq!(errors.len(), 1, "cut at {}: {:?}", at, uids);
        }
    }

    /// The nesting estimate is from above: a YAML document it lets through
    /// never reaches the parser's own recursion limit (where the parser
    /// would already have spent time quadratic in the depth), and a
    /// document it refuses is one error, not parsed.
    #[test]
    fn yaml_nesting_estimate_is_an_upper_bound(text in nesting_soup()) {
        check_nesting(&text)?;
    }

    /// On well-formed YAML of a known depth the estimate is close: every
    /// document deeper than the limit is refused, and none is refused that
    /// is less than half as deep (an Event is a dozen levels deep).
    #[test]
    fn yaml_nesting_estimate_is_close((text, depth) in well_formed_nesting()) {
        let parsed = serde_norway::from_str::<serde_norway::Value>(&text);
        if depth < MAX_YAML_DEPTH {
            prop_assert!(parsed.is_ok(), "depth {}: {:?}: {:?}", depth, text, parsed);
        }
        let refused = yaml_nesting_over(text.as_bytes(), MAX_YAML_DEPTH).is_some();
        if depth > MAX_YAML_DEPTH {
            prop_assert!(refused, "depth {} let through: {:?}", depth, text);
        }
        if depth <= MAX_YAML_DEPTH / 2 {
            prop_assert!(!refused, "depth {} refused: {:?}", depth, text);
        }
        check_nesting(&text)?;
    }
}

fn check_nesting(text: &str) -> Result<(), TestCaseError> {
    let data = text.as_bytes();
    match yaml_nesting_over(data, MAX_YAML_DEPTH) {
        None => {
            // serde_norway's own value, which takes any key (`? [x]`).
            for doc in serde_norway::Deserializer::from_slice(data) {
                if let Err(e) = serde_norway::Value::deserialize(doc) {
                    prop_assert!(
                        !e.to_string().contains("recursion limit"),
                        "{:?}: {}",
                        text,
                        e
                    );
                    break;
                }
            }
        }
        Some(line) => {
            prop_assert!(
                line >= 1 && line as usize <= text.split('\n').count(),
                "{:?}: line {}",
                text,
                line
            );
            // What the reader makes of it, when it reads it as YAML.
            let yaml = format!("x: 1\n---\n{text}");
            let (uids, errors) = read_all(yaml.into_bytes());
            prop_assert!(uids.is_empty());
            prop_assert_eq!(errors.len(), 1, "{:?}", errors);
            prop_assert!(
                errors[0].message.contains("nested deeper than 128"),
                "{}",
                errors[0]
            );
        }
    }
    Ok(())
}
