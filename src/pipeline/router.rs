//! The router: one bounded queue and one task per sink.
//!
//! The pipeline hands each sink the batch of what its filter keeps. A
//! sink's queue holds at most [`Buffer::events`] occurrences; when it is
//! full the sink's policy applies: `block` (the default) makes the pipeline
//! wait — back-pressure to the source, nothing lost, memory bounded however
//! slow the sink is — and `drop` drops the batch for that sink, counting
//! every occurrence dropped and logging it (at most once a minute). Each sink's task sends batches in order and
//! publishes its acknowledgements on a watch channel (the latest value is all
//! that matters: acknowledgements are cumulative), and ticks the sink on the
//! interval it asks for. A sink that closes (stdout went away), fails or
//! panics stops the whole pipeline through the shared stop token.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::metrics::SinkMetrics;
use crate::sink::{Acked, Batch, Sink, SinkError};

/// The next tick of `ticks`, or never.
async fn next_tick(ticks: &mut Option<tokio::time::Interval>) {
    match ticks {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Cancels the token when dropped during a panic.
struct CancelOnPanic(CancellationToken);

impl Drop for CancelOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.cancel();
        }
    }
}

/// A sink's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Buffer {
    /// Occurrences that may wait for the sink.
    pub events: usize,
    /// When full: drop (counted) instead of waiting.
    pub drop_when_full: bool,
}

impl Default for Buffer {
    /// 10,000 occurrences, blocking.
    fn default() -> Self {
        Buffer {
            events: 10_000,
            drop_when_full: false,
        }
    }
}

/// What became of a batch handed to a sink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// Queued for the sink.
    Queued,
    /// Dropped: the buffer was full and the policy is `drop`.
    Dropped,
    /// The sink has stopped.
    Gone,
}

/// A running sink.
pub struct SinkHandle {
    /// The sink's name.
    pub name: String,
    /// Its counters (the daemon's metrics, or standalone ones).
    pub counters: SinkMetrics,
    queue: Option<mpsc::Sender<(Batch, OwnedSemaphorePermit)>>,
    room: Arc<Semaphore>,
    buffer: Buffer,
    last_drop_log: std::sync::Mutex<Option<std::time::Instant>>,
    acked: watch::Receiver<Acked>,
    task: JoinHandle<Result<(), SinkError>>,
}

impl SinkHandle {
    /// Start `sink`'s task with `buffer`, counting into `counters`.
    pub fn spawn(
        mut sink: Box<dyn Sink>,
        buffer: Buffer,
        counters: SinkMetrics,
        stop: CancellationToken,
    ) -> SinkHandle {
        let name = sink.name().to_string();
        let events = buffer.events.clamp(1, Semaphore::MAX_PERMITS);
        // Each queued batch holds at least one permit, so the channel never
        // holds more batches than there is room for occurrences.
        let (tx, mut rx) = mpsc::channel::<(Batch, OwnedSemaphorePermit)>(events.min(1 << 16));
        let room = Arc::new(Semaphore::new(events));
        sink.attach_metrics(&counters);
        let count_delivered = !sink.counts_deliveries();
        let (ack_tx, ack_rx) = watch::channel(Acked::NOTHING);
        let publish = move |a: Acked| {
            ack_tx.send_if_modified(|cur| {
                if a.up_to > cur.up_to {
                    *cur = a;
                    true
                } else {
                    false
                }
            });
        };
        let task_counters = counters.clone();
        let task = tokio::spawn(async move {
            // A panic in the sink must stop the pipeline too, not leave it
            // waiting for a sink that is gone.
            let _stop_on_panic = CancelOnPanic(stop.clone());
            // Sinks with time-based work (a batch's maximum wait, an fsync
            // interval) are ticked; the others are not woken.
            let mut ticks = sink.tick_every().map(|every| {
                let mut t = tokio::time::interval(every);
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t
            });
            loop {
                let result = tokio::select! {
                    batch = rx.recv() => match batch {
                        Some((batch, permit)) => {
                            let n = batch.deliveries.len() as u64;
                            let r = sink.send(batch).await;
                            // The room is given back once the sink has the batch.
                            drop(permit);
                            task_counters.buffer_events.dec_by(n as i64);
                            if r.is_ok() && count_delivered {
                                task_counters.delivered.inc_by(n);
                            }
                            r
                        }
                        None => break,
                    },
                    () = next_tick(&mut ticks) => sink.tick().await,
                };
                if let Err(e) = result.map(&publish) {
                    stop.cancel();
                    return match e {
                        SinkError::Closed { .. } => Ok(()),
                        e => Err(e),
                    };
                }
            }
            match sink.close().await {
                Ok(a) => {
                    publish(a);
                    Ok(())
                }
                Err(SinkError::Closed { .. }) => Ok(()),
                Err(e) => Err(e),
            }
        });
        SinkHandle {
            name,
            counters,
            queue: Some(tx),
            room,
            buffer: Buffer { events, ..buffer },
            last_drop_log: std::sync::Mutex::new(None),
            acked: ack_rx,
            task,
        }
    }

    /// Queue a batch: wait for room (`block`), or drop it when there is
    /// none (`drop`).
    pub async fn send(&self, batch: Batch) -> Sent {
        let Some(queue) = &self.queue else {
            return Sent::Gone;
        };
        let n = batch.deliveries.len();
        // A batch larger than the whole buffer takes all of it.
        let need = n.clamp(1, self.buffer.events) as u32;
        let permit = if self.buffer.drop_when_full {
            match Arc::clone(&self.room).try_acquire_many_owned(need) {
                Ok(p) => p,
                Err(_) => {
                    self.count_drop(n);
                    return Sent::Dropped;
                }
            }
        } else {
            match Arc::clone(&self.room).acquire_many_owned(need).await {
                Ok(p) => p,
                Err(_) => return Sent::Gone,
            }
        };
        self.counters.buffer_events.inc_by(n as i64);
        match queue.send((batch, permit)).await {
            Ok(()) => Sent::Queued,
            Err(_) => Sent::Gone,
        }
    }

    fn count_drop(&self, n: usize) {
        let total = self.counters.dropped.inc_by(n as u64) + n as u64;
        let now = std::time::Instant::now();
        let mut last = self
            .last_drop_log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_none_or(|t| now.duration_since(t) >= std::time::Duration::from_secs(60)) {
            *last = Some(now);
            tracing::warn!(
                sink = %self.name,
                dropped = total,
                "the sink's buffer ({} events) is full and its policy is drop: dropping",
                self.buffer.events
            );
        }
    }

    /// The latest acknowledgement.
    pub fn acked(&self) -> Acked {
        *self.acked.borrow()
    }

    /// The acknowledgements, as they change (usable after the handle is gone).
    pub fn acks(&self) -> watch::Receiver<Acked> {
        self.acked.clone()
    }

    /// Close the queue: the sink delivers what is queued, then closes.
    pub fn finish(&mut self) {
        self.queue = None;
    }

    /// Wait for the sink's task; its error, if it failed.
    pub async fn join(self) -> Result<Acked, SinkError> {
        let acked = self.acked.clone();
        match self.task.await {
            Ok(Ok(())) => Ok(*acked.borrow()),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(SinkError::Io {
                sink: self.name,
                what: "the sink's task failed".to_string(),
                source: std::io::Error::other(e),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use futures::FutureExt;

    use super::*;
    use crate::sink::Delivery;
    use crate::sink::compliance::stream;

    /// A sink that takes a batch only when the test lets it (a permit of
    /// `gate` per batch).
    struct Slow {
        gate: Arc<Semaphore>,
        got: Arc<Mutex<Vec<u64>>>,
    }

    #[async_trait]
    impl Sink for Slow {
        fn name(&self) -> &str {
            "slow"
        }
        async fn send(&mut self, batch: Batch) -> Result<Acked, SinkError> {
            if let Ok(p) = self.gate.acquire().await {
                p.forget();
            }
            let last = batch.deliveries.last().map(|d| d.seq);
            self.got
                .lock()
                .unwrap()
                .extend(batch.deliveries.iter().map(|d| d.seq));
            Ok(Acked { up_to: last })
        }
    }

    fn batch(d: &[Delivery]) -> Batch {
        Batch {
            deliveries: d.to_vec(),
            listing: false,
            encoded: None,
        }
    }

    fn slow(buffer: Buffer) -> (SinkHandle, Arc<Semaphore>, Arc<Mutex<Vec<u64>>>) {
        let gate = Arc::new(Semaphore::new(0));
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = Slow {
            gate: Arc::clone(&gate),
            got: Arc::clone(&got),
        };
        let h = SinkHandle::spawn(
            Box::new(sink),
            buffer,
            SinkMetrics::default(),
            CancellationToken::new(),
        );
        (h, gate, got)
    }

    #[tokio::test]
    async fn a_full_buffer_blocks_with_block_and_drops_counted_with_drop() {
        let items = stream(10, 0, chrono::Utc::now());
        for drop_when_full in [false, true] {
            let (h, gate, got) = slow(Buffer {
                events: 4,
                drop_when_full,
            });
            // The sink takes the first batch and waits in `send` (its room
            // is held until the sink has it); three more fill the buffer.
            assert_eq!(h.send(batch(&items[0..1])).await, Sent::Queued);
            tokio::task::yield_now().await;
            for i in 1..4 {
                assert_eq!(h.send(batch(&items[i..i + 1])).await, Sent::Queued, "{i}");
            }
            assert_eq!(h.counters.buffer_events.get(), 4);
            let fifth = h.send(batch(&items[4..5]));
            if drop_when_full {
                assert_eq!(
                    fifth.now_or_never(),
                    Some(Sent::Dropped),
                    "no room: dropped at once"
                );
                assert_eq!(h.counters.dropped.get(), 1);
            } else {
                assert!(
                    fifth.now_or_never().is_none(),
                    "no room: waits (back-pressure)"
                );
                assert_eq!(h.counters.dropped.get(), 0);
            }
            let mut h = h;
            h.finish();
            gate.add_permits(8);
            let acked = h.join().await.unwrap();
            let got = got.lock().unwrap().clone();
            assert_eq!(
                got,
                [1, 2, 3, 4],
                "{drop_when_full}: in order, the dropped one never"
            );
            assert_eq!(acked.up_to, Some(4));
        }
    }

    #[tokio::test]
    async fn a_batch_larger_than_the_buffer_takes_all_of_it() {
        let items = stream(10, 0, chrono::Utc::now());
        let (mut h, gate, got) = slow(Buffer {
            events: 3,
            drop_when_full: true,
        });
        assert_eq!(h.send(batch(&items)).await, Sent::Queued);
        assert_eq!(
            h.send(batch(&items[..1])).now_or_never(),
            Some(Sent::Dropped)
        );
        gate.add_permits(1);
        h.finish();
        let _ = h.join().await.unwrap();
        assert_eq!(got.lock().unwrap().len(), 10);
    }
}
