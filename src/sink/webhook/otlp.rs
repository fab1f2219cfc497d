//! OTLP logs bodies (`type: otlp`, or `format: otlp` on a webhook): each
//! occurrence one LogRecord of an `ExportLogsServiceRequest`, in protobuf
//! (`http/protobuf`, OTLP's default) or OTLP's JSON mapping (`http/json`),
//! with the message types of the `opentelemetry-proto` crate.
//!
//! - `timeUnixNano`: the event's last seen; `observedTimeUnixNano`: when
//!   kev received it.
//! - `severityNumber`: `Warning` → WARN (13), `Normal` → INFO (9), any other
//!   type unspecified; `severityText`: the type as written.
//! - body: the message (a string).
//! - attributes, named as the OpenTelemetry Collector's k8s events receiver
//!   names them, after the semantic conventions for Kubernetes:
//!   `k8s.namespace.name` (the object's namespace, else the event's),
//!   `k8s.<kind>.name` and `k8s.<kind>.uid` for the kinds the conventions
//!   name (pod, node, deployment, replicaset, statefulset, daemonset, job,
//!   cronjob, namespace), `k8s.object.kind|name|uid|api_version|fieldpath`,
//!   `k8s.event.reason|action|name|uid|count|start_time`,
//!   `k8s.event.resource_version` (kev's: with the uid, what identifies an
//!   occurrence), `k8s.event.reporting_controller|reporting_instance`.
//! - resource: `service.name` = `kev` and `k8s.cluster.name` = the cluster
//!   label, one ResourceLogs per cluster label in the batch.

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, InstrumentationScope, KeyValue, any_value::Value,
};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

use super::format::Item;
use crate::model::{Event, Occurrence};

/// How an OTLP body is encoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub enum OtlpProtocol {
    /// Protobuf over HTTP, OTLP's default.
    #[default]
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    /// OTLP's JSON mapping over HTTP.
    #[serde(rename = "http/json")]
    HttpJson,
}

impl OtlpProtocol {
    /// The `Content-Type` of its bodies.
    pub fn content_type(self) -> &'static str {
        match self {
            OtlpProtocol::HttpProtobuf => "application/x-protobuf",
            OtlpProtocol::HttpJson => "application/json",
        }
    }
}

/// The kinds whose `k8s.<kind>.name` the semantic conventions define.
const KINDS: &[(&str, &str)] = &[
    ("Pod", "pod"),
    ("Node", "node"),
    ("Deployment", "deployment"),
    ("ReplicaSet", "replicaset"),
    ("StatefulSet", "statefulset"),
    ("DaemonSet", "daemonset"),
    ("Job", "job"),
    ("CronJob", "cronjob"),
    ("Namespace", "namespace"),
];

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn s(key: &str, value: &str) -> KeyValue {
    kv(key, Value::StringValue(value.to_string()))
}

fn nanos(t: Option<chrono::DateTime<chrono::Utc>>) -> u64 {
    t.and_then(|t| t.timestamp_nanos_opt())
        .map_or(0, |n| n.max(0) as u64)
}

/// One occurrence as a LogRecord; see the module docs.
pub(crate) fn log_record(occ: &Occurrence) -> LogRecord {
    let e: &Event = &occ.event;
    let mut attrs = Vec::with_capacity(16);
    let mut opt = |key: &str, v: Option<&str>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            attrs.push(s(key, v));
        }
    };
    let o = &e.object;
    opt(
        "k8s.namespace.name",
        o.namespace.as_deref().or(e.namespace.as_deref()),
    );
    if let Some(kind) = o.kind.as_deref()
        && let Some((_, k)) = KINDS.iter().find(|(name, _)| *name == kind)
    {
        opt(&format!("k8s.{k}.name"), o.name.as_deref());
        opt(&format!("k8s.{k}.uid"), o.uid.as_deref());
    }
    opt("k8s.object.kind", o.kind.as_deref());
    opt("k8s.object.name", o.name.as_deref());
    opt("k8s.object.uid", o.uid.as_deref());
    opt("k8s.object.api_version", o.api_version.as_deref());
    opt("k8s.object.fieldpath", o.field_path.as_deref());
    opt("k8s.event.reason", e.reason.as_deref());
    opt("k8s.event.action", e.action.as_deref());
    opt("k8s.event.name", Some(&e.name));
    opt("k8s.event.uid", Some(&e.uid));
    opt("k8s.event.resource_version", Some(&e.resource_version));
    opt("k8s.event.reporting_controller", e.component());
    opt(
        "k8s.event.reporting_instance",
        e.reporting_instance.as_deref().or(e.host()),
    );
    if let Some(first) = e.first_seen {
        attrs.push(s(
            "k8s.event.start_time",
            &crate::model::time_serde::format(&first),
        ));
    }
    attrs.push(kv("k8s.event.count", Value::IntValue(e.count)));
    let (number, text) = match e.type_.as_deref() {
        Some("Warning") => (SeverityNumber::Warn, "Warning"),
        Some("Normal") => (SeverityNumber::Info, "Normal"),
        Some(other) => (SeverityNumber::Unspecified, other),
        None => (SeverityNumber::Unspecified, ""),
    };
    LogRecord {
        time_unix_nano: nanos(e.last_seen),
        observed_time_unix_nano: nanos(occ.context.observed_at.or(e.last_seen)),
        severity_number: number as i32,
        severity_text: text.to_string(),
        body: e.message.as_ref().map(|m| AnyValue {
            value: Some(Value::StringValue(m.clone())),
        }),
        attributes: attrs,
        ..Default::default()
    }
}

/// The request for `items`: one ResourceLogs per cluster label, in order of
/// first appearance.
pub(crate) fn request(items: &[Item]) -> ExportLogsServiceRequest {
    let mut resources: Vec<(Option<&str>, Vec<LogRecord>)> = Vec::new();
    for item in items {
        let cluster = item.occ.context.cluster.as_deref();
        let record = log_record(&item.occ);
        match resources.iter_mut().find(|(c, _)| *c == cluster) {
            Some((_, records)) => records.push(record),
            None => resources.push((cluster, vec![record])),
        }
    }
    ExportLogsServiceRequest {
        resource_logs: resources
            .into_iter()
            .map(|(cluster, log_records)| {
                let mut attributes = vec![s("service.name", "kev")];
                if let Some(c) = cluster {
                    attributes.push(s("k8s.cluster.name", c));
                }
                ResourceLogs {
                    resource: Some(Resource {
                        attributes,
                        ..Default::default()
                    }),
                    scope_logs: vec![ScopeLogs {
                        scope: Some(InstrumentationScope {
                            name: "kev".to_string(),
                            version: env!("CARGO_PKG_VERSION").to_string(),
                            ..Default::default()
                        }),
                        log_records,
                        ..Default::default()
                    }],
                    ..Default::default()
                }
            })
            .collect(),
    }
}

/// The body for `items` in `protocol`.
pub(crate) fn body(protocol: OtlpProtocol, items: &[Item], out: &mut Vec<u8>) {
    let req = request(items);
    match protocol {
        OtlpProtocol::HttpProtobuf => {
            // Encoding into a Vec cannot run out of room.
            let _ = req.encode(out);
        }
        OtlpProtocol::HttpJson => {
            let _ = serde_json::to_writer(out, &req);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn items() -> Vec<Item> {
        crate::testdata::corpus()
            .take(50)
            .map(|(e, c)| Item::new(Arc::new(Occurrence::new(e, c))))
            .collect()
    }

    #[test]
    fn protobuf_round_trips_and_names_the_attributes() {
        // One cluster label: one resource, records in the batch's order.
        let items: Vec<Item> = items()
            .into_iter()
            .map(|i| {
                let mut occ = (*i.occ).clone();
                occ.context.cluster = None;
                Item::new(Arc::new(occ))
            })
            .collect();
        let mut out = Vec::new();
        body(OtlpProtocol::HttpProtobuf, &items, &mut out);
        let back = ExportLogsServiceRequest::decode(&out[..]).unwrap();
        let records: Vec<&LogRecord> = back
            .resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .flat_map(|s| &s.log_records)
            .collect();
        assert_eq!(records.len(), items.len());
        for (r, item) in records.iter().zip(&items) {
            let e = &item.occ.event;
            let attr = |k: &str| {
                r.attributes
                    .iter()
                    .find(|a| a.key == k)
                    .and_then(|a| a.value.as_ref())
                    .and_then(|v| v.value.clone())
            };
            assert_eq!(
                attr("k8s.event.uid"),
                Some(Value::StringValue(e.uid.clone()))
            );
            assert_eq!(
                attr("k8s.event.resource_version"),
                Some(Value::StringValue(e.resource_version.clone()))
            );
            assert_eq!(attr("k8s.event.count"), Some(Value::IntValue(e.count)));
            if e.object.kind.as_deref() == Some("Pod") {
                assert_eq!(
                    attr("k8s.pod.name"),
                    e.object.name.clone().map(Value::StringValue)
                );
            }
            let want = match e.type_.as_deref() {
                Some("Warning") => SeverityNumber::Warn as i32,
                Some("Normal") => SeverityNumber::Info as i32,
                _ => 0,
            };
            assert_eq!(r.severity_number, want);
            assert_eq!(
                r.body.as_ref().and_then(|b| b.value.clone()),
                e.message.clone().map(Value::StringValue)
            );
        }
    }

    #[test]
    fn json_uses_otlp_names_and_one_resource_per_cluster() {
        let mut items = items();
        for (n, item) in items.iter_mut().enumerate() {
            let mut occ = (*item.occ).clone();
            occ.context.cluster = Some(if n % 2 == 0 { "a" } else { "b" }.to_string());
            *item = Item::new(Arc::new(occ));
        }
        let mut out = Vec::new();
        body(OtlpProtocol::HttpJson, &items, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let resources = v["resourceLogs"].as_array().unwrap();
        assert_eq!(resources.len(), 2);
        let text = String::from_utf8(out).unwrap();
        for needle in [
            "\"logRecords\"",
            "\"timeUnixNano\"",
            "\"severityNumber\"",
            "\"k8s.cluster.name\"",
            "\"stringValue\"",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text:.400}");
        }
    }
}
