//! One line of a line-delimited input: a kev/v1 record, a raw Event, or a
//! compact list, detected per line. kev/v1 records take a fast path: they
//! are read into a borrowed view ([`RecordRef`]) and given to the prefilter
//! before an [`Event`] is built, so a record the filter drops costs no
//! allocation. [`filter_line`] is the per-line logic both the sequential and
//! the parallel reader use.

use std::borrow::Cow;
use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::documents::classify;
use super::{KEV_PREFIX, Prefilter, ReplayError, ReplayItem};
use crate::model::record::WatchType;
use crate::model::{
    Event, EventSource, EventView, ObjectRef, Record, RecordContext, SCHEMA_V1, Series, time_serde,
};

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

/// A kev/v1 record read without copying its strings: the same fields and
/// the same validation as [`Record`] (timestamps, `watchType`, required
/// keys), with text borrowed from the line where it has no escapes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordRef<'a> {
    #[serde(borrow)]
    #[allow(dead_code)] // validated (required), like Record's
    schema: Cow<'a, str>,
    #[serde(default, borrow)]
    cluster: Option<Cow<'a, str>>,
    #[serde(borrow)]
    uid: Cow<'a, str>,
    #[serde(borrow)]
    resource_version: Cow<'a, str>,
    #[serde(default, borrow)]
    namespace: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Cow<'a, str>,
    #[serde(default, borrow, rename = "type")]
    type_: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reason: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    message: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    object: Option<ObjectRefRef<'a>>,
    #[serde(default, borrow)]
    related: Option<ObjectRefRef<'a>>,
    #[serde(default, borrow)]
    source: Option<SourceRef<'a>>,
    #[serde(default, borrow)]
    reporting_controller: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reporting_instance: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    action: Option<Cow<'a, str>>,
    #[serde(default)]
    count: Option<i64>,
    #[serde(default, with = "time_serde")]
    first_seen: Option<DateTime<Utc>>,
    #[serde(default, with = "time_serde")]
    last_seen: Option<DateTime<Utc>>,
    #[serde(default, with = "time_serde")]
    event_time: Option<DateTime<Utc>>,
    #[serde(default)]
    series: Option<Series>,
    #[serde(default)]
    watch_type: Option<WatchType>,
    #[serde(default, with = "time_serde")]
    observed_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectRefRef<'a> {
    #[serde(default, borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    namespace: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    uid: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    api_version: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    field_path: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct SourceRef<'a> {
    #[serde(default, borrow)]
    component: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    host: Option<Cow<'a, str>>,
}

fn owned(s: &Option<Cow<'_, str>>) -> Option<String> {
    s.as_deref().map(str::to_string)
}

impl ObjectRefRef<'_> {
    fn to_owned_ref(&self) -> ObjectRef {
        ObjectRef {
            kind: owned(&self.kind),
            namespace: owned(&self.namespace),
            name: owned(&self.name),
            uid: owned(&self.uid),
            api_version: owned(&self.api_version),
            field_path: owned(&self.field_path),
        }
    }
}

impl RecordRef<'_> {
    /// The event and context, exactly as [`Record::into_parts`] gives them.
    fn to_parts(&self) -> (Event, RecordContext) {
        (
            Event {
                uid: self.uid.to_string(),
                resource_version: self.resource_version.to_string(),
                namespace: owned(&self.namespace),
                name: self.name.to_string(),
                type_: owned(&self.type_),
                reason: owned(&self.reason),
                message: owned(&self.message),
                object: self
                    .object
                    .as_ref()
                    .map(ObjectRefRef::to_owned_ref)
                    .unwrap_or_default(),
                related: self.related.as_ref().map(ObjectRefRef::to_owned_ref),
                source: self.source.as_ref().map(|s| EventSource {
                    component: owned(&s.component),
                    host: owned(&s.host),
                }),
                reporting_controller: owned(&self.reporting_controller),
                reporting_instance: owned(&self.reporting_instance),
                action: owned(&self.action),
                count: EventView::count(self),
                first_seen: self.first_seen,
                last_seen: self.last_seen,
                event_time: self.event_time,
                series: self.series.clone(),
            },
            RecordContext {
                cluster: owned(&self.cluster),
                watch_type: self.watch_type,
                observed_at: self.observed_at,
            },
        )
    }
}

/// The same answers as the [`Event`] from [`RecordRef::to_parts`] gives.
impl EventView for RecordRef<'_> {
    fn uid(&self) -> &str {
        &self.uid
    }
    fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }
    fn type_(&self) -> Option<&str> {
        self.type_.as_deref()
    }
    fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }
    fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
    fn object_kind(&self) -> Option<&str> {
        self.object.as_ref().and_then(|o| o.kind.as_deref())
    }
    fn object_name(&self) -> Option<&str> {
        self.object.as_ref().and_then(|o| o.name.as_deref())
    }
    fn object_api_version(&self) -> Option<&str> {
        self.object.as_ref().and_then(|o| o.api_version.as_deref())
    }
    fn object_field_path(&self) -> Option<&str> {
        self.object.as_ref().and_then(|o| o.field_path.as_deref())
    }
    // As Event::component(): source.component unless empty, else reportingController.
    fn component(&self) -> Option<&str> {
        self.source
            .as_ref()
            .and_then(|x| x.component.as_deref())
            .filter(|c| !c.is_empty())
            .or(self.reporting_controller.as_deref())
    }
    fn host(&self) -> Option<&str> {
        self.source
            .as_ref()
            .and_then(|x| x.host.as_deref())
            .filter(|h| !h.is_empty())
    }
    fn instance(&self) -> Option<&str> {
        self.reporting_instance.as_deref()
    }
    fn action(&self) -> Option<&str> {
        self.action.as_deref()
    }
    fn count(&self) -> i64 {
        self.count.filter(|c| *c > 0).unwrap_or(1)
    }
    fn last_seen(&self) -> Option<DateTime<Utc>> {
        self.last_seen
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
