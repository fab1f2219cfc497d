//! The compliance suite every sink passes (tests only).
//!
//! A sink under test is built by a [`Harness`], which can also read back
//! what reached the destination (the file, the HTTP receiver) as
//! `(uid, resourceVersion)` pairs, through something that is not the sink
//! itself. [`run`] then checks, on the same scripted stream for every sink:
//!
//! - **ordering**: every occurrence arrives, and the occurrences of one event
//!   arrive in the order they were sent (a count going 4 → 5 → 6 is never
//!   seen as 6 before 5);
//! - **acknowledgement**: what a sink acknowledges is there when read back,
//!   and after `flush` everything sent so far is acknowledged;
//! - **close**: `close` delivers and acknowledges what is buffered;
//! - **nothing twice**: the read-back holds each occurrence once.
//!
//! Behaviour when a sink's buffer is full (block or drop) is the router's,
//! and is tested there with a sink that does not answer.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Acked, Batch, Delivery, Sink};
use crate::model::{Event, ObjectRef, Occurrence, RecordContext, WatchType};

/// A writer whose bytes the test can read (a sink's stdout, in tests).
#[derive(Clone, Debug, Default)]
pub struct Shared(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Builds the sink under test and reads back what it delivered.
#[async_trait]
pub trait Harness: Send {
    /// A fresh sink (the same destination each time).
    async fn sink(&mut self) -> Box<dyn Sink>;
    /// What reached the destination so far, in order.
    async fn delivered(&mut self) -> Vec<(String, String)>;
}

/// A stream of occurrences: `events` events, each updated `updates` times,
/// interleaved, with increasing resourceVersions.
pub fn stream(events: usize, updates: usize, now: DateTime<Utc>) -> Vec<Delivery> {
    let mut out = Vec::new();
    let mut rv = 1000u64;
    let mut seq = 0u64;
    for round in 0..=updates {
        for e in 0..events {
            rv += 1;
            seq += 1;
            let event = Event {
                uid: format!("uid-{e:04}"),
                resource_version: rv.to_string(),
                namespace: Some(format!("ns-{}", e % 3)),
                name: format!("pod-{e}.17a{e:x}"),
                type_: Some(if e % 4 == 0 { "Warning" } else { "Normal" }.to_string()),
                reason: Some(if e % 4 == 0 { "BackOff" } else { "Pulled" }.to_string()),
                message: Some(format!(
                    "occurrence {round} of event {e}: \"quoted\" \u{1b}[31mred"
                )),
                object: ObjectRef {
                    kind: Some("Pod".into()),
                    namespace: Some(format!("ns-{}", e % 3)),
                    name: Some(format!("pod-{e}")),
                    ..Default::default()
                },
                count: round as i64 + 1,
                first_seen: Some(now),
                last_seen: Some(now + chrono::TimeDelta::seconds(round as i64)),
                ..Default::default()
            };
            out.push(Delivery {
                seq,
                occurrence: Arc::new(Occurrence::new(
                    event,
                    RecordContext {
                        cluster: Some("compliance".into()),
                        watch_type: Some(if round == 0 {
                            WatchType::Added
                        } else {
                            WatchType::Modified
                        }),
                        observed_at: Some(now),
                    },
                )),
            });
        }
    }
    out
}

fn key(d: &Delivery) -> (String, String) {
    (
        d.occurrence.event.uid.clone(),
        d.occurrence.event.resource_version.clone(),
    )
}

/// Run the suite against `h`.
pub async fn run(mut h: impl Harness) {
    let now: DateTime<Utc> = "2026-11-28T10:00:00Z".parse().unwrap();
    let all = stream(17, 3, now);
    let mut sink = h.sink().await;
    let mut acked = Acked::NOTHING;
    // Batches of varied sizes, an empty one among them.
    let sizes = [1usize, 0, 5, 23, 2, 40];
    let mut sent = 0usize;
    for size in sizes {
        let batch: Vec<Delivery> = all[sent..(sent + size).min(all.len())].to_vec();
        sent += batch.len();
        let a = sink
            .send(Batch {
                deliveries: batch,
                listing: false,
                encoded: None,
            })
            .await
            .expect("send");
        // `NOTHING` is "nothing new"; anything else never goes back.
        assert!(
            a.up_to.is_none() || a >= acked,
            "acknowledgements never go back: {a:?} after {acked:?}"
        );
        acked = acked.max(a);
        check_acked_are_there(&mut h, &all, acked).await;
    }
    let a = sink.flush().await.expect("flush");
    acked = acked.max(a);
    assert_eq!(
        acked.up_to,
        Some(all[sent - 1].seq),
        "after flush everything sent is acknowledged"
    );
    check_acked_are_there(&mut h, &all, acked).await;
    // The rest, then close without a flush: close delivers it.
    let rest: Vec<Delivery> = all[sent..].to_vec();
    let a = sink
        .send(Batch {
            deliveries: rest,
            listing: false,
            encoded: None,
        })
        .await
        .expect("send");
    acked = acked.max(a);
    let a = sink.close().await.expect("close");
    acked = acked.max(a);
    assert_eq!(
        acked.up_to,
        Some(all.last().unwrap().seq),
        "close acknowledges everything"
    );
    let got = h.delivered().await;
    let want: Vec<(String, String)> = all.iter().map(key).collect();
    assert_eq!(got.len(), want.len(), "each occurrence once");
    let mut counts = BTreeMap::new();
    for k in &got {
        *counts.entry(k.clone()).or_insert(0) += 1;
    }
    assert!(counts.values().all(|n| *n == 1), "nothing twice");
    // Per event, in the order sent.
    let order = |v: &[(String, String)]| {
        let mut per: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (uid, rv) in v {
            per.entry(uid.clone()).or_default().push(rv.clone());
        }
        per
    };
    assert_eq!(
        order(&got),
        order(&want),
        "the occurrences of each event in order"
    );
}

async fn check_acked_are_there(h: &mut impl Harness, all: &[Delivery], acked: Acked) {
    let Some(up_to) = acked.up_to else { return };
    let got: std::collections::BTreeSet<(String, String)> =
        h.delivered().await.into_iter().collect();
    for d in all.iter().filter(|d| d.seq <= up_to) {
        assert!(
            got.contains(&key(d)),
            "acknowledged through {up_to} but {:?} is not there",
            key(d)
        );
    }
}
