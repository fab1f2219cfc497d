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

use crate::model::borrowed::BorrowedStr;
use crate::model::{Event, EventSource, EventView, ObjectRef, RecordContext};

use mirror::ObjectRef as ObjectRefRef;
pub(super) use mirror::Record as RecordRef;

/// The borrowed types, each named as the owned type it mirrors.
mod mirror {
    use std::borrow::Cow;

    use chrono::{DateTime, Utc};
    use serde::Deserialize;

    use crate::model::borrowed::BorrowedStr;
    use crate::model::record::WatchType;
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
