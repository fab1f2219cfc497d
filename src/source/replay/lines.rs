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

use super::scan::{Scanner, Step};
use super::view::{EventRef, RecordRef};
use super::{KEV_PREFIX, Prefilter, ReplayError, ReplayItem};
use crate::model::borrowed::BorrowedStr;
use crate::model::{Event, Record, RecordContext, SCHEMA_V1, WireEvent};

/// Where a unit (a line, or one value of a document) is, for messages.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pos<'a> {
    /// The input's name.
    pub(crate) name: &'a str,
    /// The line the unit starts on.
    pub(crate) line: u64,
    /// Its number among a list's items (`item N: ` in messages).
    pub(crate) item: Option<u64>,
    /// The unit is a whole line of the input, so a JSON error's column is
    /// the line's; otherwise the error's own line within the unit is used
    /// (a pretty-printed item spans lines) and no column.
    pub(crate) whole_line: bool,
}

impl<'a> Pos<'a> {
    /// A line of a line-delimited input.
    pub(crate) fn line(name: &'a str, line: u64) -> Pos<'a> {
        Pos {
            name,
            line,
            item: None,
            whole_line: true,
        }
    }

    /// A value of a document, or an item of a list, starting on `line`.
    pub(crate) fn unit(name: &'a str, line: u64, item: Option<u64>) -> Pos<'a> {
        Pos {
            name,
            line,
            item,
            whole_line: false,
        }
    }

    pub(crate) fn err(&self, message: impl Into<String>) -> ReplayError {
        self.err_at(self.line, message.into())
    }

    fn err_at(&self, line: u64, message: String) -> ReplayError {
        let message = match self.item {
            Some(i) => format!("item {i}: {message}"),
            None => message,
        };
        ReplayError::new(self.name, Some(line), message)
    }

    fn json_err(&self, what: &str, e: &serde_json::Error) -> ReplayError {
        if self.whole_line {
            return self.err(json_error(what, e));
        }
        let s = e.to_string();
        let msg = s.rfind(" at line ").map_or(s.as_str(), |i| &s[..i]);
        let line = self.line + (e.line().max(1) - 1) as u64;
        self.err_at(line, format!("{what}: {msg}"))
    }
}

/// Parse one line (`line_no` for messages): `None` for a blank line, or for
/// a list whose items were queued in `pending`.
pub(super) fn parse_line(
    name: &str,
    line_no: u64,
    line: &[u8],
    pending: &mut VecDeque<ReplayItem>,
) -> Option<ReplayItem> {
    parse_unit(&Pos::line(name, line_no), line, pending)
}

/// Parse one unit at `pos`, as [`parse_line`] a line.
pub(super) fn parse_unit(
    pos: &Pos<'_>,
    unit: &[u8],
    pending: &mut VecDeque<ReplayItem>,
) -> Option<ReplayItem> {
    let unit = unit.trim_ascii();
    if unit.is_empty() {
        return None;
    }
    if unit.starts_with(KEV_PREFIX) {
        return parse_shaped(Shape::Record, pos, unit, pending);
    }
    if !unit.starts_with(b"{") {
        return not_an_object(pos, unit, pending);
    }
    let probe = match serde_json::from_slice::<Probe<'_>>(unit) {
        Ok(p) => p,
        Err(e) => return Some(Err(pos.json_err("invalid JSON", &e))),
    };
    let shape = Shape::of(
        probe.schema.as_deref(),
        probe.kind.as_deref(),
        probe.items.is_some(),
    );
    parse_shaped(shape, pos, unit, pending)
}

/// A unit that does not start with `{`: an array (a list, unless it is
/// itself a list's item), or not an Event at all, or not JSON.
fn not_an_object(
    pos: &Pos<'_>,
    unit: &[u8],
    pending: &mut VecDeque<ReplayItem>,
) -> Option<ReplayItem> {
    if let Err(e) = serde_json::from_slice::<IgnoredAny>(unit) {
        return Some(Err(pos.json_err("invalid JSON", &e)));
    }
    let what = match unit[0] {
        b'[' if pos.item.is_none() => {
            expand_list(pos, unit, pending);
            return None;
        }
        b'[' => "an array",
        b'n' => "null",
        b't' | b'f' => "a boolean",
        b'"' => "a string",
        _ => "a number",
    };
    Some(Err(pos.err(format!("not an Event but {what}"))))
}

/// The items of a list or array held in memory (a line, or a document's
/// value), queued in `pending` in order. `unit` is valid JSON (its
/// parser said so), so the scanner finds no structural error in it.
fn expand_list(pos: &Pos<'_>, unit: &[u8], pending: &mut VecDeque<ReplayItem>) {
    let mut scanner = Scanner::new(unit, pos.line, usize::MAX);
    while let Some(step) = scanner.next_step() {
        match step {
            Step::Unit {
                line,
                item: Some(i),
            } => {
                let item = Pos::unit(pos.name, line, Some(i));
                if let Some(x) = parse_unit(&item, scanner.unit(), pending) {
                    pending.push_back(x);
                }
            }
            // A list whose `items` is not an array (or missing).
            Step::Unit { item: None, .. } => {
                if let Some(x) = list_without_array(pos, scanner.unit()) {
                    pending.push_back(x);
                }
            }
            Step::TooLarge { .. } => {}
            Step::Fatal { message, .. } => {
                pending.push_back(Err(pos.err(format!("invalid JSON: {message}"))));
                return;
            }
        }
    }
}

/// A list object without an `items` array: empty if `items` is missing or
/// null, else an error.
fn list_without_array(pos: &Pos<'_>, unit: &[u8]) -> Option<ReplayItem> {
    #[derive(Deserialize)]
    struct Items {
        #[serde(default)]
        items: Option<IgnoredAny>,
    }
    match serde_json::from_slice::<Items>(unit) {
        Ok(Items { items: None }) => None,
        Ok(Items { items: Some(_) }) => Some(Err(pos.err("`items` is not a list"))),
        Err(e) => Some(Err(pos.json_err("invalid JSON", &e))),
    }
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

/// Parse a (trimmed, non-blank) unit of a known shape, as [`parse_unit`].
fn parse_shaped(
    shape: Shape<'_>,
    pos: &Pos<'_>,
    unit: &[u8],
    pending: &mut VecDeque<ReplayItem>,
) -> Option<ReplayItem> {
    match shape {
        Shape::Record => Some(
            serde_json::from_slice::<Record>(unit)
                .map(Record::into_parts)
                .map_err(|e| pos.json_err("invalid kev/v1 record", &e)),
        ),
        Shape::OtherSchema(other) => Some(Err(pos.err(unsupported_schema(other)))),
        Shape::List if pos.item.is_some() => Some(Err(pos.err(list_in_a_list()))),
        Shape::List => {
            // The items go to `pending`, which is drained before the next line.
            expand_list(pos, unit, pending);
            None
        }
        Shape::NotAnEvent(kind) => Some(Err(pos.err(not_an_event(kind)))),
        Shape::Event => Some(match serde_json::from_slice::<WireEvent>(unit) {
            Ok(w) if w.has_event_fields() => Ok((Event::from(w), RecordContext::default())),
            Ok(_) => Err(pos.err(no_event_fields())),
            Err(e) => Err(pos.json_err("invalid Event", &e)),
        }),
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
    out: impl FnMut(ReplayItem),
) {
    filter_unit(&Pos::line(name, line_no), line, keep, out);
}

/// [`filter_line`] for a unit at `pos`.
pub(super) fn filter_unit(
    pos: &Pos<'_>,
    unit: &[u8],
    keep: &Prefilter<'_>,
    mut out: impl FnMut(ReplayItem),
) {
    let trimmed = unit.trim_ascii();
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
        return filter_record(parsed, pos, keep, &mut out);
    }
    if trimmed.starts_with(b"{")
        && let Ok(text) = std::str::from_utf8(trimmed)
        && let Ok(raw) = serde_json::from_str::<EventRef<'_>>(text)
    {
        match raw.shape() {
            Shape::Event if !raw.has_event_fields() => out(Err(pos.err(no_event_fields()))),
            Shape::Event => {
                if keep(&raw) {
                    out(Ok((raw.to_event(), RecordContext::default())));
                }
            }
            Shape::Record => {
                // kev/v1 with its keys in another order (rewritten by a tool).
                let parsed = serde_json::from_str::<RecordRef<'_>>(text);
                filter_record(parsed, pos, keep, &mut out);
            }
            shape => {
                let mut pending = VecDeque::new();
                let first = parse_shaped(shape, pos, trimmed, &mut pending);
                keep_items(first.into_iter().chain(pending), keep, &mut out);
            }
        }
        return;
    }
    // Not an object, not UTF-8, or not valid as any view: the plain path
    // finds what is wrong and says it as it always has.
    let mut pending = VecDeque::new();
    let first = parse_unit(pos, unit, &mut pending);
    keep_items(first.into_iter().chain(pending), keep, &mut out);
}

/// Pass a parsed kev/v1 record to `out` if `keep` accepts it; an error always.
fn filter_record(
    parsed: Result<RecordRef<'_>, serde_json::Error>,
    pos: &Pos<'_>,
    keep: &Prefilter<'_>,
    out: &mut impl FnMut(ReplayItem),
) {
    match parsed {
        Ok(rec) if keep(&rec) => out(Ok(rec.to_parts())),
        Ok(_) => {}
        Err(e) => out(Err(pos.json_err("invalid kev/v1 record", &e))),
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

pub(super) fn no_event_fields() -> String {
    "not an Event: none of an Event's fields (involvedObject, reason, message, type, …)".to_string()
}

fn list_in_a_list() -> String {
    "not an Event but a list (inside a list)".to_string()
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
