//! Tests of the webhook sink, over loopback against kev_testkit's
//! [`Receiver`] (a real HTTP server), never a mocked client.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use kev_testkit::{Receiver, Reply, TestCa};
use serde_json::{Value, json};

use super::*;
use crate::sink::compliance::{self, stream};
use crate::sink::{Batch, Delivery};

const WITHIN: Duration = Duration::from_secs(20);

fn now() -> chrono::DateTime<chrono::Utc> {
    "2026-11-28T10:00:00Z".parse().unwrap()
}

/// A configuration for `r` with quick retries.
fn config(r: &Receiver) -> WebhookSinkConfig {
    WebhookSinkConfig::new(r.url())
        .retry(Duration::from_millis(1), Duration::from_millis(20))
        .timeout(Duration::from_secs(5))
}

fn batch(deliveries: &[Delivery]) -> Batch {
    Batch {
        deliveries: deliveries.to_vec(),
        listing: false,
        encoded: None,
    }
}

fn key_of(v: &Value) -> (String, String) {
    (
        v["uid"].as_str().unwrap().to_string(),
        v["resourceVersion"].as_str().unwrap().to_string(),
    )
}

fn keys(deliveries: &[Delivery]) -> Vec<(String, String)> {
    deliveries
        .iter()
        .map(|d| {
            (
                d.occurrence.event.uid.clone(),
                d.occurrence.event.resource_version.clone(),
            )
        })
        .collect()
}

/// The records a request carried, for the json and ndjson formats.
fn records(req: &kev_testkit::ReceivedRequest) -> Vec<Value> {
    match req.json_lines().as_slice() {
        [Value::Array(a)] => a.clone(),
        lines => lines.to_vec(),
    }
}

/// The keys the receiver accepted (2xx), in order.
fn delivered(r: &Receiver) -> Vec<(String, String)> {
    r.succeeded()
        .iter()
        .flat_map(records)
        .map(|v| key_of(&v))
        .collect()
}

/// Wait (bounded) until `f` holds, checking every few milliseconds.
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WITHIN;
    while !f() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {WITHIN:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ---------------------------------------------------------------- compliance

struct Harness {
    receiver: Receiver,
    config: WebhookSinkConfig,
}

#[async_trait]
impl compliance::Harness for Harness {
    async fn sink(&mut self) -> Box<dyn Sink> {
        Box::new(self.config.build("hook").unwrap())
    }
    async fn delivered(&mut self) -> Vec<(String, String)> {
        // With a spool, what is acknowledged may still wait on disk. Read
        // the spool first: what left it since was delivered before.
        let spooled = match &self.config.spool {
            Some(sp) => spool::pending_keys(&sp.path),
            None => Vec::new(),
        };
        let mut got = delivered(&self.receiver);
        got.extend(spooled);
        got
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_sink_is_compliant() {
    for format in [FormatName::Json, FormatName::Ndjson] {
        let receiver = Receiver::start().await;
        let config = config(&receiver)
            .format(format)
            .batch(7, Duration::from_secs(3600));
        compliance::run(Harness { receiver, config }).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_sink_with_a_spool_is_compliant() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start().await;
    let config = config(&receiver)
        .format(FormatName::Ndjson)
        .batch(7, Duration::from_secs(3600))
        .spool(dir.path().join("spool"), 1 << 20);
    compliance::run(Harness { receiver, config }).await;
}

// ------------------------------------------------------------------ batching

#[tokio::test]
async fn batches_go_out_at_max_events_and_wait_for_more_otherwise() {
    let r = Receiver::start().await;
    let mut sink = config(&r)
        .batch(10, Duration::from_secs(3600))
        .build("hook")
        .unwrap();
    let all = stream(25, 0, now());
    let a = sink.send(batch(&all)).await.unwrap();
    assert_eq!(a.up_to, Some(20), "two full batches out, acknowledged");
    assert_eq!(r.succeeded().len(), 2);
    assert_eq!(sink.tick().await.unwrap(), Acked::NOTHING, "the rest waits");
    let a = sink.flush().await.unwrap();
    assert_eq!(a.up_to, Some(25));
    let sizes: Vec<usize> = r.succeeded().iter().map(|q| records(q).len()).collect();
    assert_eq!(sizes, [10, 10, 5]);
    assert_eq!(delivered(&r), keys(&all));
}

#[tokio::test]
async fn a_batch_goes_out_on_a_tick_once_its_oldest_record_waited_max_wait() {
    let r = Receiver::start().await;
    let mut sink = config(&r)
        .batch(100, Duration::from_millis(20))
        .build("hook")
        .unwrap();
    assert_eq!(sink.tick_every(), Some(Duration::from_millis(10)));
    let all = stream(3, 0, now());
    assert_eq!(sink.send(batch(&all)).await.unwrap(), Acked::NOTHING);
    // Deterministic: after sleeping past maxWait the batch is due.
    tokio::time::sleep(Duration::from_millis(25)).await;
    assert_eq!(sink.tick().await.unwrap().up_to, Some(3));
    assert_eq!(delivered(&r), keys(&all));
}

#[tokio::test]
async fn batches_stay_within_max_bytes() {
    let r = Receiver::start().await;
    let mut cfg = config(&r).format(FormatName::Ndjson);
    cfg.batch.max_bytes = config::BatchConfig::default().max_bytes;
    cfg.batch.max_bytes.0 = 2_000;
    let mut sink = cfg.build("hook").unwrap();
    let all = stream(20, 0, now());
    sink.send(batch(&all)).await.unwrap();
    sink.close().await.unwrap();
    let reqs = r.succeeded();
    assert!(reqs.len() > 3, "{} requests", reqs.len());
    for q in &reqs {
        assert!(q.body.len() <= 2_000, "{} bytes", q.body.len());
    }
    assert_eq!(delivered(&r), keys(&all));
}

// ------------------------------------------------------------------- retries

#[tokio::test]
async fn retries_honour_retry_after_in_seconds_and_as_a_date() {
    let r = Receiver::start().await;
    r.push(Reply::retry_after(429, "1"));
    r.push(Reply::status(503));
    let not_before = (chrono::Utc::now() + chrono::TimeDelta::seconds(3))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    r.push(Reply::retry_after(503, &not_before));
    let mut sink = config(&r).build("hook").unwrap();
    let all = stream(3, 0, now());
    sink.send(batch(&all)).await.unwrap();
    let started = std::time::Instant::now();
    assert_eq!(sink.flush().await.unwrap().up_to, Some(3));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    let date = chrono::DateTime::parse_from_rfc2822(&not_before).unwrap();
    assert!(
        chrono::Utc::now() >= date,
        "Retry-After: <date> was honoured"
    );
    let reqs = r.requests();
    assert_eq!(reqs.len(), 4);
    assert!(
        reqs.windows(2).all(|w| w[0].body == w[1].body),
        "the same body each time"
    );
    let ikeys: BTreeSet<&str> = reqs
        .iter()
        .filter_map(|q| q.header("idempotency-key"))
        .collect();
    assert_eq!(ikeys.len(), 1, "the same Idempotency-Key each time");
    let s = sink.stats().snapshot();
    assert_eq!((s.sent, s.retried, s.requests), (3, 3, 4));
    assert_eq!(delivered(&r), keys(&all));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_errors_and_timeouts_are_retried_and_block_until_delivered() {
    let r = Receiver::start().await;
    r.push(Reply::Hang);
    let mut sink = config(&r)
        .timeout(Duration::from_millis(200))
        .build("hook")
        .unwrap();
    let stats = sink.stats();
    let all = stream(4, 0, now());
    sink.send(batch(&all[..2])).await.unwrap();
    assert_eq!(
        sink.flush().await.unwrap().up_to,
        Some(2),
        "after a timeout, delivered"
    );
    assert!(stats.snapshot().retried >= 1);
    // The endpoint goes away: the sink does not return until it is back.
    r.go_away().await;
    let flushing = tokio::spawn(async move {
        sink.send(batch(&all[2..])).await.unwrap();
        let a = sink.flush().await.unwrap();
        (sink, a)
    });
    eventually("retrying while down", || stats.snapshot().retried >= 4).await;
    assert!(
        !flushing.is_finished(),
        "no acknowledgement while the endpoint is down"
    );
    r.come_back().await;
    let (_sink, a) = flushing.await.unwrap();
    assert_eq!(a.up_to, Some(4));
    assert_eq!(delivered(&r), keys(&stream(4, 0, now())));
}

#[tokio::test]
async fn permanent_4xx_are_dead_lettered_counted_and_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let dead = dir.path().join("dead.ndjson");
    for status in [400u16, 401, 403, 404, 422, 301] {
        let _ = std::fs::remove_file(&dead);
        let r = Receiver::start().await;
        r.push(Reply::json(status, &json!({"error": "nope"})));
        let mut sink = config(&r).dead_letter(&dead).build("hook").unwrap();
        let all = stream(5, 0, now());
        sink.send(batch(&all[..3])).await.unwrap();
        assert_eq!(
            sink.flush().await.unwrap().up_to,
            Some(3),
            "{status}: acknowledged"
        );
        sink.send(batch(&all[3..])).await.unwrap();
        assert_eq!(sink.flush().await.unwrap().up_to, Some(5));
        let lines: Vec<Value> = std::fs::read_to_string(&dead)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(
            lines.iter().map(key_of).collect::<Vec<_>>(),
            keys(&all[..3]),
            "{status}: the refused records, as kev/v1 lines"
        );
        assert_eq!(lines[0]["schema"], "kev/v1");
        let s = sink.stats().snapshot();
        assert_eq!((s.dead_lettered, s.sent, s.retried), (3, 2, 0), "{status}");
        assert_eq!(r.requests().len(), 2, "{status}: never retried");
    }
}

#[tokio::test]
async fn a_408_is_retried_not_dead_lettered() {
    let r = Receiver::start().await;
    r.push(Reply::status(408));
    let mut sink = config(&r).build("hook").unwrap();
    sink.send(batch(&stream(1, 0, now()))).await.unwrap();
    sink.flush().await.unwrap();
    let s = sink.stats().snapshot();
    assert_eq!((s.sent, s.retried, s.dead_lettered), (1, 1, 0));
}

#[tokio::test]
async fn a_413_splits_the_batch_in_halves() {
    let dir = tempfile::tempdir().unwrap();
    let r = Receiver::start().await;
    r.push(Reply::status(413));
    r.push(Reply::status(413));
    let mut sink = config(&r)
        .dead_letter(dir.path().join("dead"))
        .build("hook")
        .unwrap();
    let all = stream(4, 0, now());
    sink.send(batch(&all)).await.unwrap();
    assert_eq!(sink.flush().await.unwrap().up_to, Some(4));
    let sizes: Vec<usize> = r.requests().iter().map(|q| records(q).len()).collect();
    assert_eq!(sizes, [4, 2, 1, 1, 2]);
    assert_eq!(delivered(&r), keys(&all));
}

// --------------------------------------------------------------- idempotency

#[test]
fn idempotency_keys_are_unique_per_occurrence_and_stable() {
    let all = stream(17, 3, now());
    let keys: BTreeSet<String> = all
        .iter()
        .map(|d| idempotency_key(&d.occurrence.event))
        .collect();
    assert_eq!(keys.len(), all.len(), "one key per occurrence");
    let e = &all[0].occurrence.event;
    assert_eq!(
        idempotency_key(e),
        format!("{}/{}", e.uid, e.resource_version)
    );
    // Odd text cannot make two occurrences collide or break a header.
    let mut odd = e.clone();
    odd.uid = "a/b".into();
    odd.resource_version = "c".into();
    let mut other = e.clone();
    other.uid = "a".into();
    other.resource_version = "b/c".into();
    assert_eq!(idempotency_key(&odd), "a%2Fb/c");
    assert_ne!(idempotency_key(&odd), idempotency_key(&other));
    odd.uid = "ü\n".into();
    assert_eq!(idempotency_key(&odd), "%C3%BC%0A/c");
}

#[tokio::test]
async fn requests_carry_idempotency_keys() {
    let r = Receiver::start().await;
    let mut sink = config(&r)
        .batch(1, Duration::from_secs(1))
        .build("hook")
        .unwrap();
    let all = stream(3, 1, now());
    sink.send(batch(&all)).await.unwrap();
    let reqs = r.succeeded();
    assert_eq!(reqs.len(), all.len(), "one event per request");
    for (q, d) in reqs.iter().zip(&all) {
        assert_eq!(
            q.header("idempotency-key").unwrap(),
            idempotency_key(&d.occurrence.event),
            "a single-event body carries its occurrence's key"
        );
    }
    let r = Receiver::start().await;
    let mut sink = config(&r).build("hook").unwrap();
    sink.send(batch(&all[..3])).await.unwrap();
    sink.flush().await.unwrap();
    sink.send(batch(&all[3..])).await.unwrap();
    sink.flush().await.unwrap();
    let batch_keys: Vec<String> = r
        .succeeded()
        .iter()
        .map(|q| q.header("idempotency-key").unwrap().to_string())
        .collect();
    assert_eq!(batch_keys.len(), 2);
    assert!(
        batch_keys
            .iter()
            .all(|k| k.starts_with("batch-") && k.len() == 38)
    );
    assert_ne!(batch_keys[0], batch_keys[1]);
}

// ------------------------------------------------------------------- presets

#[tokio::test]
async fn loki_streams_by_labels_with_timestamps_in_order() {
    let r = Receiver::start().await;
    let mut cfg = config(&r).format(FormatName::Loki);
    cfg.url = format!("{}/", r.url());
    let mut sink = cfg.build("hook").unwrap();
    // Three updates of six events: each stream gets several values, sent
    // newest first to check they are put in order.
    let mut all = stream(6, 2, now());
    all.reverse();
    sink.send(batch(&all)).await.unwrap();
    sink.flush().await.unwrap();
    let reqs = r.succeeded();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, "/loki/api/v1/push");
    assert_eq!(reqs[0].header("content-type"), Some("application/json"));
    let body = reqs[0].json();
    let streams = body["streams"].as_array().unwrap();
    let mut lines = 0;
    for s in streams {
        let labels = s["stream"].as_object().unwrap();
        assert_eq!(labels["job"], "kev");
        assert_eq!(labels["cluster"], "compliance");
        assert_eq!(labels["kind"], "Pod");
        assert!(labels.contains_key("namespace") && labels.contains_key("reason"));
        let values = s["values"].as_array().unwrap();
        let ts: Vec<i128> = values
            .iter()
            .map(|v| v[0].as_str().unwrap().parse().unwrap())
            .collect();
        assert!(ts.windows(2).all(|w| w[0] <= w[1]), "in order: {ts:?}");
        for v in values {
            let rec: Value = serde_json::from_str(v[1].as_str().unwrap()).unwrap();
            assert_eq!(rec["schema"], "kev/v1");
            assert_eq!(rec["namespace"], labels["namespace"]);
            let last: chrono::DateTime<chrono::Utc> =
                rec["lastSeen"].as_str().unwrap().parse().unwrap();
            assert_eq!(
                v[0].as_str().unwrap(),
                last.timestamp_nanos_opt().unwrap().to_string()
            );
            lines += 1;
        }
    }
    assert_eq!(lines, all.len());
    assert!(streams.len() > 1);
}

#[tokio::test]
async fn loki_labels_are_configurable_and_checked() {
    let r = Receiver::start().await;
    let mut cfg = config(&r).format(FormatName::Loki);
    cfg.labels = Some([("ns".to_string(), "namespace".to_string())].into());
    cfg.static_labels = Some([("app".to_string(), "kev".to_string())].into());
    let mut sink = cfg.build("hook").unwrap();
    sink.send(batch(&stream(3, 0, now()))).await.unwrap();
    sink.flush().await.unwrap();
    let body = r.succeeded()[0].json();
    for s in body["streams"].as_array().unwrap() {
        let labels: BTreeSet<&str> = s["stream"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(labels, BTreeSet::from(["app", "ns"]));
    }
    let mut bad = config(&r).format(FormatName::Loki);
    bad.labels = Some([("bad-name".to_string(), "nope".to_string())].into());
    let problems = bad.check().unwrap_err();
    assert!(
        problems.iter().any(|p| p.contains("not a Loki label name")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("\"nope\" is not a record field")),
        "{problems:?}"
    );
}

/// An Elasticsearch `_bulk` answer for `req`: each item's status from `f`
/// (by position), `errors` set if any failed.
fn bulk_reply(req: &kev_testkit::ReceivedRequest, f: impl Fn(usize) -> u16) -> Reply {
    let lines = req.json_lines();
    let mut items = Vec::new();
    let mut errors = false;
    for (n, pair) in lines.chunks(2).enumerate() {
        let status = f(n);
        let id = pair[0]["create"]["_id"].clone();
        let mut item = json!({"_index": pair[0]["create"]["_index"], "_id": id, "status": status});
        if !(200..300).contains(&status) {
            errors = true;
            item["error"] = json!({"type": "some_exception", "reason": format!("item {n}")});
        }
        items.push(json!({"create": item}));
    }
    Reply::json(200, &json!({"took": 1, "errors": errors, "items": items}))
}

#[tokio::test]
async fn elasticsearch_bulk_lines_and_per_item_errors() {
    let dir = tempfile::tempdir().unwrap();
    let dead = dir.path().join("dead.ndjson");
    let r = Receiver::start().await;
    // First answer: item 0 created, 1 rejected (429: retry), 2 refused
    // (400: dead letter), 3 already there (409: delivered earlier).
    r.push(Reply::with(|q| bulk_reply(q, |n| [201, 429, 400, 409][n])));
    r.set_default(Reply::with(|q| bulk_reply(q, |_| 201)));
    let mut cfg = config(&r)
        .format(FormatName::Elasticsearch)
        .dead_letter(&dead);
    cfg.index = Some("kev-%Y.%m".into());
    let mut sink = cfg.build("hook").unwrap();
    let all = stream(4, 0, now());
    sink.send(batch(&all)).await.unwrap();
    assert_eq!(sink.flush().await.unwrap().up_to, Some(4));
    let reqs = r.requests();
    assert_eq!(reqs.len(), 2);
    for q in &reqs {
        assert_eq!(q.path, "/_bulk");
        assert_eq!(q.header("content-type"), Some("application/x-ndjson"));
        assert!(q.text().ends_with('\n'), "a _bulk body ends with a newline");
    }
    let lines = reqs[0].json_lines();
    assert_eq!(lines.len(), 8);
    for (pair, d) in lines.chunks(2).zip(&all) {
        assert_eq!(pair[0]["create"]["_index"], "kev-2026.11");
        assert_eq!(
            pair[0]["create"]["_id"],
            idempotency_key(&d.occurrence.event)
        );
        assert_eq!(key_of(&pair[1]), keys(std::slice::from_ref(d))[0]);
    }
    let retried = reqs[1].json_lines();
    assert_eq!(retried.len(), 2, "only the 429 item is sent again");
    assert_eq!(key_of(&retried[1]), keys(&all[1..2])[0]);
    let dead_lines: Vec<Value> = std::fs::read_to_string(&dead)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        dead_lines.iter().map(key_of).collect::<Vec<_>>(),
        keys(&all[2..3])
    );
    let s = sink.stats().snapshot();
    assert_eq!((s.sent, s.dead_lettered, s.retried), (3, 1, 1));
}

#[test]
fn elasticsearch_index_patterns_are_checked() {
    let mut cfg = WebhookSinkConfig::new("http://127.0.0.1:9/").format(FormatName::Elasticsearch);
    assert!(cfg.check().is_ok(), "{:?}", cfg.check());
    for bad in ["Kev-%Y", "kev-%b", "kev %Y", "kev-%Q"] {
        cfg.index = Some(bad.into());
        let p = cfg.check().unwrap_err();
        assert!(p.iter().any(|p| p.starts_with("index: ")), "{bad}: {p:?}");
    }
}

#[tokio::test]
async fn splunk_hec_events() {
    let r = Receiver::start().await;
    // SAFETY: the variable is unique to this test; nothing else reads it.
    unsafe { std::env::set_var("KEV_TEST_HEC_TOKEN", "hec-secret-1") };
    let mut cfg = config(&r).format(FormatName::Splunk);
    cfg.auth = Some(AuthConfig {
        token_env: Some("KEV_TEST_HEC_TOKEN".into()),
        ..Default::default()
    });
    cfg.splunk = Some(SplunkConfig {
        index: Some("k8s".into()),
        ..Default::default()
    });
    let mut sink = cfg.build("hook").unwrap();
    let all = stream(3, 0, now());
    sink.send(batch(&all)).await.unwrap();
    sink.flush().await.unwrap();
    let q = &r.succeeded()[0];
    assert_eq!(q.path, "/services/collector/event");
    assert_eq!(q.header("authorization"), Some("Splunk hec-secret-1"));
    let events = q.json_lines();
    assert_eq!(events.len(), 3);
    for (e, d) in events.iter().zip(&all) {
        assert_eq!(e["index"], "k8s");
        assert_eq!(e["source"], "kev");
        assert_eq!(e["sourcetype"], "kev:event");
        assert_eq!(e["event"]["schema"], "kev/v1");
        assert_eq!(
            e["fields"]["idempotency_key"],
            idempotency_key(&d.occurrence.event)
        );
        let t = d.occurrence.event.last_seen.unwrap();
        assert_eq!(e["time"].as_f64().unwrap(), t.timestamp() as f64);
    }
}

#[tokio::test]
async fn slack_and_teams_summarise_a_batch_in_one_message() {
    let r = Receiver::start().await;
    let mut all = stream(25, 0, now());
    let mut first = (*all[0].occurrence).clone();
    first.event.message = Some("<!channel> & friends".into());
    all[0].occurrence = Arc::new(first);
    let mut sink = config(&r).format(FormatName::Slack).build("hook").unwrap();
    sink.send(batch(&all)).await.unwrap();
    sink.flush().await.unwrap();
    let reqs = r.succeeded();
    assert_eq!(reqs.len(), 1, "one message per batch");
    let text = reqs[0].json()["text"].as_str().unwrap().to_string();
    assert!(
        text.starts_with("*25 Kubernetes events* in cluster compliance (7 Warning)"),
        "{text}"
    );
    assert!(
        text.contains("&lt;!channel&gt; &amp; friends"),
        "escaped: {text}"
    );
    assert!(text.contains("…and 5 more"), "{text}");
    assert!(!text.contains("<!channel>"));

    let r = Receiver::start().await;
    let mut sink = config(&r).format(FormatName::Teams).build("hook").unwrap();
    sink.send(batch(&all[..3])).await.unwrap();
    sink.flush().await.unwrap();
    let card = r.succeeded()[0].json();
    assert_eq!(card["type"], "message");
    let att = &card["attachments"][0];
    assert_eq!(
        att["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(att["content"]["type"], "AdaptiveCard");
    let body = att["content"]["body"].as_array().unwrap();
    assert_eq!(
        body[0]["text"],
        "**3 Kubernetes events** in cluster compliance (1 Warning)"
    );
    assert!(body[1]["text"].as_str().unwrap().contains("BackOff"));

    // A template overrides the text.
    let r = Receiver::start().await;
    let mut sink = config(&r)
        .format(FormatName::Slack)
        .template("{{ count }} events, {{ warnings }} warnings: {% for e in events %}{{ e.reason }} {% endfor %}")
        .build("hook")
        .unwrap();
    sink.send(batch(&all[..2])).await.unwrap();
    sink.flush().await.unwrap();
    assert_eq!(
        r.succeeded()[0].json()["text"],
        "2 events, 1 warnings: BackOff Pulled "
    );
}

#[tokio::test]
async fn templates_render_each_record_by_its_kev_v1_names() {
    let r = Receiver::start().await;
    let mut sink = config(&r)
        .format(FormatName::Template)
        .template(r#"{"title": {{ (reason ~ " on " ~ object.kind ~ "/" ~ object.name)|tojson }}, "key": "{{ idempotencyKey }}", "count": {{ count }}}"#)
        .build("hook")
        .unwrap();
    let all = stream(2, 0, now());
    sink.send(batch(&all)).await.unwrap();
    sink.flush().await.unwrap();
    let q = &r.succeeded()[0];
    assert_eq!(q.header("content-type"), Some("text/plain; charset=utf-8"));
    let lines = q.json_lines();
    assert_eq!(lines[0]["title"], "BackOff on Pod/pod-0");
    assert_eq!(lines[0]["key"], idempotency_key(&all[0].occurrence.event));
    assert_eq!(lines[1]["count"], 1);
}

#[test]
fn a_template_that_does_not_compile_or_render_is_a_check_error() {
    let base = WebhookSinkConfig::new("http://127.0.0.1:9/").format(FormatName::Template);
    let p = base.check().unwrap_err();
    assert!(p.iter().any(|p| p.contains("needs a template")), "{p:?}");
    let p = base.clone().template("{{ reason ").check().unwrap_err();
    assert!(
        p.iter()
            .any(|p| p.starts_with("template: does not compile")),
        "{p:?}"
    );
    let p = base
        .clone()
        .template("{{ object.nothing.deeper }}")
        .check()
        .unwrap_err();
    assert!(
        p.iter().any(|p| p.starts_with("template: does not render")),
        "{p:?}"
    );
    assert!(base.clone().template("{{ reason }}").check().is_ok());
    let p = WebhookSinkConfig::new("http://127.0.0.1:9/")
        .template("{{ reason }}")
        .check()
        .unwrap_err();
    assert!(
        p.iter()
            .any(|p| p.contains("template: not used by format json")),
        "{p:?}"
    );
}

// -------------------------------------------------------------------- config

#[test]
fn config_reads_yaml_with_defaults_and_rejects_unknown_keys() {
    let cfg: WebhookSinkConfig = serde_norway::from_str(
        "url: https://es:9200\nformat: opensearch\nspool: {path: /tmp/x, maxBytes: 1GiB}\n",
    )
    .unwrap();
    assert_eq!(cfg.format, FormatName::Elasticsearch);
    assert_eq!(cfg.batch.max_events, 500);
    assert_eq!(cfg.batch.max_bytes.0, 1 << 20);
    assert_eq!(cfg.batch.max_wait.0, Duration::from_secs(1));
    assert_eq!(cfg.timeout.0, Duration::from_secs(10));
    assert_eq!(cfg.retry.initial_backoff.0, Duration::from_millis(500));
    assert_eq!(cfg.retry.max_backoff.0, Duration::from_secs(30));
    let sp = cfg.spool.unwrap();
    assert_eq!(
        (sp.max_bytes.0, sp.when_full),
        (1 << 30, SpoolWhenFull::Block)
    );
    // The design's example spells the token file bearerTokenFile.
    let cfg: WebhookSinkConfig = serde_norway::from_str(
        "url: https://hooks.slack.com/x\nformat: slack\nauth: {bearerTokenFile: /run/token}\n",
    )
    .unwrap();
    assert_eq!(
        cfg.auth.unwrap().token_file.unwrap(),
        Path::new("/run/token")
    );
    // No key takes a secret inline.
    for yaml in [
        "url: http://x\nauth: {token: hunter2}\n",
        "url: http://x\nauth: {username: a, password: hunter2}\n",
        "url: http://x\nbatch: {events: 3}\n",
    ] {
        let e = serde_norway::from_str::<WebhookSinkConfig>(yaml)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field"), "{yaml}: {e}");
        assert!(!e.contains("hunter2"), "{e}");
    }
}

#[test]
fn check_reports_every_problem_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = WebhookSinkConfig::new("ftp://example.com/");
    cfg.auth = Some(AuthConfig {
        token_env: Some("KEV_TEST_SURELY_UNSET".into()),
        ..Default::default()
    });
    cfg.tls.ca_file = Some(dir.path().join("missing.pem"));
    cfg.batch.max_events = 0;
    cfg.headers.insert("bad header".into(), "x".into());
    cfg.dead_letter = Some(config::DeadLetterConfig {
        path: dir.path().join("no/such/dir/dead"),
    });
    let p = cfg.check().unwrap_err();
    for want in [
        "url: ",
        "auth.tokenEnv: environment variable KEV_TEST_SURELY_UNSET is not set",
        "tls.caFile ",
        "batch.maxEvents",
        "headers: \"bad header\"",
        "deadLetter.path",
    ] {
        assert!(p.iter().any(|p| p.starts_with(want)), "{want}: {p:?}");
    }
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let mut cfg = WebhookSinkConfig::new("https://127.0.0.1:9/");
    cfg.tls.ca_file = Some(not_pem);
    let p = cfg.check().unwrap_err();
    assert!(p.iter().any(|p| p.contains("no PEM certificate")), "{p:?}");
    // A spool directory that cannot be made.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let cfg = WebhookSinkConfig::new("http://127.0.0.1:9/").spool(file.join("spool"), 1 << 20);
    let p = cfg.check().unwrap_err();
    assert!(p.iter().any(|p| p.starts_with("spool.path: ")), "{p:?}");
    // Credentials never go in the URL.
    let p = WebhookSinkConfig::new("https://kev:hunter2@127.0.0.1:9/")
        .check()
        .unwrap_err();
    assert!(
        p.iter().any(|p| p.starts_with("url: holds credentials")),
        "{p:?}"
    );
    assert!(!p.iter().any(|p| p.contains("hunter2")), "{p:?}");
    // check() leaves no dead-letter file behind.
    let dead = dir.path().join("dead.ndjson");
    let cfg = WebhookSinkConfig::new("http://127.0.0.1:9/").dead_letter(&dead);
    assert!(cfg.check().is_ok());
    assert!(!dead.exists());
}

// ------------------------------------------------------------------- secrets

/// Captures what the sink logs, on this thread.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

#[tokio::test]
async fn credentials_are_sent_and_never_logged_or_shown() {
    let dir = tempfile::tempdir().unwrap();
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // A bearer token from a file, on a URL whose path is itself a secret.
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "tok-s3cret-a\n").unwrap();
    let r = Receiver::start().await;
    r.push(Reply::status(503));
    r.push(Reply::json(401, &json!({"message": "bad token"})));
    let mut cfg = config(&r);
    cfg.url = format!("{}/services/T000/B000/path-s3cret", r.url());
    cfg.auth = Some(AuthConfig {
        token_file: Some(token_file.clone()),
        ..Default::default()
    });
    cfg.headers.insert("X-Api-Key".into(), "hdr-s3cret".into());
    let mut sink = cfg.build("hook").unwrap();
    sink.send(batch(&stream(2, 0, now()))).await.unwrap();
    sink.flush().await.unwrap();
    sink.send(batch(&stream(3, 0, now())[2..])).await.unwrap();
    sink.flush().await.unwrap();
    let reqs = r.requests();
    assert_eq!(reqs[0].header("authorization"), Some("Bearer tok-s3cret-a"));
    assert_eq!(reqs[0].header("x-api-key"), Some("hdr-s3cret"));
    // The file changes (a rotated token): the next request uses the new one.
    std::fs::write(&token_file, "tok-s3cret-b").unwrap();
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&token_file)
        .unwrap()
        .set_modified(later)
        .unwrap();
    sink.send(batch(&stream(4, 0, now())[3..])).await.unwrap();
    sink.flush().await.unwrap();
    assert_eq!(
        r.requests().last().unwrap().header("authorization"),
        Some("Bearer tok-s3cret-b")
    );

    // Basic auth from the environment.
    // SAFETY: the variable is unique to this test; nothing else reads it.
    unsafe { std::env::set_var("KEV_TEST_BASIC_PW", "pw-s3cret") };
    let r2 = Receiver::start().await;
    let mut cfg2 = config(&r2);
    cfg2.auth = Some(AuthConfig {
        username: Some("kev".into()),
        password_env: Some("KEV_TEST_BASIC_PW".into()),
        ..Default::default()
    });
    let mut sink2 = cfg2.build("hook").unwrap();
    sink2.send(batch(&stream(1, 0, now()))).await.unwrap();
    sink2.flush().await.unwrap();
    assert_eq!(
        r2.requests()[0].header("authorization"),
        Some("Basic a2V2OnB3LXMzY3JldA=="),
        "base64 of kev:pw-s3cret"
    );

    let shown = format!("{cfg:?} {sink:?} {cfg2:?} {sink2:?}");
    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("401"), "the refusal is logged: {logged}");
    assert!(logged.contains("503"), "the retry is logged: {logged}");
    for secret in [
        "tok-s3cret",
        "pw-s3cret",
        "hdr-s3cret",
        "path-s3cret",
        "a2V2OnB3",
    ] {
        assert!(!logged.contains(secret), "{secret} in the logs: {logged}");
        assert!(!shown.contains(secret), "{secret} in Debug: {shown}");
    }
}

// ----------------------------------------------------------------------- TLS

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_custom_ca_is_verified() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("kev test CA").unwrap();
    let identity = ca.issue(&["127.0.0.1"]).unwrap();
    let r = Receiver::start_tls(&identity).await;
    assert!(r.url().starts_with("https://"));
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.cert_pem()).unwrap();

    let mut cfg = config(&r);
    cfg.tls.ca_file = Some(ca_file);
    assert!(cfg.check().is_ok(), "{:?}", cfg.check());
    let mut sink = cfg.build("hook").unwrap();
    let all = stream(3, 0, now());
    sink.send(batch(&all)).await.unwrap();
    assert_eq!(sink.flush().await.unwrap().up_to, Some(3));
    assert_eq!(delivered(&r), keys(&all));

    // Without the CA the certificate is not trusted: retried, not delivered.
    let mut untrusting = config(&r).build("hook").unwrap();
    let stats = untrusting.stats();
    let attempt = tokio::spawn(async move {
        untrusting.send(batch(&stream(1, 0, now()))).await.unwrap();
        untrusting.flush().await
    });
    eventually("retrying an untrusted certificate", || {
        stats.snapshot().retried >= 2
    })
    .await;
    attempt.abort();
    assert_eq!(stats.snapshot().sent, 0);

    // insecureSkipVerify accepts it.
    let mut cfg = config(&r);
    cfg.tls.insecure_skip_verify = true;
    let mut sink = cfg.build("hook").unwrap();
    sink.send(batch(&all)).await.unwrap();
    assert_eq!(sink.flush().await.unwrap().up_to, Some(3));
}

// --------------------------------------------------------------------- spool

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spool_survives_a_restart_and_everything_arrives_once() {
    let dir = tempfile::tempdir().unwrap();
    let spool_dir = dir.path().join("spool");
    let r = Receiver::start().await;
    r.go_away().await;
    let cfg = config(&r)
        .format(FormatName::Ndjson)
        .batch(4, Duration::from_secs(3600))
        .spool(&spool_dir, 1 << 20);
    let all = stream(10, 2, now());
    {
        let mut sink = cfg.build("hook").unwrap();
        let stats = sink.stats();
        let a = sink.send(batch(&all)).await.unwrap();
        assert_eq!(
            a.up_to,
            Some(28),
            "full batches are acknowledged once spooled"
        );
        let a = sink.close().await.unwrap();
        assert_eq!(
            a.up_to,
            Some(30),
            "close spools the rest, with the endpoint down"
        );
        assert!(stats.snapshot().spool_bytes > 0);
    }
    assert_eq!(spool::pending_keys(&spool_dir), keys(&all));
    assert!(r.succeeded().is_empty());

    r.come_back().await;
    let mut sink = cfg.build("hook").unwrap();
    let stats = sink.stats();
    r.wait_until(WITHIN, |reqs| {
        reqs.iter()
            .filter(|q| q.succeeded())
            .map(|q| q.json_lines().len())
            .sum::<usize>()
            == 30
    })
    .await;
    // New records come after what the spool held.
    let more = stream(11, 2, now());
    let extra: Vec<Delivery> = more[30..]
        .iter()
        .map(|d| Delivery {
            seq: d.seq + 100,
            occurrence: d.occurrence.clone(),
        })
        .collect();
    sink.send(batch(&extra)).await.unwrap();
    sink.close().await.unwrap();
    let mut want = keys(&all);
    want.extend(keys(&extra));
    assert_eq!(delivered(&r), want, "each once, in order");
    assert_eq!(stats.snapshot().spool_bytes, 0);
    assert!(spool::pending_keys(&spool_dir).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spool_is_used_by_one_sink_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let r = Receiver::start().await;
    let cfg = config(&r).spool(dir.path().join("spool"), 1 << 20);
    let mut first = cfg.build("hook").unwrap();
    let err = cfg.build("hook").unwrap_err();
    let chain = crate::client::one_line(&err);
    assert!(chain.contains("in use"), "{chain}");
    // Closed, its task is done; dropped, the lock is released.
    first.close().await.unwrap();
    drop(first);
    assert!(
        cfg.build("hook").is_ok(),
        "free again once the first is gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_write_at_the_spool_tail_is_dropped_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let spool_dir = dir.path().join("spool");
    let r = Receiver::start().await;
    r.go_away().await;
    let cfg = config(&r)
        .format(FormatName::Ndjson)
        .spool(&spool_dir, 1 << 20);
    let all = stream(5, 0, now());
    {
        let mut sink = cfg.build("hook").unwrap();
        sink.send(batch(&all)).await.unwrap();
        sink.close().await.unwrap();
    }
    // kill -9 in the middle of the next append: half a frame at the end.
    let seg = std::fs::read_dir(&spool_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|x| x == "seg") && std::fs::metadata(p).unwrap().len() > 0
        })
        .max()
        .unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(&seg).unwrap();
    std::io::Write::write_all(&mut f, &[200, 0, 0, 0, 1, 0, 0, 0, 9, 9, 9, 9, b'{']).unwrap();
    drop(f);
    r.come_back().await;
    let mut sink = cfg.build("hook").unwrap();
    let stats = sink.stats();
    sink.close().await.unwrap();
    assert_eq!(delivered(&r), keys(&all));
    assert_eq!(
        stats.snapshot().dropped,
        0,
        "a torn tail was never acknowledged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_the_spool_records_delivery_resends_never_loses() {
    let dir = tempfile::tempdir().unwrap();
    let spool_dir = dir.path().join("spool");
    let r = Receiver::start().await;
    r.go_away().await;
    let cfg = config(&r)
        .format(FormatName::Ndjson)
        .spool(&spool_dir, 1 << 20);
    let all = stream(3, 0, now());
    {
        let mut sink = cfg.build("hook").unwrap();
        sink.send(batch(&all)).await.unwrap();
        sink.close().await.unwrap();
    }
    // Keep the spool as it was before delivery: restoring it below is a
    // kill -9 after the endpoint's 2xx, before `acked` was replaced.
    let snapshot = dir.path().join("snapshot");
    copy_dir(&spool_dir, &snapshot);
    r.come_back().await;
    {
        let mut sink = cfg.build("hook").unwrap();
        sink.close().await.unwrap();
    }
    assert_eq!(delivered(&r), keys(&all));
    std::fs::remove_dir_all(&spool_dir).unwrap();
    copy_dir(&snapshot, &spool_dir);
    let mut sink = cfg.build("hook").unwrap();
    sink.close().await.unwrap();
    let mut twice = keys(&all);
    twice.extend(keys(&all));
    assert_eq!(delivered(&r), twice, "resent, not lost");
    let reqs = r.succeeded();
    assert_eq!(
        reqs[0].header("idempotency-key"),
        reqs[1].header("idempotency-key"),
        "with the same key, for the receiver to dedupe"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_spool_drops_newest_when_told_and_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    let r = Receiver::start().await;
    r.go_away().await;
    let mut cfg = config(&r)
        .format(FormatName::Ndjson)
        .batch(1, Duration::from_secs(1))
        .spool(dir.path().join("spool"), 3_000);
    if let Some(sp) = &mut cfg.spool {
        sp.when_full = SpoolWhenFull::DropNewest;
    }
    let mut sink = cfg.build("hook").unwrap();
    let stats = sink.stats();
    let all = stream(10, 0, now());
    let a = sink.send(batch(&all)).await.unwrap();
    assert_eq!(a.up_to, Some(10), "dropped batches are acknowledged too");
    let s = stats.snapshot();
    assert!(s.dropped > 0 && s.dropped < 10, "{s:?}");
    r.come_back().await;
    sink.close().await.unwrap();
    let got = delivered(&r);
    assert_eq!(got.len() as u64 + stats.snapshot().dropped, 10);
    assert_eq!(
        got,
        keys(&all[..got.len()]),
        "the oldest kept, the newest dropped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_spool_blocks_until_delivery_makes_room() {
    let dir = tempfile::tempdir().unwrap();
    let r = Receiver::start().await;
    r.go_away().await;
    let cfg = config(&r)
        .format(FormatName::Ndjson)
        .batch(1, Duration::from_secs(1))
        .spool(dir.path().join("spool"), 3_000);
    let mut sink = cfg.build("hook").unwrap();
    let stats = sink.stats();
    let all = stream(10, 0, now());
    let sending = tokio::spawn(async move {
        let a = sink.send(batch(&all)).await.unwrap();
        (sink, a)
    });
    eventually("the spool filling up", || {
        stats.snapshot().spool_bytes > 2_000
    })
    .await;
    eventually("retrying while down", || stats.snapshot().retried >= 3).await;
    assert!(!sending.is_finished(), "send waits for room");
    r.come_back().await;
    let (mut sink, a) = sending.await.unwrap();
    assert_eq!(a.up_to, Some(10));
    sink.close().await.unwrap();
    assert_eq!(delivered(&r), keys(&stream(10, 0, now())));
    assert_eq!(stats.snapshot().dropped, 0);
}
