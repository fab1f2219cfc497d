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
