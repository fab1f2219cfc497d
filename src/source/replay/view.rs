//! Borrowed views of one line, for the fast paths of [`super::lines`]: a
//! line is read into a view whose text borrows from the line, the
//! prefilter reads the view through [`EventView`], and only a kept line is
//! built into an [`Event`]. Each view answers exactly as the `Event` it
//! would become, and accepts exactly what the owned type it mirrors
//! accepts, failing with the same message.
//!
//! Text is held as [`BorrowedStr`], not `Option<Cow<str>>`, which serde
//! would copy. The view types are defined in [`mirror`] under the names of
//! the owned types they mirror, since serde's messages quote the Rust type's
//! name ("invalid type: string \"x\", expected struct ObjectRef"); each has
//! the same fields, in the same order (an array is read as a struct's
//! fields in order), with the same defaults.

use chrono::{DateTime, Utc};

use super::lines::Shape;
use crate::model::borrowed::BorrowedStr;
use crate::model::wire::WireMeta;
use crate::model::{
    Event, EventSource, EventView, ObjectRef, RecordContext, Timestamps, WireEvent,
};

use mirror::{EventSource as SourceRef, ObjectRef as ObjectRefRef};
pub(super) use mirror::{Record as RecordRef, WireEvent as EventRef};

/// The borrowed types, each named as the owned type it mirrors.
mod mirror {
    use std::borrow::Cow;

    use chrono::{DateTime, Utc};
    use serde::Deserialize;
    use serde::de::IgnoredAny;

    use crate::model::borrowed::BorrowedStr;
    use crate::model::record::WatchType;
    use crate::model::wire::WireSeries;
    use crate::model::{Series, time_serde};

    /// A kev/v1 record read without copying its strings: the same fields
    /// and the same validation as [`crate::model::Record`] (timestamps,
    /// `watchType`, required keys).
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(in crate::source::replay) struct Record<'a> {
        #[serde(borrow)]
        #[allow(dead_code)] // validated (required), like Record's
        pub(super) schema: Cow<'a, str>,
        #[serde(default, borrow)]
        pub(super) cluster: Option<BorrowedStr<'a>>,
        #[serde(borrow)]
        pub(super) uid: Cow<'a, str>,
        #[serde(borrow)]
        pub(super) resource_version: Cow<'a, str>,
        #[serde(default, borrow)]
        pub(super) namespace: Option<BorrowedStr<'a>>,
        #[serde(default, borrow)]
        pub(super) name: Cow<'a, str>,
        #[serde(default, borrow, rename = "type")]
        pub(super) type_: Option<BorrowedStr<'a>>,
        #[serde(default, borrow)]
        pub(super) reason: Option<BorrowedStr<'a>>,
        #[serde(default, borrow)]
        pub(super) message: Option<BorrowedStr<'a>>,
        #[serde(default, borrow)]
        pub(super) object: Option<ObjectRef<'a>>,
        #[serde(default, borrow)]
        pub(super) related: Option<ObjectRef<'a>>,
        #[serde(default, borrow)]
        pub(super) source: Option<EventSource<'a>>,
        #[serde(default, borrow)]
        pub(super) reporting_controller: Option<BorrowedStr<'a>>,
        #[serde(default, borrow)]
        pub(super) reporting_instance: Option<BorrowedStr<'a>>,
        #[serde(default, borrow)]
        pub(super) action: Option<BorrowedStr<'a>>,
        #[serde(default)]
        pub(super) count: Option<i64>,
        #[serde(default, with = "time_serde")]
        pub(super) first_seen: Option<DateTime<Utc>>,
        #[serde(default, with = "time_serde")]
        pub(super) last_seen: Option<DateTime<Utc>>,
        #[serde(default, with = "time_serde")]
        pub(super) event_time: Option<DateTime<Utc>>,
        #[serde(default)]
        pub(super) series: Option<Series>,
        #[serde(default)]
        pub(super) watch_type: Option<WatchType>,
        #[serde(default, with = "time_serde")]
        pub(super) observed_at: Option<DateTime<Utc>>,
    }

    /// [`crate::model::ObjectRef`] borrowed. No defaults, as there: a
    /// missing key is `None`, but an array short of six items is an error.
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct ObjectRef<'a> {
        #[serde(borrow)]
        pub(super) kind: Option<BorrowedStr<'a>>,
        #[serde(borrow)]
        pub(super) namespace: Option<BorrowedStr<'a>>,
        #[serde(borrow)]
        pub(super) name: Option<BorrowedStr<'a>>,
        #[serde(borrow)]
        pub(super) uid: Option<BorrowedStr<'a>>,
        #[serde(borrow)]
        pub(super) api_version: Option<BorrowedStr<'a>>,
        #[serde(borrow)]
        pub(super) field_path: Option<BorrowedStr<'a>>,
    }

    /// [`crate::model::EventSource`] borrowed.
    #[derive(Deserialize)]
    pub(super) struct EventSource<'a> {
        #[serde(borrow)]
        pub(super) component: Option<BorrowedStr<'a>>,
        #[serde(borrow)]
        pub(super) host: Option<BorrowedStr<'a>>,
    }

    /// A raw core/v1 or events.k8s.io/v1 Event: [`crate::model::WireEvent`]
    /// borrowed, with its fields, aliases and defaults, and with what tells
    /// the line's shape as the line probe reads it (`schema`, `items`; `kind`
    /// is one of the event's own fields).
    #[derive(Default, Deserialize)]
    #[serde(rename_all = "camelCase", default)]
    pub(in crate::source::replay) struct WireEvent<'a> {
        #[serde(borrow)]
        pub(super) schema: Option<BorrowedStr<'a>>,
        pub(super) items: Option<IgnoredAny>,
        #[serde(borrow)]
        pub(super) api_version: Option<BorrowedStr<'a>>,
        #[serde(borrow)]
        pub(super) kind: Option<BorrowedStr<'a>>,
        #[serde(borrow)]
        pub(super) metadata: WireMeta<'a>,
        #[serde(borrow, alias = "regarding")]
        pub(super) involved_object: Option<ObjectRef<'a>>,
        #[serde(borrow)]
        pub(super) related: Option<ObjectRef<'a>>,
        #[serde(borrow, rename = "type")]
        pub(super) type_: Option<BorrowedStr<'a>>,
        #[serde(borrow)]
        pub(super) reason: Option<BorrowedStr<'a>>,
        #[serde(borrow, alias = "note")]
        pub(super) message: Option<BorrowedStr<'a>>,
        #[serde(borrow, alias = "deprecatedSource")]
        pub(super) source: Option<EventSource<'a>>,
        #[serde(borrow, alias = "reportingController")]
        pub(super) reporting_component: Option<BorrowedStr<'a>>,
        #[serde(borrow)]
        pub(super) reporting_instance: Option<BorrowedStr<'a>>,
        #[serde(borrow)]
        pub(super) action: Option<BorrowedStr<'a>>,
        #[serde(alias = "deprecatedCount")]
        pub(super) count: Option<i64>,
        #[serde(alias = "deprecatedFirstTimestamp", with = "time_serde")]
        pub(super) first_timestamp: Option<DateTime<Utc>>,
        #[serde(alias = "deprecatedLastTimestamp", with = "time_serde")]
        pub(super) last_timestamp: Option<DateTime<Utc>>,
        #[serde(with = "time_serde")]
        pub(super) event_time: Option<DateTime<Utc>>,
        pub(super) series: Option<WireSeries>,
    }

    /// [`crate::model::wire::WireMeta`] borrowed (`managedFields` and the
    /// rest of `metadata` skipped, as there).
    #[derive(Default, Deserialize)]
    #[serde(rename_all = "camelCase", default)]
    pub(super) struct WireMeta<'a> {
        #[serde(borrow)]
        pub(super) name: Option<BorrowedStr<'a>>,
        #[serde(borrow)]
        pub(super) namespace: Option<BorrowedStr<'a>>,
        #[serde(borrow)]
        pub(super) uid: Option<BorrowedStr<'a>>,
        #[serde(borrow)]
        pub(super) resource_version: Option<BorrowedStr<'a>>,
        #[serde(with = "time_serde")]
        pub(super) creation_timestamp: Option<DateTime<Utc>>,
    }
}

fn owned(s: &Option<BorrowedStr<'_>>) -> Option<String> {
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

impl SourceRef<'_> {
    fn to_owned_source(&self) -> EventSource {
        EventSource {
            component: owned(&self.component),
            host: owned(&self.host),
        }
    }
}

impl RecordRef<'_> {
    /// The event and context, exactly as
    /// [`Record::into_parts`](crate::model::Record::into_parts) gives them.
    pub(super) fn to_parts(&self) -> (Event, RecordContext) {
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
                source: self.source.as_ref().map(SourceRef::to_owned_source),
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

/// Text as [`Event::from`]`(WireEvent)` keeps it: an empty string is absent.
fn non_empty<'s>(s: &'s Option<BorrowedStr<'_>>) -> Option<&'s str> {
    s.as_deref().filter(|s| !s.is_empty())
}

impl EventRef<'_> {
    /// What the line is: as the line probe would tell it.
    pub(super) fn shape(&self) -> Shape<'_> {
        Shape::of(
            self.schema.as_deref(),
            self.kind.as_deref(),
            self.items.is_some(),
        )
    }

    /// [`WireEvent::has_event_fields`] of the same line.
    pub(super) fn has_event_fields(&self) -> bool {
        self.involved_object.is_some()
            || self.related.is_some()
            || self.type_.is_some()
            || self.reason.is_some()
            || self.message.is_some()
            || self.source.is_some()
            || self.reporting_component.is_some()
            || self.reporting_instance.is_some()
            || self.action.is_some()
            || self.count.is_some()
            || self.first_timestamp.is_some()
            || self.last_timestamp.is_some()
            || self.event_time.is_some()
            || self.series.is_some()
    }

    /// The owned [`WireEvent`] the same line parses into.
    fn to_wire(&self) -> WireEvent {
        WireEvent {
            api_version: owned(&self.api_version),
            kind: owned(&self.kind),
            metadata: WireMeta {
                name: owned(&self.metadata.name),
                namespace: owned(&self.metadata.namespace),
                uid: owned(&self.metadata.uid),
                resource_version: owned(&self.metadata.resource_version),
                creation_timestamp: self.metadata.creation_timestamp,
            },
            involved_object: self
                .involved_object
                .as_ref()
                .map(ObjectRefRef::to_owned_ref),
            related: self.related.as_ref().map(ObjectRefRef::to_owned_ref),
            type_: owned(&self.type_),
            reason: owned(&self.reason),
            message: owned(&self.message),
            source: self.source.as_ref().map(SourceRef::to_owned_source),
            reporting_component: owned(&self.reporting_component),
            reporting_instance: owned(&self.reporting_instance),
            action: owned(&self.action),
            count: self.count,
            first_timestamp: self.first_timestamp,
            last_timestamp: self.last_timestamp,
            event_time: self.event_time,
            series: self.series.clone(),
        }
    }

    /// The event, exactly as [`Event::from_json`] makes it of the same line:
    /// through the one mapping, `From<WireEvent>`.
    pub(super) fn to_event(&self) -> Event {
        Event::from(self.to_wire())
    }

    fn timestamps(&self) -> Timestamps {
        Timestamps::of_wire(
            self.count,
            self.first_timestamp,
            self.last_timestamp,
            self.event_time,
            self.metadata.creation_timestamp,
            self.series.as_ref(),
        )
    }
}

/// The same answers as the [`Event`] from [`EventRef::to_event`] gives:
/// `From<WireEvent>` drops empty strings and resolves the count and times
/// with [`Timestamps::resolve`], and so does this.
impl EventView for EventRef<'_> {
    fn uid(&self) -> &str {
        self.metadata.uid.as_deref().unwrap_or_default()
    }
    fn namespace(&self) -> Option<&str> {
        non_empty(&self.metadata.namespace)
    }
    fn type_(&self) -> Option<&str> {
        non_empty(&self.type_)
    }
    fn reason(&self) -> Option<&str> {
        non_empty(&self.reason)
    }
    fn message(&self) -> Option<&str> {
        non_empty(&self.message)
    }
    fn object_kind(&self) -> Option<&str> {
        self.involved_object
            .as_ref()
            .and_then(|o| non_empty(&o.kind))
    }
    fn object_name(&self) -> Option<&str> {
        self.involved_object
            .as_ref()
            .and_then(|o| non_empty(&o.name))
    }
    fn object_api_version(&self) -> Option<&str> {
        self.involved_object
            .as_ref()
            .and_then(|o| non_empty(&o.api_version))
    }
    fn object_field_path(&self) -> Option<&str> {
        self.involved_object
            .as_ref()
            .and_then(|o| non_empty(&o.field_path))
    }
    // As Event::component(): source.component unless empty, else
    // reportingComponent (reportingController), unless empty.
    fn component(&self) -> Option<&str> {
        self.source
            .as_ref()
            .and_then(|s| non_empty(&s.component))
            .or_else(|| non_empty(&self.reporting_component))
    }
    fn host(&self) -> Option<&str> {
        self.source.as_ref().and_then(|s| non_empty(&s.host))
    }
    fn instance(&self) -> Option<&str> {
        non_empty(&self.reporting_instance)
    }
    fn action(&self) -> Option<&str> {
        non_empty(&self.action)
    }
    fn count(&self) -> i64 {
        self.timestamps().resolve().count
    }
    fn last_seen(&self) -> Option<DateTime<Utc>> {
        self.timestamps().resolve().last_seen
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::sync::LazyLock;

    use kev_testkit::EventGenerator;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;
    use crate::model::view::answers;
    use crate::testdata;

    /// The raw view of `line` parses exactly when `Event::from_json` does,
    /// and then answers as the Event it makes and builds that Event.
    fn agrees(line: &str) -> Result<(), String> {
        let plain = Event::from_json(line.as_bytes());
        let view = serde_json::from_str::<EventRef<'_>>(line);
        match (plain, view) {
            (Ok(event), Ok(view)) => {
                if answers(&view) != answers(&event) {
                    return Err(format!(
                        "{line}\n view: {:?}\nevent: {:?}",
                        answers(&view),
                        answers(&event)
                    ));
                }
                if view.to_event() != event {
                    return Err(format!(
                        "{line}: built {:?}, want {event:?}",
                        view.to_event()
                    ));
                }
                Ok(())
            }
            (Err(_), Err(_)) => Ok(()),
            (plain, view) => Err(format!(
                "{line}: Event::from_json {:?}, the view {:?}",
                plain.map(|_| ()),
                view.map(|_| ())
            )),
        }
    }

    #[test]
    fn raw_view_answers_as_the_built_event_on_generated_events() {
        // The standard corpus in both API versions' shapes, and the
        // generator's defaults: managedFields, 50 namespaces, odd events.
        let standard = testdata::raw_corpus().take(3000);
        let with_managed_fields = EventGenerator::new(7, testdata::now())
            .iter()
            .take(2000)
            .map(testdata::as_list_item);
        for (i, core) in standard.chain(with_managed_fields).enumerate() {
            for value in [core.clone(), testdata::as_events_v1(core)] {
                let line = serde_json::to_string(&value).unwrap();
                let view = serde_json::from_str::<EventRef<'_>>(&line).unwrap();
                assert_eq!(view.shape(), Shape::Event, "{line}");
                agrees(&line).unwrap_or_else(|e| panic!("event {i}: {e}"));
            }
        }
    }

    #[test]
    fn raw_view_borrows_unescaped_text() {
        let line = r#"{"metadata":{"name":"a","uid":"u"},"type":"Warning","message":"say \"hi\""}"#;
        let view = serde_json::from_str::<EventRef<'_>>(line).unwrap();
        let borrowed =
            |s: &Option<BorrowedStr<'_>>| matches!(s, Some(BorrowedStr(Cow::Borrowed(_))));
        assert!(borrowed(&view.type_) && borrowed(&view.metadata.uid));
        assert!(
            !borrowed(&view.message),
            "an escaped string is decoded into a copy"
        );
        assert_eq!(view.message(), Some("say \"hi\""));
    }

    /// The corpus the property test mangles.
    static EVENTS: LazyLock<Vec<Value>> =
        LazyLock::new(|| testdata::raw_corpus().take(400).collect());

    /// Where the property test puts hostile values (core/v1 names; some
    /// events are then renamed to events.k8s.io/v1).
    const PATHS: &[&str] = &[
        "/metadata",
        "/metadata/name",
        "/metadata/namespace",
        "/metadata/uid",
        "/metadata/creationTimestamp",
        "/type",
        "/reason",
        "/message",
        "/involvedObject",
        "/involvedObject/kind",
        "/involvedObject/name",
        "/involvedObject/apiVersion",
        "/involvedObject/fieldPath",
        "/related",
        "/source",
        "/source/component",
        "/source/host",
        "/reportingComponent",
        "/reportingInstance",
        "/action",
        "/count",
        "/firstTimestamp",
        "/lastTimestamp",
        "/eventTime",
        "/series",
        "/series/count",
        "/series/lastObservedTime",
        "/apiVersion",
        "/kind",
    ];

    /// The hostile values; `None` removes the key.
    fn hostile(i: usize) -> Option<Value> {
        [
            None,
            Some(Value::Null),
            Some(json!("")),
            Some(json!("0001-01-01T00:00:00Z")),
            Some(json!("2026-11-28T09:59:59.5Z")),
            Some(json!(0)),
            Some(json!(-3)),
            Some(json!(7)),
            Some(json!("Warn\"ing\\ é")),
            Some(json!({})),
            Some(json!([])),
            Some(json!({"component": "", "host": "node-1", "count": 2})),
        ][i % 12]
            .clone()
    }

    fn mangle(value: &mut Value, path: &str, with: Option<Value>) {
        let (parent, key) = path.rsplit_once('/').unwrap_or(("", path));
        if let Some(Value::Object(m)) = value.pointer_mut(parent) {
            match with {
                Some(v) => {
                    m.insert(key.to_string(), v);
                }
                None => {
                    m.remove(key);
                }
            }
        }
    }

    #[test]
    fn raw_view_agrees_with_the_plain_path_on_every_single_edit() {
        // Each hostile value at each place, one at a time, in the first
        // events of the corpus (some of which have empty reporting fields,
        // as old clients write them), in both API versions' shapes.
        for (i, event) in EVENTS.iter().take(60).enumerate() {
            for path in PATHS {
                for with in 0..12 {
                    let mut value = event.clone();
                    mangle(&mut value, path, hostile(with));
                    for value in [value.clone(), testdata::as_events_v1(value)] {
                        let line = serde_json::to_string(&value).unwrap();
                        agrees(&line).unwrap_or_else(|e| panic!("event {i}, {path}: {e}"));
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Generated events with fields removed, emptied, zeroed, nulled or
        /// given the wrong type: the view parses exactly when
        /// `Event::from_json` does, then answers as its Event.
        #[test]
        fn raw_view_agrees_with_the_plain_path_on_mangled_events(
            pick in 0..400usize,
            events_v1 in any::<bool>(),
            edits in prop::collection::vec((0..PATHS.len(), 0..12usize), 0..6),
        ) {
            let mut value = EVENTS[pick].clone();
            for (path, with) in edits {
                mangle(&mut value, PATHS[path], hostile(with));
            }
            if events_v1 {
                value = testdata::as_events_v1(value);
            }
            let line = serde_json::to_string(&value).unwrap();
            prop_assert!(agrees(&line).is_ok(), "{}", agrees(&line).unwrap_err());
        }
    }
}
