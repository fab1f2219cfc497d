//! Mapping from k8s-openapi's core/v1 `Event` to kev's [`Event`].
//!
//! kev's own list and watch paths read JSON through [`super::wire`]; this
//! mapping is for library users who already hold k8s-openapi objects. Both
//! must agree, and the tests below check that they do.

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};

use super::wire::{WireEvent, WireMeta, WireSeries};
use super::{Event, EventSource, ObjectRef, is_zero_time};

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
        // Fill the wire shape and let its one mapping apply the fallbacks,
        // so typed and JSON input cannot drift apart.
        Event::from(WireEvent {
            api_version: Some("v1".into()),
            kind: Some("Event".into()),
            metadata: meta(&e.metadata),
            involved_object: Some(object_ref(&e.involved_object)),
            related: e.related.as_ref().map(object_ref),
            type_: e.type_.clone(),
            reason: e.reason.clone(),
            message: e.message.clone(),
            source: source(&e.source),
            reporting_component: e.reporting_component.clone(),
            reporting_instance: e.reporting_instance.clone(),
            action: e.action.clone(),
            count: e.count.map(i64::from),
            first_timestamp: time(&e.first_timestamp),
            last_timestamp: time(&e.last_timestamp),
            event_time: micro_time(&e.event_time),
            series: e.series.as_ref().map(|s| WireSeries {
                count: s.count.map(i64::from),
                last_observed_time: micro_time(&s.last_observed_time),
            }),
        })
    }
}

pub(crate) fn meta(m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> WireMeta {
    WireMeta {
        name: m.name.clone(),
        namespace: m.namespace.clone(),
        uid: m.uid.clone(),
        resource_version: m.resource_version.clone(),
        creation_timestamp: time(&m.creation_timestamp),
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
