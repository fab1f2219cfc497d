//! `-o json --list` and `-o yaml --list`: what `kubectl events -o json` and
//! `kubectl events -o yaml` print.
//!
//! kubectl prints the core/v1 Event objects themselves, not kev's records:
//! a listing is one `EventList` (`kind`, `apiVersion`, an empty `metadata`,
//! then `items`, sorted as its table is), and with `-w` each object as it
//! arrives, as `kubectl events -w` does. Each object gets `kind: Event` and
//! `apiVersion: v1` first (a list's items come without them) and loses
//! `metadata.managedFields` unless `--show-managed-fields` is given, as
//! kubectl's printers do.
//!
//! **The objects.** Live, kev keeps each object as the apiserver sent it
//! (only when `--list` asks for it: [`crate::source::list::ListOptions`]'s
//! `keep_raw`), so every field kubectl prints is there, `creationTimestamp`,
//! labels and managed fields included. A replayed event was read into
//! kev's normalised event, so it is written back as the core/v1 Event it
//! maps to ([`synthesize`]): kind, metadata (name, namespace, uid,
//! resourceVersion), involvedObject, reason, message, source, the resolved
//! first and last timestamps, count, type, eventTime, series, action,
//! related, reportingComponent and reportingInstance; what kev does not keep
//! (creationTimestamp, labels, annotations, managed fields) is absent.
//!
//! **JSON** is Go's `json.MarshalIndent(obj, "", "    ")` byte for byte:
//! fields in the order of Go's structs (the apiserver's order, kept), four
//! spaces, `"key": value`, `{}` and `[]` for empty ones, strings escaped as
//! Go escapes them (`<`, `>` and `&` as `\u003c`, `\u003e`, `\u0026`,
//! U+2028 and U+2029, controls as `\n` or `\u001b`), a newline after each
//! object. Go's escapes already keep controls off the terminal; other
//! characters (bidi overrides, zero-width ones) are data here, as in every
//! JSON output of kev ([`crate::escape`]).
//!
//! **YAML** is kev's YAML writer ([`super::yaml`]) over the same object
//! with its keys sorted, as kubectl's (sigs.k8s.io/yaml) sorts them, and
//! `---` between documents: the same data, while kubectl's go-yaml folds
//! strings longer than 80 columns and kev does not.

use std::io::{self, Write};
use std::sync::OnceLock;

use chrono::{DateTime, SecondsFormat, Utc};

use super::Printer;
use super::yaml::{Value, document};
use crate::model::{Event, ObjectRef, Occurrence};

/// How `--list` prints, set once from the flags ([`install`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `--show-managed-fields`: keep `metadata.managedFields`.
    pub managed_fields: bool,
    /// Following (`-w`, `--watch-only`): each object on its own, as
    /// `kubectl events -w` prints them, the listing's too.
    pub per_object: bool,
}

static OPTIONS: OnceLock<Options> = OnceLock::new();

/// Set the options of every [`KubectlPrinter`] made after this (once).
pub fn install(options: Options) {
    let _ = OPTIONS.set(options);
}

/// Prints `--list`'s objects; see the module docs.
#[derive(Debug)]
pub struct KubectlPrinter {
    yaml: bool,
    options: Options,
    printed: u64,
}

impl KubectlPrinter {
    /// With the [`install`]ed options: YAML or JSON.
    pub fn installed(yaml: bool) -> KubectlPrinter {
        KubectlPrinter::with(yaml, OPTIONS.get().copied().unwrap_or_default())
    }

    /// With `options` (tests).
    pub fn with(yaml: bool, options: Options) -> KubectlPrinter {
        KubectlPrinter {
            yaml,
            options,
            printed: 0,
        }
    }

    fn print(&mut self, out: &mut dyn Write, value: &Value) -> io::Result<()> {
        let mut text = String::with_capacity(2048);
        if self.yaml {
            // kubectl's YAML printer separates its documents.
            if self.printed > 0 {
                text.push_str("---\n");
            }
            text.push_str(&document(&sorted(value)));
        } else {
            go_json(&mut text, value, 0);
            text.push('\n');
        }
        self.printed += 1;
        out.write_all(text.as_bytes())
    }
}

impl Printer for KubectlPrinter {
    fn print_batch(
        &mut self,
        out: &mut dyn Write,
        batch: &[&Occurrence],
        now: DateTime<Utc>,
    ) -> io::Result<()> {
        if self.options.per_object {
            for occ in batch {
                self.print_one(out, occ, now)?;
            }
            return Ok(());
        }
        // kubectl prints nothing for an empty listing ("No events found"
        // goes to stderr).
        if batch.is_empty() {
            return Ok(());
        }
        let items = batch
            .iter()
            .map(|o| object(o, self.options.managed_fields))
            .collect();
        let list = Value::Object(vec![
            ("kind".into(), Value::String("EventList".into())),
            ("apiVersion".into(), Value::String("v1".into())),
            ("metadata".into(), Value::Object(Vec::new())),
            ("items".into(), Value::Array(items)),
        ]);
        self.print(out, &list)
    }

    fn print_one(
        &mut self,
        out: &mut dyn Write,
        occ: &Occurrence,
        _now: DateTime<Utc>,
    ) -> io::Result<()> {
        let value = object(occ, self.options.managed_fields);
        self.print(out, &value)
    }
}

/// The core/v1 Event object of `occ` as kubectl prints it: the object the
/// apiserver sent when kev kept it, else [`synthesize`]d; `kind` and
/// `apiVersion` first, managed fields only if `managed_fields`.
pub(crate) fn object(occ: &Occurrence, managed_fields: bool) -> Value {
    let parsed = occ
        .raw
        .as_deref()
        .and_then(|raw| serde_json::from_str::<Value>(raw).ok())
        .and_then(|v| match v {
            Value::Object(fields) => Some(fields),
            _ => None,
        });
    let mut fields = parsed.unwrap_or_else(|| synthesize(&occ.event));
    fields.retain(|(k, _)| k != "kind" && k != "apiVersion");
    fields.insert(0, ("apiVersion".into(), Value::String("v1".into())));
    fields.insert(0, ("kind".into(), Value::String("Event".into())));
    if !managed_fields {
        for (k, v) in &mut fields {
            if k == "metadata"
                && let Value::Object(meta) = v
            {
                meta.retain(|(k, _)| k != "managedFields");
            }
        }
    }
    Value::Object(fields)
}

fn string(s: &str) -> Value {
    Value::String(s.to_string())
}

/// `key: value` when `value` is set and not empty (Go's `omitempty`).
fn non_empty(fields: &mut Vec<(String, Value)>, key: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        fields.push((key.to_string(), string(v)));
    }
}

/// metav1.Time: RFC 3339 in seconds, `null` when unset.
fn time(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| {
        Value::String(t.to_rfc3339_opts(SecondsFormat::Secs, true))
    })
}

/// metav1.MicroTime: RFC 3339 in microseconds, `null` when unset.
fn micro_time(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| {
        Value::String(t.to_rfc3339_opts(SecondsFormat::Micros, true))
    })
}

/// An ObjectReference, fields in Go's order, each `omitempty`.
fn reference(r: &ObjectRef) -> Value {
    let mut f = Vec::new();
    non_empty(&mut f, "kind", r.kind.as_deref());
    non_empty(&mut f, "namespace", r.namespace.as_deref());
    non_empty(&mut f, "name", r.name.as_deref());
    non_empty(&mut f, "uid", r.uid.as_deref());
    non_empty(&mut f, "apiVersion", r.api_version.as_deref());
    non_empty(&mut f, "fieldPath", r.field_path.as_deref());
    Value::Object(f)
}

/// The core/v1 Event a normalised event maps to, fields in the order and
/// with the empty values of Go's `corev1.Event` (without `kind` and
/// `apiVersion`, which [`object`] adds): see the module docs.
pub(crate) fn synthesize(e: &Event) -> Vec<(String, Value)> {
    let mut meta = Vec::new();
    non_empty(&mut meta, "name", Some(&e.name));
    non_empty(&mut meta, "namespace", e.namespace.as_deref());
    non_empty(&mut meta, "uid", Some(&e.uid));
    non_empty(&mut meta, "resourceVersion", Some(&e.resource_version));
    let mut f = vec![
        ("metadata".to_string(), Value::Object(meta)),
        ("involvedObject".to_string(), reference(&e.object)),
    ];
    non_empty(&mut f, "reason", e.reason.as_deref());
    non_empty(&mut f, "message", e.message.as_deref());
    let mut source = Vec::new();
    if let Some(s) = &e.source {
        non_empty(&mut source, "component", s.component.as_deref());
        non_empty(&mut source, "host", s.host.as_deref());
    }
    f.push(("source".into(), Value::Object(source)));
    f.push(("firstTimestamp".into(), time(e.first_seen)));
    f.push(("lastTimestamp".into(), time(e.last_seen)));
    if e.count != 0 {
        f.push(("count".into(), Value::Number(e.count.into())));
    }
    non_empty(&mut f, "type", e.type_.as_deref());
    f.push(("eventTime".into(), micro_time(e.event_time)));
    if let Some(s) = &e.series {
        let mut series = Vec::new();
        if s.count != 0 {
            series.push(("count".to_string(), Value::Number(s.count.into())));
        }
        series.push(("lastObservedTime".into(), micro_time(s.last_observed_time)));
        f.push(("series".into(), Value::Object(series)));
    }
    non_empty(&mut f, "action", e.action.as_deref());
    if let Some(r) = &e.related {
        f.push(("related".into(), reference(r)));
    }
    let text = |s: &Option<String>| string(s.as_deref().unwrap_or(""));
    f.push(("reportingComponent".into(), text(&e.reporting_controller)));
    f.push(("reportingInstance".into(), text(&e.reporting_instance)));
    f
}

/// `value` with every object's keys sorted, as go-yaml writes a map.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(fields) => {
            let mut fields: Vec<(String, Value)> =
                fields.iter().map(|(k, v)| (k.clone(), sorted(v))).collect();
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(fields)
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("    ");
    }
}

/// Go's `json.MarshalIndent(value, "", "    ")`, without the final newline.
pub(crate) fn go_json(out: &mut String, value: &Value, depth: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => go_string(out, s),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Object(fields) if fields.is_empty() => out.push_str("{}"),
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                go_json(out, v, depth + 1);
            }
            newline(out, depth);
            out.push(']');
        }
        Value::Object(fields) => {
            out.push('{');
            for (i, (k, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                go_string(out, k);
                out.push_str(": ");
                go_json(out, v, depth + 1);
            }
            newline(out, depth);
            out.push('}');
        }
    }
}

/// A JSON string as Go's encoding/json writes it (HTML-safe).
fn go_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{0}'..='\u{1f}' => {
                let b = c as u8;
                out.push_str("\\u00");
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 0xf)] as char);
            }
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{EventSource, RecordContext};

    fn go(value: &Value) -> String {
        let mut s = String::new();
        go_json(&mut s, value, 0);
        s
    }

    fn parse(json: &str) -> Value {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn indents_as_go_marshal_indent() {
        let v = parse(r#"{"a":{},"b":[],"c":[1,{"d":null,"e":true}],"f":"x"}"#);
        assert_eq!(
            go(&v),
            "{\n    \"a\": {},\n    \"b\": [],\n    \"c\": [\n        1,\n        {\n            \"d\": null,\n            \"e\": true\n        }\n    ],\n    \"f\": \"x\"\n}"
        );
    }

    #[test]
    fn escapes_strings_as_go_does() {
        let v = Value::String(
            "<a&b>\u{1b}[31m\n\t\r\u{8}\u{c}\"\\\u{2028}\u{2029}\u{7f}é\u{202e}".into(),
        );
        assert_eq!(
            go(&v),
            r#""\u003ca\u0026b\u003e\u001b[31m\n\t\r\b\f\"\\\u2028\u2029"#.to_string()
                + "\u{7f}é\u{202e}\""
        );
    }

    fn occurrence(raw: Option<&str>) -> Occurrence {
        let event = Event {
            uid: "u1".into(),
            resource_version: "42".into(),
            namespace: Some("ns".into()),
            name: "web.1".into(),
            type_: Some("Warning".into()),
            reason: Some("BackOff".into()),
            message: Some("restarting".into()),
            object: ObjectRef {
                kind: Some("Pod".into()),
                namespace: Some("ns".into()),
                name: Some("web".into()),
                api_version: Some("v1".into()),
                ..ObjectRef::default()
            },
            source: Some(EventSource {
                component: Some("kubelet".into()),
                host: None,
            }),
            count: 3,
            first_seen: "2026-12-01T10:00:00Z".parse().ok(),
            last_seen: "2026-12-01T10:05:00Z".parse().ok(),
            ..Event::default()
        };
        let mut occ = Occurrence::new(event, RecordContext::default());
        occ.raw = raw.map(std::sync::Arc::from);
        occ
    }

    #[test]
    fn a_raw_object_keeps_its_fields_and_order_and_gains_kind_first() {
        let raw = r#"{"metadata":{"name":"web.1","namespace":"ns","managedFields":[{"manager":"x"}],"creationTimestamp":"2026-12-01T10:00:00Z"},"involvedObject":{"kind":"Pod"},"reason":"BackOff","source":{},"firstTimestamp":null,"reportingComponent":"","reportingInstance":""}"#;
        let occ = occurrence(Some(raw));
        let Value::Object(f) = object(&occ, false) else {
            panic!("an object")
        };
        let keys: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "kind",
                "apiVersion",
                "metadata",
                "involvedObject",
                "reason",
                "source",
                "firstTimestamp",
                "reportingComponent",
                "reportingInstance"
            ]
        );
        let text = go(&Value::Object(f));
        assert!(!text.contains("managedFields"), "{text}");
        assert!(text.contains("\"creationTimestamp\": \"2026-12-01T10:00:00Z\""));
        let kept = go(&object(&occ, true));
        assert!(kept.contains("\"manager\": \"x\""), "{kept}");
    }

    #[test]
    fn a_replayed_event_is_the_core_v1_object_it_maps_to() {
        let text = go(&object(&occurrence(None), false));
        assert_eq!(
            text,
            r#"{
    "kind": "Event",
    "apiVersion": "v1",
    "metadata": {
        "name": "web.1",
        "namespace": "ns",
        "uid": "u1",
        "resourceVersion": "42"
    },
    "involvedObject": {
        "kind": "Pod",
        "namespace": "ns",
        "name": "web",
        "apiVersion": "v1"
    },
    "reason": "BackOff",
    "message": "restarting",
    "source": {
        "component": "kubelet"
    },
    "firstTimestamp": "2026-12-01T10:00:00Z",
    "lastTimestamp": "2026-12-01T10:05:00Z",
    "count": 3,
    "type": "Warning",
    "eventTime": null,
    "reportingComponent": "",
    "reportingInstance": ""
}"#
        );
    }

    #[test]
    fn a_listing_is_one_event_list_and_following_prints_each_object() {
        let a = occurrence(None);
        let mut out = Vec::new();
        let now = Utc::now();
        KubectlPrinter::with(false, Options::default())
            .print_batch(&mut out, &[&a, &a], now)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(
                "{\n    \"kind\": \"EventList\",\n    \"apiVersion\": \"v1\",\n    \"metadata\": {},\n    \"items\": [\n        {\n            \"kind\": \"Event\","
            ),
            "{text}"
        );
        assert!(text.ends_with("\n    ]\n}\n"), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["items"].as_array().map(Vec::len), Some(2));

        let mut out = Vec::new();
        KubectlPrinter::with(false, Options::default())
            .print_batch(&mut out, &[], now)
            .unwrap();
        assert!(out.is_empty(), "an empty listing prints nothing");

        let mut out = Vec::new();
        let mut p = KubectlPrinter::with(
            true,
            Options {
                per_object: true,
                ..Options::default()
            },
        );
        p.print_batch(&mut out, &[&a], now).unwrap();
        p.print_one(&mut out, &a, now).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.matches("---\n").count(), 1, "{text}");
        assert!(text.starts_with("apiVersion: v1\ncount: 3\n"), "{text}");
        assert!(
            text.contains("firstTimestamp: \"2026-12-01T10:00:00Z\"\n"),
            "timestamps quoted: {text}"
        );
    }
}
