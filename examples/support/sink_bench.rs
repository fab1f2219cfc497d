//! What the sink throughput examples share: the events, read into kev's
//! model, and sending them to a sink as the pipeline's router would.

use std::sync::Arc;

use kev::model::{Event, Occurrence, RecordContext, WatchType};
use kev::sink::{Acked, Batch, Delivery, Sink};
use kev_testkit::realistic_events;

/// Batches as the router hands them to a sink.
pub const ROUTER_BATCH: usize = 1_000;

/// `n` realistic generated events as occurrences (cluster `bench`, ADDED).
pub fn occurrences(n: usize) -> Vec<Arc<Occurrence>> {
    let now = kev_testkit::default_now();
    realistic_events(n, 42, now)
        .into_iter()
        .map(|v| {
            let bytes = serde_json::to_vec(&v).expect("generated JSON");
            let event = Event::from_json(&bytes).expect("a generated event");
            Arc::new(Occurrence::new(
                event,
                RecordContext {
                    cluster: Some("bench".into()),
                    watch_type: Some(WatchType::Added),
                    observed_at: Some(now),
                },
            ))
        })
        .collect()
}

/// Send `occs` to `sink` in batches of [`ROUTER_BATCH`] (sequence numbers
/// from 1), then close it; panics unless it acknowledged every one.
pub async fn send_all(sink: &mut dyn Sink, occs: &[Arc<Occurrence>]) {
    let mut acked = Acked::NOTHING;
    for (i, chunk) in occs.chunks(ROUTER_BATCH).enumerate() {
        let deliveries = chunk
            .iter()
            .enumerate()
            .map(|(j, o)| Delivery {
                seq: (i * ROUTER_BATCH + j) as u64 + 1,
                occurrence: o.clone(),
            })
            .collect();
        let a = sink
            .send(Batch {
                deliveries,
                listing: false,
                encoded: None,
            })
            .await
            .expect("send");
        acked = acked.max(a);
    }
    acked = acked.max(sink.close().await.expect("close"));
    assert_eq!(
        acked.up_to,
        Some(occs.len() as u64),
        "everything acknowledged"
    );
}
