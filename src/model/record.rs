//! The NDJSON record, schema `kev/v1` — a documented, versioned contract
//! (docs/ndjson.md).
//!
//! [`RecordView`] serializes an [`Event`] plus its delivery context without
//! copying; [`Record`] reads a line back. Keys are always present and in a
//! fixed order; absent values are `null`.

use chrono::{DateTime, Utc};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

use super::{Event, EventSource, ObjectRef, Series, time_serde};

/// The value of the `schema` key.
pub const SCHEMA_V1: &str = "kev/v1";

/// The kind of watch notification an occurrence came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum WatchType {
    /// Seen in a list, or a watch `ADDED`.
    Added,
    /// A watch `MODIFIED`: the same event object updated in place.
    Modified,
    /// A watch `DELETED` (TTL expiry); not an occurrence.
    Deleted,
}

impl WatchType {
    /// The name as the Kubernetes watch protocol spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            WatchType::Added => "ADDED",
            WatchType::Modified => "MODIFIED",
            WatchType::Deleted => "DELETED",
        }
    }
}

/// Where and how an event was observed: the parts of a record that are not the event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordContext {
    /// Cluster label from the configuration, if any.
    pub cluster: Option<String>,
    /// The watch notification type; `None` for events from a list.
    pub watch_type: Option<WatchType>,
    /// When kev observed the occurrence.
    pub observed_at: Option<DateTime<Utc>>,
}

/// An event with its context, serializable as a `kev/v1` record without copying.
#[derive(Clone, Copy, Debug)]
pub struct RecordView<'a> {
    /// The event.
    pub event: &'a Event,
    /// Its context.
    pub context: &'a RecordContext,
}

struct Time<'a>(&'a Option<DateTime<Utc>>);

impl Serialize for Time<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        time_serde::serialize(self.0, s)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SeriesOut<'a> {
    count: i64,
    last_observed_time: Time<'a>,
}

impl Serialize for RecordView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.event;
        let c = self.context;
        let mut st = s.serialize_struct("Record", 22)?;
        st.serialize_field("schema", SCHEMA_V1)?;
        st.serialize_field("cluster", &c.cluster)?;
        st.serialize_field("uid", &e.uid)?;
        st.serialize_field("resourceVersion", &e.resource_version)?;
        st.serialize_field("namespace", &e.namespace)?;
        st.serialize_field("name", &e.name)?;
        st.serialize_field("type", &e.type_)?;
        st.serialize_field("reason", &e.reason)?;
        st.serialize_field("message", &e.message)?;
        st.serialize_field("object", &e.object)?;
        st.serialize_field("related", &e.related)?;
        st.serialize_field("source", &e.source)?;
        st.serialize_field("reportingController", &e.reporting_controller)?;
        st.serialize_field("reportingInstance", &e.reporting_instance)?;
        st.serialize_field("action", &e.action)?;
        st.serialize_field("count", &e.count)?;
        st.serialize_field("firstSeen", &Time(&e.first_seen))?;
        st.serialize_field("lastSeen", &Time(&e.last_seen))?;
        st.serialize_field("eventTime", &Time(&e.event_time))?;
        st.serialize_field(
            "series",
            &e.series.as_ref().map(|s| SeriesOut {
                count: s.count,
                last_observed_time: Time(&s.last_observed_time),
            }),
        )?;
        st.serialize_field("watchType", &c.watch_type)?;
        st.serialize_field("observedAt", &Time(&c.observed_at))?;
        st.end()
    }
}

/// A `kev/v1` record read back from NDJSON.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// Must be `kev/v1`.
    pub schema: String,
    /// Cluster label.
    #[serde(default)]
    pub cluster: Option<String>,
    /// Event uid.
    pub uid: String,
    /// Event resourceVersion.
    pub resource_version: String,
    /// Event namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Event name.
    #[serde(default)]
    pub name: String,
    /// Event type.
    #[serde(default, rename = "type")]
    pub type_: Option<String>,
    /// Reason.
    #[serde(default)]
    pub reason: Option<String>,
    /// Message.
    #[serde(default)]
    pub message: Option<String>,
    /// Involved object.
    #[serde(default)]
    pub object: Option<ObjectRef>,
    /// Related object.
    #[serde(default)]
    pub related: Option<ObjectRef>,
    /// Legacy source.
    #[serde(default)]
    pub source: Option<EventSource>,
    /// Reporting controller.
    #[serde(default)]
    pub reporting_controller: Option<String>,
    /// Reporting instance.
    #[serde(default)]
    pub reporting_instance: Option<String>,
    /// Action.
    #[serde(default)]
    pub action: Option<String>,
    /// Resolved count.
    #[serde(default)]
    pub count: Option<i64>,
    /// Resolved first seen.
    #[serde(default, with = "time_serde")]
    pub first_seen: Option<DateTime<Utc>>,
    /// Resolved last seen.
    #[serde(default, with = "time_serde")]
    pub last_seen: Option<DateTime<Utc>>,
    /// eventTime as written.
    #[serde(default, with = "time_serde")]
    pub event_time: Option<DateTime<Utc>>,
    /// series as written.
    #[serde(default)]
    pub series: Option<Series>,
    /// Watch notification type.
    #[serde(default)]
    pub watch_type: Option<WatchType>,
    /// When kev observed it.
    #[serde(default, with = "time_serde")]
    pub observed_at: Option<DateTime<Utc>>,
}

impl Record {
    /// Split into the event and its context.
    pub fn into_parts(self) -> (Event, RecordContext) {
        (
            Event {
                uid: self.uid,
                resource_version: self.resource_version,
                namespace: self.namespace,
                name: self.name,
                type_: self.type_,
                reason: self.reason,
                message: self.message,
                object: self.object.unwrap_or_default(),
                related: self.related,
                source: self.source,
                reporting_controller: self.reporting_controller,
                reporting_instance: self.reporting_instance,
                action: self.action,
                count: self.count.filter(|c| *c > 0).unwrap_or(1),
                first_seen: self.first_seen,
                last_seen: self.last_seen,
                event_time: self.event_time,
                series: self.series,
            },
            RecordContext {
                cluster: self.cluster,
                watch_type: self.watch_type,
                observed_at: self.observed_at,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn legacy() -> Event {
        Event::from_json(include_bytes!("../../tests/fixtures/core_v1_legacy.json")).unwrap()
    }

    #[test]
    fn keys_are_stable_and_in_order() {
        let ctx = RecordContext::default();
        let line = serde_json::to_string(&RecordView {
            event: &legacy(),
            context: &ctx,
        })
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        // serde_json's Map is sorted unless preserve_order; check presence, then order in the text.
        assert_eq!(keys.len(), 22);
        let order = [
            "schema",
            "cluster",
            "uid",
            "resourceVersion",
            "namespace",
            "name",
            "type",
            "reason",
            "message",
            "object",
            "related",
            "source",
            "reportingController",
            "reportingInstance",
            "action",
            "count",
            "firstSeen",
            "lastSeen",
            "eventTime",
            "series",
            "watchType",
            "observedAt",
        ];
        let mut pos = 0;
        for k in order {
            let at = line[pos..]
                .find(&format!("\"{k}\":"))
                .unwrap_or_else(|| panic!("{k} out of order"));
            pos += at;
        }
        assert!(line.starts_with(r#"{"schema":"kev/v1","cluster":null,"uid":"8c1a5e3e"#));
        assert!(line.contains(r#""firstSeen":"2026-11-28T09:01:02Z","lastSeen":"2026-11-28T09:31:40Z","eventTime":null,"series":null,"watchType":null,"observedAt":null}"#), "{line}");
    }

    #[test]
    fn round_trip_every_fixture() {
        let ctx = RecordContext {
            cluster: Some("prod-eu".into()),
            watch_type: Some(WatchType::Modified),
            observed_at: Some("2026-11-28T09:31:40.2Z".parse().unwrap()),
        };
        for bytes in [
            &include_bytes!("../../tests/fixtures/core_v1_legacy.json")[..],
            &include_bytes!("../../tests/fixtures/core_v1_series.json")[..],
            &include_bytes!("../../tests/fixtures/core_v1_node.json")[..],
            &include_bytes!("../../tests/fixtures/core_v1_hostile.json")[..],
            &include_bytes!("../../tests/fixtures/events_v1_series.json")[..],
        ] {
            let e = Event::from_json(bytes).unwrap();
            let line = serde_json::to_string(&RecordView {
                event: &e,
                context: &ctx,
            })
            .unwrap();
            assert!(!line.contains('\n'), "one record is one line");
            let rec: Record = serde_json::from_str(&line).unwrap();
            assert_eq!(rec.schema, SCHEMA_V1);
            let (back, back_ctx) = rec.into_parts();
            assert_eq!(back, e);
            assert_eq!(back_ctx, ctx);
        }
    }

    #[test]
    fn microsecond_times_keep_their_digits() {
        let e =
            Event::from_json(include_bytes!("../../tests/fixtures/events_v1_series.json")).unwrap();
        let ctx = RecordContext::default();
        let line = serde_json::to_string(&RecordView {
            event: &e,
            context: &ctx,
        })
        .unwrap();
        assert!(
            line.contains(r#""lastSeen":"2026-11-28T09:15:00.654321Z""#),
            "{line}"
        );
        assert!(
            line.contains(
                r#""series":{"count":31,"lastObservedTime":"2026-11-28T09:15:00.654321Z"}"#
            ),
            "{line}"
        );
    }
}
