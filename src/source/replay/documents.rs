//! Whole documents: `kubectl get events -o json` (an `EventList` or `List`),
//! a JSON array, pretty-printed objects one after another, and `-o yaml`
//! (one or more `---`-separated documents). Each is read whole (up to
//! [`MAX_DOCUMENT_BYTES`](super::MAX_DOCUMENT_BYTES)) and its items are
//! queued; a bad item is reported with its position and the rest are kept.

use std::collections::VecDeque;

use serde::Deserialize;

use super::lines::{json_error, not_an_event, unsupported_schema};
use super::{Replay, ReplayError, ReplayItem};
use crate::model::{Event, Record, RecordContext, SCHEMA_V1, WireEvent};

impl Replay {
    pub(super) fn json_document(&mut self, data: &[u8], first_line: u64) {
        let mut stream =
            serde_json::Deserializer::from_slice(data).into_iter::<serde_json::Value>();
        loop {
            let offset = stream.byte_offset();
            match stream.next() {
                None => break,
                Some(Ok(v)) => {
                    let skipped = data[offset..]
                        .iter()
                        .take_while(|b| b.is_ascii_whitespace())
                        .count();
                    let line = first_line + newlines(&data[..offset + skipped]);
                    classify(v, &self.name, line, 0, &mut self.pending);
                }
                Some(Err(e)) => {
                    let line = first_line + e.line().saturating_sub(1) as u64;
                    self.pending.push_back(Err(
                        self.err(Some(line), json_error("invalid JSON document", &e))
                    ));
                    break;
                }
            }
        }
    }

    pub(super) fn yaml_document(&mut self, data: &[u8], first_line: u64) {
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

fn newlines(b: &[u8]) -> u64 {
    b.iter().filter(|&&c| c == b'\n').count() as u64
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
    WireEvent::deserialize(&v)
        .map(|w| (Event::from(w), RecordContext::default()))
        .map_err(|e| format!("invalid Event: {e}"))
}
