//! What a Kafka topic already holds: with no progress for the sink in the
//! state file (a lost state file, a replica taking over), kev reads back
//! the topic's records of the last event TTL and treats the occurrences in
//! them as delivered, so a relist does not send them again.
//!
//! Each record carries its `uid`, `resourceVersion`, `count` and
//! `observedAt`; reading starts at the offsets of `now - TTL - grace`
//! (`offsets_for_times`) and ends at each partition's high watermark as it
//! was when recovery began. Records that are not kev/v1 (another producer
//! on the topic) are skipped. A recovery that cannot finish in time says so
//! and keeps what it read: the rest is sent again (repeats, never loss).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde::Deserialize;

use super::KafkaSinkConfig;
use crate::sink::SinkError;

/// An occurrence found in the topic: uid, resourceVersion, count and when
/// kev observed it (Unix seconds), the shape the dedupe is seeded with.
pub type Found = (String, String, i64, i64);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Slim {
    schema: String,
    uid: String,
    resource_version: String,
    #[serde(default)]
    count: i64,
    #[serde(default)]
    observed_at: Option<DateTime<Utc>>,
}

/// Read back the occurrences of the last `window` in `config`'s topic
/// (which must be fixed), at most `deadline` long: every occurrence found,
/// in the topic's order per partition.
pub fn recover(
    name: &str,
    config: &KafkaSinkConfig,
    window: Duration,
    deadline: Duration,
) -> Result<Vec<Found>, SinkError> {
    // A topic just created has no partition leaders for a moment, a broker
    // may be restarting: try again until the deadline.
    let started = Instant::now();
    loop {
        let left = deadline.saturating_sub(started.elapsed());
        match recover_once(name, config, window, left) {
            Ok(found) => return Ok(found),
            Err(e) if left > Duration::from_secs(2) => {
                tracing::info!(sink = name, error = %e, "cannot read the topic back yet; trying again");
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => return Err(e),
        }
    }
}

/// How long one try to read the topic's metadata may take.
const METADATA_TRY: Duration = Duration::from_secs(5);

fn recover_once(
    name: &str,
    config: &KafkaSinkConfig,
    window: Duration,
    deadline: Duration,
) -> Result<Vec<Found>, SinkError> {
    let fail = |what: &str, e: rdkafka::error::KafkaError| SinkError::Io {
        sink: name.to_string(),
        what: what.to_string(),
        source: std::io::Error::other(e.to_string()),
    };
    let topic = config.topic.as_str();
    let mut cc = config.client_config(name)?;
    // The producer's properties, less what a consumer refuses.
    for key in [
        "acks",
        "enable.idempotence",
        "compression.type",
        "linger.ms",
        "message.timeout.ms",
        "queue.buffering.max.messages",
        "queue.buffering.max.kbytes",
    ] {
        cc.remove(key);
    }
    cc.set("group.id", "kev-recover")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("client.id", "kev-recover");
    let consumer: BaseConsumer<super::LogContext> = cc
        .create_with_context(super::LogContext::new(name))
        .map_err(|e| fail("cannot create a consumer", e))?;
    let started = Instant::now();
    let left = || deadline.saturating_sub(started.elapsed());
    // A few seconds at a time: between tries the caller says why (a refused
    // password, a certificate), which librdkafka reports as an event that
    // only a poll serves.
    let metadata = match consumer.fetch_metadata(Some(topic), left().min(METADATA_TRY)) {
        Ok(m) => m,
        Err(e) => {
            let _ = consumer.poll(Duration::from_millis(100));
            return Err(fail("cannot read the topic's metadata", e));
        }
    };
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        // No topic yet: nothing was delivered to it.
        return Ok(Vec::new());
    }
    let since = Utc::now() - chrono::Duration::from_std(window).unwrap_or_default();
    let mut times = TopicPartitionList::new();
    for p in &partitions {
        times
            .add_partition_offset(topic, *p, Offset::Offset(since.timestamp_millis()))
            .map_err(|e| fail("cannot build the partition list", e))?;
    }
    let starts = consumer
        .offsets_for_times(times, left())
        .map_err(|e| fail("cannot find the offsets of the last event TTL", e))?;
    let mut assign = TopicPartitionList::new();
    let mut ends: HashMap<i32, i64> = HashMap::new();
    for el in starts.elements() {
        let (low, high) = consumer
            .fetch_watermarks(topic, el.partition(), left())
            .map_err(|e| fail("cannot read the partitions' watermarks", e))?;
        let start = match el.offset() {
            Offset::Offset(o) => o,
            // No record that recent.
            Offset::End => high,
            _ => low,
        };
        if start < high {
            ends.insert(el.partition(), high);
            assign
                .add_partition_offset(topic, el.partition(), Offset::Offset(start))
                .map_err(|e| fail("cannot build the partition list", e))?;
        }
    }
    let mut found: Vec<Found> = Vec::new();
    let mut events: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut read = 0u64;
    if !ends.is_empty() {
        consumer
            .assign(&assign)
            .map_err(|e| fail("cannot read the topic", e))?;
        while !ends.is_empty() {
            if left().is_zero() {
                tracing::warn!(
                    sink = name,
                    read,
                    "recovery from the topic did not finish in {deadline:?}: what it did not read may be sent again"
                );
                break;
            }
            let Some(msg) = consumer.poll(left().min(Duration::from_millis(500))) else {
                continue;
            };
            let msg = msg.map_err(|e| fail("cannot read the topic", e))?;
            let (partition, offset) = (msg.partition(), msg.offset());
            if let Some(end) = ends.get(&partition)
                && offset + 1 >= *end
            {
                ends.remove(&partition);
            }
            read += 1;
            let Some(slim) = msg
                .payload()
                .and_then(|p| serde_json::from_slice::<Slim>(p).ok())
                .filter(|s| s.schema == crate::model::record::SCHEMA_V1)
            else {
                continue;
            };
            let at = slim.observed_at.map_or(0, |t| t.timestamp());
            if !events.contains(&slim.uid) {
                events.insert(slim.uid.clone());
            }
            found.push((slim.uid, slim.resource_version, slim.count, at));
        }
    }
    tracing::info!(
        sink = name,
        topic,
        read,
        events = events.len(),
        took = ?started.elapsed(),
        "recovered what the topic already holds"
    );
    Ok(found)
}
