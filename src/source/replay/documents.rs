//! Whole YAML documents: `kubectl get events -o yaml` (one or more
//! `---`-separated documents), read whole (up to
//! [`MAX_DOCUMENT_BYTES`](super::MAX_DOCUMENT_BYTES)), their items queued;
//! a bad item is reported with its position and the rest are kept. (JSON
//! documents are streamed instead: `super::scan`.)
//!
//! Before the YAML parser sees a document, its nesting is estimated
//! ([`yaml_nesting_over`]): the parser takes time quadratic in the depth
//! (100,000 nested brackets took 40 s of CPU before it gave up with
//! "recursion limit exceeded"), and no Event is more than a dozen levels
//! deep, so a document nested deeper than [`MAX_YAML_DEPTH`] is reported
//! and not parsed.

use std::collections::VecDeque;

use serde::Deserialize;

use super::lines::{no_event_fields, not_an_event, unsupported_schema};
use super::{Replay, ReplayError, ReplayItem};
use crate::model::{Event, Record, RecordContext, SCHEMA_V1, WireEvent};

impl Replay {
    pub(super) fn yaml_document(&mut self, data: &[u8], first_line: u64) {
        if let Some(line) = yaml_nesting_over(data, MAX_YAML_DEPTH) {
            self.pending.push_back(Err(self.err(
                Some(first_line + line - 1),
                format!(
                    "invalid YAML: nested deeper than {MAX_YAML_DEPTH} levels; the document is not read"
                ),
            )));
            return;
        }
        for (i, doc) in serde_norway::Deserializer::from_slice(data).enumerate() {
            match serde_json::Value::deserialize(doc) {
                Ok(v) => classify(v, &self.name, first_line, i + 1, &mut self.pending),
                Err(e) => {
                    let line = e
                        .location()
                        .map(|l| first_line + l.line().saturating_sub(1) as u64);
                    let msg = yaml_message(&e);
                    self.pending
                        .push_back(Err(self.err(line, format!("invalid YAML: {msg}"))));
                    // The YAML parser cannot resynchronise after a syntax error.
                    break;
                }
            }
        }
    }
}

fn yaml_message(e: &serde_norway::Error) -> String {
    let s = e.to_string();
    s.rfind(" at line ")
        .map_or(s.clone(), |i| s[..i].to_string())
}

/// Turn one parsed JSON or YAML value into events: a kev/v1 record, an
/// Event, a list (`items`) or an array of those. `doc` numbers YAML
/// documents for messages (0 for JSON).
pub(super) fn classify(
    v: serde_json::Value,
    file: &str,
    line: u64,
    doc: usize,
    out: &mut VecDeque<ReplayItem>,
) {
    use serde_json::Value as V;
    let err = |msg: String| ReplayError::new(file, Some(line), msg);
    let where_ = |i: usize| {
        if doc > 0 {
            format!("document {doc}, item {}", i + 1)
        } else {
            format!("item {}", i + 1)
        }
    };
    match v {
        V::Null => {}
        V::Array(items) => {
            for (i, item) in items.into_iter().enumerate() {
                out.push_back(one(item).map_err(|m| err(format!("{}: {m}", where_(i)))));
            }
        }
        V::Object(ref m)
            if m.get("schema").is_none()
                && (m.contains_key("items")
                    || kind_of(&v).is_some_and(|k| k.ends_with("List"))) =>
        {
            let V::Object(mut m) = v else { return };
            match m.remove("items") {
                Some(V::Array(items)) => {
                    for (i, item) in items.into_iter().enumerate() {
                        out.push_back(one(item).map_err(|m| err(format!("{}: {m}", where_(i)))));
                    }
                }
                Some(V::Null) | None => {}
                Some(_) => out.push_back(Err(err("`items` is not a list".to_string()))),
            }
        }
        other => {
            let prefix = if doc > 0 {
                format!("document {doc}: ")
            } else {
                String::new()
            };
            out.push_back(one(other).map_err(|m| err(format!("{prefix}{m}"))));
        }
    }
}

fn kind_of(v: &serde_json::Value) -> Option<&str> {
    v.get("kind").and_then(serde_json::Value::as_str)
}

/// One kev/v1 record or Event from a parsed value.
fn one(v: serde_json::Value) -> Result<(Event, RecordContext), String> {
    if !v.is_object() {
        return Err("expected an Event, an EventList or a kev/v1 record".to_string());
    }
    match v.get("schema").map(|s| s.as_str()) {
        Some(Some(SCHEMA_V1)) => {
            return Record::deserialize(&v)
                .map(Record::into_parts)
                .map_err(|e| format!("invalid kev/v1 record: {e}"));
        }
        Some(Some(other)) => return Err(unsupported_schema(other)),
        Some(None) => return Err("`schema` is not a string".to_string()),
        None => {}
    }
    if let Some(kind) = kind_of(&v).filter(|k| *k != "Event") {
        return Err(not_an_event(kind));
    }
    match WireEvent::deserialize(&v) {
        Ok(w) if w.has_event_fields() => Ok((Event::from(w), RecordContext::default())),
        Ok(_) => Err(no_event_fields()),
        Err(e) => Err(format!("invalid Event: {e}")),
    }
}

/// Deepest nesting of a YAML document read; see the module docs. The
/// YAML parser refuses more than 128 levels anyway.
pub(super) const MAX_YAML_DEPTH: usize = 128;

/// The first line (1-based) at which `data` may be nested deeper than
/// `limit`, or `None`. An estimate from above, in one pass: the `- `, `? `
/// and `: ` indicators on a line (`- - - x` nests on one line), plus open
/// flow brackets, plus the depth of the line it is indented under (the
/// depth reached on that line, not one level per indentation: `- - - k:`
/// and then an indented line nest four levels and more), plus one for a
/// block sequence at its key's own indentation. Quoted scalars, comments
/// and block scalars (`|`, `>`) are skipped, and a `[` or `{` counts only
/// where a node can start, so text such as `failed [x]` in a message does
/// not.
pub(super) fn yaml_nesting_over(data: &[u8], limit: usize) -> Option<u64> {
    // The lines a line may be indented under: (indentation, the depth
    // reached on that line).
    let mut indents: Vec<(usize, usize)> = Vec::new();
    // The depth of the line the current one is indented under.
    let mut base = 0usize;
    let mut flow = 0usize;
    let mut quote: Option<u8> = None;
    // The indentation of the line that opened a block scalar.
    let mut block_scalar: Option<usize> = None;
    for (n, line) in data.split(|&b| b == b'\n').enumerate() {
        let line_no = n as u64 + 1;
        let indent = line.iter().take_while(|&&b| b == b' ').count();
        let content = &line[indent..];
        let blank = content.trim_ascii().is_empty();
        if let Some(open) = block_scalar {
            if blank || indent > open {
                continue;
            }
            block_scalar = None;
        }
        if quote.is_none() && flow == 0 {
            if blank || content[0] == b'#' {
                continue;
            }
            while indents.last().is_some_and(|&(i, _)| i >= indent) {
                indents.pop();
            }
            base = indents.last().map_or(0, |&(_, depth)| depth);
            indents.push((indent, base));
        }
        let block_line = quote.is_none() && flow == 0;
        let mut on_line = 0usize;
        let mut node_start = quote.is_none();
        let mut i = 0;
        while i < content.len() {
            let b = content[i];
            let next = content.get(i + 1).copied();
            i += 1;
            if let Some(q) = quote {
                match (q, b) {
                    (b'\'', b'\'') if next == Some(b'\'') => i += 1,
                    (b'"', b'\\') => i += 1,
                    (q, b) if q == b => {
                        quote = None;
                        node_start = false;
                    }
                    _ => {}
                }
                continue;
            }
            let space_after = matches!(next, None | Some(b' ' | b'\t' | b'\r'));
            match b {
                b' ' | b'\t' | b'\r' => {}
                b'#' if i == 1 || matches!(content[i - 2], b' ' | b'\t') => break,
                b'"' | b'\'' if node_start => quote = Some(b),
                b'[' | b'{' if node_start || flow > 0 => {
                    flow += 1;
                    node_start = true;
                }
                b']' | b'}' if flow > 0 => {
                    flow -= 1;
                    node_start = false;
                }
                b',' if flow > 0 => node_start = true,
                b'-' | b'?' | b':' if space_after || (b == b':' && flow > 0) => {
                    if flow == 0 {
                        on_line += 1;
                    }
                    node_start = true;
                }
                b'|' | b'>' if node_start && flow == 0 => {
                    block_scalar = Some(indent);
                    break;
                }
                // Anchors and tags come before a node.
                b'&' | b'!' if node_start => {
                    while i < content.len() && !matches!(content[i], b' ' | b'\t') {
                        i += 1;
                    }
                }
                _ => node_start = false,
            }
            if base + 1 + on_line + flow > limit {
                return Some(line_no);
            }
        }
        if block_line && let Some(last) = indents.last_mut() {
            last.1 = base + on_line;
        }
    }
    None
}
