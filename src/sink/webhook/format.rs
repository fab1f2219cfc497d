//! Request bodies: the generic formats (`json`, `ndjson`, `template`) and the
//! presets for Loki, Elasticsearch/OpenSearch, Splunk HEC, Slack and Teams.
//!
//! A batch reaches a format as [`Item`]s: the occurrence and its `kev/v1`
//! record already encoded (once, when it joined the batch, which is also how
//! the batch's size is known). Every format builds on that record:
//!
//! | format | body | content type |
//! |---|---|---|
//! | `json` | a JSON array of records | `application/json` |
//! | `ndjson` | one record per line | `application/x-ndjson` |
//! | `template` | the template rendered per record, each followed by `\n` | `text/plain; charset=utf-8` |
//! | `loki` | `{"streams":[{"stream":{labels},"values":[[ns, record],…]}]}`, values in time order per stream | `application/json` |
//! | `elasticsearch` | `_bulk`: a `create` action (`_index`, `_id` = the idempotency key) and the record per item | `application/x-ndjson` |
//! | `splunk` | HEC events, one JSON object per line: `time`, `source`, `sourcetype`, `index`, `event` (the record), `fields.idempotency_key` | `application/json` |
//! | `slack` | `{"text": …}`: one message summarising the batch | `application/json` |
//! | `teams` | a message with an Adaptive Card summarising the batch | `application/json` |
//! | `otlp` | an OTLP `ExportLogsServiceRequest`, one LogRecord per record ([`super::otlp`]) | `application/x-protobuf`, or `application/json` for `protocol: http/json` |
//!
//! The **idempotency key** of an occurrence is `{uid}/{resourceVersion}`,
//! each part percent-encoded outside `A-Z a-z 0-9 - . _ ~` (so a key is
//! always a valid header value and unambiguous; real uids and
//! resourceVersions need no encoding: `8c1a5e3e-…/184467`). See
//! [`idempotency_key`] and [`batch_key`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use minijinja::value::Serde;
use serde::Serialize;

use crate::model::{Event, ObjectRef, Occurrence, RecordContext, WatchType};

/// One occurrence of a batch, with its `kev/v1` record encoded.
#[derive(Clone, Debug)]
pub(crate) struct Item {
    /// The occurrence.
    pub occ: Arc<Occurrence>,
    /// Its `kev/v1` record (one line, no newline).
    pub json: Vec<u8>,
}

impl Item {
    /// Encode `occ`'s record.
    pub fn new(occ: Arc<Occurrence>) -> Item {
        let mut json = Vec::with_capacity(640);
        // Serializing plain strings, numbers and options into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut json, &occ.record());
        Item { occ, json }
    }

    /// This item's idempotency key.
    pub fn key(&self) -> String {
        idempotency_key(&self.occ.event)
    }
}

/// The idempotency key of an occurrence: `{uid}/{resourceVersion}`,
/// percent-encoded; see the module docs.
pub fn idempotency_key(event: &Event) -> String {
    let mut key = String::with_capacity(event.uid.len() + event.resource_version.len() + 1);
    percent_encode(&event.uid, &mut key);
    key.push('/');
    percent_encode(&event.resource_version, &mut key);
    key
}

/// The `Idempotency-Key` of a request carrying several occurrences:
/// `batch-` and the first 32 hex digits of the SHA-256 of their keys, one
/// per line. The same batch resent (a retry, a spool delivered again after a
/// crash) has the same key; receivers that dedupe by record use the
/// per-occurrence keys (`_id`, the record's `uid` and `resourceVersion`).
pub(crate) fn batch_key(items: &[Item]) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for item in items {
        ctx.update(item.key().as_bytes());
        ctx.update(b"\n");
    }
    let digest = ctx.finish();
    let mut out = String::from("batch-");
    for b in &digest.as_ref()[..16] {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn percent_encode(text: &str, out: &mut String) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// A field of a record, by its `kev/v1` name (`namespace`, `object.kind`):
/// what Loki labels are made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    Cluster,
    Namespace,
    Name,
    Type,
    Reason,
    ObjectKind,
    ObjectNamespace,
    ObjectName,
    ObjectApiVersion,
    SourceComponent,
    SourceHost,
    ReportingController,
    ReportingInstance,
    Action,
    WatchType,
}

/// The field names [`Field::parse`] knows, for messages.
pub(crate) const FIELD_NAMES: &[&str] = &[
    "cluster",
    "namespace",
    "name",
    "type",
    "reason",
    "object.kind",
    "object.namespace",
    "object.name",
    "object.apiVersion",
    "source.component",
    "source.host",
    "reportingController",
    "reportingInstance",
    "action",
    "watchType",
];

impl Field {
    /// The field named `name` (a `kev/v1` key, `object.*` and `source.*`
    /// for the nested ones).
    pub fn parse(name: &str) -> Option<Field> {
        Some(match name {
            "cluster" => Field::Cluster,
            "namespace" => Field::Namespace,
            "name" => Field::Name,
            "type" => Field::Type,
            "reason" => Field::Reason,
            "object.kind" => Field::ObjectKind,
            "object.namespace" => Field::ObjectNamespace,
            "object.name" => Field::ObjectName,
            "object.apiVersion" => Field::ObjectApiVersion,
            "source.component" => Field::SourceComponent,
            "source.host" => Field::SourceHost,
            "reportingController" => Field::ReportingController,
            "reportingInstance" => Field::ReportingInstance,
            "action" => Field::Action,
            "watchType" => Field::WatchType,
            _ => return None,
        })
    }

    /// The field's value in `occ`, `None` when absent.
    pub fn get(self, occ: &Occurrence) -> Option<&str> {
        let e = &occ.event;
        match self {
            Field::Cluster => occ.context.cluster.as_deref(),
            Field::Namespace => e.namespace.as_deref(),
            Field::Name => Some(e.name.as_str()),
            Field::Type => e.type_.as_deref(),
            Field::Reason => e.reason.as_deref(),
            Field::ObjectKind => e.object.kind.as_deref(),
            Field::ObjectNamespace => e.object.namespace.as_deref(),
            Field::ObjectName => e.object.name.as_deref(),
            Field::ObjectApiVersion => e.object.api_version.as_deref(),
            Field::SourceComponent => e.source.as_ref().and_then(|s| s.component.as_deref()),
            Field::SourceHost => e.source.as_ref().and_then(|s| s.host.as_deref()),
            Field::ReportingController => e.reporting_controller.as_deref(),
            Field::ReportingInstance => e.reporting_instance.as_deref(),
            Field::Action => e.action.as_deref(),
            Field::WatchType => occ.context.watch_type.map(WatchType::as_str),
        }
        .filter(|v| !v.is_empty())
    }
}

/// The time an occurrence is filed under (Loki's timestamp, Splunk's
/// `time`, the date in an Elasticsearch index name): last seen, else when
/// kev observed it, else now.
pub(crate) fn event_time(occ: &Occurrence) -> DateTime<Utc> {
    occ.event
        .last_seen
        .or(occ.context.observed_at)
        .unwrap_or_else(Utc::now)
}

/// A template, compiled once.
pub(crate) struct Template {
    env: minijinja::Environment<'static>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Template")
    }
}

const TEMPLATE_NAME: &str = "body";

impl Template {
    /// Compile `source`.
    pub fn compile(source: &str) -> Result<Template, String> {
        let mut env = minijinja::Environment::new();
        // Bodies are JSON or text, never HTML: no escaping unless asked for.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.add_template_owned(TEMPLATE_NAME, source.to_string())
            .map_err(|e| template_error(&e))?;
        Ok(Template { env })
    }

    /// Render with `ctx`.
    pub fn render(&self, ctx: minijinja::Value) -> Result<String, String> {
        let t = self
            .env
            .get_template(TEMPLATE_NAME)
            .map_err(|e| template_error(&e))?;
        t.render(ctx).map_err(|e| template_error(&e))
    }
}

fn template_error(e: &minijinja::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        let _ = write!(s, ": {inner}");
        src = inner.source();
    }
    s
}

/// The template context of one record: its `kev/v1` fields by name, and
/// `idempotencyKey`.
pub(crate) fn record_context(item: &Item) -> serde_json::Value {
    let mut v: serde_json::Value =
        serde_json::from_slice(&item.json).unwrap_or(serde_json::Value::Null);
    if let serde_json::Value::Object(m) = &mut v {
        m.insert("idempotencyKey".into(), item.key().into());
    }
    v
}

/// Loki's stream labels: label name → field.
#[derive(Clone, Debug)]
pub(crate) struct Loki {
    pub labels: Vec<(String, Field)>,
    pub static_labels: Vec<(String, String)>,
}

/// The Elasticsearch index pattern (strftime, on the event's time).
#[derive(Clone, Debug)]
pub(crate) struct Elasticsearch {
    pub index: String,
}

impl Elasticsearch {
    /// The index for `occ`.
    pub fn index_for(&self, occ: &Occurrence) -> String {
        event_time(occ).format(&self.index).to_string()
    }
}

/// Splunk HEC metadata.
#[derive(Clone, Debug)]
pub(crate) struct Splunk {
    pub index: Option<String>,
    pub source: String,
    pub sourcetype: String,
}

/// A compiled format; see the module docs.
#[derive(Debug)]
pub(crate) enum Format {
    Json,
    Ndjson,
    Template(Template),
    Loki(Loki),
    Elasticsearch(Elasticsearch),
    Splunk(Splunk),
    Slack(Option<Template>),
    Teams(Option<Template>),
    Otlp(super::otlp::OtlpProtocol),
}

/// How many events a chat message lists before "…and N more".
pub(crate) const CHAT_LINES: usize = 20;
/// How much of a message a chat line shows.
const CHAT_MESSAGE_CHARS: usize = 300;

impl Format {
    /// The `Content-Type` of its bodies.
    pub fn content_type(&self) -> &'static str {
        match self {
            Format::Ndjson | Format::Elasticsearch(_) => "application/x-ndjson",
            Format::Template(_) => "text/plain; charset=utf-8",
            Format::Otlp(p) => p.content_type(),
            _ => "application/json",
        }
    }

    /// The path a preset posts to when the URL has none (`http://loki:3100`).
    pub fn default_path(&self) -> Option<&'static str> {
        match self {
            Format::Loki(_) => Some("/loki/api/v1/push"),
            Format::Elasticsearch(_) => Some("/_bulk"),
            Format::Splunk(_) => Some("/services/collector/event"),
            Format::Otlp(_) => Some("/v1/logs"),
            _ => None,
        }
    }

    /// The format answers with per-item results (`_bulk`).
    pub fn is_bulk(&self) -> bool {
        matches!(self, Format::Elasticsearch(_))
    }

    /// The format's name, for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Template(_) => "template",
            Format::Loki(_) => "loki",
            Format::Elasticsearch(_) => "elasticsearch",
            Format::Splunk(_) => "splunk",
            Format::Slack(_) => "slack",
            Format::Teams(_) => "teams",
            Format::Otlp(_) => "otlp",
        }
    }

    /// The body for `items` (at least one). An error is a template that does
    /// not render on these records: permanent for this batch.
    pub fn body(&self, items: &[Item]) -> Result<Vec<u8>, String> {
        let size: usize = items.iter().map(|i| i.json.len() + 1).sum();
        let mut out = Vec::with_capacity(size + 64);
        match self {
            Format::Json => {
                out.push(b'[');
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(&item.json);
                }
                out.push(b']');
            }
            Format::Ndjson => {
                for item in items {
                    out.extend_from_slice(&item.json);
                    out.push(b'\n');
                }
            }
            Format::Template(t) => {
                for item in items {
                    let text = t.render(minijinja::Value::from(Serde(record_context(item))))?;
                    out.extend_from_slice(text.as_bytes());
                    out.push(b'\n');
                }
            }
            Format::Loki(loki) => loki_body(loki, items, &mut out),
            Format::Elasticsearch(es) => {
                for item in items {
                    let action = EsAction {
                        create: EsTarget {
                            index: &es.index_for(&item.occ),
                            id: &item.key(),
                        },
                    };
                    let _ = serde_json::to_writer(&mut out, &action);
                    out.push(b'\n');
                    out.extend_from_slice(&item.json);
                    out.push(b'\n');
                }
            }
            Format::Splunk(splunk) => {
                for item in items {
                    splunk_event(splunk, item, &mut out);
                    out.push(b'\n');
                }
            }
            Format::Slack(template) => {
                let text = chat_text(template.as_ref(), items, Chat::Slack)?;
                let _ = serde_json::to_writer(&mut out, &serde_json::json!({ "text": text }));
            }
            Format::Teams(template) => {
                let text = chat_text(template.as_ref(), items, Chat::Teams)?;
                let _ = serde_json::to_writer(&mut out, &teams_card(&text));
            }
            Format::Otlp(protocol) => super::otlp::body(*protocol, items, &mut out),
        }
        Ok(out)
    }
}

#[derive(Serialize)]
struct EsAction<'a> {
    create: EsTarget<'a>,
}

#[derive(Serialize)]
struct EsTarget<'a> {
    #[serde(rename = "_index")]
    index: &'a str,
    #[serde(rename = "_id")]
    id: &'a str,
}

/// Loki's push body: one stream per distinct label set, in label order; the
/// values of each stream sorted by timestamp (stable, so equal times keep
/// the order they were sent in), as Loki rejects out-of-order entries.
fn loki_body(loki: &Loki, items: &[Item], out: &mut Vec<u8>) {
    // Label set (sorted) → (nanoseconds, item).
    type Labels<'a> = Vec<(&'a str, &'a str)>;
    let mut streams: BTreeMap<Labels<'_>, Vec<(i64, &Item)>> = BTreeMap::new();
    for item in items {
        let mut labels: Vec<(&str, &str)> = loki
            .static_labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        for (name, field) in &loki.labels {
            if let Some(v) = field.get(&item.occ) {
                labels.retain(|(k, _)| k != name);
                labels.push((name.as_str(), v));
            }
        }
        labels.sort();
        let t = event_time(&item.occ);
        let ns = t
            .timestamp_nanos_opt()
            .unwrap_or_else(|| t.timestamp().saturating_mul(1_000_000_000));
        streams.entry(labels).or_default().push((ns, item));
    }
    out.extend_from_slice(br#"{"streams":["#);
    for (n, (labels, mut values)) in streams.into_iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        values.sort_by_key(|(ns, _)| *ns);
        out.extend_from_slice(br#"{"stream":{"#);
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let _ = serde_json::to_writer(&mut *out, k);
            out.push(b':');
            let _ = serde_json::to_writer(&mut *out, v);
        }
        out.extend_from_slice(br#"},"values":["#);
        for (i, (ns, item)) in values.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let _ = write!(VecWriter(out), "[\"{ns}\",");
            // The record is UTF-8 JSON: as a JSON string it is Loki's line.
            let line = String::from_utf8_lossy(&item.json);
            let _ = serde_json::to_writer(&mut *out, &*line);
            out.push(b']');
        }
        out.extend_from_slice(b"]}");
    }
    out.extend_from_slice(b"]}");
}

struct VecWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// One HEC event. `time` is epoch seconds with milliseconds.
fn splunk_event(splunk: &Splunk, item: &Item, out: &mut Vec<u8>) {
    let t = event_time(&item.occ);
    let _ = write!(
        VecWriter(out),
        "{{\"time\":{}.{:03},",
        t.timestamp(),
        t.timestamp_subsec_millis()
    );
    if let Some(index) = &splunk.index {
        out.extend_from_slice(br#""index":"#);
        let _ = serde_json::to_writer(&mut *out, index);
        out.push(b',');
    }
    out.extend_from_slice(br#""source":"#);
    let _ = serde_json::to_writer(&mut *out, &splunk.source);
    out.extend_from_slice(br#","sourcetype":"#);
    let _ = serde_json::to_writer(&mut *out, &splunk.sourcetype);
    out.extend_from_slice(br#","event":"#);
    out.extend_from_slice(&item.json);
    out.extend_from_slice(br#","fields":{"idempotency_key":"#);
    let _ = serde_json::to_writer(&mut *out, &item.key());
    out.extend_from_slice(b"}}");
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Chat {
    Slack,
    Teams,
}

/// The message text for a batch: the user's template over `events`,
/// `count`, `warnings` and `cluster`, or the built-in summary.
fn chat_text(template: Option<&Template>, items: &[Item], chat: Chat) -> Result<String, String> {
    let warnings = items
        .iter()
        .filter(|i| i.occ.event.type_.as_deref() == Some("Warning"))
        .count();
    let cluster = items.iter().find_map(|i| i.occ.context.cluster.as_deref());
    if let Some(t) = template {
        let events: Vec<serde_json::Value> = items.iter().map(record_context).collect();
        let ctx = serde_json::json!({
            "events": events,
            "count": items.len(),
            "warnings": warnings,
            "cluster": cluster,
        });
        return t.render(minijinja::Value::from(Serde(ctx)));
    }
    let esc = |s: &str| match chat {
        Chat::Slack => slack_escape(s),
        Chat::Teams => s.to_string(),
    };
    let bold = |s: &str| match chat {
        Chat::Slack => format!("*{s}*"),
        Chat::Teams => format!("**{s}**"),
    };
    let n = items.len();
    let mut text = bold(&format!(
        "{n} Kubernetes event{}",
        if n == 1 { "" } else { "s" }
    ));
    if let Some(c) = cluster {
        let _ = write!(text, " in cluster {}", esc(c));
    }
    if warnings > 0 {
        let _ = write!(text, " ({warnings} Warning)");
    }
    for item in items.iter().take(CHAT_LINES) {
        let e = &item.occ.event;
        let object = object_name(&e.object);
        let mut message: String = e
            .message
            .as_deref()
            .unwrap_or("")
            .chars()
            .take(CHAT_MESSAGE_CHARS)
            .collect();
        if e.message
            .as_deref()
            .is_some_and(|m| m.chars().count() > CHAT_MESSAGE_CHARS)
        {
            message.push('…');
        }
        let _ = write!(
            text,
            "\n• {} {} {}: {}",
            bold(&esc(e.type_.as_deref().unwrap_or("Normal"))),
            esc(e.reason.as_deref().unwrap_or("")),
            esc(&object),
            esc(message.trim())
        );
        if e.count > 1 {
            let _ = write!(text, " (x{})", e.count);
        }
    }
    if n > CHAT_LINES {
        let _ = write!(text, "\n…and {} more", n - CHAT_LINES);
    }
    Ok(text)
}

/// `Kind namespace/name`.
fn object_name(o: &ObjectRef) -> String {
    let mut s = o.kind.clone().unwrap_or_default();
    s.push(' ');
    if let Some(ns) = &o.namespace {
        s.push_str(ns);
        s.push('/');
    }
    s.push_str(o.name.as_deref().unwrap_or(""));
    s
}

/// Slack's mrkdwn escapes: `&`, `<`, `>` (so cluster text cannot mention
/// `<!channel>` or forge links).
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A Teams message carrying an Adaptive Card with `text` (first line as
/// the title), the shape Teams workflows' "post to a channel when a webhook
/// request is received" accepts.
fn teams_card(text: &str) -> serde_json::Value {
    let mut lines = text.lines();
    let title = lines.next().unwrap_or("");
    let mut body = vec![serde_json::json!({
        "type": "TextBlock", "size": "Medium", "weight": "Bolder", "text": title, "wrap": true,
    })];
    let rest: Vec<&str> = lines.collect();
    if !rest.is_empty() {
        body.push(serde_json::json!({
            "type": "TextBlock", "text": rest.join("\n\n"), "wrap": true,
        }));
    }
    serde_json::json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            },
        }],
    })
}

/// A record with every field set, for checking templates and index
/// patterns before anything runs.
pub(crate) fn sample() -> Item {
    let now: DateTime<Utc> = "2026-11-28T09:31:40.123456Z"
        .parse()
        .unwrap_or_else(|_| Utc::now());
    let event = Event {
        uid: "8c1a5e3e-2f0b-4a8e-9c61-0d1f2e3a4b5c".into(),
        resource_version: "184467".into(),
        namespace: Some("payments".into()),
        name: "web-7f9c6d-x2x1.17a1b2c3d4e5f601".into(),
        type_: Some("Warning".into()),
        reason: Some("BackOff".into()),
        message: Some("Back-off restarting failed container web".into()),
        object: ObjectRef {
            kind: Some("Pod".into()),
            namespace: Some("payments".into()),
            name: Some("web-7f9c6d-x2x1".into()),
            uid: Some("0b9d8f3c-0000-4000-8000-000000000000".into()),
            api_version: Some("v1".into()),
            field_path: Some("spec.containers{web}".into()),
        },
        related: None,
        source: Some(crate::model::EventSource {
            component: Some("kubelet".into()),
            host: Some("node-05".into()),
        }),
        reporting_controller: Some("kubelet".into()),
        reporting_instance: Some("node-05".into()),
        action: None,
        count: 12,
        first_seen: Some(now - chrono::TimeDelta::minutes(30)),
        last_seen: Some(now),
        event_time: None,
        series: None,
    };
    Item::new(Arc::new(Occurrence::new(
        event,
        RecordContext {
            cluster: Some("prod-eu".into()),
            watch_type: Some(WatchType::Modified),
            observed_at: Some(now),
        },
    )))
}
