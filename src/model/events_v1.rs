//! Mapping from k8s-openapi's events.k8s.io/v1 `Event` to kev's [`Event`].
//!
//! events.k8s.io/v1 serves the same stored objects as core/v1 under other
//! names: `regarding` for `involvedObject`, `note` for `message`,
//! `deprecated*` for the legacy recorder's fields. kev watches core/v1, but
//! accepts either shape here and in [`super::wire`].

use k8s_openapi::api::events::v1 as events;

use super::core_v1::{micro_time, object_ref, source, time};
use super::{Event, Series, Timestamps};

fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_ref().filter(|s| !s.is_empty()).cloned()
}

impl From<&events::Event> for Event {
    fn from(e: &events::Event) -> Self {
        let series = e.series.as_ref().map(|s| Series {
            count: i64::from(s.count),
            last_observed_time: crate::model::core_v1::from_jiff(&s.last_observed_time.0),
        });
        let event_time = micro_time(&e.event_time);
        let resolved = Timestamps {
            series_count: series.as_ref().map(|s| s.count),
            series_last_observed: series.as_ref().and_then(|s| s.last_observed_time),
            count: e.deprecated_count.map(i64::from),
            first_timestamp: time(&e.deprecated_first_timestamp),
            last_timestamp: time(&e.deprecated_last_timestamp),
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
            message: non_empty(&e.note),
            object: e.regarding.as_ref().map(object_ref).unwrap_or_default(),
            related: e.related.as_ref().map(object_ref),
            source: source(&e.deprecated_source),
            reporting_controller: non_empty(&e.reporting_controller),
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

impl From<events::Event> for Event {
    fn from(e: events::Event) -> Self {
        Event::from(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_and_wire_mappings_agree() {
        let bytes = include_bytes!("../../tests/fixtures/events_v1_series.json");
        let typed: events::Event = serde_json::from_slice(bytes).unwrap();
        assert_eq!(Event::from(&typed), Event::from_json(bytes).unwrap());
    }
}
