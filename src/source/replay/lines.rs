//! One line of a line-delimited input: a kev/v1 record, a raw Event, or a
//! compact list, detected per line. kev/v1 records take a fast path: they
//! are read into a borrowed view ([`RecordRef`], in [`super::view`]) and given to the prefilter
//! before an [`Event`] is built, so a record the filter drops costs no
//! allocation. [`filter_line`] is the per-line logic both the sequential and
//! the parallel reader use.

use std::borrow::Cow;
use std::collections::VecDeque;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::documents::classify;
use super::view::RecordRef;
use super::{KEV_PREFIX, Prefilter, ReplayError, ReplayItem};
use crate::model::{Event, Record, RecordContext, SCHEMA_V1};

/// Parse one line (`line_no` for messages): `None` for a blank line, or for
/// a list whose items were queued in `pending`.
pub(super) fn parse_line(
    name: &str,
    line_no: u64,
    line: &[u8],
    pending: &mut VecDeque<ReplayItem>,
) -> Option<ReplayItem> {
    let line = line.trim_ascii();
    if line.is_empty() {
        return None;
    }
    let at = Some(line_no);
    let err = |msg: String| ReplayError::new(name, at, msg);
    if line.starts_with(KEV_PREFIX) {
        return Some(
            serde_json::from_slice::<Record>(line)
                .map(Record::into_parts)
                .map_err(|e| err(json_error("invalid kev/v1 record", &e))),
        );
    }
    let probe = match serde_json::from_slice::<Probe<'_>>(line) {
        Ok(p) => p,
        Err(e) => return Some(Err(err(json_error("invalid JSON", &e)))),
    };
    match (
        probe.schema.as_deref(),
        probe.kind.as_deref(),
        probe.items.is_some(),
    ) {
        (Some(SCHEMA_V1), _, _) => Some(
            serde_json::from_slice::<Record>(line)
                .map(Record::into_parts)
                .map_err(|e| err(json_error("invalid kev/v1 record", &e))),
        ),
        (Some(other), _, _) => Some(Err(err(unsupported_schema(other)))),
        (None, kind, items) if items || kind.is_some_and(|k| k.ends_with("List")) => {
            match serde_json::from_slice::<serde_json::Value>(line) {
                Ok(v) => {
                    // The items go to `pending`, which is drained before the next line.
                    classify(v, name, line_no, 0, pending);
                    None
                }
                Err(e) => Some(Err(err(json_error("invalid JSON", &e)))),
            }
        }
        (None, Some(kind), _) if kind != "Event" => Some(Err(err(not_an_event(kind)))),
        (None, _, _) => Some(
            Event::from_json(line)
                .map(|e| (e, RecordContext::default()))
                .map_err(|e| err(json_error("invalid Event", &e))),
        ),
    }
}

/// Read one line of a line-delimited input and pass what `keep` accepts
/// to `out`, in order: the matching events and every error
/// (lines are fully validated whether or not they would match). A blank
/// line keeps nothing; a compact list keeps its matching items. This is
/// exactly what [`Replay::next_matching`] yields for the line, so the
/// parallel reader ([`super::parallel`]) gives the same answers.
pub(crate) fn filter_line(
    name: &str,
    line_no: u64,
    line: &[u8],
    keep: &Prefilter<'_>,
    mut out: impl FnMut(ReplayItem),
) {
    let trimmed = line.trim_ascii();
    if trimmed.starts_with(KEV_PREFIX) {
        // The fast path: filter on a borrowed view, build an Event only if kept.
        // Checking the whole line's UTF-8 once is cheaper than serde_json
        // checking each string of it; an invalid line takes the slice path,
        // whose error names the bad string as before. Other errors are the
        // same from either (the str reader is the slice reader without the
        // UTF-8 checks).
        let parsed = match std::str::from_utf8(trimmed) {
            Ok(text) => serde_json::from_str::<RecordRef<'_>>(text),
            Err(_) => serde_json::from_slice::<RecordRef<'_>>(trimmed),
        };
        match parsed {
            Ok(rec) if keep(&rec) => out(Ok(rec.to_parts())),
            Ok(_) => {}
            Err(e) => out(Err(ReplayError::new(
                name,
                Some(line_no),
                json_error("invalid kev/v1 record", &e),
            ))),
        }
        return;
    }
    let mut pending = VecDeque::new();
    let first = parse_line(name, line_no, line, &mut pending);
    for item in first.into_iter().chain(pending) {
        match item {
            Ok((e, _)) if !keep(&e) => {}
            other => out(other),
        }
    }
}

/// Just enough of a line to tell what it is, read without allocating.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow, default)]
    schema: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(default)]
    items: Option<IgnoredAny>,
}

/// The message for a line of `total` bytes over the `max` limit.
pub(crate) fn too_long(total: usize, max: usize) -> String {
    format!("line too long ({total} bytes or more; the limit is {max} bytes): skipped")
}

pub(super) fn unsupported_schema(s: &str) -> String {
    format!("unsupported schema {s:?} (kev reads {SCHEMA_V1:?})")
}

pub(super) fn not_an_event(kind: &str) -> String {
    format!("not an Event but a {kind:?}")
}

/// serde_json's message without its "at line L column C" suffix, which is
/// wrong or redundant for a single line, with the column kept.
pub(super) fn json_error(what: &str, e: &serde_json::Error) -> String {
    let s = e.to_string();
    let msg = s.rfind(" at line ").map_or(s.as_str(), |i| &s[..i]);
    if e.column() > 0 {
        format!("{what}: {msg} (column {})", e.column())
    } else {
        format!("{what}: {msg}")
    }
}
