//! Mapping from k8s-openapi's events.k8s.io/v1 `Event` to kev's [`Event`].
//!
//! events.k8s.io/v1 serves the same stored objects as core/v1 under other
//! names: `regarding` for `involvedObject`, `note` for `message`,
//! `deprecated*` for the legacy recorder's fields. kev watches core/v1, but
//! accepts either shape here and in [`super::wire`].

use k8s_openapi::api::events::v1 as events;

use super::Event;
use super::core_v1::{from_jiff, meta, micro_time, object_ref, source, time};
use super::wire::{WireEvent, WireSeries};

impl From<&events::Event> for Event {
    fn from(e: &events::Event) -> Self {
        // The same stored object under events.k8s.io/v1 names, mapped onto
        // the wire shape shared with core/v1.
        Event::from(WireEvent {
            api_version: Some("events.k8s.io/v1".into()),
            kind: Some("Event".into()),
            metadata: meta(&e.metadata),
            involved_object: e.regarding.as_ref().map(object_ref),
            related: e.related.as_ref().map(object_ref),
            type_: e.type_.clone(),
            reason: e.reason.clone(),
            message: e.note.clone(),
            source: source(&e.deprecated_source),
            reporting_component: e.reporting_controller.clone(),
            reporting_instance: e.reporting_instance.clone(),
            action: e.action.clone(),
            count: e.deprecated_count.map(i64::from),
            first_timestamp: time(&e.deprecated_first_timestamp),
            last_timestamp: time(&e.deprecated_last_timestamp),
            event_time: micro_time(&e.event_time),
            series: e.series.as_ref().map(|s| WireSeries {
                count: Some(i64::from(s.count)),
                last_observed_time: from_jiff(&s.last_observed_time.0),
            }),
        })
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
