//! Raw Event JSON of either API version, deserialized straight into kev's model.
//!
//! This is the hot path for listing and replay: one serde pass over the bytes
//! the apiserver (or a dump file) gives us, skipping everything kev does not
//! use (notably `managedFields`, often the largest part of an event). The field
//! names of core/v1 and events.k8s.io/v1 are accepted side by side through
//! aliases, so one struct reads both; [`WireEvent::api_version`] tells them
//! apart where it matters.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{Event, EventSource, ObjectRef, Series, Timestamps, time_serde};

/// `metadata` as far as kev needs it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WireMeta {
    /// `metadata.name`.
    pub name: Option<String>,
    /// `metadata.namespace`.
    pub namespace: Option<String>,
    /// `metadata.uid`.
    pub uid: Option<String>,
    /// `metadata.resourceVersion`.
    pub resource_version: Option<String>,
    /// `metadata.creationTimestamp`.
    #[serde(with = "time_serde")]
    pub creation_timestamp: Option<DateTime<Utc>>,
}

/// `series`, identical in both versions.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WireSeries {
    /// `series.count`.
    pub count: Option<i64>,
    /// `series.lastObservedTime`.
    #[serde(with = "time_serde")]
    pub last_observed_time: Option<DateTime<Utc>>,
}

/// A core/v1 or events.k8s.io/v1 Event as JSON.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WireEvent {
    /// `apiVersion`: `v1` or `events.k8s.io/v1` (absent inside some lists).
    pub api_version: Option<String>,
    /// `kind`, normally `Event`.
    pub kind: Option<String>,
    /// `metadata`.
    pub metadata: WireMeta,
    /// `involvedObject` (core/v1) / `regarding` (events.k8s.io/v1).
    #[serde(alias = "regarding")]
    pub involved_object: Option<ObjectRef>,
    /// `related`.
    pub related: Option<ObjectRef>,
    /// `type`.
    #[serde(rename = "type")]
    pub type_: Option<String>,
    /// `reason`.
    pub reason: Option<String>,
    /// `message` (core/v1) / `note` (events.k8s.io/v1).
    #[serde(alias = "note")]
    pub message: Option<String>,
    /// `source` / `deprecatedSource`.
    #[serde(alias = "deprecatedSource")]
    pub source: Option<EventSource>,
    /// `reportingComponent` (core/v1) / `reportingController` (events.k8s.io/v1).
    #[serde(alias = "reportingController")]
    pub reporting_component: Option<String>,
    /// `reportingInstance`.
    pub reporting_instance: Option<String>,
    /// `action`.
    pub action: Option<String>,
    /// `count` / `deprecatedCount`.
    #[serde(alias = "deprecatedCount")]
    pub count: Option<i64>,
    /// `firstTimestamp` / `deprecatedFirstTimestamp`.
    #[serde(alias = "deprecatedFirstTimestamp", with = "time_serde")]
    pub first_timestamp: Option<DateTime<Utc>>,
    /// `lastTimestamp` / `deprecatedLastTimestamp`.
    #[serde(alias = "deprecatedLastTimestamp", with = "time_serde")]
    pub last_timestamp: Option<DateTime<Utc>>,
    /// `eventTime`.
    #[serde(with = "time_serde")]
    pub event_time: Option<DateTime<Utc>>,
    /// `series`.
    pub series: Option<WireSeries>,
}

/// A list of events (`EventList`, or kubectl's generic `List`), with the
/// list's resourceVersion and continue token.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WireEventList {
    /// `kind`: `EventList` or `List`.
    pub kind: Option<String>,
    /// `metadata` of the list.
    pub metadata: WireListMeta,
    /// The events.
    pub items: Vec<WireEvent>,
}

/// `metadata` of a list response.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WireListMeta {
    /// The list's resourceVersion: where a watch continues from.
    pub resource_version: Option<String>,
    /// The continue token for the next page, empty or absent on the last page.
    #[serde(rename = "continue")]
    pub continue_: Option<String>,
    /// Estimated number of items left after this page.
    pub remaining_item_count: Option<i64>,
}

impl WireEvent {
    /// Whether the object has any of the fields that make an Event (beyond
    /// `apiVersion`, `kind` and `metadata`, which every object has): what
    /// tells an Event without `kind` (a raw list's items have none) from
    /// `{}`, `{"foo": 1}` or another kind of object. A replayed object
    /// without any is reported, not shown as a row of `<unknown>`.
    pub fn has_event_fields(&self) -> bool {
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
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

fn clean_ref(r: ObjectRef) -> ObjectRef {
    ObjectRef {
        kind: non_empty(r.kind),
        namespace: non_empty(r.namespace),
        name: non_empty(r.name),
        uid: non_empty(r.uid),
        api_version: non_empty(r.api_version),
        field_path: non_empty(r.field_path),
    }
}

impl Timestamps {
    /// The timestamp and count fields of a raw event as the wire names
    /// them. `From<WireEvent>` and the replay reader's borrowed view of a raw
    /// Event line both resolve an event's count and times from this, so they
    /// cannot disagree.
    pub(crate) fn of_wire(
        count: Option<i64>,
        first_timestamp: Option<DateTime<Utc>>,
        last_timestamp: Option<DateTime<Utc>>,
        event_time: Option<DateTime<Utc>>,
        creation_timestamp: Option<DateTime<Utc>>,
        series: Option<&WireSeries>,
    ) -> Timestamps {
        Timestamps {
            series_count: series.and_then(|s| s.count),
            series_last_observed: series.and_then(|s| s.last_observed_time),
            count,
            first_timestamp,
            last_timestamp,
            event_time,
            creation_timestamp,
        }
    }
}

impl From<WireEvent> for Event {
    fn from(w: WireEvent) -> Self {
        let resolved = Timestamps::of_wire(
            w.count,
            w.first_timestamp,
            w.last_timestamp,
            w.event_time,
            w.metadata.creation_timestamp,
            w.series.as_ref(),
        )
        .resolve();
        let source = w
            .source
            .map(|s| EventSource {
                component: non_empty(s.component),
                host: non_empty(s.host),
            })
            .filter(|s| s.component.is_some() || s.host.is_some());
        Event {
            uid: w.metadata.uid.unwrap_or_default(),
            resource_version: w.metadata.resource_version.unwrap_or_default(),
            namespace: non_empty(w.metadata.namespace),
            name: w.metadata.name.unwrap_or_default(),
            type_: non_empty(w.type_),
            reason: non_empty(w.reason),
            message: non_empty(w.message),
            object: w.involved_object.map(clean_ref).unwrap_or_default(),
            related: w.related.map(clean_ref),
            source,
            reporting_controller: non_empty(w.reporting_component),
            reporting_instance: non_empty(w.reporting_instance),
            action: non_empty(w.action),
            count: resolved.count,
            first_seen: resolved.first_seen,
            last_seen: resolved.last_seen,
            event_time: w.event_time,
            series: w.series.map(|s| Series {
                count: s.count.unwrap_or(0),
                last_observed_time: s.last_observed_time,
            }),
        }
    }
}

impl Event {
    /// Parse one raw Event (core/v1 or events.k8s.io/v1) from JSON bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Event, serde_json::Error> {
        serde_json::from_slice::<WireEvent>(bytes).map(Event::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_v1_legacy_recorder() {
        let e =
            Event::from_json(include_bytes!("../../tests/fixtures/core_v1_legacy.json")).unwrap();
        assert_eq!(e.name, "web-7f9c6d-x2x1.17a1b2c3d4e5f601");
        assert_eq!(e.namespace.as_deref(), Some("payments"));
        assert_eq!(e.type_.as_deref(), Some("Warning"));
        assert_eq!(e.reason.as_deref(), Some("BackOff"));
        assert_eq!(e.count, 12);
        assert_eq!(e.object.kind.as_deref(), Some("Pod"));
        assert_eq!(e.object.field_path.as_deref(), Some("spec.containers{web}"));
        assert_eq!(e.component(), Some("kubelet"));
        assert_eq!(e.host(), Some("node-05"));
        assert_eq!(
            time_serde::format(&e.first_seen.unwrap()),
            "2026-11-28T09:01:02Z"
        );
        assert_eq!(
            time_serde::format(&e.last_seen.unwrap()),
            "2026-11-28T09:31:40Z"
        );
        assert_eq!(e.event_time, None, "null eventTime stays absent");
        assert_eq!(e.series, None);
    }

    #[test]
    fn events_v1_new_recorder() {
        let e =
            Event::from_json(include_bytes!("../../tests/fixtures/events_v1_series.json")).unwrap();
        assert_eq!(
            e.message.as_deref(),
            Some("Readiness probe failed: HTTP probe failed with statuscode: 503")
        );
        assert_eq!(e.object.name.as_deref(), Some("api-5d8f7"));
        assert_eq!(e.reporting_controller.as_deref(), Some("kubelet"));
        assert_eq!(e.reporting_instance.as_deref(), Some("node-02"));
        assert_eq!(e.action.as_deref(), Some("Probe"));
        assert_eq!(e.count, 31, "series.count wins");
        assert_eq!(
            time_serde::format(&e.first_seen.unwrap()),
            "2026-11-28T08:00:00.123456Z"
        );
        assert_eq!(
            time_serde::format(&e.last_seen.unwrap()),
            "2026-11-28T09:15:00.654321Z"
        );
        assert_eq!(e.source, None);
        assert_eq!(e.component(), Some("kubelet"));
    }

    #[test]
    fn core_v1_written_by_new_recorder_has_null_legacy_fields() {
        let e =
            Event::from_json(include_bytes!("../../tests/fixtures/core_v1_series.json")).unwrap();
        assert_eq!(e.count, 4);
        assert_eq!(
            time_serde::format(&e.first_seen.unwrap()),
            "2026-11-28T09:00:00.5Z"
        );
        assert_eq!(
            time_serde::format(&e.last_seen.unwrap()),
            "2026-11-28T09:05:00Z"
        );
    }

    #[test]
    fn cluster_scoped_involved_object() {
        let e = Event::from_json(include_bytes!("../../tests/fixtures/core_v1_node.json")).unwrap();
        assert_eq!(e.object.kind.as_deref(), Some("Node"));
        assert_eq!(e.object.namespace, None);
        assert_eq!(e.namespace.as_deref(), Some("default"));
        assert_eq!(e.count, 1);
        assert_eq!(e.first_seen, e.last_seen);
    }

    #[test]
    fn only_creation_timestamp() {
        let e = Event::from_json(
            br#"{"metadata":{"name":"x","uid":"u","resourceVersion":"9","creationTimestamp":"2026-11-28T09:00:00Z"},
                "involvedObject":{"kind":"Pod","name":"p"},"firstTimestamp":null,"lastTimestamp":null,"eventTime":null}"#,
        )
        .unwrap();
        assert_eq!(e.first_seen, e.last_seen);
        assert_eq!(
            time_serde::format(&e.last_seen.unwrap()),
            "2026-11-28T09:00:00Z"
        );
        assert_eq!(e.count, 1);
    }

    #[test]
    fn list_meta() {
        let l: WireEventList = serde_json::from_str(
            r#"{"kind":"EventList","apiVersion":"v1","metadata":{"resourceVersion":"42","continue":"abc"},"items":[]}"#,
        )
        .unwrap();
        assert_eq!(l.metadata.resource_version.as_deref(), Some("42"));
        assert_eq!(l.metadata.continue_.as_deref(), Some("abc"));
    }
}
