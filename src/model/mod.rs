//! The normalized event model.
//!
//! Kubernetes serves the same stored Event objects through two API groups
//! (core/v1 and events.k8s.io/v1) with different field names and three
//! generations of timestamp conventions. Everything past this module sees one
//! [`Event`] type: the mappings live in [`core_v1`], [`events_v1`] and [`wire`]
//! (raw JSON of either version), and the NDJSON schema v1 record in [`record`].
//! An [`Occurrence`] is an event at one resourceVersion with the context it
//! was observed in; [`EventView`] is how filters read any event-like value;
//! [`ObjectSpec`] parses `KIND/NAME`.
//!
//! The fallbacks that decide what "last seen", "first seen" and "count" mean
//! are implemented once, in [`Timestamps::resolve`], exactly as the design
//! states them.

pub(crate) mod borrowed;
pub mod core_v1;
pub mod events_v1;
pub mod object;
pub mod occurrence;
pub mod owned;
pub mod record;
pub mod view;
pub mod wire;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use object::{ObjectSpec, ObjectSpecError, ObjectTarget};
pub use occurrence::{Occurrence, Position};
pub use record::{Record, RecordContext, RecordView, SCHEMA_V1, WatchType};
pub use view::EventView;
pub use wire::{WireEvent, WireEventList};

/// A reference to an object: the event's involved (`regarding`) or related object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// Kind of the object, e.g. `Pod`.
    pub kind: Option<String>,
    /// Namespace of the object; `None` for cluster-scoped objects such as Nodes.
    pub namespace: Option<String>,
    /// Name of the object.
    pub name: Option<String>,
    /// UID of the object.
    pub uid: Option<String>,
    /// API version of the object, e.g. `v1` or `apps/v1`.
    pub api_version: Option<String>,
    /// Field path inside the object, e.g. `spec.containers{web}`.
    pub field_path: Option<String>,
}

impl ObjectRef {
    /// `Kind/name`, as `kubectl events` prints the OBJECT column.
    pub fn display_name(&self) -> String {
        format!(
            "{}/{}",
            self.kind.as_deref().unwrap_or(""),
            self.name.as_deref().unwrap_or("")
        )
    }
}

/// The legacy `source` of a core/v1 event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventSource {
    /// Component that reported the event, e.g. `kubelet`.
    pub component: Option<String>,
    /// Node the component runs on.
    pub host: Option<String>,
}

/// The `series` of an event written by the newer (events.k8s.io) recorder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Series {
    /// How many times the event has been observed.
    pub count: i64,
    /// When it was last observed.
    #[serde(default, with = "time_serde")]
    pub last_observed_time: Option<DateTime<Utc>>,
}

/// The key of one occurrence: an event object at one resourceVersion.
///
/// An event is updated in place (count + 1, new lastTimestamp), so the same
/// uid appears many times; each new resourceVersion is a new occurrence, and
/// no occurrence is delivered twice.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OccurrenceKey {
    /// The event's `metadata.uid`.
    pub uid: String,
    /// The event's `metadata.resourceVersion`.
    pub resource_version: String,
}

/// One normalized Kubernetes event, whatever API version it came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// `metadata.uid`.
    pub uid: String,
    /// `metadata.resourceVersion`.
    pub resource_version: String,
    /// `metadata.namespace` (the event's own namespace).
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
    /// `Normal` or `Warning` (other values are passed through).
    pub type_: Option<String>,
    /// Short machine-readable reason, e.g. `BackOff`.
    pub reason: Option<String>,
    /// Human-readable message (`note` in events.k8s.io/v1).
    pub message: Option<String>,
    /// The object the event is about (`involvedObject` / `regarding`).
    pub object: ObjectRef,
    /// A secondary object, if any.
    pub related: Option<ObjectRef>,
    /// Legacy source (component and host).
    pub source: Option<EventSource>,
    /// `reportingComponent` (core/v1) / `reportingController` (events.k8s.io/v1).
    pub reporting_controller: Option<String>,
    /// `reportingInstance`.
    pub reporting_instance: Option<String>,
    /// `action`.
    pub action: Option<String>,
    /// Resolved count: `series.count` → `count` → 1.
    pub count: i64,
    /// Resolved first seen: `eventTime` → `firstTimestamp` → `creationTimestamp`.
    pub first_seen: Option<DateTime<Utc>>,
    /// Resolved last seen: `series.lastObservedTime` → `lastTimestamp` → `eventTime` → `creationTimestamp`.
    pub last_seen: Option<DateTime<Utc>>,
    /// `eventTime`, as written.
    pub event_time: Option<DateTime<Utc>>,
    /// `series`, as written.
    pub series: Option<Series>,
}

impl Event {
    /// The occurrence key `(uid, resourceVersion)`.
    pub fn occurrence_key(&self) -> OccurrenceKey {
        OccurrenceKey {
            uid: self.uid.clone(),
            resource_version: self.resource_version.clone(),
        }
    }

    /// The component that reported the event: `source.component`, else `reportingController`.
    pub fn component(&self) -> Option<&str> {
        self.source
            .as_ref()
            .and_then(|s| s.component.as_deref())
            .filter(|s| !s.is_empty())
            .or(self.reporting_controller.as_deref())
    }

    /// The host the event was reported from: `source.host`.
    pub fn host(&self) -> Option<&str> {
        self.source
            .as_ref()
            .and_then(|s| s.host.as_deref())
            .filter(|s| !s.is_empty())
    }
}

/// The time ages and relative windows are measured from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// The system clock, read when asked.
    System,
    /// A fixed time (`kev replay --now`).
    Fixed(DateTime<Utc>),
}

impl Clock {
    /// The current time by this clock.
    pub fn now(self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(t) => t,
        }
    }
}

/// The raw timestamp and count fields of an event, before the fallbacks apply.
#[derive(Clone, Debug, Default)]
pub struct Timestamps {
    /// `series.count`.
    pub series_count: Option<i64>,
    /// `series.lastObservedTime`.
    pub series_last_observed: Option<DateTime<Utc>>,
    /// `count` (core/v1) / `deprecatedCount` (events.k8s.io/v1).
    pub count: Option<i64>,
    /// `firstTimestamp` / `deprecatedFirstTimestamp`.
    pub first_timestamp: Option<DateTime<Utc>>,
    /// `lastTimestamp` / `deprecatedLastTimestamp`.
    pub last_timestamp: Option<DateTime<Utc>>,
    /// `eventTime`.
    pub event_time: Option<DateTime<Utc>>,
    /// `metadata.creationTimestamp`.
    pub creation_timestamp: Option<DateTime<Utc>>,
}

/// The resolved (count, first seen, last seen) of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// `series.count` → `count` → 1.
    pub count: i64,
    /// `eventTime` → `firstTimestamp` → `creationTimestamp`.
    pub first_seen: Option<DateTime<Utc>>,
    /// `series.lastObservedTime` → `lastTimestamp` → `eventTime` → `creationTimestamp`.
    pub last_seen: Option<DateTime<Utc>>,
}

impl Timestamps {
    /// Apply the design's fallbacks. Zero times (Go's `0001-01-01T00:00:00Z`)
    /// and non-positive counts count as absent, so a zero time is never shown.
    pub fn resolve(&self) -> Resolved {
        let t = |x: Option<DateTime<Utc>>| x.filter(|t| !is_zero_time(t));
        let c = |x: Option<i64>| x.filter(|c| *c > 0);
        Resolved {
            count: c(self.series_count).or(c(self.count)).unwrap_or(1),
            first_seen: t(self.event_time)
                .or(t(self.first_timestamp))
                .or(t(self.creation_timestamp)),
            last_seen: t(self.series_last_observed)
                .or(t(self.last_timestamp))
                .or(t(self.event_time))
                .or(t(self.creation_timestamp)),
        }
    }
}

/// Whether `t` is Go's zero time (or any time before the Unix epoch, which no
/// real event carries).
pub fn is_zero_time(t: &DateTime<Utc>) -> bool {
    t.timestamp() <= 0
}

/// Serde helpers for optional RFC 3339 timestamps in kev's own formats: written
/// with `Z` and only as many fractional digits as needed; read leniently, with
/// zero times mapped to `None`.
pub mod time_serde {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Format a timestamp the way kev writes it: RFC 3339 in UTC with `Z`,
    /// the fraction with trailing zeros trimmed (as Go's RFC3339Nano).
    pub fn format(t: &DateTime<Utc>) -> String {
        let mut s = t.to_rfc3339_opts(SecondsFormat::Nanos, true);
        // "2026-11-28T09:00:00.500000000Z" -> "2026-11-28T09:00:00.5Z"
        s.pop();
        let trimmed = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(trimmed);
        s.push('Z');
        s
    }

    /// Serialize `Option<DateTime<Utc>>` as an RFC 3339 string or `null`.
    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format(t)),
            None => s.serialize_none(),
        }
    }

    /// Deserialize an optional RFC 3339 timestamp; `null`, `""` and zero times give `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        // Borrowed, not copied: the text is only parsed.
        let s: Option<super::borrowed::BorrowedStr<'de>> = Option::deserialize(d)?;
        match s.as_deref() {
            None | Some("") => Ok(None),
            Some(s) => {
                let t = DateTime::parse_from_rfc3339(s)
                    .map_err(|e| serde::de::Error::custom(format!("invalid timestamp {s:?}: {e}")))?
                    .with_timezone(&Utc);
                Ok(Some(t).filter(|t| !super::is_zero_time(t)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Option<DateTime<Utc>> {
        Some(DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc))
    }

    #[test]
    fn last_seen_prefers_series_then_last_timestamp_then_event_time_then_creation() {
        let mut t = Timestamps {
            series_last_observed: ts("2026-01-01T00:00:04Z"),
            last_timestamp: ts("2026-01-01T00:00:03Z"),
            event_time: ts("2026-01-01T00:00:02Z"),
            creation_timestamp: ts("2026-01-01T00:00:01Z"),
            ..Default::default()
        };
        assert_eq!(t.resolve().last_seen, ts("2026-01-01T00:00:04Z"));
        t.series_last_observed = None;
        assert_eq!(t.resolve().last_seen, ts("2026-01-01T00:00:03Z"));
        t.last_timestamp = None;
        assert_eq!(t.resolve().last_seen, ts("2026-01-01T00:00:02Z"));
        t.event_time = None;
        assert_eq!(t.resolve().last_seen, ts("2026-01-01T00:00:01Z"));
        t.creation_timestamp = None;
        assert_eq!(t.resolve().last_seen, None);
    }

    #[test]
    fn first_seen_prefers_event_time_then_first_timestamp_then_creation() {
        let mut t = Timestamps {
            event_time: ts("2026-01-01T00:00:02Z"),
            first_timestamp: ts("2026-01-01T00:00:03Z"),
            creation_timestamp: ts("2026-01-01T00:00:01Z"),
            ..Default::default()
        };
        assert_eq!(t.resolve().first_seen, ts("2026-01-01T00:00:02Z"));
        t.event_time = None;
        assert_eq!(t.resolve().first_seen, ts("2026-01-01T00:00:03Z"));
        t.first_timestamp = None;
        assert_eq!(t.resolve().first_seen, ts("2026-01-01T00:00:01Z"));
    }

    #[test]
    fn count_prefers_series_then_count_then_one() {
        let mut t = Timestamps {
            series_count: Some(7),
            count: Some(3),
            ..Default::default()
        };
        assert_eq!(t.resolve().count, 7);
        t.series_count = None;
        assert_eq!(t.resolve().count, 3);
        t.count = None;
        assert_eq!(t.resolve().count, 1);
        t.count = Some(0);
        assert_eq!(t.resolve().count, 1, "a zero count is treated as absent");
    }

    #[test]
    fn zero_times_are_absent() {
        let t = Timestamps {
            last_timestamp: ts("0001-01-01T00:00:00Z"),
            event_time: ts("2026-01-01T00:00:02Z"),
            ..Default::default()
        };
        assert_eq!(t.resolve().last_seen, ts("2026-01-01T00:00:02Z"));
    }

    #[test]
    fn component_falls_back_to_reporting_controller() {
        let mut e = Event {
            reporting_controller: Some("rc".into()),
            ..Default::default()
        };
        assert_eq!(e.component(), Some("rc"));
        e.source = Some(EventSource {
            component: Some("kubelet".into()),
            host: Some("node-1".into()),
        });
        assert_eq!(e.component(), Some("kubelet"));
        assert_eq!(e.host(), Some("node-1"));
    }
}
