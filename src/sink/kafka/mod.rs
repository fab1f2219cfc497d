//! The Kafka sink (`type: kafka`): each occurrence one message, its
//! `kev/v1` record as the value, produced with librdkafka (rdkafka, its
//! bundled C library: the client every Kafka exporter is measured against,
//! with the idempotent producer, every compression codec, TLS and SASL).
//!
//! - The topic is fixed or a template over the record (`kev-{{ namespace }}`);
//!   the key defaults to the event's uid, so every occurrence of one event
//!   lands in one partition, in order.
//! - Headers: `kev-schema` (`kev/v1`), `kev-idempotency-key` (`uid/rv`, as
//!   the webhook's), and `kev-cluster` when the daemon has a cluster label.
//! - An occurrence is acknowledged only once the broker acknowledged it
//!   (`acks: all` and the idempotent producer by default), and only after
//!   every occurrence before it: the sink keeps its deliveries in flight in
//!   order and acknowledges the prefix that is written.
//! - Through a broker outage librdkafka retries without a deadline
//!   (`message.timeout.ms: 0`); its queue fills and `send` waits, which
//!   back-pressures the pipeline. A message the broker refuses for good (too
//!   large, an invalid topic) is dead-lettered; one that failed otherwise is
//!   produced again after a backoff.
//! - [`recover`]: with no progress in the state file, the keys already in
//!   the topic are read back, so a lost state file does not resend.

mod config;
pub mod recover;

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt;
use rdkafka::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message, OwnedHeaders, OwnedMessage};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};

pub use config::{Acks, Compression, KafkaSinkConfig, KafkaTlsConfig, SaslConfig};

use super::{Acked, Batch, Sink, SinkError};
use crate::metrics::SinkMetrics;
use crate::model::Occurrence;

/// librdkafka's logs and errors, in kev's log under the sink's name. (rdkafka's
/// default context logs them under targets of its own, which kev's log
/// filter hides: a refused password or a certificate the brokers do not
/// accept would then show only as messages that never arrive.)
#[derive(Clone, Debug)]
pub(crate) struct LogContext {
    sink: String,
}

impl LogContext {
    pub(crate) fn new(sink: &str) -> LogContext {
        LogContext {
            sink: sink.to_string(),
        }
    }
}

impl ClientContext for LogContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(sink = %self.sink, facility, "librdkafka: {message}")
            }
            RDKafkaLogLevel::Warning => {
                tracing::warn!(sink = %self.sink, facility, "librdkafka: {message}")
            }
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::debug!(sink = %self.sink, facility, "librdkafka: {message}")
            }
            RDKafkaLogLevel::Debug => {
                tracing::trace!(sink = %self.sink, facility, "librdkafka: {message}")
            }
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        // Authentication and TLS failures do not pass by themselves; a
        // broker that went away (a restart) comes back, and librdkafka
        // retries meanwhile.
        let lasting = matches!(
            error.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::Authentication
                    | RDKafkaErrorCode::SaslAuthenticationFailed
                    | RDKafkaErrorCode::SSL
                    | RDKafkaErrorCode::TopicAuthorizationFailed
                    | RDKafkaErrorCode::ClusterAuthorizationFailed
                    | RDKafkaErrorCode::InvalidArgument
            )
        );
        if lasting {
            tracing::error!(sink = %self.sink, "Kafka: {reason}");
        } else {
            tracing::warn!(sink = %self.sink, "Kafka: {reason}");
        }
    }
}

impl ConsumerContext for LogContext {}

/// How the topic and key of a record are chosen.
#[derive(Debug)]
pub(crate) struct Naming {
    env: Option<minijinja::Environment<'static>>,
    topic: Option<String>,
    key_is_uid: bool,
}

const TOPIC: &str = "topic";
const KEY: &str = "key";

impl Naming {
    /// Compile the topic and key templates; the error names the key.
    pub fn new(topic: &str, key: Option<&str>) -> Result<Naming, String> {
        let topic_fixed = !topic.contains("{{") && !topic.contains("{%");
        let key_is_uid = key.is_none_or(|k| matches!(k.trim(), "{{ uid }}" | "{{uid}}"));
        if topic_fixed && key_is_uid {
            return Ok(Naming {
                env: None,
                topic: Some(topic.to_string()),
                key_is_uid,
            });
        }
        let mut env = minijinja::Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        let detail = |what: &str, e: minijinja::Error| {
            format!("{what}: {}", e.detail().unwrap_or(&e.kind().to_string()))
        };
        if !topic_fixed {
            env.add_template_owned(TOPIC, topic.to_string())
                .map_err(|e| detail("topic", e))?;
        }
        if !key_is_uid && let Some(k) = key {
            env.add_template_owned(KEY, k.to_string())
                .map_err(|e| detail("key", e))?;
        }
        Ok(Naming {
            env: Some(env),
            topic: topic_fixed.then(|| topic.to_string()),
            key_is_uid,
        })
    }

    /// The topic and key of one record.
    fn name(&self, occ: &Occurrence) -> Result<(String, Option<String>), String> {
        let ctx = self
            .env
            .as_ref()
            .map(|_| minijinja::Value::from(minijinja::value::Serde(occ.record())));
        let render = |name: &str| -> Result<String, String> {
            let (Some(env), Some(ctx)) = (&self.env, &ctx) else {
                return Ok(String::new());
            };
            env.get_template(name)
                .and_then(|t| t.render(ctx))
                .map_err(|e| format!("the {name} template does not render: {e}"))
        };
        let topic = match &self.topic {
            Some(t) => t.clone(),
            None => sanitise_topic(render(TOPIC)?.trim()),
        };
        let key = if self.key_is_uid {
            Some(occ.event.uid.clone())
        } else {
            let k = render(KEY)?;
            (!k.is_empty()).then_some(k)
        };
        Ok((topic, key))
    }
}

/// Whether `t` is a legal Kafka topic name.
pub(crate) fn valid_topic(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 249
        && t != "."
        && t != ".."
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A rendered topic made legal: other characters become `_`, an empty one
/// is `kev`.
fn sanitise_topic(t: &str) -> String {
    let mut s: String = t
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(249)
        .collect();
    if s.is_empty() || s == "." || s == ".." {
        s = "kev".to_string();
    }
    s
}

/// One message on its way.
struct InFlight {
    seq: u64,
    future: DeliveryFuture,
}

/// The Kafka sink; see the module docs.
pub struct KafkaSink {
    name: String,
    producer: FutureProducer<LogContext>,
    naming: Naming,
    cluster: Option<String>,
    in_flight: VecDeque<InFlight>,
    /// The last sequence number sent, acknowledged when nothing is in flight.
    last_sent: Option<u64>,
    acked: Option<u64>,
    dead_letter: Option<(PathBuf, Option<File>)>,
    metrics: Option<SinkMetrics>,
    buf: Vec<u8>,
    backoff: Duration,
}

impl std::fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSink")
            .field("name", &self.name)
            .field("in_flight", &self.in_flight.len())
            .finish_non_exhaustive()
    }
}

impl KafkaSinkConfig {
    /// The sink named `name`; `cluster` goes into each message's
    /// `kev-cluster` header.
    pub fn build(&self, name: &str, cluster: Option<&str>) -> Result<KafkaSink, SinkError> {
        let invalid = |reason: String| SinkError::Io {
            sink: name.to_string(),
            what: "invalid configuration".to_string(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, reason),
        };
        if let Err(problems) = self.check() {
            return Err(invalid(problems.join("; ")));
        }
        let naming = Naming::new(&self.topic, self.key.as_deref()).map_err(invalid)?;
        if self.tls.as_ref().is_some_and(|t| t.insecure_skip_verify) {
            tracing::warn!(
                sink = name,
                "tls.insecureSkipVerify: the brokers' certificates are not checked"
            );
        }
        let producer = self
            .client_config(name)?
            .create_with_context(LogContext::new(name))
            .map_err(|e| SinkError::Io {
                sink: name.to_string(),
                what: "cannot create the Kafka producer".to_string(),
                source: std::io::Error::other(e.to_string()),
            })?;
        Ok(KafkaSink {
            name: name.to_string(),
            producer,
            naming,
            cluster: cluster.map(str::to_string),
            in_flight: VecDeque::new(),
            last_sent: None,
            acked: None,
            dead_letter: self.dead_letter.as_ref().map(|d| (d.path.clone(), None)),
            metrics: None,
            buf: Vec::with_capacity(1024),
            backoff: Duration::from_millis(200),
        })
    }

    pub(crate) fn client_config(&self, name: &str) -> Result<ClientConfig, SinkError> {
        let props = self.properties().map_err(|reason| SinkError::Io {
            sink: name.to_string(),
            what: "invalid configuration".to_string(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, reason),
        })?;
        let mut cc = ClientConfig::new();
        for (k, v) in props {
            cc.set(k, v);
        }
        Ok(cc)
    }
}

/// Errors after which producing the message again cannot succeed.
fn permanent(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::InvalidMessage
                | RDKafkaErrorCode::InvalidTopic
                | RDKafkaErrorCode::InvalidRecord
        )
    )
}

impl KafkaSink {
    fn io_error(&self, what: &str, e: impl std::fmt::Display) -> SinkError {
        SinkError::Io {
            sink: self.name.clone(),
            what: what.to_string(),
            source: std::io::Error::other(e.to_string()),
        }
    }

    /// Hand one occurrence to librdkafka, waiting for room in its queue.
    async fn produce(&mut self, seq: u64, occ: &Occurrence) -> Result<(), SinkError> {
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, &occ.record())
            .map_err(|e| self.io_error("cannot encode a record", e))?;
        let (topic, key) = match self.naming.name(occ) {
            Ok(n) => n,
            Err(why) => {
                let line = self.buf.clone();
                self.dead_letter(&line, &why)?;
                return Ok(());
            }
        };
        let idem = crate::sink::webhook::idempotency_key(&occ.event);
        let mut headers = OwnedHeaders::new_with_capacity(3)
            .insert(Header {
                key: "kev-schema",
                value: Some(crate::model::record::SCHEMA_V1),
            })
            .insert(Header {
                key: "kev-idempotency-key",
                value: Some(&idem),
            });
        if let Some(c) = &self.cluster {
            headers = headers.insert(Header {
                key: "kev-cluster",
                value: Some(c),
            });
        }
        let payload = std::mem::take(&mut self.buf);
        let mut headers = Some(headers);
        let result = loop {
            let mut record = FutureRecord::to(&topic).payload(&payload[..]);
            if let Some(h) = headers.take() {
                record = record.headers(h);
            }
            if let Some(k) = &key {
                record = record.key(k.as_str());
            }
            match self.producer.send_result(record) {
                Ok(future) => break Ok(future),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    // librdkafka's queue is full (an outage, a slow broker):
                    // wait for the oldest message, or a moment.
                    headers = back.headers;
                    self.wait_oldest(Duration::from_millis(100)).await?;
                }
                Err((e, _)) => break Err(e),
            }
        };
        self.buf = payload;
        match result {
            Ok(future) => {
                self.in_flight.push_back(InFlight { seq, future });
                Ok(())
            }
            Err(e) if permanent(&e) => {
                let line = self.buf.clone();
                self.dead_letter(&line, &e.to_string())
            }
            Err(e) => Err(self.io_error("cannot produce", e)),
        }
    }

    /// Wait up to `wait` for the oldest message in flight, then settle the
    /// prefix that is done.
    async fn wait_oldest(&mut self, wait: Duration) -> Result<(), SinkError> {
        if let Some(front) = self.in_flight.front_mut() {
            let _ = tokio::time::timeout(wait, &mut front.future).await;
        } else {
            tokio::time::sleep(wait).await;
        }
        self.settle(false).await
    }

    /// Pop the messages at the front that are done; with `all`, wait for
    /// every one. A failed message is produced again (it keeps its place:
    /// nothing after it is acknowledged before it).
    async fn settle(&mut self, all: bool) -> Result<(), SinkError> {
        loop {
            let Some(front) = self.in_flight.front_mut() else {
                self.acked = self.last_sent.max(self.acked);
                return Ok(());
            };
            let result = if all {
                Some((&mut front.future).await)
            } else {
                (&mut front.future).now_or_never()
            };
            let Some(result) = result else {
                return Ok(());
            };
            let seq = front.seq;
            match result {
                Ok(Ok(_)) => {
                    self.in_flight.pop_front();
                    self.acked = Some(seq);
                    if let Some(m) = &self.metrics {
                        m.delivered.inc();
                    }
                    self.backoff = Duration::from_millis(200);
                }
                Ok(Err((e, msg))) => {
                    if permanent(&e) {
                        self.in_flight.pop_front();
                        self.dead_letter(msg.payload().unwrap_or_default(), &e.to_string())?;
                        self.acked = Some(seq);
                    } else {
                        tracing::warn!(sink = %self.name, error = %e, backoff = ?self.backoff, "a message was not written; producing it again");
                        if let Some(m) = &self.metrics {
                            m.retried.inc();
                        }
                        tokio::time::sleep(self.backoff).await;
                        self.backoff = (self.backoff * 2).min(Duration::from_secs(30));
                        let future = self.reproduce(&msg).await?;
                        if let Some(front) = self.in_flight.front_mut() {
                            front.future = future;
                        }
                    }
                }
                Err(_canceled) => {
                    return Err(
                        self.io_error("the producer went away", "a delivery report was lost")
                    );
                }
            }
        }
    }

    async fn reproduce(&mut self, msg: &OwnedMessage) -> Result<DeliveryFuture, SinkError> {
        loop {
            let mut record =
                FutureRecord::to(msg.topic()).payload(msg.payload().unwrap_or_default());
            if let Some(k) = msg.key() {
                record = record.key(k);
            }
            if let Some(h) = msg.headers() {
                record = record.headers(h.clone());
            }
            match self.producer.send_result(record) {
                Ok(f) => return Ok(f),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err((e, _)) => return Err(self.io_error("cannot produce", e)),
            }
        }
    }

    fn dead_letter(&mut self, line: &[u8], why: &str) -> Result<(), SinkError> {
        if let Some(m) = &self.metrics {
            m.dead_lettered.inc();
        }
        let Some((path, file)) = &mut self.dead_letter else {
            tracing::error!(sink = %self.name, reason = why, "Kafka refused a record for good; no deadLetter file is configured: it is dropped");
            return Ok(());
        };
        tracing::error!(sink = %self.name, reason = why, dead_letter = %path.display(), "Kafka refused a record for good: written to the dead-letter file");
        let path = path.clone();
        let result = (|| {
            if file.is_none() {
                *file = Some(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)?,
                );
            }
            let f = file.as_mut().expect("opened above");
            let mut buf = line.to_vec();
            buf.push(b'\n');
            f.write_all(&buf)?;
            f.sync_data()
        })();
        result.map_err(|e| SinkError::Io {
            sink: self.name.clone(),
            what: format!("cannot write the dead-letter file {}", path.display()),
            source: e,
        })
    }

    fn acked(&self) -> Acked {
        Acked { up_to: self.acked }
    }
}

#[async_trait]
impl Sink for KafkaSink {
    fn name(&self) -> &str {
        &self.name
    }

    async fn send(&mut self, batch: Batch) -> Result<Acked, SinkError> {
        for (n, d) in batch.deliveries.iter().enumerate() {
            self.produce(d.seq, &d.occurrence).await?;
            self.last_sent = Some(d.seq);
            // A listing is one batch: let progress (the checkpoint, the
            // metrics) move while it is produced.
            if n % 1024 == 1023 {
                self.settle(false).await?;
            }
        }
        self.settle(false).await?;
        Ok(self.acked())
    }

    async fn flush(&mut self) -> Result<Acked, SinkError> {
        self.settle(true).await?;
        Ok(self.acked())
    }

    fn tick_every(&self) -> Option<Duration> {
        Some(Duration::from_millis(100))
    }

    async fn tick(&mut self) -> Result<Acked, SinkError> {
        self.settle(false).await?;
        Ok(self.acked())
    }

    fn attach_metrics(&mut self, metrics: &SinkMetrics) {
        self.metrics = Some(metrics.clone());
    }

    /// `delivered` counts what the broker acknowledged.
    fn counts_deliveries(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names() {
        assert!(valid_topic("kev-events.v1_a"));
        assert!(!valid_topic("a b"));
        assert!(!valid_topic(".."));
        assert!(!valid_topic(&"x".repeat(250)));
        assert_eq!(sanitise_topic("kev-pay/ments ü"), "kev-pay_ments__");
        assert_eq!(sanitise_topic(""), "kev");
    }

    #[test]
    fn topic_and_key_templates_render_over_the_record() {
        let occ = crate::testdata::corpus()
            .map(|(e, c)| Occurrence::new(e, c))
            .find(|o| o.event.namespace.is_some())
            .unwrap();
        let n = Naming::new(
            "kev-{{ namespace }}",
            Some("{{ object.kind }}/{{ object.name }}"),
        )
        .unwrap();
        let (topic, key) = n.name(&occ).unwrap();
        assert_eq!(
            topic,
            format!("kev-{}", occ.event.namespace.clone().unwrap())
        );
        assert_eq!(
            key.unwrap(),
            format!(
                "{}/{}",
                occ.event.object.kind.clone().unwrap_or_default(),
                occ.event.object.name.clone().unwrap_or_default()
            )
        );
        let fixed = Naming::new("kev", None).unwrap();
        assert_eq!(
            fixed.name(&occ).unwrap(),
            ("kev".to_string(), Some(occ.event.uid.clone()))
        );
    }
}
