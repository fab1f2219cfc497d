//! One line of a line-delimited input: a kev/v1 record, a raw Event, or a
//! compact list, detected per line. [`filter_line`] is the per-line logic
//! both the sequential and the parallel reader use; [`parse_line`] is the
//! plain one (no filter) the iterator uses.
//!
//! `filter_line` takes a fast path for the two shapes dumps are made of: a
//! kev/v1 record (a line starting `{"schema":"kev/v1"`) and a raw Event.
//! Either is read in one pass into a borrowed view ([`RecordRef`],
//! [`EventRef`], in [`super::view`]) that the prefilter reads, and only a
//! kept line is built into an [`Event`]: a line the filter drops costs no
//! allocation. The raw view also reads `schema`, `kind` and `items`, so the
//! same pass tells a raw Event from a kev/v1 record with its keys in
//! another order, a compact list or another kind of object ([`Shape`]).
//! Whenever that pass fails, the line takes the plain path, whose messages
//! are the ones reported: a view accepts exactly what the plain path
//! accepts, so it only decides how fast a good line is read.

use std::collections::VecDeque;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::documents::classify;
use super::view::{EventRef, RecordRef};
use super::{KEV_PREFIX, Prefilter, ReplayError, ReplayItem};
use crate::model::borrowed::BorrowedStr;
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
    if line.starts_with(KEV_PREFIX) {
        return parse_shaped(Shape::Record, name, line_no, line, pending);
    }
    let probe = match serde_json::from_slice::<Probe<'_>>(line) {
        Ok(p) => p,
        Err(e) => {
            let msg = json_error("invalid JSON", &e);
            return Some(Err(ReplayError::new(name, Some(line_no), msg)));
        }
    };
    let shape = Shape::of(
        probe.schema.as_deref(),
        probe.kind.as_deref(),
        probe.items.is_some(),
    );
    parse_shaped(shape, name, line_no, line, pending)
}

/// What a line holds, told by its `schema`, `kind` and `items`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shape<'s> {
    /// A kev/v1 record.
    Record,
    /// A record of a schema kev does not read.
    OtherSchema(&'s str),
    /// A list (`items`, or a kind ending in `List`): its items are read.
    List,
    /// An object of another kind.
    NotAnEvent(&'s str),
    /// A raw Event.
    Event,
}

impl<'s> Shape<'s> {
    pub(super) fn of(schema: Option<&'s str>, kind: Option<&'s str>, items: bool) -> Shape<'s> {
        match (schema, kind) {
            (Some(SCHEMA_V1), _) => Shape::Record,
            (Some(other), _) => Shape::OtherSchema(other),
            (None, kind) if items || kind.is_some_and(|k| k.ends_with("List")) => Shape::List,
            (None, Some(kind)) if kind != "Event" => Shape::NotAnEvent(kind),
            (None, _) => Shape::Event,
        }
    }
}

/// Parse a (trimmed, non-blank) line of a known shape, as [`parse_line`].
fn parse_shaped(
    shape: Shape<'_>,
    name: &str,
    line_no: u64,
    line: &[u8],
    pending: &mut VecDeque<ReplayItem>,
) -> Option<ReplayItem> {
    let err = |msg: String| ReplayError::new(name, Some(line_no), msg);
    match shape {
        Shape::Record => Some(
            serde_json::from_slice::<Record>(line)
                .map(Record::into_parts)
                .map_err(|e| err(json_error("invalid kev/v1 record", &e))),
        ),
        Shape::OtherSchema(other) => Some(Err(err(unsupported_schema(other)))),
        Shape::List => match serde_json::from_slice::<serde_json::Value>(line) {
            Ok(v) => {
                // The items go to `pending`, which is drained before the next line.
                classify(v, name, line_no, 0, pending);
                None
            }
            Err(e) => Some(Err(err(json_error("invalid JSON", &e)))),
        },
        Shape::NotAnEvent(kind) => Some(Err(err(not_an_event(kind)))),
        Shape::Event => Some(
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
/// exactly what [`Replay::next_matching`](super::Replay::next_matching)
/// yields for the line, so the parallel reader ([`super::parallel`]) gives
/// the same answers.
pub(crate) fn filter_line(
    name: &str,
    line_no: u64,
    line: &[u8],
    keep: &Prefilter<'_>,
    mut out: impl FnMut(ReplayItem),
) {
    let trimmed = line.trim_ascii();
    // Checking the whole line's UTF-8 once is cheaper than serde_json
    // checking each string of it.
    if trimmed.starts_with(KEV_PREFIX) {
        // An invalid line takes the slice reader, whose error names the bad
        // string, as the plain path's does. Other errors are the same from
        // either (the str reader is the slice reader without the UTF-8
        // checks), and the same as Record's (see super::view), so this path
        // reports them itself.
        let parsed = match std::str::from_utf8(trimmed) {
            Ok(text) => serde_json::from_str::<RecordRef<'_>>(text),
            Err(_) => serde_json::from_slice::<RecordRef<'_>>(trimmed),
        };
        return filter_record(parsed, name, line_no, keep, &mut out);
    }
    if trimmed.starts_with(b"{")
        && let Ok(text) = std::str::from_utf8(trimmed)
        && let Ok(raw) = serde_json::from_str::<EventRef<'_>>(text)
    {
        match raw.shape() {
            Shape::Event => {
                if keep(&raw) {
                    out(Ok((raw.to_event(), RecordContext::default())));
                }
            }
            Shape::Record => {
                // kev/v1 with its keys in another order (rewritten by a tool).
                let parsed = serde_json::from_str::<RecordRef<'_>>(text);
                filter_record(parsed, name, line_no, keep, &mut out);
            }
            shape => {
                let mut pending = VecDeque::new();
                let first = parse_shaped(shape, name, line_no, trimmed, &mut pending);
                keep_items(first.into_iter().chain(pending), keep, &mut out);
            }
        }
        return;
    }
    // Not an object, not UTF-8, or not valid as any view: the plain path
    // finds what is wrong and says it as it always has.
    let mut pending = VecDeque::new();
    let first = parse_line(name, line_no, line, &mut pending);
    keep_items(first.into_iter().chain(pending), keep, &mut out);
}

/// Pass a parsed kev/v1 record to `out` if `keep` accepts it; an error always.
fn filter_record(
    parsed: Result<RecordRef<'_>, serde_json::Error>,
    name: &str,
    line_no: u64,
    keep: &Prefilter<'_>,
    out: &mut impl FnMut(ReplayItem),
) {
    match parsed {
        Ok(rec) if keep(&rec) => out(Ok(rec.to_parts())),
        Ok(_) => {}
        Err(e) => out(Err(ReplayError::new(
            name,
            Some(line_no),
            json_error("invalid kev/v1 record", &e),
        ))),
    }
}

/// Pass the errors, and the events `keep` accepts, to `out`.
fn keep_items(
    items: impl Iterator<Item = ReplayItem>,
    keep: &Prefilter<'_>,
    out: &mut impl FnMut(ReplayItem),
) {
    for item in items {
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
    schema: Option<BorrowedStr<'a>>,
    #[serde(borrow, default)]
    kind: Option<BorrowedStr<'a>>,
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
