//! Mapping from k8s-openapi's core/v1 `Event` to kev's [`Event`].
//!
//! kev's own list and watch paths read JSON through [`super::wire`]; this
//! mapping is for library users who already hold k8s-openapi objects. Both
//! must agree, and the tests below check that they do.

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};

use super::{Event, EventSource, ObjectRef, Series, Timestamps, is_zero_time};

/// Convert k8s-openapi's timestamp (a `jiff::Timestamp`) to chrono at the model boundary.
pub(crate) fn from_jiff(ts: &k8s_openapi::jiff::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(ts.as_second(), ts.subsec_nanosecond().max(0) as u32)
        .filter(|t| !is_zero_time(t))
}

pub(crate) fn time(t: &Option<Time>) -> Option<DateTime<Utc>> {
    t.as_ref().and_then(|t| from_jiff(&t.0))
}

pub(crate) fn micro_time(t: &Option<MicroTime>) -> Option<DateTime<Utc>> {
    t.as_ref().and_then(|t| from_jiff(&t.0))
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_ref().filter(|s| !s.is_empty()).cloned()
}

pub(crate) fn object_ref(r: &core::ObjectReference) -> ObjectRef {
    ObjectRef {
        kind: non_empty(&r.kind),
        namespace: non_empty(&r.namespace),
        name: non_empty(&r.name),
        uid: non_empty(&r.uid),
        api_version: non_empty(&r.api_version),
        field_path: non_empty(&r.field_path),
    }
}

pub(crate) fn source(s: &Option<core::EventSource>) -> Option<EventSource> {
    s.as_ref()
        .map(|s| EventSource {
            component: non_empty(&s.component),
            host: non_empty(&s.host),
        })
        .filter(|s| s.component.is_some() || s.host.is_some())
}

impl From<&core::Event> for Event {
    fn from(e: &core::Event) -> Self {
        let series = e.series.as_ref().map(|s| Series {
            count: s.count.map(i64::from).unwrap_or(0),
            last_observed_time: micro_time(&s.last_observed_time),
        });
        let event_time = micro_time(&e.event_time);
        let resolved = Timestamps {
            series_count: series.as_ref().map(|s| s.count),
            series_last_observed: series.as_ref().and_then(|s| s.last_observed_time),
            count: e.count.map(i64::from),
            first_timestamp: time(&e.first_timestamp),
            last_timestamp: time(&e.last_timestamp),
            event_time,
            creation_timestamp: time(&e.metadata.creation_timestamp),
        }
        .resolve();
        Event {
            uid: e.metadata.uid.clone().unwrap_or_default(),
            resource_version: e.metadata.resource_version.clone().unwrap_or_default(),
            namespace: non_empty(&e.metadata.namespace),
            name: e.metadata.name.clone().unwrap_or_default(),
            type_: non_empty(&e.type_),
            reason: non_empty(&e.reason),
            message: non_empty(&e.message),
            object: object_ref(&e.involved_object),
            related: e.related.as_ref().map(object_ref),
            source: source(&e.source),
            reporting_controller: non_empty(&e.reporting_component),
            reporting_instance: non_empty(&e.reporting_instance),
            action: non_empty(&e.action),
            count: resolved.count,
            first_seen: resolved.first_seen,
            last_seen: resolved.last_seen,
            event_time,
            series,
        }
    }
}

impl From<core::Event> for Event {
    fn from(e: core::Event) -> Self {
        Event::from(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(bytes: &[u8]) -> (Event, Event) {
        let typed: core::Event = serde_json::from_slice(bytes).unwrap();
        (Event::from(&typed), Event::from_json(bytes).unwrap())
    }

    #[test]
    fn typed_and_wire_mappings_agree() {
        for bytes in [
            &include_bytes!("../../tests/fixtures/core_v1_legacy.json")[..],
            &include_bytes!("../../tests/fixtures/core_v1_series.json")[..],
            &include_bytes!("../../tests/fixtures/core_v1_node.json")[..],
            &include_bytes!("../../tests/fixtures/core_v1_hostile.json")[..],
        ] {
            let (typed, wire) = both(bytes);
            assert_eq!(typed, wire);
        }
    }
}
