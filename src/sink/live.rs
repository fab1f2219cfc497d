//! The live sink (`kev top`): every occurrence goes into the shared
//! [`Live`] model the terminal view draws, and the view is told there is
//! something new (once, however many batches arrive before it redraws).
//!
//! A display keeps nothing durable; it acknowledges each batch as it takes
//! it, so the pipeline never waits on the screen.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::Utc;

use super::{Acked, Batch, Sink, SinkError};
use crate::incident::live::{Live, ViewClock};

const NAME: &str = "top";

/// What the sink shares with the view.
#[derive(Debug)]
pub struct Shared {
    /// The model.
    pub live: Mutex<Live>,
    /// Set when something arrived since the view last drew.
    pub dirty: AtomicBool,
    /// The clock.
    pub clock: ViewClock,
}

impl Shared {
    /// A model read by `clock`.
    pub fn new(live: Live, clock: ViewClock) -> Arc<Shared> {
        Arc::new(Shared {
            live: Mutex::new(live),
            dirty: AtomicBool::new(false),
            clock,
        })
    }

    /// Whether something arrived since the last call.
    pub fn take_dirty(&self) -> bool {
        self.dirty.swap(false, Ordering::AcqRel)
    }
}

/// Feeds the live model.
pub struct LiveSink {
    shared: Arc<Shared>,
    wake: Box<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for LiveSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSink").finish_non_exhaustive()
    }
}

impl LiveSink {
    /// Into `shared`; `wake` is called when the view should redraw.
    pub fn new(shared: Arc<Shared>, wake: Box<dyn Fn() + Send + Sync>) -> LiveSink {
        LiveSink { shared, wake }
    }
}

#[async_trait]
impl Sink for LiveSink {
    fn name(&self) -> &str {
        NAME
    }

    async fn send(&mut self, batch: Batch) -> Result<Acked, SinkError> {
        let mut up_to = None;
        {
            let mut live = self.shared.live.lock().unwrap_or_else(|p| p.into_inner());
            for d in batch.deliveries {
                let now = match self.shared.clock {
                    // The newest so far, this one included.
                    ViewClock::Newest => live
                        .latest()
                        .max(d.occurrence.event.last_seen)
                        .unwrap_or_else(Utc::now),
                    c => c.now(&live),
                };
                live.add(d.occurrence, now);
                up_to = up_to.max(Some(d.seq));
            }
        }
        if !self.shared.dirty.swap(true, Ordering::AcqRel) {
            (self.wake)();
        }
        Ok(Acked { up_to })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::sink::compliance::stream;

    #[tokio::test]
    async fn takes_everything_acknowledges_at_once_and_wakes_the_view_once() {
        let shared = Shared::new(Live::new(), ViewClock::Newest);
        let wakes = Arc::new(AtomicUsize::new(0));
        let w = Arc::clone(&wakes);
        let mut sink = LiveSink::new(
            Arc::clone(&shared),
            Box::new(move || {
                w.fetch_add(1, Ordering::SeqCst);
            }),
        );
        let items = stream(30, 0, Utc::now());
        for chunk in items.chunks(10) {
            let acked = sink
                .send(Batch {
                    deliveries: chunk.to_vec(),
                    listing: false,
                    encoded: None,
                })
                .await
                .unwrap();
            assert_eq!(acked.up_to, chunk.iter().map(|d| d.seq).max());
        }
        assert_eq!(
            wakes.load(Ordering::SeqCst),
            1,
            "one wake until the view draws"
        );
        assert!(shared.take_dirty());
        assert!(!shared.take_dirty());
        let live = shared.live.lock().unwrap();
        assert_eq!(live.received(), 30);
        let newest = items
            .iter()
            .filter_map(|d| d.occurrence.event.last_seen)
            .max();
        assert_eq!(ViewClock::Newest.now(&live), newest.unwrap());
    }
}
