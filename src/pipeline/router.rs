//! The router: one bounded queue and one task per sink.
//!
//! The pipeline hands each batch to every sink's queue; a full queue makes
//! the pipeline wait (back-pressure to the source), so memory stays bounded
//! however slow a sink is. Each sink's task sends batches in order and
//! publishes its acknowledgements on a watch channel (the latest value is all
//! that matters: acknowledgements are cumulative), and ticks the sink on the
//! interval it asks for. A sink that closes (stdout went away), fails or
//! panics stops the whole pipeline through the shared stop token.

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

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

/// A running sink.
pub struct SinkHandle {
    /// The sink's name.
    pub name: String,
    queue: Option<mpsc::Sender<Batch>>,
    acked: watch::Receiver<Acked>,
    task: JoinHandle<Result<(), SinkError>>,
}

impl SinkHandle {
    /// Start `sink`'s task with a queue of `capacity` batches.
    pub fn spawn(mut sink: Box<dyn Sink>, capacity: usize, stop: CancellationToken) -> SinkHandle {
        let name = sink.name().to_string();
        let (tx, mut rx) = mpsc::channel::<Batch>(capacity.max(1));
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
                        Some(batch) => sink.send(batch).await,
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
            queue: Some(tx),
            acked: ack_rx,
            task,
        }
    }

    /// Queue a batch, waiting while the queue is full. `false` if the sink
    /// has stopped.
    pub async fn send(&self, batch: Batch) -> bool {
        match &self.queue {
            Some(q) => q.send(batch).await.is_ok(),
            None => false,
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
