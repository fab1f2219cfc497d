//! Borrowed views of one line, for the fast paths of [`super::lines`]: a
//! line is read into a view whose text borrows from the line, the
//! prefilter reads the view through [`EventView`], and only a kept line is
//! built into an [`Event`]. Each view answers exactly as the `Event` it
//! would become.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::model::record::WatchType;
use crate::model::{Event, EventSource, EventView, ObjectRef, RecordContext, Series, time_serde};

/// A kev/v1 record read without copying its strings: the same fields and
/// the same validation as [`Record`] (timestamps, `watchType`, required
/// keys), with text borrowed from the line where it has no escapes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RecordRef<'a> {
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
